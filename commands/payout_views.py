"""Block Kit for referral payouts: the approver's card, and the "has left" modal."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.services.payouts import DepartureForm, HireDeparture, PayoutCard
from bot.templates import render
from commands.kit import Block, actions, button, message, modal, plain, section

ACTION_APPROVE = "payout_approve"
ACTION_REJECT = "payout_reject"
ACTION_HIRE_LEFT = "hire_left"
CALLBACK_HIRE_LEFT = "hire_left_submit"


def build_payout_card(card: PayoutCard) -> dict[str, Any]:
    """Approve / Reject while the payout awaits approval; afterwards the same card says what became of it."""
    text = render("payouts/approval_card.md.j2", card=card)
    blocks: list[Block] = [section(text, block_id=f"payout:{card.referral_id}")]
    if card.status == "awaiting_approval":
        blocks.append(actions(*payout_decision_buttons(card.referral_id),
                              block_id=f"payout-actions:{card.referral_id}"))
    return message(text, blocks)


def payout_decision_buttons(referral_id: int) -> list[dict[str, Any]]:
    """Approve / Reject (confirmed first); on the approval card and on reminders of the approval task."""
    reject = button("Reject", ACTION_REJECT, str(referral_id), style="danger")
    reject["confirm"] = {
        "title": plain("Reject the bonus?", 100),
        "text": plain("The referrer is told that the bonus was not approved.", 300),
        "confirm": plain("Reject", 30), "deny": plain("Back", 30), "style": "danger",
    }
    return [button("Approve", ACTION_APPROVE, str(referral_id), style="primary"), reject]


def build_decided_text(card: PayoutCard) -> str:
    return render("payouts/decided.md.j2", card=card)


def build_already_decided_text(card: PayoutCard) -> str:
    return render("payouts/already_decided.md.j2", card=card)


def build_cancelled_notice(card: PayoutCard, *, left_on: date, previous_status: str) -> dict[str, Any]:
    text = render("payouts/cancelled_approver.md.j2", card=card, left_on=left_on, previous_status=previous_status)
    return message(text, [section(text)])


# --- the hire has left -------------------------------------------------------------------------------


def hire_left_button(application_id: int) -> dict[str, Any]:
    """For the candidate card of a hired application: opens the "has left" modal."""
    return button("Mark as left", ACTION_HIRE_LEFT, str(application_id))


def build_departure_modal(form: DepartureForm, *, timezone: str, today: date) -> dict[str, Any]:
    initial = form.left_on or today
    blocks: list[Block] = [
        section(render("payouts/departure_intro.md.j2", form=form)),
        {"type": "input", "block_id": "left_on", "label": plain("Last day", 2000),
         "element": {"type": "datepicker", "action_id": "value", "initial_date": initial.isoformat()}},
    ]
    metadata = json.dumps({"application_id": form.application_id, "tz": timezone})
    return modal(title="Hire has left", blocks=blocks, callback_id=CALLBACK_HIRE_LEFT, submit="Record",
                 close="Cancel", private_metadata=metadata)


def read_departure_metadata(view: Mapping[str, Any]) -> tuple[int, str]:
    metadata = json.loads(view.get("private_metadata") or "{}")
    return int(metadata["application_id"]), str(metadata.get("tz") or "UTC")


def read_departure_form(values: Mapping[str, Any]) -> date | None:
    selected = ((values.get("left_on") or {}).get("value") or {}).get("selected_date")
    try:
        return date.fromisoformat(selected) if selected else None
    except ValueError:
        return None


def build_departure_recorded(departure: HireDeparture) -> dict[str, Any]:
    text = render("payouts/departure_recorded.md.j2", departure=departure)
    return message(text, [section(text)])
