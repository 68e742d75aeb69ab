"""Block Kit for outreach drafts: the draft in its thread with Approve & send / Edit / Regenerate / Reject, and the
Edit modal. Pure functions of bot.services.outreach's data."""

from __future__ import annotations

from typing import Any

from bot.services.outreach import MAX_BODY, DraftView
from bot.templates import render
from commands.kit import (
    MAX_SECTION_TEXT,
    Block,
    actions,
    button,
    context,
    message,
    modal,
    option,
    plain,
    section,
)
from storage.models import ConsentAction, ConsentKind, DraftStatus

ACTION_APPROVE = "outreach_approve"
ACTION_EDIT = "outreach_edit"
ACTION_REGENERATE = "outreach_regenerate"
ACTION_REJECT = "outreach_reject"
# On the candidate card (commands/candidate_views.py).
ACTION_CARD_DRAFT = "card_draft_email"
ACTION_CARD_CONSENT = "card_record_consent"
CALLBACK_CONSENT = "outreach_consent_submit"
CONSENT_KIND_BLOCK, CONSENT_ACTION_BLOCK = "consent_kind", "consent_action"
CONSENT_EVIDENCE_BLOCK, CONSENT_DAYS_BLOCK = "consent_evidence", "consent_valid_days"
CALLBACK_EDIT = "outreach_edit_submit"
SUBJECT_BLOCK, SUBJECT_ACTION = "outreach_subject", "subject"
BODY_BLOCK, BODY_ACTION = "outreach_body", "body"
MAX_SUBJECT_INPUT = 300
# Leaves room for the surrounding quote marks in a section.
_CHUNK = MAX_SECTION_TEXT - 100


def draft_button(candidate_id: int) -> dict[str, Any]:
    return button("Draft email", ACTION_CARD_DRAFT, str(candidate_id))


def consent_button(candidate_id: int) -> dict[str, Any]:
    return button("Record consent", ACTION_CARD_CONSENT, str(candidate_id))


def decision_value(view: DraftView) -> str:
    """What a decision button carries: the draft and the version it was drawn for (a stale click is refused)."""
    return f"{view.draft.id}:{view.draft.version}"


def read_decision_value(value: str) -> tuple[int, int]:
    draft_id, _, version = value.partition(":")
    return int(draft_id), int(version)


def _body_sections(body: str) -> list[Block]:
    escaped = render("outreach/escaped.md.j2", text=body)
    chunks = [escaped[i:i + _CHUNK] for i in range(0, len(escaped), _CHUNK)] or [""]
    return [section(chunk) for chunk in chunks]


def build_draft_message(view: DraftView, *, blocked_reason: str | None = None) -> dict[str, Any]:
    draft = view.draft
    blocks: list[Block] = [
        section(render("outreach/draft_heading.md.j2", purpose=draft.purpose, candidate_name=view.candidate_name,
                       position_title=view.position_title, requested_by=draft.requested_by_slack_id)),
        context(render("outreach/draft_source.md.j2", source=draft.source, source_note=draft.source_note,
                       model=draft.model, model_error=draft.model_error)),
    ]
    if draft.flags and draft.status == DraftStatus.PENDING:
        blocks.append(context(render("outreach/draft_flags.md.j2", flags=draft.flags)))
    blocks.append(section(render("outreach/draft_subject.md.j2", subject=draft.subject)))
    blocks += _body_sections(draft.body)
    if draft.status == DraftStatus.PENDING:
        value = decision_value(view)
        approve = button("Approve & send", ACTION_APPROVE, value, style="primary")
        approve["confirm"] = {"title": plain("Send this email?", 100),
                              "text": plain(render("outreach/approve_confirm.md.j2",
                                                   candidate_name=view.candidate_name), 300),
                              "confirm": plain("Send", 30), "deny": plain("Not yet", 30)}
        blocks.append(actions(approve, button("Edit", ACTION_EDIT, value),
                              button("Regenerate", ACTION_REGENERATE, value),
                              button("Reject", ACTION_REJECT, value, style="danger"),
                              block_id=f"outreach-draft:{draft.id}:{draft.version}"))
    else:
        blocks.append(context(render("outreach/draft_status.md.j2", status=draft.status,
                                     decided_by=draft.decided_by_slack_id, candidate_name=view.candidate_name,
                                     reply_to=draft.reply_to, email_status=view.email_status,
                                     email_error=view.email_error, blocked_reason=blocked_reason)))
    headline = render("outreach/draft_heading.md.j2", purpose=draft.purpose, candidate_name=view.candidate_name,
                      position_title=view.position_title, requested_by=draft.requested_by_slack_id)
    return message(headline, blocks)


