"""Task reminders, escalations and stage SLAs, through the jobs as the scheduler runs them, on both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.access import Actor, Role
from bot.deps import Deps, build_deps
from bot.jobs import JOBS, queue_sla_breaches, queue_task_reminders
from bot.services.reminders import ReminderKind, decide_reminders
from bot.services.tasks import complete_task, snooze_task
from bot.settings import Settings
from bot.workspace import RemindersConfig, WorkspaceConfig
from storage.db import Database
from storage.models import Activity, Application, Candidate, OutboxMessage, Position, Task
from tests.conftest import EMPLOYEE, HIRING_MANAGER, OTHER_EMPLOYEE, RECRUITER, RECRUITING_CHANNEL, Clock
from tests.harness import FakeSlack, check_blocks

SETTINGS = RemindersConfig()  # 4 h before due; escalate a day after; snooze a day
T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def _task(due_at: datetime, **markers: datetime | None) -> Task:
    task = Task(id=1, title="Send calendar invite", assignee_slack_id=EMPLOYEE, due_at=due_at)
    for name, value in markers.items():
        setattr(task, name, value)
    return task


@pytest.mark.parametrize(("hours_after_due", "markers", "expected"), [
    (-5, {}, ()),
    (-4, {}, (ReminderKind.BEFORE_DUE,)),
    (-1, {"reminded_for_due_at": T0}, ()),
    (0, {"reminded_for_due_at": T0}, (ReminderKind.OVERDUE,)),
    # First seen late: only the overdue notice, never a stale "due soon".
    (2, {}, (ReminderKind.OVERDUE,)),
    (23.9, {"reminded_for_due_at": T0, "overdue_notified_for_due_at": T0}, ()),
    (24, {"reminded_for_due_at": T0, "overdue_notified_for_due_at": T0}, (ReminderKind.ESCALATION,)),
    (72, {}, (ReminderKind.OVERDUE, ReminderKind.ESCALATION)),
    # Markers for an earlier due time (before a snooze) do not count for this one.
    (-3, {"reminded_for_due_at": T0 - timedelta(days=1)}, (ReminderKind.BEFORE_DUE,)),
])
def test_each_kind_is_due_at_its_time(hours_after_due: float, markers: dict[str, datetime],
                                      expected: tuple[ReminderKind, ...]) -> None:
    now = T0 + timedelta(hours=hours_after_due)
    decision = decide_reminders(_task(T0, **markers), settings=SETTINGS, now=now, assignee_is_escalation_target=False)
    assert decision.send == expected
    if now >= T0 - SETTINGS.before_due:
        assert decision.reminded_for_due_at == T0, "whatever was sent, the due-soon reminder is handled"
    if now >= T0:
        assert decision.overdue_notified_for_due_at == T0


def test_escalation_to_the_assignee_replaces_their_overdue_notice() -> None:
    decision = decide_reminders(_task(T0), settings=SETTINGS, now=T0 + timedelta(days=2),
                                assignee_is_escalation_target=True)
    assert decision.send == (ReminderKind.ESCALATION,)
    assert decision.overdue_notified_for_due_at == T0 and decision.escalated_at == T0 + timedelta(days=2)


# --- through the database and the fake Slack -------------------------------------------------------


def _add_task(session: Session, *, due_at: datetime, assignee: str = EMPLOYEE, owner: str | None = RECRUITER,
              title: str = "Send calendar invite", stage: str = "Phone Screen",
              stage_entered_at: datetime | None = None, name: str = "Jane Doe") -> Task:
    candidate = Candidate(full_name=name, name_key=name.lower(), owner_slack_id=owner, created_at=T0, updated_at=T0)
    position = Position(title="Backend Engineer", created_at=T0, updated_at=T0)
    session.add_all([candidate, position])
    session.flush()
    application = Application(candidate_id=candidate.id or 0, position_id=position.id or 0, stage=stage,
                              stage_entered_at=stage_entered_at or T0, created_at=T0)
    session.add(application)
    session.flush()
    task = Task(candidate_id=candidate.id, application_id=application.id, title=title, stage=stage,
                assignee_slack_id=assignee, due_at=due_at, created_at=T0 - timedelta(days=1))
    session.add(task)
    session.flush()
    return task


def _seed_task(db: Database, **spec: Any) -> Task:
    with db.transaction() as session:
        return _add_task(session, **spec)


def _reminders(slack: FakeSlack, recipient: str) -> list[str]:
    return [call.args["text"] for call in slack.messages_in(recipient)]


def _outbox_keys(db: Database) -> list[str]:
    with db.read() as session:
        return sorted(session.exec(select(OutboxMessage.dedupe_key)).all())


def _reminded(db: Database) -> list[tuple[str, int]]:
    """Every task line queued in a reminder message: ("task", id) for the assignee's, ("escalation", id)."""
    with db.read() as session:
        payloads = session.exec(select(OutboxMessage.payload)).all()
    lines = [block["block_id"].split(":") for payload in payloads for block in payload["blocks"]
             if block.get("block_id", "").startswith(("task:", "escalation:"))]
    return sorted((kind, int(task_id)) for kind, task_id in lines)


