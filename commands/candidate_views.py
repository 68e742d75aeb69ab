"""Block Kit for candidates: the card (a modal), `/candidate` answers, the note modals, and the recruiting post
once someone owns the candidate. Pure builders and parsers; words come from prompts/candidates/."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.services.candidates import (
    MAX_NOTE_LENGTH,
    ApplicationView,
    CandidateCard,
    CandidateMatch,
    NoteAdded,
)
from bot.services.pipeline import NewApplication, StageMove
from bot.services.tasks import due_label
from bot.templates import render
from commands.interview_views import schedule_interview_button
from commands.kit import (
    MAX_OPTION_TEXT,
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
    truncate,
)
from commands.nurture_views import enroll_button
from commands.outreach_views import consent_button, draft_button
from commands.payout_views import hire_left_button
from commands.referral_views import ACTION_OPEN_CANDIDATE
from storage.models import Activity, ApplicationStatus, Task

CALLBACK_CARD = "candidate_card"
CALLBACK_NOTE = "candidate_note"
CALLBACK_TIMELINE_NOTE = "timeline_note"
SHORTCUT_ADD_TO_TIMELINE = "add_to_timeline"

ACTION_CARD_MOVE = "card_move_stage"
ACTION_CARD_NOTE = "card_add_note"
ACTION_CARD_OWNER = "card_assign_owner"
ACTION_CARD_ADD_POSITION = "card_add_position"
ACTION_CARD_TIMELINE = "card_timeline_page"
ACTION_MOVE_PICK_CANDIDATE = "candidate_move_pick"
ACTION_MOVE_PICK_APPLICATION = "candidate_move_application"
ACTION_CANDIDATE_SEARCH = "timeline_candidate_search"

NOTE_BLOCK = "note"
NOTE_ACTION = "value"
CANDIDATE_BLOCK = "candidate"

MAX_APPLICATIONS_SHOWN = 20
MAX_SELECT_OPTIONS = 100
MOVE_WORDS = {"move", "mv"}
HELP_WORDS = {"", "help", "?"}

TIMELINE_LABELS = {
    "candidate.created": "candidate created",
    "referral.submitted": "referral submitted",
    "consent.granted": "consent recorded",
    "consent.revoked": "consent revoked",
    "consent.not_regranted": "consent not renewed (the candidate had revoked it)",
    "candidate.details_added": "contact details added",
    "referral.credit_moved": "referral credit moved",
    "referral.payout_scheduled": "referral bonus scheduled",
    "referral.payout_cancelled": "referral bonus cancelled",
    "candidate.left": "left the company",
    "sla.flagged": "over the stage's time limit",
    "outreach.drafted": "email drafted",
    "outreach.regenerated": "email draft regenerated",
    "outreach.edited": "email draft edited",
    "outreach.approved": "email approved",
    "outreach.rejected": "email draft rejected",
    "outreach.blocked": "email not sent (no consent to contact)",
    "outreach.sent": "email sent",
    "outreach.failed": "email could not be sent",
    "nurture.enrolled": "enrolled in a nurture sequence",
    "nurture.stopped": "nurture sequence stopped",
    "nurture.replied": "replied to a nurture email",
    "nurture.step_approved": "nurture email approved",
    "nurture.step_skipped": "nurture email skipped",
}


# --- parsing ------------------------------------------------------------------------------------------

_SLACK_LINK = re.compile(r"<(?:mailto:)?([^|>]+)(?:\|([^>]*))?>")


def unwrap_slack_text(text: str) -> str:
    """Slack sends `<mailto:jane@example.com|jane@example.com>` for a typed email; keep what was typed."""
    def keep(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        return target if target and "@" in target and not target.startswith(("@", "#")) else (label or target)

    return html.unescape(_SLACK_LINK.sub(keep, text))


def readable_message_text(text: str) -> str:
    """A Slack message's text as a person would retype it: links as "label (address)", entities decoded."""
    def readable(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith(("@", "#", "!")):
            return match.group(0)
        return f"{label} ({target})" if label and label != target else target

    return html.unescape(_SLACK_LINK.sub(readable, text))


@dataclass(frozen=True)
class CandidateCommand:
    """`/candidate …` understood: "help", "open" (who) or "move" (who, and the stage as written)."""

    verb: str
    who: str = ""
    rest: str = ""


def parse_candidate_command(text: str) -> CandidateCommand:
    cleaned = " ".join(unwrap_slack_text(text).replace('"', " ").replace("“", " ").replace("”", " ").split())
    first, _, rest = cleaned.partition(" ")
    if cleaned.casefold() in HELP_WORDS:
        return CandidateCommand("help")
    if first.casefold() in MOVE_WORDS:
        return CandidateCommand("move", rest=rest) if rest else CandidateCommand("help")
    return CandidateCommand("open", who=cleaned)


def split_move(rest: str, stage_names: Sequence[str]) -> tuple[str, str] | None:
    """("jane doe", "Offer Accepted") from "jane doe offer accepted": stage names may hold spaces, so the
    longest ending that is a stage wins, and at least one word is left for the person."""
    words = rest.split()
    stages = {" ".join(name.split()).casefold(): name for name in stage_names}
    for length in range(len(words) - 1, 0, -1):
        stage = stages.get(" ".join(words[-length:]).casefold())
        if stage is not None:
            return " ".join(words[:-length]), stage
    return None


def move_value(application_id: int, stage: str) -> str:
    return f"{application_id}|{stage}"


def read_move_value(value: str) -> tuple[int, str]:
    identifier, _, stage = value.partition("|")
    return int(identifier), stage


def card_metadata(candidate_id: int, offset: int) -> str:
    return json.dumps({"candidate_id": candidate_id, "offset": offset})


def read_card_metadata(metadata: str) -> tuple[int, int]:
    data = json.loads(metadata or "{}")
    return int(data["candidate_id"]), int(data.get("offset", 0))


# --- small pieces ------------------------------------------------------------------------------------


def how_long(delta: timedelta) -> str:
    seconds = max(delta.total_seconds(), 0)
    if seconds < 3600:
        return f"{max(int(seconds // 60), 1)} min"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} days"


