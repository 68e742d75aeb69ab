"""Referral bonus payouts: the approval once the retention period has passed, the decision, and a departure.

The pipeline schedules the payout at Day 1 (payout_status waiting_retention, payout_due_at) and
`record_departure` cancels a payout still waiting. This module moves a payout on from there:

    waiting_retention ──(due, still employed)──▶ awaiting_approval ──(approver)──▶ approved | rejected
            └──────────────(left before the due date)─────┴──────────────────────▶ cancelled

Only the configured approver (`referrals.payout_approver`, by default the first admin user) decides; other
admins do not, so that there is one accountable person, and nobody decides on a bonus for their own referral.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from bot.access import AccessDenied, Actor
from bot.services.candidates import NotFound
from bot.services.pipeline import Departure, MilestoneKind, ReferralNews, record_departure
from bot.services.tasks import cancel_tasks, complete_task
from bot.services.timeline import record_activity
from bot.workspace import WorkspaceConfig
from storage import queries
from storage.models import (
    Application,
    ApplicationStatus,
    Candidate,
    PayoutStatus,
    Position,
    Referral,
    Task,
    TaskKind,
    TaskStatus,
)

# The approver's task (shown in their task list and reminded like any task) is due this long after the request.
APPROVAL_DUE_IN = timedelta(days=3)
DECIDED = (PayoutStatus.APPROVED, PayoutStatus.REJECTED)


class PayoutRefused(Exception):
    """The decision cannot be taken now (not due yet, cancelled); the message says why."""


class DepartureInvalid(Exception):
    """Field (= modal block id `left_on`) → what to fix. Nothing stored."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(errors)


def payout_group_key(referral_id: int) -> str:
    return f"payout:{referral_id}"


@dataclass(frozen=True)
class PayoutCard:
    """Everything the approval card and the messages about a payout show."""

    referral_id: int
    referral_code: str
    referrer_slack_id: str
    candidate_name: str
    position_title: str | None
    amount: int | None
    currency: str | None
    hired_at: datetime | None
    due_at: datetime | None
    status: str
    approver_slack_id: str | None
    decided_by_slack_id: str | None
    decided_at: datetime | None


def _card(session: Session, referral: Referral, config: WorkspaceConfig) -> PayoutCard:
    candidate = session.get(Candidate, referral.candidate_id)
    application = queries.hired_application_for_referral(session, referral)
    position = session.get(Position, application.position_id) if application else (
        session.get(Position, referral.position_id) if referral.position_id else None)
    assert candidate is not None
    return PayoutCard(
        referral_id=referral.id or 0, referral_code=referral.code, referrer_slack_id=referral.referrer_slack_id,
        candidate_name=candidate.full_name, position_title=position.title if position else None,
        amount=referral.payout_amount, currency=referral.payout_currency,
        hired_at=application.hired_at if application else None, due_at=referral.payout_due_at,
        status=referral.payout_status, approver_slack_id=config.payout_approver,
        decided_by_slack_id=referral.payout_decided_by_slack_id, decided_at=referral.payout_decided_at)


def _news(card: PayoutCard, milestone: str) -> ReferralNews:
    return ReferralNews(referral_id=card.referral_id, referral_code=card.referral_code,
                        referrer_slack_id=card.referrer_slack_id, candidate_name=card.candidate_name,
                        position_title=card.position_title, milestone=milestone, payout_amount=card.amount,
                        payout_currency=card.currency, payout_due_at=card.due_at)


# --- the retention period has passed -----------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalRequest:
    card: PayoutCard
    task: Task
    news: ReferralNews


def due_payout_ids(session: Session, *, now: datetime, limit: int = 200) -> list[int]:
    return queries.referral_ids_due_for_payout_approval(session, now=now, limit=limit)