def _run(deps: Deps, clock: Clock, at: datetime, job: str = "task_reminders") -> str:
    clock.now = at
    return JOBS[job].run(deps)


def test_a_task_is_reminded_then_overdue_then_escalated_each_once(deps: Deps, clock: Clock, slack: FakeSlack) -> None:
    due = T0 + timedelta(hours=6)
    task = _seed_task(deps.db, due_at=due)
    assert _run(deps, clock, T0).startswith("queued 0 reminders")
    assert "queued 1 reminders" in _run(deps, clock, due - timedelta(hours=4))
    assert "queued 0 reminders" in _run(deps, clock, due - timedelta(hours=3))
    [soon] = _reminders(slack, EMPLOYEE)
    assert "Reminder" in soon and "Jane Doe" in soon and "due in 4 h" in soon

    _run(deps, clock, due + timedelta(minutes=1))
    _run(deps, clock, due + timedelta(hours=5))
    assert len(_reminders(slack, EMPLOYEE)) == 2 and "overdue" in _reminders(slack, EMPLOYEE)[1]
    assert _reminders(slack, RECRUITER) == []

    _run(deps, clock, due + timedelta(days=1))
    _run(deps, clock, due + timedelta(days=3))
    [escalation] = _reminders(slack, RECRUITER)
    assert "Escalation" in escalation and f"<@{EMPLOYEE}>" in escalation
    assert len(_reminders(slack, EMPLOYEE)) == 2, "the assignee is not told again"
    assert len(_outbox_keys(deps.db)) == 3
    assert _reminded(deps.db) == [("escalation", task.id), ("task", task.id), ("task", task.id)]
    with deps.db.read() as session:
        escalated = session.exec(select(Activity).where(Activity.kind == "task.escalated")).one()
    assert escalated.payload["to"] == RECRUITER and escalated.payload["task_id"] == task.id
    assert escalated.occurred_at == due + timedelta(days=1), "stored as the ORM stores times, on both databases"
    with deps.db.read() as session:
        newest = session.exec(select(Activity).where(Activity.occurred_at >= due + timedelta(days=1))).all()
    assert [a.kind for a in newest] == ["task.escalated"]


