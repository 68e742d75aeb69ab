"""Tasks: created from the workspace's templates, assigned by role, done or snoozed by their assignee."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.access import AccessDenied, Actor
from bot.services.candidates import NotFound
from bot.services.timeline import record_activity
from bot.workspace import TaskTemplate, WorkspaceConfig
from storage import queries
from storage.models import Candidate, Position, Task, TaskKind, TaskStatus


def resolve_assignee(spec: str, *, candidate: Candidate, position: Position | None, config: WorkspaceConfig) -> str:
    """A template's assignee (owner, hiring_manager, team:x, U…, C…) as a Slack user or channel ID.

    Nobody to give it to (no owner yet, no hiring manager) falls back to the recruiting channel, where
    someone will pick it up, rather than to nobody.
    """
    if spec == "owner":
        return candidate.owner_slack_id or config.recruiting_channel
    if spec == "hiring_manager":
        if position is not None and position.hiring_manager_slack_id:
            return position.hiring_manager_slack_id
        return candidate.owner_slack_id or config.recruiting_channel
    if spec.startswith("team:"):
        return config.teams.get(spec.removeprefix("team:"), config.recruiting_channel)
    return spec


def create_tasks_from_templates(
    session: Session, *, templates: Iterable[TaskTemplate], kind: TaskKind, candidate: Candidate,
    position: Position | None, application_id: int | None, stage: str | None, group_key: str,
    config: WorkspaceConfig, actor: Actor, now: datetime,
) -> list[Task]:
    tasks = []
    for template in templates:
        task = Task(
            candidate_id=candidate.id, application_id=application_id, kind=kind, title=template.title,
            group_key=group_key, stage=stage, mandatory=template.mandatory, status=TaskStatus.OPEN,
            assignee_slack_id=resolve_assignee(template.assignee, candidate=candidate, position=position,
                                               config=config),
            due_at=now + template.due_in, created_by_slack_id=actor.user_id, created_at=now,
        )
        session.add(task)
        tasks.append(task)
    session.flush()
    for task in tasks:
        record_activity(session, actor=actor.user_id, kind="task.created", now=now, candidate_id=candidate.id,
                        application_id=application_id,
                        payload={"task_id": task.id, "title": task.title, "assignee": task.assignee_slack_id,
                                 "due_at": task.due_at.isoformat(), "mandatory": task.mandatory})
    return tasks


def _may_work_on(actor: Actor, task: Task) -> bool:
    # A task posted to a channel belongs to whoever in that channel picks it up.
    return actor.user_id == task.assignee_slack_id or task.assignee_slack_id.startswith(("C", "G")) \
        or actor.sees_pipeline


def _open_task_for(session: Session, actor: Actor, task_id: int) -> Task:
    task = session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise NotFound("That task no longer exists.")
    if not _may_work_on(actor, task):
        raise AccessDenied(f"This task belongs to <@{task.assignee_slack_id}>; only they (or a recruiter) "
                           "can change it.")
    return task


@dataclass(frozen=True)
class TaskChange:
    task: Task
    changed: bool


def complete_task(session: Session, *, actor: Actor, task_id: int, now: datetime) -> TaskChange:
    """Mark done. Done twice (a double click) changes nothing the second time."""
    task = _open_task_for(session, actor, task_id)
    if task.status != TaskStatus.OPEN:
        return TaskChange(task, changed=False)
    task.status = TaskStatus.DONE
    task.completed_at = now
    task.completed_by_slack_id = actor.user_id
    record_activity(session, actor=actor.user_id, kind="task.completed", now=now, candidate_id=task.candidate_id,
                    application_id=task.application_id, payload={"task_id": task.id, "title": task.title})
    return TaskChange(task, changed=True)


def snooze_task(session: Session, *, actor: Actor, task_id: int, until: datetime, now: datetime) -> TaskChange:
    """Move the due time. Reminders then count from the new due time."""
    task = _open_task_for(session, actor, task_id)
    if task.status != TaskStatus.OPEN:
        raise AccessDenied("That task is already done.")
    if until <= now:
        raise AccessDenied("Pick a time in the future to snooze until.")
    previous = task.due_at
    task.due_at = until
    task.snoozed_until = until
    task.escalated_at = None
    record_activity(session, actor=actor.user_id, kind="task.snoozed", now=now, candidate_id=task.candidate_id,
                    application_id=task.application_id,
                    payload={"task_id": task.id, "title": task.title, "from": previous.isoformat(),
                             "until": until.isoformat()})
    return TaskChange(task, changed=True)


def cancel_tasks(session: Session, tasks: Iterable[Task], *, actor: Actor, reason: str, now: datetime) -> list[Task]:
    cancelled = []
    for task in tasks:
        if task.status != TaskStatus.OPEN:
            continue
        task.status = TaskStatus.CANCELLED
        task.completed_at = now
        record_activity(session, actor=actor.user_id, kind="task.cancelled", now=now,
                        candidate_id=task.candidate_id, application_id=task.application_id,
                        payload={"task_id": task.id, "title": task.title, "reason": reason})
        cancelled.append(task)
    return cancelled


@dataclass(frozen=True)
class TaskView:
    task: Task
    candidate_name: str | None
    overdue: bool


def my_tasks(session: Session, *, actor: Actor, now: datetime, limit: int = 20) -> list[TaskView]:
    rows = queries.open_tasks_for_assignee(session, actor.user_id, limit=limit)
    return [TaskView(task=task, candidate_name=name, overdue=task.due_at < now) for task, name in rows]


def checklist(session: Session, group_key: str) -> Sequence[Task]:
    return queries.tasks_in_group(session, group_key)


def snooze_until(now: datetime, config: WorkspaceConfig) -> datetime:
    return now + config.reminders.snooze_for


def due_label(task: Task, now: datetime) -> str:
    delta = task.due_at - now
    if delta < timedelta(0):
        return f"overdue by {_humanise(-delta)}"
    return f"due in {_humanise(delta)}"


def _humanise(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{max(int(delta.total_seconds() // 60), 1)} min"
    if hours < 48:
        return f"{int(hours)} h"
    return f"{int(hours // 24)} days"