def build_drafting_failed(*, candidate_name: str, reason: str) -> dict[str, Any]:
    text = render("outreach/drafting_failed.md.j2", candidate_name=candidate_name, reason=reason)
    return message(text, [section(text)])


def build_edit_modal(view: DraftView) -> dict[str, Any]:
    draft = view.draft
    subject = {"type": "plain_text_input", "action_id": SUBJECT_ACTION, "max_length": MAX_SUBJECT_INPUT,
               "initial_value": draft.subject[:MAX_SUBJECT_INPUT]}
    body = {"type": "plain_text_input", "action_id": BODY_ACTION, "multiline": True, "max_length": MAX_BODY,
            "initial_value": draft.body[:MAX_BODY]}
    blocks: list[Block] = [
        section(render("outreach/edit_intro.md.j2", candidate_name=view.candidate_name)),
        {"type": "input", "block_id": SUBJECT_BLOCK, "label": plain("Subject"), "element": subject},
        {"type": "input", "block_id": BODY_BLOCK, "label": plain("Email"), "element": body},
    ]
    return modal(title="Edit draft", blocks=blocks, callback_id=CALLBACK_EDIT, submit="Save", close="Cancel",
                 private_metadata=decision_value(view))


def read_edit_form(state_values: dict[str, Any]) -> tuple[str, str]:
    subject = (state_values.get(SUBJECT_BLOCK, {}).get(SUBJECT_ACTION) or {}).get("value") or ""
    body = (state_values.get(BODY_BLOCK, {}).get(BODY_ACTION) or {}).get("value") or ""
    return str(subject), str(body)


def edit_errors(errors: dict[str, str]) -> dict[str, str]:
    """Service field names → the modal's block ids, for `response_action: errors`."""
    blocks = {"subject": SUBJECT_BLOCK, "body": BODY_BLOCK}
    return {blocks[field]: text for field, text in errors.items()}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False) -> Block:
    block: Block = {"type": "input", "block_id": block_id, "label": plain(label), "element": element}
    if optional:
        block["optional"] = True
    return block


def build_consent_modal(*, candidate_id: int, candidate_name: str, default_days: int) -> dict[str, Any]:
    kinds = {"type": "radio_buttons", "action_id": "value", "options": [
        option("Contact: may be emailed about roles", ConsentKind.CONTACT),
        option("AI processing: may be drafted with AI", ConsentKind.AI_PROCESSING)]}
    actions_ = {"type": "radio_buttons", "action_id": "value", "options": [
        option("Agreed", ConsentAction.GRANTED), option("Withdrew", ConsentAction.REVOKED)]}
    evidence = {"type": "plain_text_input", "action_id": "value", "max_length": 500,
                "placeholder": plain("How did they tell you? (e.g. email of 3 Nov)")}
    days = {"type": "plain_text_input", "action_id": "value", "max_length": 4,
            "placeholder": plain(f"{default_days}")}
    blocks: list[Block] = [
        section(render("outreach/consent_intro.md.j2", candidate_name=candidate_name)),
        _input(CONSENT_KIND_BLOCK, "Consent", kinds), _input(CONSENT_ACTION_BLOCK, "They", actions_),
        _input(CONSENT_EVIDENCE_BLOCK, "Evidence", evidence),
        _input(CONSENT_DAYS_BLOCK, "Valid for (days, when agreed)", days, optional=True),
    ]
    return modal(title="Record consent", blocks=blocks, callback_id=CALLBACK_CONSENT, submit="Record",
                 close="Cancel", private_metadata=str(candidate_id))


def read_consent_form(state_values: dict[str, Any]) -> dict[str, str | None]:
    def value(block_id: str) -> str | None:
        element = state_values.get(block_id, {}).get("value") or {}
        selected = element.get("selected_option")
        return str(selected["value"]) if selected else element.get("value")

    return {"kind": value(CONSENT_KIND_BLOCK), "action": value(CONSENT_ACTION_BLOCK),
            "evidence": value(CONSENT_EVIDENCE_BLOCK), "valid_days": value(CONSENT_DAYS_BLOCK)}


def consent_errors(errors: dict[str, str]) -> dict[str, str]:
    blocks = {"kind": CONSENT_KIND_BLOCK, "action": CONSENT_ACTION_BLOCK, "evidence": CONSENT_EVIDENCE_BLOCK,
              "valid_days": CONSENT_DAYS_BLOCK}
    return {blocks[field]: text for field, text in errors.items()}