def test_restart_and_missed_ticks_send_each_reminder_once(deps: Deps, settings: Settings, config: WorkspaceConfig,
                                                          clock: Clock, slack: FakeSlack) -> None:
    due = T0 + timedelta(hours=3)
    _seed_task(deps.db, due_at=due)
    _seed_task(deps.db, due_at=T0 + timedelta(hours=2, minutes=30), assignee=OTHER_EMPLOYEE, name="Max Roe")
    _run(deps, clock, T0)
    assert len(_reminders(slack, EMPLOYEE)) == 1 and len(_reminders(slack, OTHER_EMPLOYEE)) == 1

    # A restart: a new process (new Deps and engine) on the same database, three hours and 36 ticks later.
    restarted_clock = Clock(T0 + timedelta(hours=3, minutes=5))
    restarted = build_deps(settings, config, db=Database(settings.database_url), clock=restarted_clock)
    try:
        for _ in range(3):  # the scheduler coalesces missed ticks, but even repeated runs send nothing twice
            JOBS["task_reminders"].run(restarted)
    finally:
        restarted.db.dispose()
    for user in (EMPLOYEE, OTHER_EMPLOYEE):
        texts = _reminders(slack, user)
        assert len(texts) == 2 and "overdue" in texts[1], texts
    assert len(_outbox_keys(deps.db)) == 4


def test_a_task_first_seen_late_gets_only_the_relevant_message(deps: Deps, clock: Clock, slack: FakeSlack) -> None:
    due = T0 - timedelta(hours=2)
    task = _seed_task(deps.db, due_at=due)
    _run(deps, clock, T0)
    [overdue] = _reminders(slack, EMPLOYEE)
    assert "overdue by 2 h" in overdue
    with deps.db.read() as session:
        stored = session.get(Task, task.id)
        assert stored is not None and stored.reminded_for_due_at == due == stored.overdue_notified_for_due_at

    # Days late, and the owner is the assignee: the owner hears it is overdue, the channel gets the escalation.
    owners_task = _seed_task(deps.db, due_at=T0 - timedelta(days=3), assignee=RECRUITER, name="Ann Poe")
    _run(deps, clock, T0 + timedelta(minutes=5))
    [owner_notice] = _reminders(slack, RECRUITER)
    assert "overdue by 3 days" in owner_notice
    [escalation] = _reminders(slack, RECRUITING_CHANNEL)
    assert "Ann Poe" in escalation and "Escalation" in escalation
    assert ("escalation", owners_task.id) in _reminded(deps.db)

    # A channel's task with nobody owning the candidate: the escalation would go to that channel anyway, so it
    # replaces the overdue notice there.
    _seed_task(deps.db, due_at=T0 - timedelta(days=3), assignee=RECRUITING_CHANNEL, owner=None, name="Cy Doe")
    _run(deps, clock, T0 + timedelta(minutes=10))
    cy = [text for text in _reminders(slack, RECRUITING_CHANNEL) if "Cy Doe" in text]
    assert len(cy) == 1 and "Escalation" in cy[0]


def test_escalation_without_an_owner_goes_to_the_recruiting_channel(deps: Deps, clock: Clock,
                                                                    slack: FakeSlack) -> None:
    _seed_task(deps.db, due_at=T0 - timedelta(days=1, minutes=1), owner=None)
    _run(deps, clock, T0)
    assert "overdue" in _reminders(slack, EMPLOYEE)[0]
    [escalation] = _reminders(slack, RECRUITING_CHANNEL)
    assert "Escalation" in escalation


def test_a_channel_task_is_reminded_in_the_channel(deps: Deps, clock: Clock, slack: FakeSlack) -> None:
    _seed_task(deps.db, due_at=T0 + timedelta(hours=1), assignee=RECRUITING_CHANNEL)
    _run(deps, clock, T0)
    [reminder] = slack.messages_in(RECRUITING_CHANNEL)
    assert reminder.args["channel"] == RECRUITING_CHANNEL
    assert any(b.get("type") == "actions" for b in reminder.args["blocks"]), "Done / Snooze right in the channel"