def request_payout_approval(session: Session, *, referral_id: int, config: WorkspaceConfig,
                            now: datetime) -> ApprovalRequest | None:
    """Move one due payout to awaiting_approval, with a task for the approver. None when there is nothing
    to ask (already moved on by another run, not due, the hire left, or no approver is configured)."""
    referral = session.get(Referral, referral_id, with_for_update=True)
    if referral is None or referral.payout_status != PayoutStatus.WAITING_RETENTION:
        return None
    if referral.payout_due_at is None or referral.payout_due_at > now:
        return None
    approver = config.payout_approver
    if approver is None:
        return None
    application = queries.hired_application_for_referral(session, referral)
    if application is None or (application.left_at is not None and application.left_at < referral.payout_due_at):
        # Leaving before the due date cancels the payout as the departure is recorded; this only guards
        # against a hire that vanished. Leaving after it still earns the bonus.
        return None
    referral.payout_status = PayoutStatus.AWAITING_APPROVAL
    referral.updated_at = now
    card = _card(session, referral, config)
    record_activity(session, actor="system", kind="referral.payout_awaiting_approval", now=now,
                    candidate_id=referral.candidate_id, application_id=application.id, referral_id=referral.id,
                    payload={"approver": approver, "amount": referral.payout_amount,
                             "currency": referral.payout_currency})
    title = f"Decide the referral bonus for hiring {card.candidate_name}"
    task = Task(candidate_id=referral.candidate_id, application_id=application.id, kind=TaskKind.PAYOUT,
                title=title[:200], group_key=payout_group_key(referral.id or 0), assignee_slack_id=approver,
                status=TaskStatus.OPEN, due_at=now + APPROVAL_DUE_IN, created_by_slack_id="system", created_at=now)
    session.add(task)
    session.flush()
    return ApprovalRequest(card=card, task=task, news=_news(card, MilestoneKind.RETENTION_REACHED))


# --- the approver decides ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PayoutDecision:
    card: PayoutCard
    # False when the payout had already been decided (a double click, a second approver): nothing changed.
    changed: bool
    news: list[ReferralNews] = field(default_factory=list)


def decide_payout(session: Session, *, actor: Actor, referral_id: int, approve: bool, config: WorkspaceConfig,
                  now: datetime) -> PayoutDecision:
    """Approve or reject a payout awaiting approval. Deciding again changes nothing and says who decided.
    Raises AccessDenied (not the approver, or their own referral), PayoutRefused, NotFound."""
    # Locked, so that two clicks at the same moment see each other's decision.
    referral = session.get(Referral, referral_id, with_for_update=True)
    if referral is None:
        raise NotFound("That referral no longer exists.")
    approver = config.payout_approver
    if approver is None or actor.user_id != approver:
        who = f"<@{approver}>" if approver else "the payout approver (referrals.payout_approver)"
        raise AccessDenied(f"Only {who} can approve or reject referral bonuses.")
    if referral.referrer_slack_id == actor.user_id:
        raise AccessDenied("You made this referral, so the bonus is not yours to decide. Ask an admin to name "
                           "another approver in referrals.payout_approver for it.")
    if referral.payout_status in DECIDED:
        return PayoutDecision(_card(session, referral, config), changed=False)
    if referral.payout_status == PayoutStatus.CANCELLED:
        raise PayoutRefused("This bonus was cancelled: the hire left before the retention period ended.")
    if referral.payout_status != PayoutStatus.AWAITING_APPROVAL:
        raise PayoutRefused("This bonus is not due for approval yet.")

    referral.payout_status = PayoutStatus.APPROVED if approve else PayoutStatus.REJECTED
    referral.payout_decided_by_slack_id = actor.user_id
    referral.payout_decided_at = now
    referral.updated_at = now
    record_activity(session, actor=actor.user_id, kind=f"referral.payout_{referral.payout_status}", now=now,
                    candidate_id=referral.candidate_id, referral_id=referral.id,
                    payload={"amount": referral.payout_amount, "currency": referral.payout_currency})
    for task in queries.tasks_in_group(session, payout_group_key(referral_id)):
        if task.status == TaskStatus.OPEN:
            complete_task(session, actor=actor, task_id=task.id or 0, now=now)
    card = _card(session, referral, config)
    milestone = MilestoneKind.PAYOUT_APPROVED if approve else MilestoneKind.PAYOUT_REJECTED
    return PayoutDecision(card, changed=True, news=[_news(card, milestone)])


