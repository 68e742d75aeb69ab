"""Block Kit for positions: pure functions from data to payloads, and readers of the modals' state.

The input blocks' ids are the service's field names, so `PositionInvalid.errors` can be handed to Slack as
`response_action: errors` unchanged (`fit_errors` still guards against a key the view does not have).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.services.positions import (
    CURRENCIES,
    LIST_PAGE_SIZE,
    MAX_CLIENT,
    MAX_EVIDENCE,
    MAX_FEE,
    MAX_LOCATION,
    MAX_NOTE,
    MAX_TITLE,
    ClientSubmission,
    PositionCandidates,
    PositionChange,
    PositionDraft,
    PositionPage,
)
from bot.templates import render
from commands.kit import (
    MAX_MESSAGE_BLOCKS,
    Block,
    actions,
    button,
    context,
    fit_blocks,
    message,
    modal,
    option,
    plain,
    section,
    truncate,
)
from storage.models import Consent, ConsentAction, Position, PositionStatus

CALLBACK_POSITION_CREATE = "position_create"
CALLBACK_POSITION_EDIT = "position_edit"
CALLBACK_POSITION_WON = "position_close_won"
CALLBACK_POSITION_LOST = "position_close_lost"
CALLBACK_CLIENT_SUBMIT = "position_client_submit"
CALLBACK_CLIENT_CONSENT = "position_client_consent"
# One action id for every position's overflow menu (and the Edit buttons of a title search); the option
# value says what to do with which position: "<verb>:<position id>".
ACTION_POSITION_MENU = "position_menu"
ACTION_POSITION_LIST_MORE = "position_list_more"

MENU_EDIT = "edit"
MENU_CLOSE = "close"
MENU_WON = "won"
MENU_LOST = "lost"
MENU_REOPEN = "reopen"
MENU_SUBMIT = "submit"
MENU_CONSENT = "consent"

MAX_SELECT_OPTIONS = 100
# 30 skills of up to 50 characters, with their commas.
MAX_SKILLS_TEXT = 1600
# A list message holds a header, one section per position and a "More" row, within Slack's 50 blocks.
assert LIST_PAGE_SIZE + 3 <= MAX_MESSAGE_BLOCKS


# --- creating and editing --------------------------------------------------------------------------


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None) -> Block:
    block: Block = {"type": "input", "block_id": block_id, "label": plain(label, 2000), "element": element,
                    "optional": optional}
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _text(*, initial: str | None = None, max_length: int, multiline: bool = False,
          placeholder: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "max_length": max_length}
    if initial:
        element["initial_value"] = initial[:max_length]
    if multiline:
        element["multiline"] = True
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    return element


def _fee_amount(initial: int | None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "number_input", "action_id": "value", "is_decimal_allowed": False,
                               "min_value": "1", "max_value": str(MAX_FEE)}
    if initial:
        element["initial_value"] = str(initial)
    return element


def _currency(initial: str | None) -> dict[str, Any]:
    codes = list(CURRENCIES)
    if initial and initial not in codes:
        codes.append(initial)  # a code stored through the service that the menu does not offer
    options = [option(code, code) for code in codes]
    element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options,
                               "placeholder": plain("Currency", 150)}
    if initial:
        element["initial_option"] = option(initial, initial)
    return element


def _status_option(status: str) -> dict[str, Any]:
    return option("Open" if status == PositionStatus.OPEN else "Closed", status)


def build_position_modal(position: Position | None = None) -> dict[str, Any]:
    """The create form, or (given a position) the edit form, which also opens and closes it."""
    editing = position is not None
    manager: dict[str, Any] = {"type": "users_select", "action_id": "value",
                               "placeholder": plain("Choose a person", 150)}
    if position is not None and position.hiring_manager_slack_id:
        manager["initial_user"] = position.hiring_manager_slack_id
    blocks: list[Block] = [
        _input("title", "Title", _text(initial=position.title if position else None, max_length=MAX_TITLE,
                                       placeholder="Senior Backend Engineer")),
        _input("hiring_manager", "Hiring manager", manager, optional=True,
               hint="Leave empty when the hiring manager is at a client and not in this Slack."),
        _input("location", "Location", _text(initial=position.location if position else None,
                                             max_length=MAX_LOCATION, placeholder="Berlin, or Remote (EU)"),
               optional=True),
        _input("required_skills", "Required skills",
               _text(initial=truncate(", ".join(position.required_skills), MAX_SKILLS_TEXT) if position else None,
                     max_length=MAX_SKILLS_TEXT, multiline=True, placeholder="Python, PostgreSQL, Kubernetes"),
               optional=True, hint="Separate skills with commas; repeats are dropped. At most 30."),
        _input("client_company", "Client company (agency positions)",
               _text(initial=position.client_company if position else None, max_length=MAX_CLIENT),
               optional=True, hint="Only when you fill this position for a client; a fee is then required."),
        _input("fee_amount", "Placement fee", _fee_amount(position.fee_amount if position else None), optional=True,
               hint="A whole number, charged to the client."),
        _input("fee_currency", "Fee currency", _currency(position.fee_currency if position else None),
               optional=True),
    ]
    metadata: dict[str, Any] = {}
    if position is not None:
        status = {"type": "radio_buttons", "action_id": "value",
                  "options": [_status_option(PositionStatus.OPEN), _status_option(PositionStatus.CLOSED)],
                  "initial_option": _status_option(position.status)}
        blocks.append(_input("status", "Status", status,
                             hint="Client positions are closed as won or lost from the position's menu."))
        metadata = {"position_id": position.id, "seen": position.updated_at.isoformat()}
    return modal(title="Edit position" if editing else "New position", submit="Save" if editing else "Create",
                 close="Cancel", callback_id=CALLBACK_POSITION_EDIT if editing else CALLBACK_POSITION_CREATE,
                 blocks=blocks, private_metadata=json.dumps(metadata) if metadata else "")


def _value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    return (values.get(block_id) or {}).get("value") or {}


def _selected(values: dict[str, Any], block_id: str) -> str | None:
    return (_value(values, block_id).get("selected_option") or {}).get("value")


@dataclass(frozen=True)
class PositionForm:
    draft: PositionDraft
    status: str | None


def read_position_form(state_values: dict[str, Any]) -> PositionForm:
    """The modal's state, as Slack sends it, into a draft for the service to validate."""
    return PositionForm(
        draft=PositionDraft(
            title=_value(state_values, "title").get("value"),
            hiring_manager_slack_id=_value(state_values, "hiring_manager").get("selected_user"),
            location=_value(state_values, "location").get("value"),
            required_skills=_value(state_values, "required_skills").get("value"),
            client_company=_value(state_values, "client_company").get("value"),
            fee_amount=_value(state_values, "fee_amount").get("value"),
            fee_currency=_selected(state_values, "fee_currency"),
        ),
        status=_selected(state_values, "status"),
    )


