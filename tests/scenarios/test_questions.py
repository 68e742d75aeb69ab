"""Questions in Slack, end to end: signed events in, answers in the thread where they were asked, buttons that act.

The clock stands at Thursday 2026-11-19 15:00 UTC; everyone in the fake Slack is in Europe/Berlin.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot.deps import build_deps
from bot.settings import Settings
from bot.workspace import WorkspaceConfig
from storage.db import Database
from storage.models import Activity, Application, OutboxMessage, Referral, Task
from tests.conftest import EMPLOYEE, HIRING_MANAGER, RECRUITER, RECRUITING_CHANNEL, SIGNING_SECRET, Clock
from tests.harness import BOT_USER_ID, Call, FakeSlack, SignedSlackClient
from tests.harness.fake_openai import FakeOpenAI
from tests.harness.running_app import RunningApp, serve_app
from tests.test_questions_service import NOW, World, ago

_TS = itertools.count(1)


def next_ts() -> str:
    return f"1763564400.{next(_TS):06d}"


def mention(signed: SignedSlackClient, user: str, text: str, *, thread_ts: str | None = None,
            channel: str = RECRUITING_CHANNEL) -> str:
    ts = next_ts()
    event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts, "channel": channel,
             "event_ts": ts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    assert signed.event(event).status_code == 200
    return thread_ts or ts


def direct_message(signed: SignedSlackClient, user: str, text: str, **extra: Any) -> str:
    ts = next_ts()
    event = {"type": "message", "channel_type": "im", "channel": f"D{user}", "user": user, "text": text, "ts": ts,
             "event_ts": ts, **extra}
    assert signed.event(event).status_code == 200
    return ts


def reply_in(slack: FakeSlack, thread_ts: str, *, method: str = "chat.postMessage") -> Call:
    return slack.wait_for(method, lambda call: call.args.get("thread_ts") == thread_ts, timeout=10)


def blocks_text(call: Call) -> str:
    return json.dumps(call.args.get("blocks") or [], ensure_ascii=False) + call.args.get("text", "")


def button(call: Call, action_id: str, *, containing: str = "") -> dict[str, Any]:
    for block in call.args["blocks"]:
        for element in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
            if element.get("action_id") == action_id and containing in json.dumps(block):
                return element
    raise AssertionError(f"no {action_id} button in {blocks_text(call)[:500]}")


def posted(call: Call) -> dict[str, Any]:
    """The message as Slack stored it (what a later block_actions payload carries)."""
    return call.response["message"] | {"ts": call.response["ts"]}


@pytest.fixture
def world(app: RunningApp, clock: Clock) -> dict[str, int]:
    clock.now = NOW
    with app.deps.db.transaction() as session:
        w = World(session)
        backend = w.position("Backend Engineer", manager=HIRING_MANAGER)
        design = w.position("Product Designer")
        ids: dict[str, int] = {}
        for n in range(12):  # more than a page of stale candidates
            person = w.candidate(f"Stale Person {n:02d}", owner=RECRUITER, skills=["Python"], location="Berlin")
            ids[f"stale{n}"] = w.apply(person, design, stage="Interview", at=ago(days=30 - n)).id or 0
        jane = w.candidate("Jane Doe", owner=RECRUITER, skills=["SQL", "Python"], location="Berlin",
                           seniority="senior", source="referral", email="jane@example.com")
        ids["jane"] = w.apply(jane, backend, stage="Interview", at=ago(days=12)).id or 0
        w.candidate("Jane Doe", location="Paris", skills=["Go"])
        fresh = w.candidate("Fresh Face", skills=["Rust"])
        w.apply(fresh, backend, stage="Phone Screen", at=ago(days=1))
        w.move(session.get(Application, ids["stale0"]), "Offer", at=ago(days=20))  # type: ignore[arg-type]
        session.add(Referral(code="R-EMP1", referrer_slack_id=EMPLOYEE, candidate_id=jane.id or 0,
                             position_id=backend.id, relationship="Friend", note="", created_at=ago(days=40),
                             updated_at=ago(days=40)))
        session.add(Task(title="Call Jane back", assignee_slack_id=RECRUITER, candidate_id=jane.id,
                         due_at=ago(days=1), created_at=ago(days=3)))
    return ids


QUESTIONS = [
    ("stale candidates this week", "stale candidates"),
    ("who is in interview for backend engineer?", "1 open application"),
    ("how many in offer?", "Offer: *1*"),
    ("candidates with SQL in Berlin", "1 candidate"),
    ("find Fresh Face", "Fresh Face"),
    ("what's the status of jane@example.com?", "Backend Engineer*: Interview for 12 days"),
    ("my tasks", "Call Jane back"),
    ("what's overdue?", "1 overdue task"),
    ("my referrals", "nobody"),
    ("offer acceptance rate", "Offer acceptance"),
    ("time to offer for the last 90 days", "Time to offer"),
    ("referral hires this quarter", "0 referral hires"),
    ("help", "Here is what I can answer"),
    ("purple monkey dishwasher", "didn't understand"),
]


@pytest.mark.parametrize("question, expected", QUESTIONS, ids=[q for q, _ in QUESTIONS])
def test_every_kind_of_question_is_answered_in_its_thread(signed: SignedSlackClient, slack: FakeSlack,
                                                          world: dict[str, int], question: str,
                                                          expected: str) -> None:
    thread = mention(signed, RECRUITER, question)
    answer = reply_in(slack, thread)
    assert answer.args["channel"] == RECRUITING_CHANNEL
    assert expected in blocks_text(answer).replace("You haven't referred anyone", "nobody")
    assert len(answer.args["blocks"]) <= 50


def test_a_question_inside_a_thread_is_answered_in_that_thread(signed: SignedSlackClient, slack: FakeSlack,
                                                               world: dict[str, int]) -> None:
    parent = next_ts()
    thread = mention(signed, RECRUITER, "how many in interview?", thread_ts=parent)
    assert thread == parent
    assert "Interview: *12*" in blocks_text(reply_in(slack, parent))


def test_stale_answer_pages_with_more_in_the_thread(signed: SignedSlackClient, slack: FakeSlack,
                                                    world: dict[str, int]) -> None:
    thread = mention(signed, RECRUITER, "stale candidates")
    first = reply_in(slack, thread)
    text = blocks_text(first)
    assert "13 stale candidates" in text and "Showing 1–10" in text and "Stale Person 00" in text
    assert "Owner: <@URECRUIT1>" in text
    more = button(first, "question_more")
    signed.block_action(RECRUITER, "question_more", more["value"], message=posted(first),
                        channel_id=RECRUITING_CHANNEL)
    second = slack.wait_for("chat.postMessage", lambda c: c.args.get("thread_ts") == thread and c is not first
                            and "Showing 11–13" in blocks_text(c))
    assert "Stale Person 10" in blocks_text(second) and "question_more" not in blocks_text(second)
    # The button goes once its page is posted; the update follows the post.
    slack.wait_for("chat.update", lambda c: c.args.get("ts") == first.response["ts"])
    updated = slack.message(RECRUITING_CHANNEL, first.response["ts"])
    assert updated is not None and "question_more" not in json.dumps(updated["blocks"]), "the button is used up"


def test_employees_are_refused_politely_and_privately_but_get_their_referrals(
        signed: SignedSlackClient, slack: FakeSlack, world: dict[str, int]) -> None:
    thread = mention(signed, EMPLOYEE, "stale candidates")
    refusal = reply_in(slack, thread, method="chat.postEphemeral")
    assert refusal.args["user"] == EMPLOYEE and "recruiters and hiring managers" in refusal.args["text"]
    assert "my referrals" in refusal.args["text"]
    slack.assert_no_call("chat.postMessage", lambda c: c.args.get("thread_ts") == thread)

    dm = direct_message(signed, EMPLOYEE, "my referrals")
    answer = reply_in(slack, dm)
    assert answer.args["channel"] == f"D{EMPLOYEE}"
    assert "Your referrals" in blocks_text(answer) and "Jane Doe" in blocks_text(answer)


def test_hiring_managers_see_their_positions_only(signed: SignedSlackClient, slack: FakeSlack,
                                                  world: dict[str, int]) -> None:
    thread = mention(signed, HIRING_MANAGER, "who is in the pipeline?")
    text = blocks_text(reply_in(slack, thread))
    assert "2 open applications" in text and "Jane Doe" in text and "Stale Person" not in text
    dm = direct_message(signed, HIRING_MANAGER, "stale candidates")
    text = blocks_text(reply_in(slack, dm))
    assert "1 stale candidate" in text and "Jane Doe" in text and "Stale Person" not in text


def test_the_bots_own_messages_edits_and_other_events_get_no_answer(signed: SignedSlackClient, slack: FakeSlack,
                                                                    world: dict[str, int]) -> None:
    direct_message(signed, EMPLOYEE, "my referrals", bot_id="BBOT")
    direct_message(signed, EMPLOYEE, "my referrals", subtype="message_changed")
    direct_message(signed, EMPLOYEE, "my referrals", channel_type="channel", channel=RECRUITING_CHANNEL)
    slack.assert_no_call("chat.postMessage", within=0.8)


def test_a_retried_event_is_answered_once(signed: SignedSlackClient, slack: FakeSlack,
                                          world: dict[str, int]) -> None:
    ts = next_ts()
    event = {"type": "message", "channel_type": "im", "channel": f"D{EMPLOYEE}", "user": EMPLOYEE,
             "text": "my referrals", "ts": ts, "event_ts": ts}
    signed.event(event, event_id="EvQ1")
    reply_in(slack, ts)
    signed.event(event, event_id="EvQ1", retry_num=1)
    time.sleep(0.5)
    assert len([c for c in slack.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts]) == 1


def test_nudge_dms_the_owner_through_the_outbox_and_goes_on_the_timeline(
        app: RunningApp, signed: SignedSlackClient, slack: FakeSlack, world: dict[str, int]) -> None:
    slack.add_user("URECRUIT9", name="nora")
    thread = mention(signed, HIRING_MANAGER, "stale candidates")
    answer = reply_in(slack, thread)
    nudge = button(answer, "stale_nudge")
    assert nudge["value"] == str(world["jane"])
    for _ in range(2):  # a double click nudges once
        signed.block_action(HIRING_MANAGER, "stale_nudge", nudge["value"], message=posted(answer),
                            channel_id=RECRUITING_CHANNEL)
    dm = slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == RECRUITER)
    assert "Jane Doe" in dm.args["text"] and f"<@{HIRING_MANAGER}>" in dm.args["text"]
    slack.wait_for("response_url", lambda c: "already nudged" in json.dumps(c.args))
    slack.wait_for("response_url", lambda c: "asked <@URECRUIT1> to follow up" in json.dumps(c.args))
    with app.deps.db.read() as session:
        assert session.exec(select(OutboxMessage)).one().status == "sent"
        nudges = session.exec(select(Activity).where(Activity.kind == "stale.nudged")).all()
    assert [(a.actor, a.application_id) for a in nudges] == [(HIRING_MANAGER, world["jane"])]


def test_snooze_hides_the_candidate_for_a_week(signed: SignedSlackClient, slack: FakeSlack, clock: Clock,
                                               world: dict[str, int]) -> None:
    answer = reply_in(slack, mention(signed, RECRUITER, "stale in interview for backend engineer"))
    snooze = button(answer, "stale_snooze")
    signed.block_action(RECRUITER, "stale_snooze", snooze["value"], message=posted(answer),
                        channel_id=RECRUITING_CHANNEL)
    slack.wait_for("response_url", lambda c: "stays off the stale list until Thu 26 Nov" in json.dumps(c.args))
    again = reply_in(slack, mention(signed, RECRUITER, "stale in interview for backend engineer"))
    assert "No stale candidates" in blocks_text(again)
    clock.advance(days=8)
    later = reply_in(slack, mention(signed, RECRUITER, "stale in interview for backend engineer"))
    assert "Jane Doe" in blocks_text(later)


def test_draft_follow_up_goes_to_drafting(signed: SignedSlackClient, slack: FakeSlack,
                                         world: dict[str, int]) -> None:
    # Drafting itself is tested in tests/scenarios/test_outreach.py; these candidates never agreed to be contacted.
    thread = mention(signed, RECRUITER, "stale candidates")
    answer = reply_in(slack, thread)
    draft = button(answer, "draft_followup")
    signed.block_action(RECRUITER, "draft_followup", draft["value"], message=posted(answer),
                        channel_id=RECRUITING_CHANNEL)
    note = slack.wait_for("chat.postMessage", lambda c: c.args.get("thread_ts") == thread
                          and "No draft for Stale Person" in blocks_text(c))
    assert "no consent on record" in blocks_text(note)


def test_two_people_with_one_name_get_a_choice_then_a_card(signed: SignedSlackClient, slack: FakeSlack,
                                                           world: dict[str, int]) -> None:
    thread = mention(signed, RECRUITER, "what's the status of Jane Doe?")
    choice = reply_in(slack, thread)
    assert "Which one" in blocks_text(choice)
    berlin = button(choice, "question_status_pick", containing="Berlin")
    signed.block_action(RECRUITER, "question_status_pick", berlin["value"], message=posted(choice),
                        channel_id=RECRUITING_CHANNEL)
    card = slack.wait_for("chat.postMessage", lambda c: c.args.get("thread_ts") == thread
                          and "candidate_open" in blocks_text(c))
    assert "Backend Engineer*: Interview" in blocks_text(card)


# --- with a language model ------------------------------------------------------------------------------


@pytest.fixture
def model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def llm_signed(settings: Settings, config: WorkspaceConfig, db: Database, clock: Clock, model: FakeOpenAI,
               slack: FakeSlack, world: dict[str, int]) -> Iterator[tuple[SignedSlackClient, RunningApp]]:
    with_model = settings.model_copy(update={"openai_base_url": model.base_url, "openai_api_key": "test-key",
                                             "talentbot_llm_model": "fake-1", "talentbot_llm_max_retries": 0})
    with serve_app(build_deps(with_model, config, db=db, clock=clock)) as running:
        yield SignedSlackClient(running.url, SIGNING_SECRET, fake_slack=slack), running


def test_the_model_places_what_the_parser_cannot_and_the_database_answers(
        llm_signed: tuple[SignedSlackClient, RunningApp], slack: FakeSlack, model: FakeOpenAI) -> None:
    signed, running = llm_signed
    model.reply_with_tool_call("status", {"name": "<PERSON_1>"})
    thread = mention(signed, RECRUITER, "should we worry about Fresh Face (0151 2345678, <https://github.com/freshface>)?")
    answer = reply_in(slack, thread)
    assert "Fresh Face" in blocks_text(answer) and "Phone Screen" in blocks_text(answer)
    for prompt in model.prompts():
        for detail in ("Fresh Face", "github.com/freshface", "2345678"):
            assert detail not in prompt
    with running.deps.db.read() as session:
        [call] = session.exec(select(Activity).where(Activity.kind == "llm.call")).all()
    assert call.actor == RECRUITER and call.payload["tool"] == "status"
    assert call.payload["arguments"] == {"name": "<PERSON_1>"} and "<PERSON_1>" in call.payload["question_sent"]

    # Parsed offline: the model is not asked.
    reply_in(slack, mention(signed, RECRUITER, "my tasks"))
    assert len(model.requests) == 1


def test_a_model_that_is_down_or_wrong_still_gets_an_answer(
        llm_signed: tuple[SignedSlackClient, RunningApp], slack: FakeSlack, model: FakeOpenAI) -> None:
    signed, running = llm_signed
    model.fail_next(status=503)
    down = reply_in(slack, mention(signed, RECRUITER, "purple monkey dishwasher"))
    assert "didn't understand" in blocks_text(down) and "could not be reached" in blocks_text(down)
    model.reply_with_tool_call("stale", {"stage": "Moon"})
    wrong = reply_in(slack, mention(signed, RECRUITER, "purple monkey dishwasher again"))
    assert "didn't understand" in blocks_text(wrong) and "could not place it" in blocks_text(wrong)
    with running.deps.db.read() as session:
        errors = [a.payload["error"] for a in session.exec(select(Activity).where(Activity.kind == "llm.call"))]
    assert errors[0] == "model_unavailable" and errors[1].startswith("invalid_arguments: stage")