def who(slack_id: str) -> str:
    return f"<#{slack_id}>" if slack_id.startswith(("C", "G")) else f"<@{slack_id}>"


def _stage_options(stages: Sequence[str], *, application_id: int, current: str) -> list[dict[str, Any]]:
    return [option(stage, move_value(application_id, stage)) for stage in stages if stage != current][
        :MAX_SELECT_OPTIONS]


def move_select(stages: Sequence[str], *, application_id: int, current: str, action_id: str) -> dict[str, Any]:
    """A "Move stage" select: every stage but the current one, the choice naming the application."""
    return {"type": "static_select", "action_id": action_id, "placeholder": plain("Move stage"),
            "options": _stage_options(stages, application_id=application_id, current=current)}


def timeline_line(entry: Activity) -> str:
    assignee = entry.payload.get("assignee")
    return render("candidates/timeline_entry.md.j2", entry=entry,
                  assignee=who(assignee) if isinstance(assignee, str) and assignee else "someone",
                  label=TIMELINE_LABELS.get(entry.kind, entry.kind.replace(".", " ").replace("_", " ")))


# --- the card ----------------------------------------------------------------------------------------


def _application_block(application: ApplicationView, *, stages: Sequence[str], nonce: str) -> Block:
    text = render("candidates/card_application.md.j2", application=application,
                  time_in_stage=how_long(application.time_in_stage) if application.time_in_stage else "",
                  sla=how_long(application.sla) if application.sla else "")
    accessory = move_select(stages, application_id=application.application_id, current=application.stage,
                            action_id=ACTION_CARD_MOVE) if application.is_open else None
    return section(text, accessory=accessory, block_id=f"application:{application.application_id}:{nonce}")


def _application_actions(application: ApplicationView, *, may_manage: bool) -> list[Block]:
    """Interviews for open applications; a departure for hires (which can cancel a referral bonus)."""
    if application.is_open:
        return [actions(schedule_interview_button(application.application_id),
                        block_id=f"application-actions:{application.application_id}")]
    if may_manage and application.status == ApplicationStatus.HIRED:
        return [actions(hire_left_button(application.application_id),
                        block_id=f"application-actions:{application.application_id}")]
    return []


def _card_actions(card: CandidateCard, *, nonce: str) -> Block:
    elements: list[dict[str, Any]] = []
    if card.may_manage:
        owner: dict[str, Any] = {"type": "users_select", "action_id": ACTION_CARD_OWNER,
                                 "placeholder": plain("Assign owner")}
        if card.candidate.owner_slack_id:
            owner["initial_user"] = card.candidate.owner_slack_id
        elements.append(owner)
        if card.addable_positions:
            elements.append({"type": "static_select", "action_id": ACTION_CARD_ADD_POSITION,
                             "placeholder": plain("Add to position"),
                             "options": [option(title, str(position_id))
                                         for position_id, title in card.addable_positions[:MAX_SELECT_OPTIONS]]})
    elements.append(button("Add note", ACTION_CARD_NOTE, str(card.candidate.id)))
    elements += [draft_button(card.candidate.id or 0), consent_button(card.candidate.id or 0)]
    if card.may_manage:
        elements.append(enroll_button(card.candidate.id or 0))
    return actions(*elements, block_id=f"card-actions:{nonce}")


