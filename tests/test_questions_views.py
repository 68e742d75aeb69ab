"""Answers as Block Kit, checked as data: within Slack's limits, paged, with the right buttons, no lost words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.nlu import (
    INTENT_EXAMPLES,
    Intent,
    Metric,
    MetricArgs,
    PipelineArgs,
    SearchArgs,
    StaleArgs,
    TasksArgs,
    TimeRange,
)
from bot.services.metrics import MetricAnswer
from bot.services.questions import (
    CandidateCard,
    CandidateOption,
    HelpAnswer,
    PipelineAnswer,
    PipelineItem,
    SearchAnswer,
    SearchItem,
    StaleAnswer,
    StaleItem,
    StatusAnswer,
    TaskItem,
    TasksAnswer,
)
from commands.question_views import (
    ACTION_DRAFT_FOLLOWUP,
    ACTION_MORE,
    ACTION_NUDGE,
    ACTION_SNOOZE,
    ACTION_STATUS_PICK,
    PageRequestInvalid,
    build_answer,
    decode_page_request,
    encode_page_request,
)
from tests.harness import check_blocks, check_message_text

NOW = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
TZ = "Europe/Berlin"
STAGES = ["Sourced", "Phone Screen", "Interview", "Offer"]
THIS_WEEK = TimeRange(datetime(2026, 11, 15, 23, 0, tzinfo=UTC), NOW)


def valid(payload: dict[str, Any]) -> dict[str, Any]:
    assert check_blocks(payload["blocks"], surface="message") == []
    assert check_message_text(payload["text"]) == [] and payload["text"].strip()
    return payload


def action_ids(payload: dict[str, Any]) -> list[str]:
    ids = []
    for block in payload["blocks"]:
        ids += [e["action_id"] for e in block.get("elements", []) if "action_id" in e]
        if "accessory" in block:
            ids.append(block["accessory"]["action_id"])
    return ids


def text_of(payload: dict[str, Any]) -> str:
    return json.dumps(payload["blocks"], ensure_ascii=False)


def stale_item(n: int, *, owner: str | None, new: bool = False) -> StaleItem:
    return StaleItem(application_id=n, candidate_id=100 + n, candidate_name=f"Person {n} <b>&", position_title="QA",
                     stage="Interview", owner_slack_id=owner, last_touched_at=NOW - timedelta(days=20 + n),
                     days_since_touch=20 + n, stale_since=NOW - timedelta(days=10 + n), new_in_range=new,
                     last_activity_kind="stage.moved", last_activity_at=NOW - timedelta(days=20 + n))


def test_a_full_stale_page_stays_inside_slacks_limits_and_offers_more() -> None:
    # Ten owners for ten items is the most blocks a page can take.
    items = [stale_item(n, owner=f"UOWNER{n:03d}" if n % 2 else None, new=n < 3) for n in range(10)]
    answer = StaleAnswer(args=StaleArgs(stage="Interview", time_range=THIS_WEEK), items=items, total=42,
                         offset=0, limit=10, since=THIS_WEEK.start)
    payload = valid(build_answer(answer, now=NOW, tz=TZ))
    assert len(payload["blocks"]) <= 50
    ids = action_ids(payload)
    assert ids.count(ACTION_NUDGE) == 5, "no Nudge for people nobody owns"
    assert ids.count(ACTION_SNOOZE) == ids.count(ACTION_DRAFT_FOLLOWUP) == 10
    assert ids[-1] == ACTION_MORE
    text = text_of(payload)
    assert "42 stale candidates" in text and "since Mon 16 Nov" in text and "in Interview" in text
    assert "3 on this page went stale since Mon 16 Nov" in text
    assert "Person 0 &lt;b&gt;&amp;" in text, "names are escaped for mrkdwn"
    assert "Owner: <@UOWNER001>" in text and "No owner yet" in text
    intent, args, offset = decode_page_request(payload["blocks"][-1]["elements"][0]["value"], stages=STAGES)
    assert (intent, args, offset) == (Intent.STALE, answer.args, 10)


def test_no_stale_candidates_says_so() -> None:
    payload = valid(build_answer(StaleAnswer(args=StaleArgs(), items=[], total=0, offset=0, limit=10), now=NOW,
                                 tz=TZ))
    assert "No stale candidates" in payload["text"] and ACTION_MORE not in action_ids(payload)


def test_pipeline_groups_by_stage_with_counts() -> None:
    items = [PipelineItem(application_id=n, candidate_id=n, candidate_name=f"P{n}", position_title="QA",
                          stage="Interview" if n < 3 else "Offer", owner_slack_id=None, days_in_stage=n)
             for n in range(1, 6)]
    answer = PipelineAnswer(args=PipelineArgs(position="QA"), stage_counts=[("Interview", 2), ("Offer", 30)],
                            items=items, total=32, offset=0, limit=5)
    payload = valid(build_answer(answer, now=NOW, tz=TZ))
    text = text_of(payload)
    assert "32 open applications" in text and "Interview: *2*" in text and "Offer: *30*" in text
    assert action_ids(payload) == [ACTION_MORE]
    counted = valid(build_answer(PipelineAnswer(args=PipelineArgs(stage="Offer", count_only=True),
                                                stage_counts=[("Offer", 30)], items=[], total=30, offset=0,
                                                limit=20), now=NOW, tz=TZ))
    assert action_ids(counted) == []


def test_search_results_page_and_open_buttons_follow_access() -> None:
    items = [SearchItem(candidate_id=n, name=f"Cand {n}", location="Berlin", seniority="senior",
                        skills=("Python", "SQL"), source="referral", talent_pool=None, owner_slack_id="UREC",
                        applications=(("Backend Engineer", "Interview"),)) for n in range(20)]
    args = SearchArgs(skills=("Python",), locations=("Berlin",), source="referral")
    recruiter = valid(build_answer(SearchAnswer(args=args, items=items, total=1000, capped=True, offset=0, limit=20),
                                   now=NOW, tz=TZ))
    assert "1000+ candidates" in recruiter["text"] and "with Python · in Berlin · referred" in recruiter["text"]
    assert action_ids(recruiter).count("candidate_open") == 20 and action_ids(recruiter)[-1] == ACTION_MORE
    manager = valid(build_answer(SearchAnswer(args=args, items=items[:2], total=2, capped=False, offset=0, limit=20,
                                              can_open=False), now=NOW, tz=TZ))
    assert action_ids(manager) == []


def test_status_card_or_a_choice() -> None:
    card = CandidateCard(candidate_id=7, name="Jane Doe", location="Berlin", seniority=None, skills=("SQL",),
                         source="referral", talent_pool=None, owner_slack_id=None, status="active", applications=[],
                         recent=[], can_open=True)
    payload = valid(build_answer(StatusAnswer(query="Jane Doe", card=card), now=NOW, tz=TZ))
    assert "*Jane Doe*" in payload["text"] and action_ids(payload) == ["candidate_open"]
    choices = [CandidateOption(candidate_id=n, name="Jane Doe", detail=f"City {n}") for n in range(5)]
    choice = valid(build_answer(StatusAnswer(query="Jane Doe", choices=choices, more_choices=True), now=NOW, tz=TZ))
    assert "Which one" in choice["text"] and action_ids(choice) == [ACTION_STATUS_PICK] * 5
    nobody = valid(build_answer(StatusAnswer(query="Nobody"), now=NOW, tz=TZ))
    assert "nobody called “Nobody”" in nobody["text"]


def test_tasks_carry_the_task_buttons_only_for_their_assignee() -> None:
    items = [TaskItem(task_id=n, title=f"T{n}", candidate_name="Jane", due_at=NOW, overdue=n == 0,
                      due_label="due in 2 h") for n in range(3)]
    mine = TasksAnswer(args=TasksArgs(), overdue_only=False, assignee="UME", asker_is_assignee=True, items=items,
                       total=3, offset=0, limit=20)
    assert action_ids(valid(build_answer(mine, now=NOW, tz=TZ))) == ["task_done"] * 3
    theirs = TasksAnswer(args=TasksArgs(), overdue_only=True, assignee="UYOU", asker_is_assignee=False,
                         items=items, total=3, offset=0, limit=20)
    payload = valid(build_answer(theirs, now=NOW, tz=TZ))
    assert action_ids(payload) == [] and "3 overdue tasks* for <@UYOU>" in payload["text"]


@pytest.mark.parametrize("metric, fields, expected", [
    (Metric.TIME_TO_OFFER, {"median_days": 12.25, "samples": 8}, "median *12.2 days*"),
    (Metric.OFFER_ACCEPTANCE_RATE, {"accepted": 3, "declined": 1}, "*75%* — 3 accepted, 1 declined"),
    (Metric.OFFER_ACCEPTANCE_RATE, {}, "no offer was accepted or declined"),
    (Metric.TIME_TO_OFFER, {"offer_stage": None}, "no stage called “Offer”"),
    (Metric.REFERRAL_HIRES, {}, "0 referral hires"),
])
def test_numbers_read_as_sentences(metric: Metric, fields: dict[str, Any], expected: str) -> None:
    answer = MetricAnswer(metric=metric, since=NOW - timedelta(days=90), before=NOW, asked_range=False,
                          positions_limited=False, **fields)
    payload = valid(build_answer(answer, now=NOW, tz=TZ))
    assert expected in payload["text"]
    assert "since" in payload["text"] or fields.get("offer_stage", "Offer") is None


def test_help_lists_every_intent_with_examples() -> None:
    payload = valid(build_answer(HelpAnswer(understood=False, note="(The model could not place it either.)"),
                                 now=NOW, tz=TZ))
    text = text_of(payload)
    assert "didn't understand" in text and "could not place it" in text
    for examples in INTENT_EXAMPLES.values():
        assert all(example in text for example in examples)


def test_page_requests_refuse_what_our_buttons_never_send() -> None:
    good = encode_page_request(MetricArgs(Metric.TIME_TO_OFFER), 20)
    assert good is not None
    for bad in ["nonsense", '{"i":"stale","a":{"stage":"Moon"},"o":10}', '{"i":"stale","a":{},"o":-1}',
                '{"i":"stale","a":{"stage":"Interview","drop":"table"},"o":10}', '{"i":"nope","a":{},"o":0}',
                '{"i":"stale","a":{"time_range":{"start":"2026-02-01T00:00:00+00:00",'
                '"end":"2026-01-01T00:00:00+00:00"}},"o":0}']:
        with pytest.raises(PageRequestInvalid):
            decode_page_request(bad, stages=STAGES)
    assert encode_page_request(SearchArgs(text="x" * 200, skills=tuple("s" * 150 for _ in range(15))), 20) is None