# --- the hire has left -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DepartureForm:
    application_id: int
    candidate_name: str
    position_title: str
    hired_on: date
    left_on: date | None


def _hired_application(session: Session, application_id: int, *,
                       for_update: bool = False) -> tuple[Application, Candidate, Position]:
    application = session.get(Application, application_id, with_for_update=for_update)
    if application is None:
        raise NotFound("That application no longer exists.")
    candidate = session.get(Candidate, application.candidate_id)
    position = session.get(Position, application.position_id)
    assert candidate is not None and position is not None
    if application.status != ApplicationStatus.HIRED or application.hired_at is None:
        raise PayoutRefused(f"{candidate.full_name} was not hired for {position.title}.")
    return application, candidate, position


def departure_form(session: Session, *, actor: Actor, application_id: int) -> DepartureForm:
    actor.require_pipeline_access()
    application, candidate, position = _hired_application(session, application_id)
    assert application.hired_at is not None
    return DepartureForm(application_id=application_id, candidate_name=candidate.full_name,
                         position_title=position.title, hired_on=application.hired_at.date(),
                         left_on=application.left_at.date() if application.left_at else None)


@dataclass(frozen=True)
class HireDeparture:
    application_id: int
    candidate_name: str
    position_title: str
    left_on: date
    # Payouts this departure cancelled, with where each stood before (awaiting_approval or waiting_retention).
    cancelled: list[tuple[PayoutCard, str]]
    news: list[ReferralNews]
    # True when this departure was already recorded with the same date: nothing changed.
    repeated: bool = False


def record_hire_departure(session: Session, *, actor: Actor, application_id: int, left_on: date | None,
                          today: date, config: WorkspaceConfig, now: datetime) -> HireDeparture:
    """Record the day a hire left (`today` is the recorder's local date). A bonus still waiting for the
    retention period, or for approval, is cancelled and its approval task with it.
    Raises DepartureInvalid (keyed `left_on`), AccessDenied, PayoutRefused, NotFound."""
    actor.require_pipeline_access()
    # Locked, so that a double-clicked submit finds the first one's date instead of recording it twice.
    application, candidate, position = _hired_application(session, application_id, for_update=True)
    hired_at = application.hired_at
    assert hired_at is not None
    if left_on is None:
        raise DepartureInvalid({"left_on": "Choose the day they left."})
    if left_on > today:
        raise DepartureInvalid({"left_on": "That day is in the future; record it once they have left."})
    if left_on < hired_at.date():
        raise DepartureInvalid({"left_on": f"They started on {hired_at:%-d %b %Y}; choose that day or later."})
    if application.left_at is not None:
        if application.left_at.date() == left_on:
            return HireDeparture(application_id, candidate.full_name, position.title, left_on, [], [], repeated=True)
        raise DepartureInvalid({"left_on": f"Already recorded as having left on {application.left_at:%-d %b %Y}."})

    # A day, not an instant: midnight UTC, but never before the start itself nor after now (a recorder east of
    # UTC can be on a date that has not begun in UTC yet).
    left_at = min(max(datetime.combine(left_on, time(0), tzinfo=UTC), hired_at), now)
    before = {r.id: r.payout_status for r in queries.referrals_for_application(session, candidate.id or 0,
                                                                                position.id or 0)}
    departure: Departure = record_departure(session, actor=actor, application_id=application_id, left_at=left_at,
                                            now=now)
    cancelled = []
    for news in departure.cancelled_payouts:
        referral = session.get(Referral, news.referral_id)
        assert referral is not None
        cancel_tasks(session, queries.tasks_in_group(session, payout_group_key(news.referral_id)), actor=actor,
                     reason="the hire left before the retention period ended", now=now)
        cancelled.append((_card(session, referral, config), before.get(news.referral_id, PayoutStatus.NONE)))
    return HireDeparture(application_id, candidate.full_name, position.title, left_on, cancelled,
                         list(departure.cancelled_payouts))
