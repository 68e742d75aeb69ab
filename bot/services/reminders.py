"""Task reminders, escalations and stage SLAs: what is due at `now`, handled once per due time.

Each rule reads `now` and the task's marker columns, never "the last run": a run that comes late (a missed
tick, a restart, a process that slept) does everything that is due once, and only what is still relevant.
Marking a task and queuing its message happen in the caller's transaction, so a crash either keeps both
or neither; the outbox dedupe key (derived from the tasks, kinds and due times a message lists) makes a second
queuing of the same reminders a no-op. Reminders are grouped: one message per recipient per run with all their
tasks that need attention, each with its own buttons, rather than a DM per task.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlmodel import Session

from bot.workspace import RemindersConfig, WorkspaceConfig
from storage import queries
from storage.models import TaskKind

SYSTEM_ACTOR = "system"
# Tasks marked per transaction: short write transactions keep SQLite's single writer lock free for Slack
# handlers, and a crash loses at most one batch's work (which the next run redoes). A batch of 2000 holds the
# lock for about 0.1 s; smaller batches cost a commit (an fsync) each and split a recipient's checklist.
REMINDER_BATCH = 2000
# PostgreSQL locks only the rows a batch claims, so nothing else waits for a larger batch; one batch saves a
# selection (a range scan from the start of the due tasks) per 2000 tasks in a late run.
POSTGRES_REMINDER_BATCH = 10_000
# Tasks listed in one reminder message: each takes two blocks (the line and its buttons) of Slack's 50.
TASKS_PER_MESSAGE = 20
# The jobs' own timeline entries. They are written straight to the timeline, not through
# bot.services.timeline.record_activity, because the bot noticing a delay is not work on the candidate:
# it must not count as a touch that restarts the clock of an application that went quiet.
SLA_FLAGGED = "sla.flagged"
TASK_ESCALATED = "task.escalated"
# Candidates listed by name in an SLA digest; the rest are counted.
DIGEST_LISTED = 20


class ReminderKind(StrEnum):
    BEFORE_DUE = "before_due"
    OVERDUE = "overdue"
    ESCALATION = "escalation"


class ReminderMarkers(Protocol):
    """What the rules read of a task: an ORM Task or a plain row from queries.tasks_needing_reminders."""

    @property
    def due_at(self) -> datetime: ...
    @property
    def reminded_for_due_at(self) -> datetime | None: ...
    @property
    def overdue_notified_for_due_at(self) -> datetime | None: ...
    @property
    def escalated_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class ReminderDecision:
    """What to send for one task at `now`, and the marker values that record it as handled."""

    send: tuple[ReminderKind, ...]
    reminded_for_due_at: datetime | None
    overdue_notified_for_due_at: datetime | None
    escalated_at: datetime | None


def decide_reminders(task: ReminderMarkers, *, settings: RemindersConfig, now: datetime,
                     assignee_is_escalation_target: bool) -> ReminderDecision:
    """The reminder rules for one open task (pure).

    Everything that is due is marked handled for this due time, but a task first seen late gets only its
    most relevant message: an overdue task is not reminded that it will soon be due, and when the escalation
    would go to the assignee anyway it replaces their overdue notice.
    """
    due = task.due_at
    reminded, overdue_noted, escalated = task.reminded_for_due_at, task.overdue_notified_for_due_at, task.escalated_at
    send: list[ReminderKind] = []
    if now >= due + settings.escalate_after and escalated is None:
        send.append(ReminderKind.ESCALATION)
        escalated = now
    if now >= due:
        if overdue_noted != due and not (send and assignee_is_escalation_target):
            send.insert(0, ReminderKind.OVERDUE)
        overdue_noted = due
        reminded = due
    elif now >= due - settings.before_due:
        if reminded != due:
            send.append(ReminderKind.BEFORE_DUE)
        reminded = due
    return ReminderDecision(tuple(send), reminded, overdue_noted, escalated)


@dataclass(frozen=True, slots=True)
class DueTask:
    """What a reminder shows of a task, and what its buttons act on."""

    id: int
    kind: str
    title: str
    due_at: datetime
    assignee_slack_id: str
    candidate_name: str | None
    # The scorecard's interview, for a scorecard task's "Fill in scorecard" button.
    interview_id: int | None = None
    # The referral whose bonus is to be decided, for a payout task's Approve / Reject.
    referral_id: int | None = None


@dataclass(frozen=True, slots=True)
class Reminder:
    task: DueTask
    kind: ReminderKind
    recipient: str


@dataclass(frozen=True)
class ReminderGroup:
    """One message: a recipient's own tasks that need attention (each with its buttons), or the late tasks of
    others escalated to them. A late run that finds 40 of someone's tasks due sends them two checklists, not 40
    DMs."""

    recipient: str
    escalation: bool
    reminders: tuple[Reminder, ...]

    @property
    def dedupe_key(self) -> str:
        # Deterministic in what the message holds (task, kind, due time): queuing the same reminders again is
        # a no-op in the outbox, and a snoozed task's new due time makes a new key.
        content = ",".join(f"{r.task.id}:{r.kind}:{r.task.due_at.timestamp():.0f}" for r in self.reminders)
        digest = hashlib.sha256(content.encode()).hexdigest()[:32]
        return f"reminders:{self.recipient}:{'escalation' if self.escalation else 'own'}:{digest}"


def group_reminders(reminders: list[Reminder], *, per_message: int = TASKS_PER_MESSAGE) -> list[ReminderGroup]:
    """One message per recipient and kind of list (their own tasks, others' escalated ones), at most
    `per_message` tasks each, in the order given (oldest due first)."""
    by_recipient: dict[tuple[str, bool], list[Reminder]] = defaultdict(list)
    for reminder in reminders:
        by_recipient[(reminder.recipient, reminder.kind == ReminderKind.ESCALATION)].append(reminder)
    return [ReminderGroup(recipient, escalation, tuple(listed[i:i + per_message]))
            for (recipient, escalation), listed in by_recipient.items()
            for i in range(0, len(listed), per_message)]


@dataclass(frozen=True)
class ReminderBatch:
    reminders: list[Reminder]
    examined: int
    # Where the next batch starts (due_at, id); None when this batch was the last.
    resume_after: tuple[datetime, int] | None

    @property
    def groups(self) -> list[ReminderGroup]:
        return group_reminders(self.reminders)


def escalation_target(*, assignee: str, owner: str | None, config: WorkspaceConfig) -> str:
    """The candidate's owner; the recruiting channel when there is none, or when the owner is the one who
    is late (escalating to them would only repeat their overdue notice)."""
    return owner if owner and owner != assignee else config.recruiting_channel


def _referral_id(kind: str, group_key: str | None) -> int | None:
    prefix = "payout:"  # bot.services.payouts.payout_group_key
    if kind != TaskKind.PAYOUT or not group_key or not group_key.startswith(prefix):
        return None
    return int(group_key[len(prefix):])


def claim_due_reminders(session: Session, *, config: WorkspaceConfig, now: datetime,
                        after: tuple[datetime, int] | None = None, limit: int = REMINDER_BATCH) -> ReminderBatch:
    """Mark up to `limit` open tasks' due reminders as handled and return the reminders to queue with them.

    The tasks are locked for the transaction (PostgreSQL; SQLite's writers are serialised by BEGIN IMMEDIATE),
    and a concurrent run skips the locked ones, so two runs at once never pick the same task.
    """
    settings = config.reminders
    rows = queries.tasks_needing_reminders(session, remind_until=now + settings.before_due, now=now,
                                           escalate_until=now - settings.escalate_after, after=after, limit=limit)
    reminders: list[Reminder] = []
    escalations: list[dict[str, object]] = []
    marks: list[dict[str, object]] = []
    for row in rows:
        assignee = row.assignee_slack_id
        target = escalation_target(assignee=assignee, owner=row.owner_slack_id, config=config)
        decision = decide_reminders(row, settings=settings, now=now, assignee_is_escalation_target=target == assignee)
        due = row.due_at
        marks.append({"id": row.id, "reminded": decision.reminded_for_due_at == due,
                      "overdue": decision.overdue_notified_for_due_at == due,
                      "escalated": decision.escalated_at is not None})
        if not decision.send:
            continue
        task = DueTask(id=row.id, kind=row.kind, title=row.title, due_at=row.due_at, assignee_slack_id=assignee,
                       candidate_name=row.candidate_name, interview_id=row.interview_id,
                       referral_id=_referral_id(row.kind, row.group_key))
        for kind in decision.send:
            recipient = target if kind == ReminderKind.ESCALATION else assignee
            reminders.append(Reminder(task, kind, recipient))
            if kind == ReminderKind.ESCALATION:
                escalations.append({
                    "candidate_id": row.candidate_id, "application_id": row.application_id, "position_id": None,
                    "actor": SYSTEM_ACTOR, "kind": TASK_ESCALATED, "occurred_at": now,
                    "payload": {"task_id": row.id, "title": row.title, "to": recipient,
                                "assignee": assignee, "due_at": row.due_at.isoformat()}})
    queries.mark_task_reminders(session, marks, now=now)
    queries.append_activities(session, escalations)
    last = rows[-1] if len(rows) == limit else None
    return ReminderBatch(reminders, len(rows), (last.due_at, last.id) if last is not None else None)


# --- stage SLAs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaBreach:
    application_id: int
    candidate_id: int
    position_id: int
    candidate_name: str
    position_title: str
    stage: str
    stage_entered_at: datetime
    sla: timedelta
    owner_slack_id: str | None

    def over_by(self, now: datetime) -> timedelta:
        return now - (self.stage_entered_at + self.sla)


@dataclass(frozen=True)
class SlaDigest:
    recipient: str
    day: date
    # The longest over first, at most DIGEST_LISTED of them; `total` counts them all.
    breaches: list[SlaBreach]
    total: int

    @property
    def dedupe_key(self) -> str:
        # One digest per recipient per UTC day, by construction: the outbox refuses a second row with the key.
        return sla_digest_key(self.recipient, self.day)


def sla_digest_key(recipient: str, day: date) -> str:
    return f"sla:{recipient}:{day.isoformat()}"


@dataclass
class SlaReport:
    newly_flagged: list[SlaBreach] = field(default_factory=list)
    digests: list[SlaDigest] = field(default_factory=list)


def stage_sla_thresholds(config: WorkspaceConfig, *, now: datetime) -> dict[str, datetime]:
    """Stage → the stage_entered_at before which an application in that stage is over its SLA."""
    return {stage.name: now - stage.sla for stage in config.pipeline.stages
            if stage.sla is not None and stage.outcome is None}


def flag_sla_breaches(session: Session, *, config: WorkspaceConfig, now: datetime) -> SlaReport:
    """Put each new breach on the timeline once (per stage entry), and gather the digests due today.

    A recipient gets at most one digest per UTC day, listing their candidates over SLA at that run (the
    longest over first); applications without an owner go to the recruiting channel. A run reads only the
    breaches not flagged yet and the few longest over of each recipient, however many there are.
    """
    # Two runs at once would both see a breach as unflagged; the second waits here and then sees the flag.
    queries.serialize_job(session, "sla_breaches")
    thresholds = stage_sla_thresholds(config, now=now)
    slas = {stage.name: stage.sla for stage in config.pipeline.stages if stage.sla is not None}
    report = SlaReport()
    listed: dict[str, list[SlaBreach]] = defaultdict(list)
    totals: dict[str, int] = {}
    for row in queries.applications_over_sla(session, thresholds, listed_per_owner=DIGEST_LISTED):
        recipient = row.owner_slack_id or config.recruiting_channel
        breach = SlaBreach(application_id=row.application_id, candidate_id=row.candidate_id,
                           position_id=row.position_id, candidate_name=row.candidate_name,
                           position_title=row.position_title, stage=row.stage,
                           stage_entered_at=row.stage_entered_at, sla=slas[row.stage],
                           owner_slack_id=row.owner_slack_id)
        if row.unflagged:
            report.newly_flagged.append(breach)
        if row.rank <= DIGEST_LISTED:  # rows come in rank order
            listed[recipient].append(breach)
            totals[recipient] = row.owner_total

    queries.append_activities(session, [
        {"candidate_id": b.candidate_id, "application_id": b.application_id, "position_id": b.position_id,
         "actor": SYSTEM_ACTOR, "kind": SLA_FLAGGED, "occurred_at": now,
         "payload": {"stage": b.stage, "stage_entered_at": b.stage_entered_at.isoformat(),
                     "sla_days": b.sla / timedelta(days=1), "owner": b.owner_slack_id}}
        for b in report.newly_flagged])
    today = now.date()
    queued = queries.existing_outbox_keys(session, [sla_digest_key(recipient, today) for recipient in listed])
    report.digests = [SlaDigest(recipient, today, breaches, totals[recipient])
                      for recipient, breaches in sorted(listed.items())
                      if sla_digest_key(recipient, today) not in queued]
    return report
