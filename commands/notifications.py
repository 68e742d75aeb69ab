"""Turning what the services decided into queued Slack messages (delivered after the commit)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlmodel import Session, select

from bot.deps import Deps
from bot.mail import queue_welcome_email
from bot.outbox import queue_slack_call
from bot.services.pipeline import ReferralNews, StageMove, onboarding_group_key
from bot.services.tasks import checklist
from bot.templates import render
from bot.webhooks import queue_hire_webhook
from commands.kit import message, section
from commands.task_views import build_onboarding_checklist, build_task_assignment
from storage.models import Application, Candidate, OutboxMessage, OutboxStatus, Position, Task


def queue_task_assignments(session: Session, tasks: Sequence[Task], deps: Deps, *, candidate_name: str | None,
                           position_title: str | None) -> list[int]:
    """One message per assignee, however many tasks they got at once."""
    by_assignee: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        by_assignee[task.assignee_slack_id].append(task)
    now = deps.clock()
    ids = []
    for assignee, assigned in by_assignee.items():
        payload = build_task_assignment(assigned, now=now, candidate_name=candidate_name,
                                        position_title=position_title)
        queued = queue_slack_call(session, method="chat.postMessage", now=now,
                                  dedupe_key=f"tasks-assigned:{assignee}:{min(t.id or 0 for t in assigned)}",
                                  payload={"channel": assignee, **payload})
        ids.append(queued.id or 0)
    return ids


def queue_referral_news(session: Session, news: Iterable[ReferralNews], deps: Deps) -> list[int]:
    ids = []
    for item in news:
        text = render("referrals/milestone.md.j2", news=item)
        queued = queue_slack_call(
            session, method="chat.postMessage", now=deps.clock(),
            dedupe_key=f"referral-news:{item.referral_id}:{item.milestone}:{item.position_title or '-'}",
            payload={"channel": item.referrer_slack_id, **message(text, [section(text)])})
        ids.append(queued.id or 0)
    return ids


def _checklist_payload(session: Session, deps: Deps, *, application_id: int, candidate_name: str,
                       position_title: str) -> dict[str, object]:
    tasks = checklist(session, onboarding_group_key(application_id))
    return build_onboarding_checklist(tasks, now=deps.clock(), candidate_name=candidate_name,
                                      position_title=position_title)


def queue_onboarding_checklist(session: Session, move: StageMove, deps: Deps) -> list[int]:
    """The hiring manager follows every onboarding step in one DM that updates as steps are done."""
    recipient = move.hiring_manager_slack_id or move.owner_slack_id or deps.config.recruiting_channel
    payload = _checklist_payload(session, deps, application_id=move.application_id,
                                 candidate_name=move.candidate_name, position_title=move.position_title)
    queued = queue_slack_call(session, method="chat.postMessage", now=deps.clock(),
                              dedupe_key=f"onboarding-checklist:{move.application_id}",
                              payload={"channel": recipient, **payload})
    return [queued.id or 0]


def queue_checklist_refresh(session: Session, task: Task, deps: Deps, *, candidate_name: str,
                            position_title: str) -> list[int]:
    """Redraw the hiring manager's checklist after a step changed, once the checklist has been posted."""
    if task.application_id is None or task.group_key != onboarding_group_key(task.application_id):
        return []
    posted = session.exec(select(OutboxMessage).where(
        OutboxMessage.dedupe_key == f"onboarding-checklist:{task.application_id}")).first()
    if posted is None or posted.status != OutboxStatus.SENT or not posted.result_ts:
        return []
    payload = _checklist_payload(session, deps, application_id=task.application_id, candidate_name=candidate_name,
                                 position_title=position_title)
    queued = queue_slack_call(
        session, method="chat.update", now=deps.clock(),
        dedupe_key=f"onboarding-checklist:{task.application_id}:{task.id}:{task.status}",
        payload={"channel": posted.result_channel, "ts": posted.result_ts, **payload})
    return [queued.id or 0]


def queue_stage_move(session: Session, move: StageMove, deps: Deps) -> list[int]:
    """Everything a move sets off: task DMs, the onboarding checklist and welcome email, the HR handoff,
    referral news. Returns the Slack messages to deliver now; emails and webhooks go out with their jobs."""
    ids = queue_task_assignments(session, move.tasks + move.onboarding_tasks, deps,
                                 candidate_name=move.candidate_name, position_title=move.position_title)
    if move.onboarding_tasks:
        ids += queue_onboarding_checklist(session, move, deps)
        candidate, position = session.get(Candidate, move.candidate_id), session.get(Position, move.position_id)
        assert candidate is not None and position is not None
        queue_welcome_email(session, candidate=candidate, position=position, config=deps.config,
                            settings=deps.settings, now=deps.clock(), hiring_manager_name=None)
    if move.outcome == "hired":
        application = session.get(Application, move.application_id)
        candidate, position = session.get(Candidate, move.candidate_id), session.get(Position, move.position_id)
        assert application is not None and candidate is not None and position is not None
        queue_hire_webhook(session, config=deps.config, candidate=candidate, application=application,
                           position=position, now=deps.clock())
    ids += queue_referral_news(session, move.referral_news, deps)
    return ids