def test_snooze_moves_the_reminders_to_the_new_due_time(deps: Deps, clock: Clock, slack: FakeSlack) -> None:
    due = T0 - timedelta(days=2)
    task = _seed_task(deps.db, due_at=due)
    _run(deps, clock, T0)
    assert len(_reminders(slack, EMPLOYEE)) == 1 and len(_reminders(slack, RECRUITER)) == 1
    with deps.db.transaction() as session:
        snoozed = snooze_task(session, actor=Actor(EMPLOYEE, frozenset({Role.EMPLOYEE})), task_id=task.id or 0,
                              until=T0 + timedelta(days=1), now=T0).task
    new_due = snoozed.due_at

    _run(deps, clock, new_due - timedelta(hours=5))
    assert len(_reminders(slack, EMPLOYEE)) == 1, "nothing before the new reminder time"
    _run(deps, clock, new_due - timedelta(hours=3, minutes=55))
    _run(deps, clock, new_due + timedelta(minutes=5))
    _run(deps, clock, new_due + timedelta(days=1, minutes=5))
    texts = _reminders(slack, EMPLOYEE)
    assert len(texts) == 3 and "Reminder" in texts[1] and "overdue" in texts[2]
    assert len(_reminders(slack, RECRUITER)) == 2
    assert _reminded(deps.db) == [("escalation", task.id)] * 2 + [("task", task.id)] * 3, "once per due time"


def test_done_tasks_are_not_reminded(deps: Deps, clock: Clock, slack: FakeSlack) -> None:
    task = _seed_task(deps.db, due_at=T0 + timedelta(hours=1))
    with deps.db.transaction() as session:
        complete_task(session, actor=Actor(EMPLOYEE, frozenset({Role.EMPLOYEE})), task_id=task.id or 0, now=T0)
    _run(deps, clock, T0 + timedelta(days=5))
    assert slack.calls_to("chat.postMessage") == []


def test_concurrent_runs_queue_each_reminder_once(db: Database, config: WorkspaceConfig) -> None:
    with db.transaction() as session:
        tasks = [_add_task(session, due_at=T0 + timedelta(minutes=17 * i - 1800), name=f"Person {i}",
                           assignee=EMPLOYEE if i % 2 else HIRING_MANAGER) for i in range(120)]
    start = threading.Barrier(4)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            results.append(queue_task_reminders(db, config, now=T0, batch=7))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    queued = [outbox_id for ids in results for outbox_id in ids]
    keys = _outbox_keys(db)
    assert len(queued) == len(set(queued)) == len(keys) == len(set(keys))
    reminded = _reminded(db)
    assert len(reminded) == len(set(reminded)), "no task is in two messages for the same due time"
    # Due times from 30 h ago to 3.7 h ahead: due-soon, overdue and escalated tasks, each sent what its time calls for.
    expected = 0
    for task in tasks:
        decision = decide_reminders(task, settings=config.reminders, now=T0,
                                    assignee_is_escalation_target=False)
        expected += len(decision.send)
    assert len(reminded) == expected > 100
    with db.read() as session:
        escalations = session.exec(select(Activity).where(Activity.kind == "task.escalated")).all()
    # Timeline rows have no dedupe key: only the row locks keep two runs from handling one task twice.
    assert len(escalations) == sum(kind == "escalation" for kind, _ in reminded) > 0


# --- stage SLAs ------------------------------------------------------------------------------------


def _digests(slack: FakeSlack, recipient: str) -> list[str]:
    return [call.args["text"] for call in slack.messages_in(recipient) if "time limit" in call.args["text"]]


