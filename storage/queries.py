"""Named queries: callers ask in domain terms and never assemble select() themselves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from storage.models import (
    Activity,
    Application,
    Candidate,
    Consent,
    OutboxMessage,
    OutboxStatus,
    Position,
    PositionStatus,
    ProcessedRequest,
    Referral,
    Task,
    TaskStatus,
)

# --- positions -------------------------------------------------------------------------------------


def open_positions(
    session: Session, *, title_contains: str | None = None, limit: int | None = None
) -> Sequence[Position]:
    query = select(Position).where(Position.status == PositionStatus.OPEN).order_by(col(Position.title))
    if title_contains:
        query = query.where(func.lower(Position.title).contains(title_contains.lower()))
    if limit is not None:
        query = query.limit(limit)
    return session.exec(query).all()


def count_open_positions(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Position).where(Position.status == PositionStatus.OPEN)).one()


# --- candidates ------------------------------------------------------------------------------------


def candidate_by_email(session: Session, email_key: str) -> Candidate | None:
    return session.exec(select(Candidate).where(Candidate.email_normalized == email_key)).first()


def candidate_by_phone(session: Session, phone_e164: str) -> Candidate | None:
    return session.exec(select(Candidate).where(Candidate.phone_e164 == phone_e164)).first()


def candidates_by_profile(session: Session, profile_url_key: str) -> Sequence[Candidate]:
    return session.exec(select(Candidate).where(Candidate.profile_url_key == profile_url_key)).all()


def application_for(session: Session, *, candidate_id: int, position_id: int) -> Application | None:
    return session.exec(
        select(Application).where(
            Application.candidate_id == candidate_id, Application.position_id == position_id
        )
    ).first()


# --- referrals -------------------------------------------------------------------------------------


def referral_by_submission_key(session: Session, submission_key: str) -> Referral | None:
    return session.exec(select(Referral).where(Referral.submission_key == submission_key)).first()


def referral_by_code(session: Session, code: str) -> Referral | None:
    return session.exec(select(Referral).where(Referral.code == code)).first()


def attributed_referrals(session: Session, candidate_id: int) -> Sequence[Referral]:
    return session.exec(
        select(Referral).where(Referral.candidate_id == candidate_id, col(Referral.attributed).is_(True))
    ).all()


def referrals_by_referrer(
    session: Session, referrer_slack_id: str, *, limit: int, offset: int = 0
) -> Sequence[tuple[Referral, Candidate, Position | None]]:
    query = (
        select(Referral, Candidate, Position)
        .join(Candidate, col(Candidate.id) == Referral.candidate_id)
        .outerjoin(Position, col(Position.id) == Referral.position_id)
        .where(Referral.referrer_slack_id == referrer_slack_id)
        .order_by(col(Referral.created_at).desc(), col(Referral.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return session.exec(query).all()  # type: ignore[return-value]


def count_referrals_by_referrer(session: Session, referrer_slack_id: str) -> int:
    return session.exec(
        select(func.count()).select_from(Referral).where(Referral.referrer_slack_id == referrer_slack_id)
    ).one()


def referrals_for_candidate(session: Session, candidate_id: int) -> Sequence[Referral]:
    return session.exec(
        select(Referral).where(Referral.candidate_id == candidate_id).order_by(col(Referral.created_at))
    ).all()


# --- consent ---------------------------------------------------------------------------------------


def latest_consent(session: Session, *, candidate_id: int, kind: str) -> Consent | None:
    return session.exec(
        select(Consent)
        .where(Consent.candidate_id == candidate_id, Consent.kind == kind)
        .order_by(col(Consent.recorded_at).desc(), col(Consent.id).desc())
        .limit(1)
    ).first()


# --- timeline --------------------------------------------------------------------------------------


def timeline(session: Session, candidate_id: int, *, limit: int, offset: int = 0) -> Sequence[Activity]:
    return session.exec(
        select(Activity)
        .where(Activity.candidate_id == candidate_id)
        .order_by(col(Activity.occurred_at).desc(), col(Activity.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()


# --- outbox ----------------------------------------------------------------------------------------


def due_outbox_ids(session: Session, *, now: datetime, limit: int) -> list[int]:
    rows = session.exec(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, col(OutboxMessage.next_attempt_at) <= now)
        .where((col(OutboxMessage.claimed_until).is_(None)) | (col(OutboxMessage.claimed_until) < now))
        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        .limit(limit)
    ).all()
    return [row for row in rows if row is not None]


def claim_outbox_message(session: Session, outbox_id: int, *, now: datetime, until: datetime) -> bool:
    """Atomically take a pending row; False when another sender holds it or it is no longer pending."""
    result: Any = session.exec(  # type: ignore[call-overload]
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == outbox_id, OutboxMessage.status == OutboxStatus.PENDING)
        .where((col(OutboxMessage.claimed_until).is_(None)) | (col(OutboxMessage.claimed_until) < now))
        .values(claimed_until=until)
    )
    return bool(result.rowcount == 1)


def failed_outbox_messages(session: Session, *, limit: int) -> Sequence[OutboxMessage]:
    return session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
        .order_by(col(OutboxMessage.created_at).desc())
        .limit(limit)
    ).all()


def count_outbox(session: Session, status: str) -> int:
    return session.exec(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == status)).one()


# --- processed Slack deliveries --------------------------------------------------------------------


def purge_processed_requests(session: Session, *, older_than: datetime) -> int:
    from sqlalchemy import delete

    result: Any = session.exec(  # type: ignore[call-overload]
        delete(ProcessedRequest).where(col(ProcessedRequest.processed_at) < older_than)
    )
    return int(result.rowcount or 0)


# --- tasks -----------------------------------------------------------------------------------------


def open_tasks_for_assignee(session: Session, assignee: str, *, limit: int) -> Sequence[tuple[Task, str | None]]:
    return session.exec(  # type: ignore[return-value]
        select(Task, Candidate.full_name)
        .outerjoin(Candidate, col(Candidate.id) == Task.candidate_id)
        .where(Task.assignee_slack_id == assignee, Task.status == TaskStatus.OPEN)
        .order_by(col(Task.due_at), col(Task.id))
        .limit(limit)
    ).all()


def tasks_in_group(session: Session, group_key: str) -> Sequence[Task]:
    return session.exec(select(Task).where(Task.group_key == group_key).order_by(col(Task.due_at), col(Task.id))).all()


def open_mandatory_tasks(session: Session, *, application_id: int, stage: str) -> Sequence[Task]:
    return session.exec(
        select(Task).where(Task.application_id == application_id, Task.stage == stage,
                           Task.status == TaskStatus.OPEN, col(Task.mandatory).is_(True))
        .order_by(col(Task.id))
    ).all()


def open_tasks_for_application(session: Session, application_id: int, *, stage: str | None = None) -> Sequence[Task]:
    query = select(Task).where(Task.application_id == application_id, Task.status == TaskStatus.OPEN)
    if stage is not None:
        query = query.where(Task.stage == stage)
    return session.exec(query.order_by(col(Task.id))).all()


def referrals_for_application(session: Session, candidate_id: int, position_id: int) -> Sequence[Referral]:
    """Referrals that concern this application: for its position, or for the general talent pool."""
    return session.exec(
        select(Referral)
        .where(Referral.candidate_id == candidate_id)
        .where((Referral.position_id == position_id) | (col(Referral.position_id).is_(None)))
        .order_by(col(Referral.created_at))
    ).all()


def task_context(session: Session, task: Task) -> tuple[str | None, str | None]:
    """The candidate's name and the position's title a task is about, for messages."""
    candidate = session.get(Candidate, task.candidate_id) if task.candidate_id else None
    application = session.get(Application, task.application_id) if task.application_id else None
    position = session.get(Position, application.position_id) if application else None
    return (candidate.full_name if candidate else None, position.title if position else None)