def _timeline_blocks(card: CandidateCard) -> list[Block]:
    page = card.timeline
    heading = render("candidates/card_timeline_heading.md.j2", total=page.total, first=page.offset + 1,
                     last=page.offset + len(page.entries))
    blocks: list[Block] = [divider(), section(heading)]
    blocks += [context(timeline_line(entry)) for entry in page.entries]
    paging = []
    if page.has_newer:
        paging.append(button("Newer", ACTION_CARD_TIMELINE, str(max(page.offset - page.page_size, 0))))
    if page.has_older:
        paging.append(button("Older", ACTION_CARD_TIMELINE, str(page.offset + page.page_size)))
    if paging:
        blocks.append(actions(*paging, block_id="timeline-paging"))
    return blocks


def _task_lines(tasks: Sequence[Task], now: datetime) -> list[dict[str, Any]]:
    return [{"task": task, "assignee": who(task.assignee_slack_id), "due": due_label(task, now)} for task in tasks]


def build_candidate_card(card: CandidateCard, *, now: datetime, nonce: str = "") -> dict[str, Any]:
    """The card as a modal. `nonce` goes into the ids of blocks holding selects, so that redrawing the card
    resets a select Slack would otherwise keep showing the last choice in."""
    blocks: list[Block] = [section(render("candidates/card_profile.md.j2", candidate=card.candidate))]
    if card.referrals:
        blocks.append(section(render("candidates/card_referrals.md.j2", referrals=card.referrals)))
    blocks.append(section(render("candidates/card_consents.md.j2", consents=card.consents, now=now)))
    blocks.append(_card_actions(card, nonce=nonce))
    blocks.append(divider())
    if card.applications:
        blocks.append(section("*Applications*"))
        shown = sorted(card.applications, key=lambda a: not a.is_open)[:MAX_APPLICATIONS_SHOWN]
        for application in shown:
            blocks.append(_application_block(application, stages=card.stages, nonce=nonce))
            blocks += _application_actions(application, may_manage=card.may_manage)
    else:
        blocks.append(section(render("candidates/card_no_applications.md.j2", may_manage=card.may_manage)))
    if card.open_tasks:
        blocks.append(section(render("candidates/card_tasks.md.j2", lines=_task_lines(card.open_tasks, now))))
    if card.scorecards:
        blocks.append(section(render("candidates/card_scorecards.md.j2", scorecards=card.scorecards)))
    blocks += _timeline_blocks(card)
    return modal(title=truncate(card.candidate.full_name, 24), blocks=blocks, callback_id=CALLBACK_CARD,
                 private_metadata=card_metadata(card.candidate.id or 0, card.timeline.offset))


def build_refusal_modal(text: str) -> dict[str, Any]:
    """Shown on top of the card (or the Home tab) when an action there is refused: modals have no
    ephemeral messages, and a DM would leave the person wondering why nothing happened."""
    return modal(title="Not done", blocks=[section(text)], close="OK")


# --- /candidate answers ------------------------------------------------------------------------------


def build_which_one(matches: Sequence[CandidateMatch], *, query: str, more: bool,
                    stage: str | None = None) -> dict[str, Any]:
    """One button per match; `more` says the list was cut, so the person narrows the search."""
    intro = render("candidates/which_one.md.j2", query=query, stage=stage, shown=len(matches), more=more)
    blocks: list[Block] = [section(intro)]
    for match in matches:
        line = render("candidates/match_line.md.j2", match=match)
        if stage is None:
            choose = button("Open", ACTION_OPEN_CANDIDATE, str(match.candidate_id))
        else:
            choose = button("Move", ACTION_MOVE_PICK_CANDIDATE, f"{match.candidate_id}|{stage}")
        blocks.append(section(line, accessory=choose))
    return message(intro, blocks)


def build_which_application(candidate_name: str, applications: Sequence[ApplicationView],
                            stage: str) -> dict[str, Any]:
    intro = render("candidates/which_application.md.j2", candidate_name=candidate_name, stage=stage)
    blocks: list[Block] = [section(intro)]
    for application in applications[:MAX_APPLICATIONS_SHOWN]:
        blocks.append(section(render("candidates/application_line.md.j2", application=application),
                              accessory=button("Move", ACTION_MOVE_PICK_APPLICATION,
                                               move_value(application.application_id, stage))))
    return message(intro, blocks)


