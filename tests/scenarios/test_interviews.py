"""Interviews end to end: signed requests to the real endpoint, Slack answered by the fake, mail by a real
SMTP server on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from sqlmodel import select

from bot.jobs import JOBS
from bot.settings import Settings
from storage.models import Interview, Scorecard, Task
from tests.conftest import (
    BOT_TOKEN,
    EMPLOYEE,
    HIRING_MANAGER,
    OTHER_EMPLOYEE,
    RECRUITER,
    RECRUITING_CHANNEL,
    SIGNING_SECRET,
    Clock,
)
from tests.harness import (
    FakeSlack,
    SignedSlackClient,
    datepicker,
    multi_users_select,
    plain_text,
    radio,
    static_select,
    timepicker,
)
from tests.harness.running_app import RunningApp
from tests.harness.smtp import SmtpServer
from tests.test_interviews import PANEL, referred_application, schedule
from tests.test_interviews import RECRUITER as RECRUITER_ACTOR

SENDER = "Acme Recruiting <jobs@acme.test>"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def settings(slack: FakeSlack, database_url: str, tmp_path: Path, smtp: SmtpServer) -> Settings:
    return Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.base_url,
                    database_url=database_url, talentbot_config=tmp_path / "talentbot.yaml",
                    talentbot_scheduler=False, smtp_url=smtp.url(), smtp_from=SENDER)


def schedule_form(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "date": datepicker("2026-11-17"),
        "time": timepicker("14:00"),
        "duration": static_select("60"),
        "interviewers": multi_users_select(HIRING_MANAGER, OTHER_EMPLOYEE),
        "location": plain_text("https://meet.example.com/jane"),
    }
    fields.update(overrides)
    return fields


def open_view(slack: FakeSlack, click: Any, method: str = "views.open") -> dict[str, Any]:
    before = len(slack.calls_to(method))
    assert click().status_code == 200
    slack.wait_for(method, lambda call: len(slack.calls_to(method)) > before)
    return slack.calls_to(method)[-1].response["view"]


def invite_of(email: EmailMessage) -> tuple[str, Calendar]:
    part = next(p for p in email.iter_attachments() if p.get_content_type() == "text/calendar")
    return part["Content-Type"], Calendar.from_ical(part.get_content())


def test_scheduling_refuses_mistakes_inline_then_invites_everyone(app: RunningApp, signed: SignedSlackClient,
                                                                  slack: FakeSlack, clock: Clock,
                                                                  smtp: SmtpServer) -> None:
    application_id = referred_application(app.deps.db, clock)
    view = open_view(slack, lambda: signed.block_action(RECRUITER, "interview_schedule", str(application_id),
                                                        channel_id=RECRUITING_CHANNEL))
    assert view["callback_id"] == "interview_schedule_submit"

    # The recruiter's Slack zone is Europe/Berlin, where it is 10:00 now.
    for overrides, field in [({"date": datepicker("2026-11-13")}, "date"),
                             ({"date": datepicker("2026-11-16"), "time": timepicker("09:30")}, "time"),
                             ({"interviewers": multi_users_select()}, "interviewers")]:
        body = signed.view_submission(RECRUITER, view, schedule_form(**overrides)).json()
        assert body["response_action"] == "errors" and set(body["errors"]) == {field}
    with app.deps.db.read() as session:
        assert session.exec(select(Interview)).all() == []

    response = signed.view_submission(RECRUITER, view, schedule_form())
    assert response.status_code == 200 and "errors" not in response.text
    # The scheduler's confirmation is sent after the interviewers' DMs.
    confirmation = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == RECRUITER)
    assert "scheduled" in confirmation.args["text"]
    for interviewer in (HIRING_MANAGER, OTHER_EMPLOYEE):
        [dm] = slack.messages_in(interviewer)
        assert "Jane Doe" in dm.args["text"] and "Backend Engineer" in dm.args["text"]
    # Scheduled while still in Sourced: the referrer hears it now, with the pipeline's own dedupe key.
    news = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == EMPLOYEE
                          and "moving to interviews" in call.args["text"])
    assert "Jane Doe" in news.args["text"]

    received = smtp.wait_for(3)
    with app.deps.db.read() as session:
        interview = session.exec(select(Interview)).one()
    assert interview.starts_at == datetime(2026, 11, 17, 13, 0, tzinfo=UTC)
    assert interview.interviewer_slack_ids == [HIRING_MANAGER, OTHER_EMPLOYEE]
    assert sorted(r for mail in received for r in mail.rcpt_tos) == [
        "hank@acme.test", "jane@example.com", "otto@acme.test"]
    for mail in received:
        content_type, calendar = invite_of(mail.message)
        assert "method=REQUEST" in content_type.replace('"', "")
        assert calendar["method"] == "REQUEST"
        [event] = calendar.events
        assert event.uid == interview.ical_uid
        assert event.start == interview.starts_at
        assert event.end == interview.starts_at + timedelta(hours=1)
        assert "DTSTART:20261117T130000Z" in calendar.to_ical().decode()
        assert {str(a) for a in event.attendees} == {
            "mailto:jane@example.com", "mailto:hank@acme.test", "mailto:otto@acme.test"}
        assert str(event.organizer) == "mailto:jobs@acme.test"
        assert event.location == "https://meet.example.com/jane"
    to_candidate = next(m for m in received if m.rcpt_tos == ["jane@example.com"])
    assert "Your interview with Acme" in to_candidate.message["Subject"]
    assert "14:00–15:00 (Europe/Berlin" in to_candidate.part("plain")

    # A double-clicked submit changes nothing.
    posted = len(slack.calls_to("chat.postMessage"))
    assert signed.view_submission(RECRUITER, view, schedule_form()).status_code == 200
    time.sleep(0.5)
    assert len(smtp.received) == 3 and len(slack.calls_to("chat.postMessage")) == posted
    with app.deps.db.read() as session:
        assert len(session.exec(select(Interview)).all()) == 1


def test_only_the_hiring_team_may_open_the_scheduler(app: RunningApp, signed: SignedSlackClient,
                                                     slack: FakeSlack, clock: Clock) -> None:
    application_id = referred_application(app.deps.db, clock)
    signed.block_action(EMPLOYEE, "interview_schedule", str(application_id), channel_id=RECRUITING_CHANNEL)
    refusal = slack.wait_for("response_url", lambda call: "positions you hire for" in str(call.args))
    assert refusal.args["response_type"] == "ephemeral"
    # The hiring manager may, and from the candidate card (a modal) the scheduler is stacked on top of it.
    card = {"id": "VCARD0001", "type": "modal", "callback_id": "", "state": {"values": {}}}
    view = open_view(slack, lambda: signed.block_action(HIRING_MANAGER, "interview_schedule", str(application_id),
                                                        view=card), method="views.push")
    assert view["callback_id"] == "interview_schedule_submit"
    assert slack.calls_to("views.open") == []


def _ratings(*values: int) -> dict[str, Any]:
    return {f"criterion_{i}": radio(str(value)) for i, value in enumerate(values)}


def test_interviewers_are_asked_for_scorecards_and_fill_them_in(app: RunningApp, signed: SignedSlackClient,
                                                                slack: FakeSlack, clock: Clock) -> None:
    scheduled = schedule(app.deps.db, clock, referred_application(app.deps.db, clock), actor=RECRUITER_ACTOR)
    job = JOBS["scorecard_requests"]
    assert job.every == timedelta(minutes=10)
    assert job.run(app.deps).startswith("asked 0 ")

    clock.now = scheduled.ends_at + timedelta(minutes=5)
    assert job.run(app.deps).startswith("asked 2 ")
    assert job.run(app.deps).startswith("asked 0 ")
    requests = {person: slack.messages_in(person) for person in PANEL}
    assert all(len(calls) == 1 for calls in requests.values())
    request = requests[HIRING_MANAGER][0]
    assert "scorecard_open" in str(request.args["blocks"])
    with app.deps.db.read() as session:
        tasks = session.exec(select(Task).where(Task.kind == "scorecard")).all()
    assert {(t.assignee_slack_id, t.due_at) for t in tasks} == {(p, scheduled.ends_at + timedelta(hours=24))
                                                                 for p in PANEL}

    # Someone else cannot fill in the interviewer's scorecard.
    signed.block_action(RECRUITER, "scorecard_open", str(scheduled.interview_id), channel_id=RECRUITING_CHANNEL)
    slack.wait_for("response_url", lambda call: "Only the interviewers" in str(call.args))

    message, channel = request.response["message"], request.response["channel"]
    view = open_view(slack, lambda: signed.block_action(HIRING_MANAGER, "scorecard_open", str(scheduled.interview_id),
                                                        message=message, channel_id=channel))
    assert view["callback_id"] == "scorecard_submit"
    body = signed.view_submission(HIRING_MANAGER, view, {"criterion_0": radio("4")}).json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"criterion_1", "criterion_2", "criterion_3", "recommendation"}

    filled = {**_ratings(4, 5, 3, 4), "recommendation": radio("strong_yes"), "notes": plain_text("Sharp.")}
    response = signed.view_submission(HIRING_MANAGER, view, filled)
    assert response.status_code == 200 and "errors" not in response.text
    update = slack.wait_for("chat.update", lambda call: call.args["ts"] == message["ts"])
    assert "is in" in update.args["text"] and "scorecard_open" not in str(update.args["blocks"])
    with app.deps.db.read() as session:
        scorecard = session.exec(select(Scorecard)).one()
        task = session.exec(select(Task).where(Task.assignee_slack_id == HIRING_MANAGER,
                                               Task.kind == "scorecard")).one()
    assert (scorecard.interviewer_slack_id, scorecard.recommendation, scorecard.notes) == (
        HIRING_MANAGER, "strong_yes", "Sharp.")
    assert scorecard.ratings["Problem solving"] == 5 and task.status == "done"

    # Scorecards are final: a second submission and a second click both say it is already in.
    again = signed.view_submission(HIRING_MANAGER, view, {**filled, "recommendation": radio("strong_no")}).json()
    assert again["response_action"] == "update" and "already in" in str(again["view"]["blocks"])
    signed.block_action(HIRING_MANAGER, "scorecard_open", str(scheduled.interview_id), message=message,
                        channel_id=channel)
    slack.wait_for("response_url", lambda call: "already in" in str(call.args))
    with app.deps.db.read() as session:
        assert session.exec(select(Scorecard)).one().recommendation == "strong_yes"


def _calendar(mail: Any) -> tuple[str, Any]:
    content_type, calendar = invite_of(mail.message)
    [event] = calendar.events
    return content_type.replace('"', ""), (calendar["method"], int(event["sequence"]), event)


def test_rescheduling_and_cancelling_update_every_calendar(app: RunningApp, signed: SignedSlackClient,
                                                           slack: FakeSlack, clock: Clock, smtp: SmtpServer) -> None:
    scheduled = schedule(app.deps.db, clock, referred_application(app.deps.db, clock), actor=RECRUITER_ACTOR)
    confirmation_buttons = {"interview_reschedule", "interview_cancel"}
    view = open_view(slack, lambda: signed.block_action(RECRUITER, "interview_reschedule",
                                                        str(scheduled.interview_id), channel_id=RECRUITING_CHANNEL))
    assert view["callback_id"] == "interview_reschedule_submit"
    time_input = next(b for b in view["blocks"] if b.get("block_id") == "time")["element"]
    assert time_input["initial_time"] == "15:00"  # 14:00 UTC in the recruiter's Europe/Berlin

    # Moved a day later, and OTTO leaves the panel: he gets the cancellation, the others the update.
    form = schedule_form(date=datepicker("2026-11-18"), time=timepicker("16:30"),
                         interviewers=multi_users_select(HIRING_MANAGER))
    assert signed.view_submission(RECRUITER, view, {**form, "date": datepicker("2026-11-01")}).json()[
        "response_action"] == "errors"
    response = signed.view_submission(RECRUITER, view, form)
    assert response.status_code == 200 and "errors" not in response.text
    received = {mail.rcpt_tos[0]: mail for mail in smtp.wait_for(3)}
    method_of = {to: _calendar(mail) for to, mail in received.items()}
    assert {to: (ct.split("method=")[1], m, seq) for to, (ct, (m, seq, _)) in method_of.items()} == {
        "jane@example.com": ("REQUEST", "REQUEST", 1), "hank@acme.test": ("REQUEST", "REQUEST", 1),
        "otto@acme.test": ("CANCEL", "CANCEL", 1)}
    event = method_of["jane@example.com"][1][2]
    assert event.uid == scheduled.ical_uid and event.start == datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
    assert "Moved" in received["jane@example.com"].message["Subject"]
    assert "16:30" in received["jane@example.com"].part("plain")
    assert "no longer on the panel" in received["otto@acme.test"].part("plain")
    moved_dm = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == HIRING_MANAGER
                              and "moved" in call.args["text"])
    assert "Jane Doe" in moved_dm.args["text"]
    slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == OTHER_EMPLOYEE
                   and "no longer on the panel" in call.args["text"])
    done = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == RECRUITER
                          and "moved to" in call.args["text"])
    assert confirmation_buttons <= {e["action_id"] for b in done.args["blocks"] if b["type"] == "actions"
                                    for e in b["elements"]}

    # An employee may not cancel; the recruiter may, and everyone still on it hears.
    signed.block_action(EMPLOYEE, "interview_cancel", str(scheduled.interview_id), channel_id=RECRUITING_CHANNEL)
    slack.wait_for("response_url", lambda call: "positions you hire for" in str(call.args))
    assert len(smtp.received) == 3
    signed.block_action(RECRUITER, "interview_cancel", str(scheduled.interview_id), channel_id=RECRUITING_CHANNEL)
    cancels = smtp.wait_for(5)[3:]
    assert sorted(m.rcpt_tos[0] for m in cancels) == ["hank@acme.test", "jane@example.com"]
    for mail in cancels:
        content_type, (method, sequence, event) = _calendar(mail)
        assert "method=CANCEL" in content_type and (method, sequence) == ("CANCEL", 2)
        assert str(event["status"]) == "CANCELLED" and "Cancelled" in mail.message["Subject"]
    slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == HIRING_MANAGER
                   and "cancelled" in call.args["text"])
    with app.deps.db.read() as session:
        stored = session.get(Interview, scheduled.interview_id)
        assert stored is not None and (stored.status, stored.sequence) == ("cancelled", 2)

    # A second click changes nothing, and the scorecard job skips the cancelled interview.
    signed.block_action(RECRUITER, "interview_cancel", str(scheduled.interview_id), channel_id=RECRUITING_CHANNEL)
    slack.wait_for("response_url", lambda call: "was cancelled" in str(call.args))
    clock.now = datetime(2026, 11, 19, tzinfo=UTC)
    assert JOBS["scorecard_requests"].run(app.deps).startswith("asked 0 ")
    assert len(smtp.received) == 5
