"""Named queries: callers ask in domain terms and never assemble select() themselves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from storage.models import (
    Activity,
    Application,
    ApplicationStatus,
    Candidate,
    Consent,
    EmailMessage,
    OutboxMessage,
    OutboxStatus,
    Position,
    PositionStatus,
    ProcessedRequest,
    Referral,
    Task,
    TaskStatus,
    WebhookDelivery,
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
    return due_delivery_ids(session, OutboxMessage, now=now, limit=limit)


def claim_outbox_message(session: Session, outbox_id: int, *, now: datetime, until: datetime) -> bool:
    """Atomically take a pending row; False when another sender holds it or it is no longer pending."""
    return claim_delivery(session, OutboxMessage, outbox_id, now=now, until=until)


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


# --- queued deliveries: Slack outbox, emails, webhooks ---------------------------------------------
# The three queues share one shape (status, next_attempt_at, claimed_until), so they share one way to
# find due rows and to claim one; a sender claims a row before it sends, which is what keeps two
# processes from sending the same row twice.

QueuedTable: TypeAlias = "type[OutboxMessage] | type[EmailMessage] | type[WebhookDelivery]"


def due_delivery_ids(session: Session, table: QueuedTable, *, now: datetime, limit: int) -> list[int]:
    """Pending rows whose time has come and that no sender holds, oldest first."""
    rows = session.exec(
        select(table.id)
        .where(table.status == OutboxStatus.PENDING, col(table.next_attempt_at) <= now)
        .where((col(table.claimed_until).is_(None)) | (col(table.claimed_until) < now))
        .order_by(col(table.next_attempt_at), col(table.id))
        .limit(limit)
    ).all()
    return [row for row in rows if row is not None]


def claim_delivery(session: Session, table: QueuedTable, row_id: int, *, now: datetime, until: datetime) -> bool:
    """Atomically take a pending row until `until`; False when another sender holds it or it is done."""
    result: Any = session.exec(  # type: ignore[call-overload]
        update(table)
        .where(col(table.id) == row_id, table.status == OutboxStatus.PENDING)
        .where((col(table.claimed_until).is_(None)) | (col(table.claimed_until) < now))
        .values(claimed_until=until)
    )
    return bool(result.rowcount == 1)


def email_by_dedupe_key(session: Session, dedupe_key: str) -> EmailMessage | None:
    return session.exec(select(EmailMessage).where(EmailMessage.dedupe_key == dedupe_key)).first()


def count_emails(session: Session, status: str) -> int:
    return session.exec(select(func.count()).select_from(EmailMessage).where(EmailMessage.status == status)).one()


def webhook_by_dedupe_key(session: Session, dedupe_key: str) -> WebhookDelivery | None:
    return session.exec(select(WebhookDelivery).where(WebhookDelivery.dedupe_key == dedupe_key)).first()


def pending_webhooks_with_attempts(session: Session, *, min_attempts: int, limit: int) -> Sequence[WebhookDelivery]:
    """Webhooks still waiting for a 2xx after at least `min_attempts` tries, longest-waiting first."""
    return session.exec(
        select(WebhookDelivery)
        .where(WebhookDelivery.status == OutboxStatus.PENDING, col(WebhookDelivery.attempts) >= min_attempts)
        .order_by(col(WebhookDelivery.created_at), col(WebhookDelivery.id))
        .limit(limit)
    ).all()


# --- hires (exports, HR handoff) -------------------------------------------------------------------


def hires_between(
    session: Session, *, since: datetime, before: datetime | None
) -> Sequence[tuple[Application, Candidate, Position]]:
    """Hired applications with `since <= hired_at < before`, in hiring order."""
    query = (
        select(Application, Candidate, Position)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Position, col(Position.id) == Application.position_id)
        .where(Application.status == ApplicationStatus.HIRED, col(Application.hired_at) >= since)
        .order_by(col(Application.hired_at), col(Application.id))
    )
    if before is not None:
        query = query.where(col(Application.hired_at) < before)
    return session.exec(query).all()  # type: ignore[return-value]


def attributed_referrals_for(session: Session, candidate_ids: Sequence[int]) -> Sequence[Referral]:
    """The credited referrals of several candidates at once, oldest first."""
    if not candidate_ids:
        return []
    return session.exec(
        select(Referral)
        .where(col(Referral.candidate_id).in_(candidate_ids), col(Referral.attributed).is_(True))
        .order_by(col(Referral.created_at), col(Referral.id))
    ).all()


# --- positions: visibility, lookup, idempotent creation, agency submissions ------------------------
# For bot/services/positions.py. Imports used only here are local, so this section can be added or
# changed without touching the shared import block above.


def positions_visible(
    session: Session, *, hiring_manager_slack_id: str | None, limit: int, offset: int = 0
) -> Sequence[Position]:
    """All positions (None) or one hiring manager's; open ones first, then by title."""
    from sqlalchemy import case

    open_first = case((col(Position.status) == PositionStatus.OPEN, 0), else_=1)
    query = select(Position)
    if hiring_manager_slack_id is not None:
        query = query.where(Position.hiring_manager_slack_id == hiring_manager_slack_id)
    query = (
        query.order_by(open_first, func.lower(Position.title), col(Position.id))
        .limit(limit)
        .offset(offset)
    )
    return session.exec(query).all()