def build_text(template: str, **values: Any) -> dict[str, Any]:
    text = render(template, **values)
    return message(text, [section(text)])


def build_moved(move: StageMove) -> dict[str, Any]:
    return build_text("candidates/moved.md.j2", move=move)


def build_added_to_position(added: NewApplication) -> dict[str, Any]:
    return build_text("candidates/added_to_position.md.j2", added=added)


# --- notes -------------------------------------------------------------------------------------------


def _note_input(initial: str | None = None) -> Block:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": NOTE_ACTION, "multiline": True,
                               "max_length": MAX_NOTE_LENGTH, "placeholder": plain("What should the team know?")}
    if initial:
        element["initial_value"] = initial[:MAX_NOTE_LENGTH]
    return {"type": "input", "block_id": NOTE_BLOCK, "label": plain("Note", 2000), "element": element}


def build_note_modal(*, candidate_id: int, candidate_name: str, card_view_id: str) -> dict[str, Any]:
    blocks = [section(render("candidates/note_modal_intro.md.j2", candidate_name=candidate_name)), _note_input()]
    return modal(title="Add a note", blocks=blocks, callback_id=CALLBACK_NOTE, submit="Save", close="Back",
                 private_metadata=json.dumps({"candidate_id": candidate_id, "card_view_id": card_view_id}))


def read_note_metadata(metadata: str) -> tuple[int, str]:
    data = json.loads(metadata or "{}")
    return int(data["candidate_id"]), str(data.get("card_view_id", ""))


def read_note_text(state_values: dict[str, Any]) -> str:
    return str((state_values.get(NOTE_BLOCK, {}).get(NOTE_ACTION) or {}).get("value") or "")


def build_timeline_note_modal(*, text: str, channel: str, message_ts: str, author: str | None) -> dict[str, Any]:
    """The "Add to timeline" shortcut: pick the candidate; the message's text is the note, editable."""
    candidate_select = {"type": "external_select", "action_id": ACTION_CANDIDATE_SEARCH, "min_query_length": 1,
                        "placeholder": plain("Type a name or an email")}
    source = render("candidates/timeline_note_source.md.j2", author=author, channel=channel,
                    channel_ref=who(channel) if channel[:1] in ("C", "G") else "a conversation")
    blocks: list[Block] = [
        {"type": "input", "block_id": CANDIDATE_BLOCK, "label": plain("Candidate", 2000), "element": candidate_select},
        _note_input(readable_message_text(text) if text else None),
        context(source),
    ]
    metadata = json.dumps({"channel": channel, "ts": message_ts, "author": author})
    return modal(title="Add to timeline", blocks=blocks, callback_id=CALLBACK_TIMELINE_NOTE, submit="Add",
                 close="Cancel", private_metadata=metadata)


def read_timeline_note_form(view: dict[str, Any]) -> tuple[int | None, str, dict[str, Any]]:
    """(candidate id or None, note text, the message it came from)."""
    values = view.get("state", {}).get("values", {})
    selected = (values.get(CANDIDATE_BLOCK, {}).get(ACTION_CANDIDATE_SEARCH) or {}).get("selected_option") or {}
    value = str(selected.get("value") or "")
    return (int(value) if value.isdigit() else None), read_note_text(values), json.loads(
        view.get("private_metadata") or "{}")


def candidate_options(matches: Sequence[CandidateMatch]) -> list[dict[str, Any]]:
    return [option(truncate(f"{m.full_name} · {m.email}" if m.email else m.full_name, MAX_OPTION_TEXT),
                   str(m.candidate_id)) for m in matches]


def build_note_saved(added: NoteAdded) -> dict[str, Any]:
    return modal(title="Add to timeline", blocks=[section(render("candidates/note_saved.md.j2", added=added))],
                 close="Done")


# --- the recruiting post -----------------------------------------------------------------------------


def build_owned_post(blocks: list[Block], *, owner_slack_id: str) -> list[Block]:
    """The recruiting post after "Assign to me": the button goes, the owner is shown."""
    updated: list[Block] = []
    for block in blocks:
        if block.get("type") == "actions":
            kept = [e for e in block.get("elements", []) if e.get("action_id") != "candidate_assign_me"]
            updated.append(context(f"Owner: <@{owner_slack_id}>"))
            if kept:
                updated.append({**block, "elements": kept})
            continue
        updated.append(block)
    return updated