def test_sla_breaches_are_flagged_once_and_digested_once_a_day(deps: Deps, clock: Clock, slack: FakeSlack) -> None:
    # Phone Screen's SLA is 5 days, Interview's 10.
    late = _seed_task(deps.db, due_at=T0 + timedelta(days=9), stage_entered_at=T0 - timedelta(days=6),
                      name="Late Lena")
    _seed_task(deps.db, due_at=T0 + timedelta(days=9), stage="Interview", stage_entered_at=T0 - timedelta(days=6),
               name="Fine Finn")
    _seed_task(deps.db, due_at=T0 + timedelta(days=9), owner=None, stage_entered_at=T0 - timedelta(days=30),
               name="Nobody's Nora")
    closed = _seed_task(deps.db, due_at=T0 + timedelta(days=9), stage_entered_at=T0 - timedelta(days=30),
                        name="Closed Carl")
    with deps.db.transaction() as session:
        application = session.get(Application, closed.application_id)
        assert application is not None
        application.status = "rejected"

    summary = _run(deps, clock, T0, "sla_breaches")
    assert summary.startswith("2 newly over SLA, 2 digests queued")
    [owner_digest] = _digests(slack, RECRUITER)
    assert "1 of your candidates is past" in owner_digest
    [channel_digest] = _digests(slack, RECRUITING_CHANNEL)
    assert "without an owner" in channel_digest
    lines = [b for call in slack.messages_in(RECRUITER) for b in call.args["blocks"]]
    assert "Late Lena" in str(lines) and "Phone Screen for 6 days (limit 5)" in str(lines)
    assert "Fine Finn" not in str(lines) and "Closed Carl" not in str(lines)

    for hours in (1, 2, 14):  # the same UTC day, also after a restart: nothing again
        assert _run(deps, clock, T0 + timedelta(hours=hours), "sla_breaches").startswith(
            "0 newly over SLA, 0 digests queued")
    # A breach that starts after the day's digest is on the timeline at once and in the next day's digest.
    _seed_task(deps.db, due_at=T0 + timedelta(days=9), stage_entered_at=T0 - timedelta(days=5, hours=-2),
               name="Newly Nell")
    assert _run(deps, clock, T0 + timedelta(hours=3), "sla_breaches").startswith("1 newly over SLA, 0 digests")
    _run(deps, clock, T0 + timedelta(days=1), "sla_breaches")
    digests = _digests(slack, RECRUITER)
    assert len(digests) == 2 and "2 of your candidates" in digests[1], "still over SLA: the next day's digest"
    with deps.db.read() as session:
        flags = session.exec(select(Activity).where(Activity.kind == "sla.flagged")).all()
    assert len(flags) == 3, "each breach is on the timeline once"

    # Re-entering a stage is a new breach once its SLA passes again.
    with deps.db.transaction() as session:
        application = session.get(Application, late.application_id)
        assert application is not None
        application.stage_entered_at = T0 + timedelta(days=1)
    _run(deps, clock, T0 + timedelta(days=6, hours=1), "sla_breaches")
    with deps.db.read() as session:
        flags = session.exec(select(Activity).where(Activity.kind == "sla.flagged")
                             .where(Activity.application_id == late.application_id)).all()
    assert [flag.payload["stage_entered_at"] for flag in flags] == [
        (T0 - timedelta(days=6)).isoformat(), (T0 + timedelta(days=1)).isoformat()]


def test_sla_digest_lists_the_longest_over_first_and_caps_its_length(db: Database, config: WorkspaceConfig) -> None:
    for i in range(25):
        _seed_task(db, due_at=T0 + timedelta(days=9), stage_entered_at=T0 - timedelta(days=6 + i),
                   name=f"Person {i:02d}")
    report, outbox_ids = queue_sla_breaches(db, config, now=T0)
    assert len(outbox_ids) == 1 and len(report.newly_flagged) == 25
    with db.read() as session:
        payload = session.exec(select(OutboxMessage)).one().payload
    listed = payload["blocks"][1]["text"]["text"].splitlines()
    assert len(listed) == 20 and "Person 24" in listed[0] and "Person 05" in listed[-1]
    assert "and 5 more" in payload["blocks"][2]["elements"][0]["text"]
    assert payload["channel"] == RECRUITER and "25 of your candidates" in payload["text"]