def count_positions_visible(session: Session, *, hiring_manager_slack_id: str | None) -> int:
    query = select(func.count()).select_from(Position)
    if hiring_manager_slack_id is not None:
        query = query.where(Position.hiring_manager_slack_id == hiring_manager_slack_id)
    return session.exec(query).one()


def positions_by_title(session: Session, text: str, *, exact: bool, limit: int) -> Sequence[Position]:
    title = func.lower(Position.title)
    wanted = text.lower()
    condition = title == wanted if exact else title.contains(wanted, autoescape=True)
    return session.exec(select(Position).where(condition).order_by(col(Position.id)).limit(limit)).all()


def position_by_submission_key(session: Session, submission_key: str) -> Position | None:
    """The position a modal submission (by Slack view id) already created, from its `position.created` activity."""
    activity = session.exec(
        select(Activity)
        .where(Activity.kind == "position.created")
        .where(col(Activity.payload)["submission_key"].as_string() == submission_key)
        .limit(1)
    ).first()
    if activity is None or activity.position_id is None:
        return None
    return session.get(Position, activity.position_id)


def lock_submission_key(session: Session, submission_key: str) -> None:
    """Serialise transactions handling the same submission until they commit.

    PostgreSQL: a transaction-scoped advisory lock on the key, so two simultaneous deliveries of one modal
    submission cannot both miss each other's row. SQLite needs nothing: writers already hold the database
    lock from BEGIN IMMEDIATE.
    """
    import hashlib

    from sqlalchemy import text

    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(submission_key.encode(), digest_size=8).digest()
    session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": int.from_bytes(digest, "big", signed=True)})


def applications_for_position(
    session: Session, position_id: int, *, open_only: bool, limit: int
) -> Sequence[tuple[Application, Candidate]]:
    query = (
        select(Application, Candidate)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .where(Application.position_id == position_id)
    )
    if open_only:
        query = query.where(Application.status == ApplicationStatus.OPEN)
    query = query.order_by(func.lower(Candidate.full_name), col(Application.id)).limit(limit)
    return session.exec(query).all()  # type: ignore[return-value]


def count_applications_by_position(
    session: Session, position_ids: Sequence[int], *, open_only: bool = False
) -> dict[int, int]:
    if not position_ids:
        return {}
    query = (
        select(Application.position_id, func.count())
        .where(col(Application.position_id).in_(position_ids))
        .group_by(col(Application.position_id))
    )
    if open_only:
        query = query.where(Application.status == ApplicationStatus.OPEN)
    return {position_id: count for position_id, count in session.exec(query).all()}


def client_submission_for(session: Session, application_id: int) -> Activity | None:
    return session.exec(
        select(Activity)
        .where(Activity.application_id == application_id, Activity.kind == "client.submitted")
        .order_by(col(Activity.occurred_at), col(Activity.id))
        .limit(1)
    ).first()
