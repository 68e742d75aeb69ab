"""Moving candidates through the pipeline: stage rules, entry tasks, onboarding and referral milestones."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.access import AccessDenied, Actor
from bot.services.candidates import NotFound
from bot.services.nurture import stop_on_stage_move
from bot.services.tasks import cancel_tasks, create_tasks_from_templates
from bot.services.timeline import record_activity
from bot.workspace import StageConfig, WorkspaceConfig
from storage import queries
from storage.models import (
    Application,
    ApplicationStatus,
    Candidate,
    CandidateStatus,
    PayoutStatus,
    Position,
    PositionStatus,
    Referral,
    ReferralStatus,
    Task,
    TaskKind,
)


class StageMoveRefused(Exception):
    """The move breaks a pipeline rule; the message says which and what to do."""


class MilestoneKind:
    APPLICATION_RECEIVED = "application_received"
    INTERVIEW = "interview"
    OFFER_ACCEPTED = "offer_accepted"
    NOT_HIRED = "not_hired"
    HIRED = "hired"
    RETENTION_REACHED = "retention_reached"
    PAYOUT_APPROVED = "payout_approved"
    PAYOUT_REJECTED = "payout_rejected"
    PAYOUT_CANCELLED = "payout_cancelled"


@dataclass(frozen=True)
class ReferralNews:
    """Something a referrer hears about, by DM: never feedback, never salary, never reasons."""

    referral_id: int
    referral_code: str
    referrer_slack_id: str
    candidate_name: str
    position_title: str | None
    milestone: str
    payout_amount: int | None = None
    payout_currency: str | None = None
    payout_due_at: datetime | None = None


@dataclass
class StageMove:
    application_id: int
    candidate_id: int
    candidate_name: str
    position_id: int
    position_title: str
    hiring_manager_slack_id: str | None
    owner_slack_id: str | None
    from_stage: str
    to_stage: str
    outcome: str | None
    tasks: list[Task] = field(default_factory=list)
    onboarding_tasks: list[Task] = field(default_factory=list)
    cancelled_tasks: list[Task] = field(default_factory=list)
    referral_news: list[ReferralNews] = field(default_factory=list)

    @property
    def onboarding_group(self) -> str:
        return onboarding_group_key(self.application_id)


def onboarding_group_key(application_id: int) -> str:
    return f"onboarding:{application_id}"


def require_application_access(actor: Actor, position: Position) -> None:
    """Recruiters and admins work every application; a hiring manager those of their own positions."""
    if actor.sees_pipeline or position.hiring_manager_slack_id == actor.user_id:
        return
    raise AccessDenied("You can only work on candidates for positions you hire for.")


def _load(session: Session, application_id: int) -> tuple[Application, Candidate, Position]:
    application = session.get(Application, application_id, with_for_update=True)
    if application is None:
        raise NotFound("That application no longer exists.")
    candidate = session.get(Candidate, application.candidate_id)
    position = session.get(Position, application.position_id)
    assert candidate is not None and position is not None
    return application, candidate, position


def _news(
    referrals: list[Referral], candidate: Candidate, position: Position | None, milestone: str
) -> list[ReferralNews]:
    return [ReferralNews(referral_id=r.id or 0, referral_code=r.code, referrer_slack_id=r.referrer_slack_id,
                         candidate_name=candidate.full_name, position_title=position.title if position else None,
                         milestone=milestone, payout_amount=r.payout_amount, payout_currency=r.payout_currency,
                         payout_due_at=r.payout_due_at)
            for r in referrals]


def move_stage(session: Session, *, actor: Actor, application_id: int, to_stage: str, config: WorkspaceConfig,
               now: datetime) -> StageMove:
    application, candidate, position = _load(session, application_id)
    require_application_access(actor, position)
    target = config.pipeline.stage(to_stage)
    if target is None:
        raise StageMoveRefused(f"There is no stage called “{to_stage}”. Stages: {', '.join(config.pipeline.names)}.")
    if application.status != ApplicationStatus.OPEN:
        raise StageMoveRefused(f"{candidate.full_name}'s application for {position.title} is closed "
                               f"({application.status}); add them to the position again to reopen it.")
    if target.name == application.stage:
        raise StageMoveRefused(f"{candidate.full_name} is already in {target.name}.")

    leaving = application.stage
    open_mandatory = queries.open_mandatory_tasks(session, application_id=application_id, stage=leaving)
    # Ending an application is always allowed; moving on is not while required steps are open.
    if open_mandatory and target.outcome not in ("rejected", "withdrawn"):
        titles = "; ".join(f"“{t.title}” (<@{t.assignee_slack_id}>)" for t in open_mandatory)
        raise StageMoveRefused(f"{candidate.full_name} can't leave {leaving} yet — these tasks are still open: "
                               f"{titles}. Mark them done first.")

    application.stage = target.name
    application.stage_entered_at = now
    move = StageMove(application_id=application_id, candidate_id=candidate.id or 0,
                     candidate_name=candidate.full_name, position_id=position.id or 0, position_title=position.title,
                     hiring_manager_slack_id=position.hiring_manager_slack_id,
                     owner_slack_id=candidate.owner_slack_id, from_stage=leaving, to_stage=target.name,
                     outcome=target.outcome)
    record_activity(session, actor=actor.user_id, kind="stage.moved", now=now, candidate_id=candidate.id,
                    application_id=application_id, position_id=position.id,
                    payload={"from": leaving, "to": target.name, "position": position.title})
    # A person is working with the candidate now: automatic nurture emails step aside.
    stop_on_stage_move(session, candidate_id=candidate.id or 0, now=now)

    # Left-over optional tasks of the stage being left no longer apply.
    ending = target.outcome in ("rejected", "withdrawn")
    stale_tasks = queries.open_tasks_for_application(session, application_id, stage=None if ending else leaving)
    move.cancelled_tasks = cancel_tasks(session, stale_tasks, actor=actor, now=now,
                                        reason=f"moved to {target.name}")

    if target.outcome is not None:
        _close_application(session, application, candidate, position, target, actor=actor, now=now)
    else:
        move.tasks = create_tasks_from_templates(
            session, templates=target.tasks, kind=TaskKind.STAGE, candidate=candidate, position=position,
            application_id=application_id, stage=target.name, group_key=f"stage:{application_id}:{target.name}",
            config=config, actor=actor, now=now)
    if target.name == config.onboarding.start_stage:
        move.onboarding_tasks = create_tasks_from_templates(
            session, templates=config.onboarding.tasks, kind=TaskKind.ONBOARDING, candidate=candidate,
            position=position, application_id=application_id, stage=None,
            group_key=onboarding_group_key(application_id), config=config, actor=actor, now=now)
        record_activity(session, actor=actor.user_id, kind="onboarding.started", now=now, candidate_id=candidate.id,
                        application_id=application_id, payload={"tasks": len(move.onboarding_tasks)})

    move.referral_news = _referral_milestones(session, application, candidate, position, target, config=config,
                                              now=now)
    return move


def _close_application(session: Session, application: Application, candidate: Candidate, position: Position,
                       target: StageConfig, *, actor: Actor, now: datetime) -> None:
    application.status = {"hired": ApplicationStatus.HIRED, "rejected": ApplicationStatus.REJECTED,
                          "withdrawn": ApplicationStatus.WITHDRAWN}[target.outcome or "rejected"]
    application.closed_at = now
    if target.outcome == "hired":
        application.hired_at = now
        candidate.status = CandidateStatus.HIRED
        candidate.updated_at = now
        record_activity(session, actor=actor.user_id, kind="candidate.hired", now=now, candidate_id=candidate.id,
                        application_id=application.id, position_id=position.id, payload={"position": position.title})


def _referral_milestones(session: Session, application: Application, candidate: Candidate, position: Position,
                         target: StageConfig, *, config: WorkspaceConfig, now: datetime) -> list[ReferralNews]:
    referrals = list(queries.referrals_for_application(session, candidate.id or 0, position.id or 0))
    if not referrals:
        return []
    for referral in referrals:
        if referral.status == ReferralStatus.SUBMITTED:
            referral.status = ReferralStatus.IN_PROCESS
            referral.updated_at = now
    if target.outcome == "hired":
        retention = timedelta(days=config.referrals.bonus.retention_days)
        for referral in referrals:
            referral.status = ReferralStatus.HIRED
            referral.updated_at = now
            if referral.attributed:
                referral.payout_status = PayoutStatus.WAITING_RETENTION
                referral.payout_amount = config.bonus_for(position_title=position.title, seniority=candidate.seniority)
                referral.payout_currency = config.referrals.bonus.currency
                referral.payout_due_at = now + retention
                record_activity(session, actor="system", kind="referral.payout_scheduled", now=now,
                                candidate_id=candidate.id, referral_id=referral.id,
                                payload={"amount": referral.payout_amount,
                                         "due_at": referral.payout_due_at.isoformat()})
        return _news(referrals, candidate, position, MilestoneKind.HIRED)
    if target.outcome in ("rejected", "withdrawn"):
        for referral in referrals:
            referral.status = ReferralStatus.NOT_HIRED
            referral.updated_at = now
        return _news(referrals, candidate, position, MilestoneKind.NOT_HIRED)
    if target.referral_milestone == "interview":
        return _news(referrals, candidate, position, MilestoneKind.INTERVIEW)
    if target.referral_milestone == "offer_accepted":
        return _news(referrals, candidate, position, MilestoneKind.OFFER_ACCEPTED)
    return []


@dataclass
class NewApplication:
    application: Application
    candidate_name: str
    position_title: str
    referral_news: list[ReferralNews]
    tasks: list[Task]


def add_to_position(session: Session, *, actor: Actor, candidate_id: int, position_id: int, config: WorkspaceConfig,
                    now: datetime) -> NewApplication:
    """Open an application at the first stage. Referrers of the candidate hear it was received."""
    actor.require_pipeline_access()
    candidate = session.get(Candidate, candidate_id)
    position = session.get(Position, position_id)
    if candidate is None or position is None:
        raise NotFound("That candidate or position no longer exists.")
    if position.status != PositionStatus.OPEN:
        raise StageMoveRefused(f"{position.title} is closed; reopen it first.")
    if queries.application_for(session, candidate_id=candidate_id, position_id=position_id):
        raise StageMoveRefused(f"{candidate.full_name} is already in the pipeline for {position.title}.")
    first = config.pipeline.first_stage
    application = Application(candidate_id=candidate_id, position_id=position_id, stage=first.name,
                              stage_entered_at=now, created_at=now)
    session.add(application)
    session.flush()
    record_activity(session, actor=actor.user_id, kind="application.created", now=now, candidate_id=candidate_id,
                    application_id=application.id, position_id=position_id,
                    payload={"stage": first.name, "position": position.title})
    tasks = create_tasks_from_templates(
        session, templates=first.tasks, kind=TaskKind.STAGE, candidate=candidate, position=position,
        application_id=application.id, stage=first.name, group_key=f"stage:{application.id}:{first.name}",
        config=config, actor=actor, now=now)
    referrals = list(queries.referrals_for_application(session, candidate_id, position_id))
    return NewApplication(application=application, candidate_name=candidate.full_name, position_title=position.title,
                          referral_news=_news(referrals, candidate, position, MilestoneKind.APPLICATION_RECEIVED),
                          tasks=tasks)


def application_received_news(session: Session, application: Application) -> list[ReferralNews]:
    """For applications opened by a referral itself (the referral service creates those)."""
    candidate = session.get(Candidate, application.candidate_id)
    position = session.get(Position, application.position_id)
    assert candidate is not None
    referrals = list(queries.referrals_for_application(session, application.candidate_id, application.position_id))
    return _news(referrals, candidate, position, MilestoneKind.APPLICATION_RECEIVED)


@dataclass(frozen=True)
class Departure:
    application_id: int
    candidate_name: str
    cancelled_payouts: list[ReferralNews]


def record_departure(session: Session, *, actor: Actor, application_id: int, left_at: datetime,
                     now: datetime) -> Departure:
    """The hire has left. A referral bonus still waiting for the retention period is cancelled."""
    actor.require_pipeline_access()
    application, candidate, position = _load(session, application_id)
    if application.status != ApplicationStatus.HIRED or application.hired_at is None:
        raise StageMoveRefused(f"{candidate.full_name} was not hired for {position.title}.")
    if left_at < application.hired_at:
        raise StageMoveRefused("The leaving date is before the start date.")
    if left_at > now:
        raise StageMoveRefused("The leaving date is in the future; record it once they have left.")
    application.left_at = left_at
    record_activity(session, actor=actor.user_id, kind="candidate.left", now=now, candidate_id=candidate.id,
                    application_id=application_id, payload={"left_at": left_at.isoformat()})
    cancelled = []
    for referral in queries.referrals_for_application(session, candidate.id or 0, position.id or 0):
        if referral.payout_status in (PayoutStatus.WAITING_RETENTION, PayoutStatus.AWAITING_APPROVAL) and (
                referral.payout_due_at is None or left_at < referral.payout_due_at):
            referral.payout_status = PayoutStatus.CANCELLED
            referral.updated_at = now
            record_activity(session, actor=actor.user_id, kind="referral.payout_cancelled", now=now,
                            candidate_id=candidate.id, referral_id=referral.id,
                            payload={"reason": "left before the retention period"})
            cancelled.append(referral)
    return Departure(application_id=application_id, candidate_name=candidate.full_name,
                     cancelled_payouts=_news(cancelled, candidate, position, MilestoneKind.PAYOUT_CANCELLED))
