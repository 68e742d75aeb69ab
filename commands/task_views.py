"""Block Kit for tasks: a task DM with Done / Snooze, checklists, reminders."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from bot.services.reminders import DueTask, ReminderGroup, ReminderKind
from bot.services.tasks import due_label
from bot.templates import environment, render
from commands.interview_views import scorecard_button
from commands.kit import Block, actions, button, context, message, section
from commands.payout_views import payout_decision_buttons
from storage.models import Task, TaskKind, TaskStatus

ACTION_TASK_DONE = "task_done"
ACTION_TASK_SNOOZE = "task_snooze"


def task_block(task: Task, *, now: datetime, candidate_name: str | None = None,
               position_title: str | None = None) -> Block:
    text = render("tasks/task.md.j2", task=task, overdue=task.due_at < now, due=due_label(task, now),
                  candidate_name=candidate_name, position_title=position_title)
    accessory = button("Done", ACTION_TASK_DONE, str(task.id), style="primary") \
        if task.status == TaskStatus.OPEN else None
    return section(text, accessory=accessory, block_id=f"task:{task.id}")


def task_actions(task: Task) -> Block:
    return actions(button("Done", ACTION_TASK_DONE, str(task.id), style="primary"),
                   button("Snooze", ACTION_TASK_SNOOZE, str(task.id)), block_id=f"task-actions:{task.id}")


def build_task_assignment(tasks: Sequence[Task], *, now: datetime, candidate_name: str | None,
                          position_title: str | None) -> dict[str, Any]:
    """One DM per assignee: a single task with Done / Snooze, or a checklist with a Done per line."""
    intro = render("tasks/assigned.md.j2", count=len(tasks), candidate_name=candidate_name,
                   position_title=position_title)
    blocks: list[Block] = [section(intro)]
    if len(tasks) == 1:
        task = tasks[0]
        text = render("tasks/task.md.j2", task=task, overdue=False, due=due_label(task, now),
                      candidate_name=None, position_title=None)
        blocks += [section(text, block_id=f"task:{task.id}"), task_actions(task)]
    else:
        blocks += [task_block(task, now=now) for task in tasks]
    return message(intro, blocks)


def build_task_done(task: Task, *, now: datetime, candidate_name: str | None) -> dict[str, Any]:
    text = render("tasks/task.md.j2", task=task, overdue=False, due=due_label(task, now),
                  candidate_name=candidate_name, position_title=None)
    return message(text, [section(text, block_id=f"task:{task.id}")])


def build_checklist_update(blocks: Sequence[Block], task: Task, *, now: datetime) -> list[Block]:
    """The clicked checklist with the one task's line redrawn, everything else kept as it was."""
    redrawn: list[Block] = []
    for block in blocks:
        if block.get("block_id") == f"task:{task.id}":
            redrawn.append(task_block(task, now=now))
        elif block.get("block_id") == f"task-actions:{task.id}" and task.status != TaskStatus.OPEN:
            continue
        else:
            redrawn.append(block)
    return redrawn


def build_onboarding_checklist(tasks: Sequence[Task], *, now: datetime, candidate_name: str,
                               position_title: str) -> dict[str, Any]:
    done = sum(task.status == TaskStatus.DONE for task in tasks)
    overdue = sum(task.status == TaskStatus.OPEN and task.due_at < now for task in tasks)
    headline = render("tasks/onboarding_checklist.md.j2", candidate_name=candidate_name,
                      position_title=position_title, done=done, total=len(tasks), overdue=overdue)
    blocks: list[Block] = [section(headline)]
    for task in tasks:
        line = render("tasks/task.md.j2", task=task, overdue=task.status == TaskStatus.OPEN and task.due_at < now,
                      due=due_label(task, now), candidate_name=None, position_title=None)
        blocks.append(context(f"{line.replace(chr(10), ' · ')} · {_assignee(task)}"))
    return message(headline, blocks)


@cache
def _reminder_words() -> Any:
    """The reminder macros, loaded once (tasks/reminders.md.j2)."""
    return environment().get_template("tasks/reminders.md.j2").module


def _reminder_actions(task: DueTask) -> Block:
    """The task's own action first (a scorecard to fill in, a bonus to decide), else Done; and Snooze."""
    if task.kind == TaskKind.SCORECARD and task.interview_id is not None:
        first = [scorecard_button(task.interview_id)]
    elif task.kind == TaskKind.PAYOUT and task.referral_id is not None:
        first = payout_decision_buttons(task.referral_id)
    else:
        first = [button("Done", ACTION_TASK_DONE, str(task.id), style="primary")]
    return actions(*first, button("Snooze", ACTION_TASK_SNOOZE, str(task.id)), block_id=f"task-actions:{task.id}")


def build_reminders(group: ReminderGroup, *, now: datetime) -> dict[str, Any]:
    """A recipient's reminders as one message: each task's line with its buttons (block ids as in a checklist,
    so Done / Snooze redraw it the same way), or, escalated to them, the late tasks of others without buttons."""
    words = _reminder_words()
    if group.escalation:
        lines = [str(words.escalation(r.task.title, r.task.candidate_name, r.task.assignee_slack_id,
                                      due_label(r.task, now)))
                 for r in group.reminders]
        blocks: list[Block] = [section(line, block_id=f"escalation:{r.task.id}")
                               for line, r in zip(lines, group.reminders, strict=True)]
        if len(lines) == 1:
            return message(lines[0], blocks)
        headline = str(words.escalation_heading(len(lines)))
        return message(headline, [section(headline), *blocks])
    blocks = []
    lines = []
    for reminder in group.reminders:
        task = reminder.task
        lines.append(str(words.line(str(reminder.kind), task.title, task.candidate_name, due_label(task, now))))
        blocks += [section(lines[-1], block_id=f"task:{task.id}"), _reminder_actions(task)]
    if len(lines) == 1:
        return message(lines[0], blocks)
    overdue = sum(r.kind == ReminderKind.OVERDUE for r in group.reminders)
    headline = str(words.heading(len(lines), overdue))
    return message(headline, [section(headline), *blocks])


def _assignee(task: Task) -> str:
    return f"<#{task.assignee_slack_id}>" if task.assignee_slack_id.startswith(("C", "G")) \
        else f"<@{task.assignee_slack_id}>"
