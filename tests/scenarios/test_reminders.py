"""Task reminders end to end: the job queues checklists, the buttons on them go through the signed endpoint."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import select

from bot.jobs import JOBS
from storage.models import PayoutStatus, Referral, Task
from tests.conftest import ADMIN, EMPLOYEE, HIRING_MANAGER, RECRUITER, Clock
from tests.harness import FakeSlack, SignedSlackClient
from tests.harness.running_app import RunningApp
from tests.scenarios.test_interviews import open_view
from tests.test_interviews import RECRUITER as RECRUITER_ACTOR
from tests.test_interviews import referred_application, schedule
from tests.test_payouts import hired_referral
from tests.test_reminders import _seed_task


def _reminder(slack: FakeSlack, user: str) -> Any:
    return next(call for call in slack.messages_in(user) if "task-actions:" in str(call.args.get("blocks")))


def _click(signed: SignedSlackClient, user: str, reminder: Any, action_id: str, value: str) -> httpx.Response:
    response = signed.block_action(user, action_id, value, message=reminder.response["message"],
                                   channel_id=reminder.response["channel"])
    assert response.status_code == 200
    return response


def test_done_on_a_reminder_checklist_redraws_only_that_line(app: RunningApp, signed: SignedSlackClient,
                                                             slack: FakeSlack, clock: Clock) -> None:
    tasks = [_seed_task(app.deps.db, due_at=clock() + timedelta(hours=1 + i), name=f"Person {i}") for i in range(3)]
    assert JOBS["task_reminders"].run(app.deps).startswith("queued 1 reminders")
    reminder = _reminder(slack, EMPLOYEE)
    assert "3 of your tasks need attention" in reminder.args["text"]

    _click(signed, EMPLOYEE, reminder, "task_done", str(tasks[1].id))
    update = slack.wait_for("chat.update", lambda call: call.args["ts"] == reminder.response["ts"])
    block_ids = [b.get("block_id") for b in update.args["blocks"]]
    assert f"task-actions:{tasks[1].id}" not in block_ids
    assert f"task-actions:{tasks[0].id}" in block_ids and f"task-actions:{tasks[2].id}" in block_ids
    with app.deps.db.read() as session:
        assert [session.get(Task, t.id).status for t in tasks] == ["open", "done", "open"]  # type: ignore[union-attr]

    # Someone else's task: refused, nothing changes.
    _click(signed, HIRING_MANAGER, reminder, "task_done", str(tasks[0].id))
    slack.wait_for("response_url", lambda call: "text" in call.args and "task" in call.args["text"].lower())
    with app.deps.db.read() as session:
        assert session.get(Task, tasks[0].id).status == "open"  # type: ignore[union-attr]


def test_a_scorecard_reminder_opens_the_scorecard(app: RunningApp, signed: SignedSlackClient, slack: FakeSlack,
                                                  clock: Clock) -> None:
    scheduled = schedule(app.deps.db, clock, referred_application(app.deps.db, clock), actor=RECRUITER_ACTOR)
    clock.now = scheduled.ends_at + timedelta(minutes=5)
    JOBS["scorecard_requests"].run(app.deps)
    clock.now = scheduled.ends_at + timedelta(hours=25)
    JOBS["task_reminders"].run(app.deps)
    reminder = _reminder(slack, HIRING_MANAGER)
    assert "overdue" in reminder.args["text"] and "Scorecard: Jane Doe" in reminder.args["text"]
    assert "task_done" not in str(reminder.args["blocks"]), "the scorecard is done by filling it in"

    view = open_view(slack, lambda: _click(signed, HIRING_MANAGER, reminder, "scorecard_open",
                                           str(scheduled.interview_id)))
    assert view["callback_id"] == "scorecard_submit"


def test_a_payout_reminder_decides_the_bonus(app: RunningApp, signed: SignedSlackClient, slack: FakeSlack,
                                             clock: Clock) -> None:
    _, referral_id = hired_referral(app.deps.db, clock)
    clock.advance(days=90, hours=1)
    JOBS["referral_payouts"].run(app.deps)
    with app.deps.db.read() as session:
        task = session.exec(select(Task).where(Task.kind == "payout")).one()
    clock.now = task.due_at + timedelta(minutes=1)
    JOBS["task_reminders"].run(app.deps)
    reminder = _reminder(slack, ADMIN)
    assert "payout_approve" in str(reminder.args["blocks"]) and "task_done" not in str(reminder.args["blocks"])

    _click(signed, RECRUITER, reminder, "payout_approve", str(referral_id))
    slack.wait_for("response_url", lambda call: f"Only <@{ADMIN}>" in str(call.args))
    _click(signed, ADMIN, reminder, "payout_approve", str(referral_id))
    update = slack.wait_for("chat.update", lambda call: call.args["ts"] == reminder.response["ts"])
    assert f"task-actions:{task.id}" not in str(update.args["blocks"])
    with app.deps.db.read() as session:
        referral = session.get(Referral, referral_id)
        assert referral is not None and referral.payout_status == PayoutStatus.APPROVED
        assert session.get(Task, task.id).status == "done"  # type: ignore[union-attr]