def test_concurrent_sla_runs_flag_each_breach_once(db: Database, config: WorkspaceConfig) -> None:
    with db.transaction() as session:
        for i in range(30):
            _add_task(session, due_at=T0 + timedelta(days=9), stage_entered_at=T0 - timedelta(days=6 + i),
                      owner=f"UOWNER{i % 4}", name=f"Person {i}")
    start = threading.Barrier(4)
    queued: list[int] = []

    def run() -> None:
        start.wait()
        queued.extend(queue_sla_breaches(db, config, now=T0)[1])

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with db.read() as session:
        flags = session.exec(select(Activity).where(Activity.kind == "sla.flagged")).all()
    assert len(flags) == 30 and len({f.application_id for f in flags}) == 30
    assert len(queued) == 4 and sorted(_outbox_keys(db)) == [f"sla:UOWNER{i}:2026-11-16" for i in range(4)]


# --- one message per recipient ------------------------------------------------------------------------


def test_a_late_run_sends_each_recipient_checklists_not_a_dm_per_task(db: Database, config: WorkspaceConfig) -> None:
    with db.transaction() as session:
        tasks = [_add_task(session, due_at=T0 - timedelta(hours=2, minutes=i), name=f"Person {i:02d}")
                 for i in range(23)]
        solo_task = _add_task(session, due_at=T0 + timedelta(hours=1), assignee=HIRING_MANAGER, name="Solo Sam")
    queue_task_reminders(db, config, now=T0)
    with db.read() as session:
        messages = {m.dedupe_key: m.payload for m in session.exec(select(OutboxMessage)).all()}
    mine = [p for p in messages.values() if p["channel"] == EMPLOYEE]
    assert sorted(len([b for b in p["blocks"] if b.get("block_id", "").startswith("task:")]) for p in mine) == [3, 20]
    for payload in mine:
        assert check_blocks(payload["blocks"], surface="message") == []
        assert "of your tasks need attention" in payload["text"]
        assert all(b["elements"][0]["action_id"] == "task_done" and b["elements"][1]["action_id"] == "task_snooze"
                   for b in payload["blocks"] if b["type"] == "actions")
    assert _reminded(db) == sorted(("task", t.id) for t in [*tasks, solo_task]), "each task once"
    [solo] = [p for p in messages.values() if p["channel"] == HIRING_MANAGER]
    assert solo["text"].startswith(":alarm_clock: Reminder: *Send calendar invite* for Solo Sam is due in 1 h")
    # Running again, or with the same content after a crash, queues nothing new.
    assert queue_task_reminders(db, config, now=T0 + timedelta(minutes=5)) == []
    assert len(_outbox_keys(db)) == len(messages)


def test_scorecard_and_payout_reminders_carry_their_own_buttons(db: Database, config: WorkspaceConfig) -> None:
    from bot.services.reminders import DueTask, Reminder, ReminderGroup
    from commands.task_views import build_reminders

    scorecard = DueTask(id=7, kind="scorecard", title="Scorecard: Jane Doe (Backend Engineer)", due_at=T0,
                        assignee_slack_id=EMPLOYEE, candidate_name="Jane Doe", interview_id=3)
    payout = DueTask(id=8, kind="payout", title="Decide the referral bonus for hiring Jane Doe",
                     due_at=T0, assignee_slack_id=EMPLOYEE, candidate_name="Jane Doe", referral_id=5)
    group = ReminderGroup(EMPLOYEE, False, (Reminder(scorecard, ReminderKind.OVERDUE, EMPLOYEE),
                                            Reminder(payout, ReminderKind.OVERDUE, EMPLOYEE)))
    blocks = build_reminders(group, now=T0 + timedelta(hours=3))["blocks"]
    buttons = {b["block_id"]: [(e["action_id"], e["value"]) for e in b["elements"]]
               for b in blocks if b["type"] == "actions"}
    assert buttons == {"task-actions:7": [("scorecard_open", "3"), ("task_snooze", "7")],
                       "task-actions:8": [("payout_approve", "5"), ("payout_reject", "5"), ("task_snooze", "8")]}
    assert "overdue by 3 h" in str(blocks) and "2 of your tasks need attention (2 overdue)" in blocks[0]["text"]["text"]
