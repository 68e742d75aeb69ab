"""Block Kit for referrals: pure functions from data to payloads, tested as data."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from bot.services.referrals import (
    GENERAL_TALENT_POOL,
    MAX_NAME,
    MAX_NOTE,
    RELATIONSHIPS,
    ReferralDraft,
    ReferralOutcome,
    ReferralStatusPage,
)
from bot.templates import render
from bot.workspace import ReferralBonus
from commands.kit import (
    MAX_VIEW_BLOCKS,
    Block,
    actions,
    button,
    context,
    divider,
    message,
    modal,
    option,
    plain,
    section,
)
from storage.models import Position

CALLBACK_REFERRAL = "referral_submit"
ACTION_ASSIGN_ME = "candidate_assign_me"
ACTION_OPEN_CANDIDATE = "candidate_open"
ACTION_STATUS_MORE = "referral_status_more"
ACTION_POSITION_SEARCH = "position_search"
# Static selects hold at most 100 options; beyond that the modal searches positions as you type.
STATIC_POSITION_OPTIONS = 99
STATUS_PAGE_SIZE = 10

_EMAIL = re.compile(r"^[^@\s<>|]+@[^@\s<>|]+\.[^@\s<>|]+$")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|[^<>]*)?>")
_PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def prefill_from_command_text(text: str) -> ReferralDraft:
    """`/refer Jane Doe jane@example.com +49 30 1234567 https://…`: pick out what each piece is."""
    email = url = None
    remaining = text

    # Slack sends typed links and addresses as <target|label>; the target is what was meant.
    for match in _SLACK_LINK.finditer(text):
        target = match.group(1).removeprefix("mailto:")
        if email is None and _EMAIL.match(target):
            email = target
        elif url is None and _URL.match(target):
            url = target
        else:
            continue
        remaining = remaining.replace(match.group(0), " ")

    name_words = []
    for word in remaining.split():
        if email is None and _EMAIL.match(word):
            email = word
        elif url is None and _URL.match(word):
            url = word
        else:
            name_words.append(word)
    remaining = " ".join(name_words)

    phone_match = _PHONE.search(remaining)
    phone = phone_match.group(0).strip() if phone_match else None
    if phone_match:
        remaining = remaining.replace(phone_match.group(0), " ")
    return ReferralDraft(candidate_name=" ".join(remaining.split()) or None, email=email, phone=phone,
                         profile_url=url)


def _text_input(block_id: str, label: str, *, kind: str = "plain_text_input", initial: str | None = None,
                optional: bool = False, multiline: bool = False, max_length: int | None = None,
                placeholder: str | None = None, hint: str | None = None) -> Block:
    element: dict[str, Any] = {"type": kind, "action_id": "value"}
    if initial:
        element["initial_value"] = initial[:max_length] if max_length else initial
    if multiline:
        element["multiline"] = True
    if max_length and kind == "plain_text_input":
        element["max_length"] = max_length
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    block: Block = {"type": "input", "block_id": block_id, "label": plain(label, 2000), "element": element,
                    "optional": optional}
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _position_options(positions: Sequence[Position]) -> list[dict[str, Any]]:
    options = [option("General talent pool", GENERAL_TALENT_POOL)]
    for position in positions[:STATIC_POSITION_OPTIONS]:
        label = position.title + (f" · {position.location}" if position.location else "")
        options.append(option(label, str(position.id)))
    return options


def build_referral_modal(positions: Sequence[Position], *, search_positions: bool, prefill: ReferralDraft,
                         company_name: str, private_metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    if search_positions:
        position_element: dict[str, Any] = {
            "type": "external_select", "action_id": ACTION_POSITION_SEARCH, "min_query_length": 0,
            "placeholder": plain("Type to search open positions", 150),
        }
    else:
        position_element = {
            "type": "static_select", "action_id": "value", "options": _position_options(positions),
            "placeholder": plain("Choose a position", 150),
        }
    blocks: list[Block] = [
        section(f"Know someone who'd be great at {company_name}? Tell the recruiting team about them."),
        _text_input("candidate_name", "Candidate's name", initial=prefill.candidate_name, max_length=MAX_NAME),
        _text_input("email", "Email", kind="email_text_input", initial=prefill.email),
        _text_input("phone", "Phone", initial=prefill.phone, optional=True, max_length=40,
                    placeholder="+49 30 1234567"),
        _text_input("profile_url", "Profile link (LinkedIn, GitHub, portfolio)", kind="url_text_input",
                    initial=prefill.profile_url, optional=True),
        {"type": "input", "block_id": "position", "label": plain("Position"), "element": position_element},
        {"type": "input", "block_id": "relationship", "label": plain("How do you know them?"),
         "element": {"type": "static_select", "action_id": "value",
                     "options": [option(r, r) for r in RELATIONSHIPS],
                     "placeholder": plain("Choose one", 150)}},
        _text_input("note", "Why would they be a good fit?", multiline=True, max_length=MAX_NOTE,
                    placeholder="Skills, what you worked on together, why now…"),
        {"type": "input", "block_id": "consent", "optional": True,
         "label": plain("Consent (required)"),
         "element": {"type": "checkboxes", "action_id": "value", "options": [
             {"text": plain("They agreed to be contacted by our recruiting team about jobs here", 75),
              "value": "confirmed"},
         ]},
         "hint": plain("We record this confirmation, with the time and your name, as their consent to be contacted.")},
        context("Only the recruiting team sees what you enter. You'll get updates on the referral by DM."),
    ]
    assert len(blocks) <= MAX_VIEW_BLOCKS
    return modal(title="Refer a candidate", submit="Refer", close="Cancel", callback_id=CALLBACK_REFERRAL,
                 blocks=blocks, private_metadata=json.dumps(private_metadata or {}))


def position_search_options(positions: Sequence[Position]) -> list[dict[str, Any]]:
    return _position_options(positions)


def _value(values: dict[str, Any], block_id: str, action_id: str = "value") -> dict[str, Any]:
    return (values.get(block_id) or {}).get(action_id) or {}


def read_referral_form(state_values: dict[str, Any]) -> ReferralDraft:
    """The modal's state, as Slack sends it, into a draft for validation."""
    position = _value(state_values, "position") or _value(state_values, "position", ACTION_POSITION_SEARCH)
    selected_position = position.get("selected_option") or {}
    relationship = _value(state_values, "relationship").get("selected_option") or {}
    consent = _value(state_values, "consent").get("selected_options") or []
    return ReferralDraft(
        candidate_name=_value(state_values, "candidate_name").get("value"),
        email=_value(state_values, "email").get("value"),
        phone=_value(state_values, "phone").get("value"),
        profile_url=_value(state_values, "profile_url").get("value"),
        position=selected_position.get("value"),
        relationship=relationship.get("value"),
        note=_value(state_values, "note").get("value"),
        consent_confirmed=any(o.get("value") == "confirmed" for o in consent),
    )


