"""Block Kit for answers to questions: pure functions from bot.services.questions' data to a message payload.

Long answers come a page at a time; the "More" button carries the question's tool arguments and the next offset
as JSON (its value holds up to 2000 characters), so the next page is the same query, run again for whoever
clicks — with that person's access.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.nlu import Arguments, Intent, TimeRange
from bot.services.metrics import MetricAnswer
from bot.services.questions import (
    INTENT_OF,
    Answer,
    CandidateCard,
    HelpAnswer,
    Nudge,
    PipelineAnswer,
    ReferralsAnswer,
    SearchAnswer,
    Snooze,
    StaleAnswer,
    StatusAnswer,
    TasksAnswer,
    args_from_data,
    args_to_data,
)
from bot.templates import render
from commands.candidate_views import TIMELINE_LABELS
from commands.kit import Block, actions, button, context, message, section
from commands.referral_views import ACTION_OPEN_CANDIDATE
from commands.task_views import ACTION_TASK_DONE

ACTION_MORE = "question_more"
ACTION_NUDGE = "stale_nudge"
ACTION_SNOOZE = "stale_snooze"
# The AI-drafting feature answers this action (commands/outreach.py).
ACTION_DRAFT_FOLLOWUP = "draft_followup"
ACTION_STATUS_PICK = "question_status_pick"
MAX_BUTTON_VALUE = 2000
# A tampered "More" value must not make the bot count through the whole table.
MAX_OFFSET = 10_000


class PageRequestInvalid(ValueError):
    pass


def encode_page_request(args: Arguments, offset: int) -> str | None:
    """The "More" button's value; None when the arguments do not fit in one (the answer then has no button)."""
    value = json.dumps({"i": str(INTENT_OF[type(args)]), "a": args_to_data(args), "o": offset},
                       separators=(",", ":"), ensure_ascii=False)
    return value if len(value) <= MAX_BUTTON_VALUE else None


def decode_page_request(value: str, *, stages: list[str]) -> tuple[Intent, Arguments, int]:
    """Raises PageRequestInvalid for anything Slack would not have sent back from our own button."""
    try:
        data = json.loads(value)
        intent = Intent(data["i"])
        offset = int(data["o"])
        if not 0 <= offset <= MAX_OFFSET:
            raise ValueError("offset out of range")
        return intent, args_from_data(intent, data["a"], stages=stages), offset
    except (ValueError, KeyError, TypeError) as error:
        raise PageRequestInvalid(str(error)) from error


