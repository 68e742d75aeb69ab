"""Block Kit for nurture sequences: drafted steps for approval, the enrol modal, and `/candidate nurture`."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from bot.services.nurture import Segment, SegmentEnrollment, StepDraft
from bot.templates import render
from commands.kit import actions, button, message, modal, option, plain, section

ACTION_APPROVE = "nurture_step_approve"
ACTION_SKIP = "nurture_step_skip"
ACTION_CARD_ENROLL = "card_nurture_enroll"
CALLBACK_ENROLL = "nurture_enroll"
SEQUENCE_BLOCK = "sequence"
SEQUENCE_ACTION = "value"
NURTURE_WORDS = {"nurture", "sequence"}
FILTER_KEYS = {"role": "role_family", "skills": "skills", "skill": "skills", "location": "location",
               "seniority": "seniority", "engagement": "min_engagement"}


def build_step_draft(draft: StepDraft) -> dict[str, Any]:
    text = render("nurture/draft.md.j2", candidate_name=draft.candidate_name, sequence=draft.sequence,
                  step=draft.step + 1, subject=draft.email.subject, body=draft.email.text.strip())
    value = str(draft.send_id)
    return message(text, [section(text), actions(button("Approve & send", ACTION_APPROVE, value, style="primary"),
                                                 button("Skip this step", ACTION_SKIP, value),
                                                 block_id=f"nurture-draft:{draft.send_id}")])


def build_step_decided(*, approved: bool, user: str, candidate_name: str, sequence: str, step: int) -> dict[str, Any]:
    text = render("nurture/draft_decided.md.j2", approved=approved, user=user, candidate_name=candidate_name,
                  sequence=sequence, step=step + 1)
    return message(text, [section(text)])


def enroll_button(candidate_id: int) -> dict[str, Any]:
    return button("Enroll in sequence", ACTION_CARD_ENROLL, str(candidate_id))


def build_enroll_modal(*, candidate_id: int, candidate_name: str, sequences: Sequence[str]) -> dict[str, Any]:
    select = {"type": "static_select", "action_id": SEQUENCE_ACTION, "placeholder": plain("Choose a sequence"),
              "options": [option(name, name) for name in sequences[:100]]}
    block = {"type": "input", "block_id": SEQUENCE_BLOCK, "label": plain("Sequence"), "element": select}
    return modal(title="Nurture sequence", callback_id=CALLBACK_ENROLL, submit="Enroll",
                 private_metadata=str(candidate_id),
                 blocks=[section(f"Enroll *{candidate_name}* in a nurture sequence."), block])


def read_enroll_form(view: dict[str, Any]) -> tuple[int, str]:
    selected = view["state"]["values"][SEQUENCE_BLOCK][SEQUENCE_ACTION]["selected_option"]
    return int(view["private_metadata"]), str(selected["value"])


def build_text(template: str, **values: Any) -> dict[str, Any]:
    text = render(template, **values)
    return message(text, [section(text)])


def parse_nurture_command(rest: str) -> tuple[str, Segment] | None:
    """("passive", Segment(...)) from "passive skills:python,sql location:berlin"; None without a sequence."""
    try:
        words = shlex.split(rest)
    except ValueError:
        words = rest.split()
    if not words or ":" in words[0]:
        return None
    values: dict[str, Any] = {}
    for word in words[1:]:
        key, _, value = word.partition(":")
        field = FILTER_KEYS.get(key.casefold())
        if field is None or not value:
            return None
        if field == "skills":
            values[field] = tuple(skill.strip() for skill in value.split(",") if skill.strip())
        elif field == "min_engagement":
            if not value.isdigit():
                return None
            values[field] = int(value)
        else:
            values[field] = value
    return words[0].casefold(), Segment(**values)


def enrolled_text(result: SegmentEnrollment) -> dict[str, Any]:
    return build_text("nurture/enrolled.md.j2", enrolled=len(result.enrolled), sequence=result.sequence,
                      truncated=result.truncated, skipped=result.skipped)