def build_confirmation_dm(outcome: ReferralOutcome, bonus: ReferralBonus) -> dict[str, Any]:
    confirmation = render("referrals/confirmation_dm.md.j2", outcome=outcome)
    milestones = render("referrals/confirmation_milestones.md.j2", retention_days=bonus.retention_days,
                        bonus_amount=bonus.amount if outcome.attributed else None, bonus_currency=bonus.currency)
    return message(confirmation, [section(confirmation), divider(), section(milestones)])


def credit_reason(outcome: ReferralOutcome) -> str:
    return "already known to the team" if outcome.candidate_was_known else "referral policy"


def build_channel_post(outcome: ReferralOutcome, *, owner_slack_id: str | None) -> dict[str, Any]:
    headline = render("referrals/channel_post.md.j2", outcome=outcome)
    details = render("referrals/channel_details.md.j2", outcome=outcome)
    footer = render("referrals/channel_context.md.j2", outcome=outcome, credit_reason=credit_reason(outcome),
                    owner_slack_id=owner_slack_id)
    candidate = str(outcome.candidate_id)
    buttons = [button("Open candidate", ACTION_OPEN_CANDIDATE, candidate)]
    if owner_slack_id is None:
        buttons.insert(0, button("Assign to me", ACTION_ASSIGN_ME, candidate, style="primary"))
    return message(headline, [section(headline), section(details), context(footer),
                              actions(*buttons, block_id=f"referral:{outcome.referral_code}")])


def build_status_blocks(page: ReferralStatusPage) -> list[Block]:
    blocks: list[Block] = [section(render("referrals/status.md.j2", referrals=page.items, total=page.total))]
    for item in page.items:
        blocks.append(section(render("referrals/status_line.md.j2", item=item)))
    next_offset = page.offset + len(page.items)
    if next_offset < page.total:
        blocks.append(actions(button("More", ACTION_STATUS_MORE, str(next_offset))))
    return blocks