# --- formatting helpers -----------------------------------------------------------------------------


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def day_formatter(now: datetime, tz: str) -> Callable[[datetime | None], str]:
    """"Mon 16 Nov" in the asker's zone (with the year when it is not this year's)."""
    zone = _zone(tz)

    def day(moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = moment.astimezone(zone)
        return local.strftime("%a %-d %b" if local.year == now.astimezone(zone).year else "%-d %b %Y")

    return day


def _range_bounds(time_range: TimeRange | None, now: datetime) -> dict[str, datetime | None]:
    if time_range is None:
        return {"range_start": None, "range_end": None}
    # A range that runs up to now reads "since …"; a closed one names its last day (its end is exclusive).
    open_ended = time_range.end >= now
    return {"range_start": time_range.start,
            "range_end": None if open_ended else time_range.end - timedelta(microseconds=1)}


def _filters(day: Callable[[datetime | None], str], now: datetime, **parts: Any) -> str:
    time_range = parts.pop("time_range", None)
    return render("questions/filters.md.j2", day=day, **_range_bounds(time_range, now),
                  **{key: parts.get(key) for key in _FILTER_KEYS})


_FILTER_KEYS = ("text", "skills", "seniority", "locations", "stage", "position", "source", "pool", "owner",
                "older_than_days", "count_only")


def _more(args: Arguments, next_offset: int) -> list[Block]:
    value = encode_page_request(args, next_offset)
    return [actions(button("More", ACTION_MORE, value), block_id="question-more")] if value else []


def _page_words(offset: int, shown: int) -> dict[str, int]:
    return {"first": offset + 1, "last": offset + shown, "shown": shown}


def activity_label(kind: str) -> str:
    return TIMELINE_LABELS.get(kind, kind.replace(".", " ").replace("_", " ").capitalize())


# --- one builder per answer ---------------------------------------------------------------------------


def build_stale(answer: StaleAnswer, *, now: datetime, tz: str) -> dict[str, Any]:
    day = day_formatter(now, tz)
    args = answer.args
    older_than_days = round(args.older_than.total_seconds() / 86_400) if args.older_than else None
    filters = _filters(day, now, stage=args.stage, position=args.position, owner=args.owner,
                       time_range=args.time_range)
    new_count = sum(item.new_in_range for item in answer.items)
    headline = render("questions/stale_header.md.j2", total=answer.total, capped=answer.capped, filters=filters,
                      since=answer.since,
                      new_count_label=render("questions/stale_new_count.md.j2", count=new_count,
                                             more=answer.has_more or answer.offset > 0, day=day,
                                             since=answer.since),
                      older_than_days=older_than_days, **_page_words(answer.offset, len(answer.items)))
    blocks: list[Block] = [section(headline)]
    for owner, items in answer.by_owner():
        blocks.append(context(render("questions/stale_owner.md.j2", owner=owner)))
        for item in items:
            label = activity_label(item.last_activity_kind) if item.last_activity_kind else ""
            blocks.append(section(render("questions/stale_item.md.j2", item=item, activity_label=label, day=day),
                                  block_id=f"stale:{item.application_id}"))
            value = str(item.application_id)
            buttons = [button("Nudge owner", ACTION_NUDGE, value)] if item.owner_slack_id else []
            buttons += [button("Snooze 7 days", ACTION_SNOOZE, value),
                        button("Draft follow-up", ACTION_DRAFT_FOLLOWUP, value)]
            blocks.append(actions(*buttons, block_id=f"stale-actions:{item.application_id}"))
    if answer.has_more:
        blocks += _more(args, answer.offset + len(answer.items))
    return message(headline.splitlines()[0], blocks)


def build_pipeline(answer: PipelineAnswer, *, now: datetime, tz: str) -> dict[str, Any]:
    day = day_formatter(now, tz)
    args = answer.args
    filters = _filters(day, now, stage=args.stage, position=args.position, owner=args.owner,
                       time_range=args.time_range)
    headline = render("questions/pipeline_header.md.j2", total=answer.total, filters=filters,
                      stage_counts=answer.stage_counts, **_page_words(answer.offset, len(answer.items)))
    blocks: list[Block] = [section(headline)]
    groups: dict[str, list[Any]] = {}
    for item in answer.items:
        groups.setdefault(item.stage, []).append(item)
    for stage, items in groups.items():
        blocks.append(section(render("questions/pipeline_stage.md.j2", stage=stage, items=items)))
    if answer.has_more:
        blocks += _more(args, answer.offset + len(answer.items))
    return message(headline.splitlines()[0], blocks)


def build_search(answer: SearchAnswer, *, now: datetime, tz: str) -> dict[str, Any]:
    day = day_formatter(now, tz)
    args = answer.args
    filters = _filters(day, now, text=args.text, skills=args.skills, seniority=args.seniority,
                       locations=args.locations, stage=args.stage, position=args.position, source=args.source,
                       pool=args.pool, owner=args.owner)
    headline = render("questions/search_header.md.j2", total=answer.total, capped=answer.capped, filters=filters,
                      **_page_words(answer.offset, len(answer.items)))
    blocks: list[Block] = [section(headline)]
    for item in answer.items:
        accessory = button("Open", ACTION_OPEN_CANDIDATE, str(item.candidate_id)) if answer.can_open else None
        blocks.append(section(render("questions/search_item.md.j2", item=item), accessory=accessory,
                              block_id=f"candidate:{item.candidate_id}"))
    if answer.has_more:
        blocks += _more(args, answer.offset + len(answer.items))
    return message(headline.splitlines()[0], blocks)


def build_card(card: CandidateCard, *, now: datetime, tz: str) -> dict[str, Any]:
    day = day_formatter(now, tz)
    text = render("questions/status_card.md.j2", card=card, day=day)
    blocks: list[Block] = [section(text, block_id=f"candidate:{card.candidate_id}")]
    if card.recent:
        lines = [{"label": activity_label(line.kind), "occurred_at": line.occurred_at, "actor": line.actor}
                 for line in card.recent]
        blocks.append(context(render("questions/status_recent.md.j2", lines=lines, day=day)))
    if card.can_open:
        blocks.append(actions(button("Open candidate", ACTION_OPEN_CANDIDATE, str(card.candidate_id)),
                              block_id=f"candidate-actions:{card.candidate_id}"))
    return message(text.splitlines()[0], blocks)


def build_status(answer: StatusAnswer, *, now: datetime, tz: str) -> dict[str, Any]:
    if answer.card is not None:
        return build_card(answer.card, now=now, tz=tz)
    headline = render("questions/status_choices.md.j2", choices=answer.choices, query=answer.query,
                      more=answer.more_choices)
    blocks: list[Block] = [section(headline)]
    for choice in answer.choices:
        blocks.append(section(render("questions/status_choice.md.j2", choice=choice),
                              accessory=button("This one", ACTION_STATUS_PICK, str(choice.candidate_id)),
                              block_id=f"choice:{choice.candidate_id}"))
    return message(headline, blocks)


def build_tasks(answer: TasksAnswer, *, now: datetime, tz: str) -> dict[str, Any]:
    day = day_formatter(now, tz)
    headline = render("questions/tasks_header.md.j2", total=answer.total, overdue_only=answer.overdue_only,
                      mine=answer.asker_is_assignee, assignee=answer.assignee, due_before=answer.due_before,
                      day=day, **_page_words(answer.offset, len(answer.items)))
    blocks: list[Block] = [section(headline)]
    for item in answer.items:
        # Same block id and button as the task DMs, so "Done" here redraws the line like it does there.
        accessory = button("Done", ACTION_TASK_DONE, str(item.task_id), style="primary") \
            if answer.asker_is_assignee else None
        blocks.append(section(render("questions/task_line.md.j2", item=item), accessory=accessory,
                              block_id=f"task:{item.task_id}"))
    if answer.has_more:
        blocks += _more(answer.args, answer.offset + len(answer.items))
    return message(headline.splitlines()[0], blocks)


def build_referrals(answer: ReferralsAnswer, *, now: datetime, tz: str) -> dict[str, Any]:
    headline = render("questions/referrals_header.md.j2", total=answer.total,
                      ranged=answer.args.time_range is not None, **_page_words(answer.offset, len(answer.items)))
    blocks: list[Block] = [section(headline)]
    blocks += [section(render("referrals/status_line.md.j2", item=item)) for item in answer.items]
    if answer.has_more:
        blocks += _more(answer.args, answer.offset + len(answer.items))
    return message(headline.splitlines()[0], blocks)


def build_metric(answer: MetricAnswer, *, now: datetime, tz: str) -> dict[str, Any]:
    day = day_formatter(now, tz)
    period = render("questions/period.md.j2", day=day, **_range_bounds(TimeRange(answer.since, answer.before), now))
    text = render("questions/metric.md.j2", answer=answer, period=period, day=day)
    return message(text.splitlines()[0], [section(text)])


def build_help(answer: HelpAnswer) -> dict[str, Any]:
    intro = render("questions/help.md.j2", understood=answer.understood, note=answer.note)
    examples = render("questions/help_examples.md.j2",
                      sections=[(str(intent), phrasings) for intent, phrasings in answer.examples.items()])
    return message(intro, [section(intro), section(examples)])


def build_answer(answer: Answer, *, now: datetime, tz: str) -> dict[str, Any]:
    match answer:
        case StaleAnswer():
            return build_stale(answer, now=now, tz=tz)
        case PipelineAnswer():
            return build_pipeline(answer, now=now, tz=tz)
        case SearchAnswer():
            return build_search(answer, now=now, tz=tz)
        case StatusAnswer():
            return build_status(answer, now=now, tz=tz)
        case TasksAnswer():
            return build_tasks(answer, now=now, tz=tz)
        case ReferralsAnswer():
            return build_referrals(answer, now=now, tz=tz)
        case MetricAnswer():
            return build_metric(answer, now=now, tz=tz)
    return build_help(answer)


# --- confirmations for the buttons ----------------------------------------------------------------------


def build_nudge_dm(nudge: Nudge, *, nudger: str) -> dict[str, Any]:
    text = render("questions/nudge_dm.md.j2", nudge=nudge, nudger=nudger)
    return message(text, [section(text)])


def nudge_confirmation(nudge: Nudge) -> str:
    return render("questions/nudge_done.md.j2", nudge=nudge)


def snooze_confirmation(snooze: Snooze, *, now: datetime, tz: str) -> str:
    return render("questions/snooze_done.md.j2", snooze=snooze, day=day_formatter(now, tz))