def read_metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return {}
    return metadata if isinstance(metadata, dict) else {}


def fit_errors(errors: dict[str, str], view: dict[str, Any]) -> dict[str, str]:
    """Slack refuses errors for blocks the view lacks; such a message goes under the first input instead."""
    inputs = [b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"]
    fitted: dict[str, str] = {}
    for block_id, text in errors.items():
        target = block_id if block_id in inputs else (inputs[0] if inputs else block_id)
        fitted[target] = truncate(f"{fitted[target]} {text}" if target in fitted else text, 2000)
    return fitted


def build_notice_modal(title: str, text: str) -> dict[str, Any]:
    """Replaces a submitted modal (`response_action: update`) with a confirmation or a refusal."""
    return modal(title=title, blocks=[section(text)], close="Done")


# --- the list --------------------------------------------------------------------------------------


def _menu(position: Position) -> dict[str, Any]:
    pid = str(position.id)
    if position.status != PositionStatus.OPEN:
        choices = [("Edit", MENU_EDIT), ("Reopen", MENU_REOPEN)]
    elif position.client_company:
        choices = [("Edit", MENU_EDIT), ("Submit a candidate to the client", MENU_SUBMIT),
                   ("Record client-submission consent", MENU_CONSENT), ("Close as won", MENU_WON),
                   ("Close as lost", MENU_LOST)]
    else:
        choices = [("Edit", MENU_EDIT), ("Close", MENU_CLOSE)]
    return {"type": "overflow", "action_id": ACTION_POSITION_MENU,
            "options": [option(text, f"{verb}:{pid}") for text, verb in choices]}


def build_position_list(page: PositionPage) -> list[Block]:
    shown = len(page.items)
    if not page.items:
        return [section(render("positions/list_empty.md.j2"))]
    blocks: list[Block] = [section(render("positions/list_header.md.j2", can_manage=page.can_manage,
                                          shown=page.offset + shown, total=page.total))]
    for item in page.items:
        text = render("positions/list_line.md.j2", item=item, show_fee=page.can_manage)
        blocks.append(section(text, accessory=_menu(item.position) if page.can_manage else None,
                              block_id=f"position:{item.position.id}"))
    next_offset = page.offset + shown
    if next_offset < page.total:
        blocks.append(context(render("positions/list_more.md.j2", shown=next_offset, total=page.total)))
        blocks.append(actions(button("More", ACTION_POSITION_LIST_MORE, str(next_offset))))
    return fit_blocks(blocks, MAX_MESSAGE_BLOCKS)


def build_position_matches(reference: str, positions: Sequence[Position]) -> list[Block]:
    """`/position edit <words>` matched several titles: one Edit button each."""
    blocks: list[Block] = [section(render("positions/matches.md.j2", reference=reference))]
    for position in positions[: MAX_MESSAGE_BLOCKS - 1]:
        blocks.append(section(render("positions/match_line.md.j2", position=position),
                              accessory=button("Edit", ACTION_POSITION_MENU, f"{MENU_EDIT}:{position.id}")))
    return blocks


def build_usage(*, can_manage: bool) -> list[Block]:
    return [section(render("positions/usage.md.j2", can_manage=can_manage))]


def build_change_notice(change: PositionChange) -> str:
    return render("positions/changed.md.j2", change=change)


# --- notifications ---------------------------------------------------------------------------------


def build_announcement(position: Position, *, created_by: str) -> dict[str, Any]:
    headline = render("positions/announcement.md.j2", position=position)
    details = render("positions/announcement_details.md.j2", position=position)
    footer = render("positions/announcement_context.md.j2", position=position, created_by=created_by)
    return message(headline, [section(headline), section(details), context(footer)])


def build_hiring_manager_dm(position: Position, *, assigned_by: str) -> dict[str, Any]:
    text = render("positions/hiring_manager_dm.md.j2", position=position, assigned_by=assigned_by)
    return message(text, [section(text)])


# --- closing and agency modals ---------------------------------------------------------------------


def _candidate_select(block_id: str, label: str, choices: PositionCandidates, *, by_application: bool,
                      initial: int | None = None) -> Block:
    options = []
    for choice in choices.candidates[:MAX_SELECT_OPTIONS]:
        value = choice.application_id if by_application else choice.candidate_id
        options.append(option(f"{choice.candidate_name} · {choice.stage}", str(value)))
    element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options,
                               "placeholder": plain("Choose a candidate", 150)}
    chosen = next((o for o in options if o["value"] == str(initial)), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return _input(block_id, label, element)


def _capped(choices: PositionCandidates) -> list[Block]:
    shown = min(len(choices.candidates), MAX_SELECT_OPTIONS)
    if choices.total <= shown:
        return []
    return [context(render("positions/candidates_capped.md.j2", shown=shown, total=choices.total))]


def _metadata(position: Position) -> str:
    return json.dumps({"position_id": position.id})


def _no_candidates(title: str, choices: PositionCandidates, *, open_only: bool) -> dict[str, Any]:
    return build_notice_modal(title, render("positions/no_candidates.md.j2", position=choices.position,
                                            open_only=open_only))


def build_won_modal(choices: PositionCandidates) -> dict[str, Any]:
    position = choices.position
    if not choices.candidates:
        return _no_candidates("Close as won", choices, open_only=False)
    blocks: list[Block] = [
        section(render("positions/close_won_intro.md.j2", position=position)),
        _candidate_select("placed_candidate", "Placed candidate", choices, by_application=False),
        *_capped(choices),
    ]
    if position.client_company:
        blocks += [_input("fee_amount", "Placement fee", _fee_amount(position.fee_amount)),
                   _input("fee_currency", "Fee currency", _currency(position.fee_currency))]
    return modal(title="Close as won", submit="Close as won", close="Cancel", callback_id=CALLBACK_POSITION_WON,
                 blocks=blocks, private_metadata=_metadata(position))


@dataclass(frozen=True)
class WonForm:
    placed_candidate_id: int | None
    fee_amount: str | None
    fee_currency: str | None


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def read_won_form(state_values: dict[str, Any]) -> WonForm:
    return WonForm(placed_candidate_id=_int_or_none(_selected(state_values, "placed_candidate")),
                   fee_amount=_value(state_values, "fee_amount").get("value"),
                   fee_currency=_selected(state_values, "fee_currency"))


def build_lost_modal(position: Position) -> dict[str, Any]:
    blocks = [section(render("positions/close_lost_intro.md.j2", position=position)),
              _input("note", "Why (for the timeline)", _text(max_length=MAX_NOTE, multiline=True,
                                                              placeholder="The client hired internally"),
                     optional=True)]
    return modal(title="Close as lost", submit="Close as lost", close="Cancel", callback_id=CALLBACK_POSITION_LOST,
                 blocks=blocks, private_metadata=_metadata(position))


def read_lost_note(state_values: dict[str, Any]) -> str | None:
    return _value(state_values, "note").get("value")


def build_client_submit_modal(choices: PositionCandidates) -> dict[str, Any]:
    if not choices.candidates:
        return _no_candidates("Submit to client", choices, open_only=True)
    blocks = [section(render("positions/submit_intro.md.j2", position=choices.position)),
              _candidate_select("application", "Candidate", choices, by_application=True), *_capped(choices)]
    return modal(title="Submit to client", submit="Submit", close="Cancel", callback_id=CALLBACK_CLIENT_SUBMIT,
                 blocks=blocks, private_metadata=_metadata(choices.position))


def read_submitted_application(state_values: dict[str, Any]) -> int | None:
    return _int_or_none(_selected(state_values, "application"))


def build_submitted_notice(submission: ClientSubmission) -> dict[str, Any]:
    return build_notice_modal("Submit to client", render("positions/submitted.md.j2", submission=submission))


def build_client_consent_modal(choices: PositionCandidates) -> dict[str, Any]:
    if not choices.candidates:
        return _no_candidates("Client consent", choices, open_only=False)
    decision = {"type": "radio_buttons", "action_id": "value", "options": [
        option("Agreed to be submitted to clients", ConsentAction.GRANTED),
        option("Withdrew their agreement", ConsentAction.REVOKED),
    ]}
    blocks = [
        section(render("positions/consent_intro.md.j2", position=choices.position)),
        _candidate_select("candidate", "Candidate", choices, by_application=False),
        *_capped(choices),
        _input("consent_action", "The candidate…", decision),
        _input("evidence", "Evidence", _text(max_length=MAX_EVIDENCE, multiline=True,
                                             placeholder="Email of 3 Nov: “happy to be put forward to Globex”"),
               hint="How and when they told you; kept as the record of their consent."),
        _input("expires_at", "Valid until", {"type": "datepicker", "action_id": "value"}, optional=True,
               hint="Leave empty when the consent has no end date. Ignored for a withdrawal."),
    ]
    return modal(title="Client consent", submit="Record", close="Cancel", callback_id=CALLBACK_CLIENT_CONSENT,
                 blocks=blocks, private_metadata=_metadata(choices.position))


@dataclass(frozen=True)
class ConsentForm:
    candidate_id: int | None
    candidate_name: str
    action: str | None
    evidence: str | None
    expires_on: date | None

    @property
    def expires_at(self) -> datetime | None:
        # "Valid until 30 Nov" means through that whole day; UTC, as every stored time.
        if self.expires_on is None:
            return None
        return datetime.combine(self.expires_on, time(), tzinfo=UTC) + timedelta(days=1)


def read_consent_form(state_values: dict[str, Any]) -> ConsentForm:
    selected = _value(state_values, "candidate").get("selected_option") or {}
    picked = _value(state_values, "expires_at").get("selected_date")
    try:
        expires_on = date.fromisoformat(picked) if picked else None
    except ValueError:
        expires_on = None
    return ConsentForm(candidate_id=_int_or_none(selected.get("value")),
                       # The option reads "<name> · <stage>" (see _candidate_select).
                       candidate_name=(selected.get("text") or {}).get("text", "").rsplit(" · ", 1)[0],
                       action=_selected(state_values, "consent_action"),
                       evidence=_value(state_values, "evidence").get("value"), expires_on=expires_on)


def build_consent_notice(consent: Consent, *, candidate_name: str) -> dict[str, Any]:
    return build_notice_modal("Client consent", render("positions/consent_recorded.md.j2", consent=consent,
                                                       candidate_name=candidate_name))
