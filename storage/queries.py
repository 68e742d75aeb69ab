"""Named queries: callers ask in domain terms and never assemble select() themselves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import func, update
from sqlalchemy import insert as sa_insert
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
    OutreachDraft,
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
        .where(col(table.status) == OutboxStatus.PENDING, col(table.next_attempt_at) <= now)
        .where((col(table.claimed_until).is_(None)) | (col(table.claimed_until) < now))
        .order_by(col(table.next_attempt_at), col(table.id))
        .limit(limit)
    ).all()
    return [row for row in rows if row is not None]


def claim_delivery(session: Session, table: QueuedTable, row_id: int, *, now: datetime, until: datetime) -> bool:
    """Atomically take a pending row until `until`; False when another sender holds it or it is done."""
    result: Any = session.exec(  # type: ignore[call-overload]
        update(table)
        .where(col(table.id) == row_id, col(table.status) == OutboxStatus.PENDING)
        .where((col(table.claimed_until).is_(None)) | (col(table.claimed_until) < now))
        .values(claimed_until=until)
    )
    return bool(result.rowcount == 1)


def email_by_dedupe_key(session: Session, dedupe_key: str) -> EmailMessage | None:
    return session.exec(select(EmailMessage).where(EmailMessage.dedupe_key == dedupe_key)).first()


def count_emails(session: Session, status: str) -> int:
    return session.exec(select(func.count()).select_from(EmailMessage).where(EmailMessage.status == status)).one()


def failed_emails(session: Session, *, limit: int) -> Sequence[EmailMessage]:
    """Emails the mail job gave up on, newest first (for the admins' Home tab)."""
    return session.exec(
        select(EmailMessage)
        .where(EmailMessage.status == OutboxStatus.FAILED)
        .order_by(col(EmailMessage.created_at).desc(), col(EmailMessage.id).desc())
        .limit(limit)
    ).all()


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


# --- reminders, escalations, stage SLAs (bot/services/reminders.py) -------------------------------
# Imports used only here are local, so this section can be added or changed without touching the shared
# import block above.


def tasks_needing_reminders(
    session: Session, *, now: datetime, remind_until: datetime, escalate_until: datetime,
    after: tuple[datetime, int] | None, limit: int,
) -> Sequence[Any]:
    """Open tasks with a before-due reminder, overdue notice or escalation still to handle at `now`, as plain rows
    (the task's columns a reminder needs, `candidate_name`, `owner_slack_id`); oldest due first, from after the
    (due_at, id) key `after`.

    Plain rows, not ORM entities: a late run reads thousands and only looks at them, and building identity-mapped
    objects cost more than the query. Rows are locked for the caller's transaction and rows another transaction
    holds are skipped (PostgreSQL), so concurrent runs share the work instead of repeating it. An escalated task
    has nothing left for its due time (escalation comes last, and moving the due time clears escalated_at), which
    keeps the range scan on ix_tasks_status_due short.
    """
    from sqlalchemy import select as core_select

    t: Any = Task.__table__.c  # type: ignore[attr-defined]
    c: Any = Candidate.__table__.c  # type: ignore[attr-defined]
    unhandled = (
        t.reminded_for_due_at.is_distinct_from(t.due_at)
        | ((t.due_at <= now) & t.overdue_notified_for_due_at.is_distinct_from(t.due_at))
        | (t.due_at <= escalate_until)
    )
    query = (
        core_select(t.id, t.kind, t.title, t.group_key, t.interview_id, t.candidate_id, t.application_id,
                    t.assignee_slack_id, t.due_at, t.reminded_for_due_at, t.overdue_notified_for_due_at,
                    t.escalated_at, c.full_name.label("candidate_name"), c.owner_slack_id)
        .select_from(Task.__table__.outerjoin(Candidate.__table__, c.id == t.candidate_id))  # type: ignore[attr-defined]
        .where(t.status == TaskStatus.OPEN, t.due_at <= remind_until, t.escalated_at.is_(None), unhandled)
        .order_by(t.due_at, t.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Task.__table__)  # type: ignore[attr-defined]
    )
    if after is not None:
        # Spelled out rather than a row-value comparison so that the index bound on due_at is obvious to planners.
        query = query.where(t.due_at >= after[0], (t.due_at > after[0]) | (t.id > after[1]))
    return session.connection().execute(query).all()


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _utc_text(moment: datetime | None) -> str | None:
    """A timestamp inside a JSON parameter (which bypasses the UTCDateTime column type), as naive UTC."""
    from datetime import UTC

    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None).isoformat()


def _json_rows(rows: Sequence[dict[str, Any]]) -> str:
    """Many rows as one JSON parameter for PostgreSQL (json_to_recordset): a single short statement and one
    value to send, where a VALUES list or arrays of thousands of elements cost more to build, quote and parse
    in the driver than the statement costs the server."""
    import json

    return json.dumps(rows, separators=(",", ":"))


def mark_task_reminders(session: Session, marks: Sequence[dict[str, Any]], *, now: datetime) -> None:
    """Record many tasks' reminders as handled ({id, reminded, overdue, escalated}: which of the markers to set
    — the first two to the task's due time, escalated_at to `now`) in one statement, however many tasks.

    Flags rather than values: the database already has each due time, so nothing is formatted in Python (a
    late run marks thousands), and the markers equal due_at exactly, whatever the backend's datetime text.
    """
    from sqlalchemy import bindparam, text

    from storage.types import UTCDateTime

    if not marks:
        return
    if _is_postgresql(session):
        source = ("json_to_recordset(CAST(:marks AS json)) "
                  "AS u(id integer, reminded boolean, overdue boolean, escalated boolean)")
    else:
        source = ("(SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.reminded') AS reminded, "
                  "json_extract(value, '$.overdue') AS overdue, json_extract(value, '$.escalated') AS escalated "
                  "FROM json_each(:marks)) AS u")
    session.connection().execute(text(
        "UPDATE tasks SET "
        "reminded_for_due_at = CASE WHEN u.reminded THEN tasks.due_at ELSE tasks.reminded_for_due_at END, "
        "overdue_notified_for_due_at = CASE WHEN u.overdue THEN tasks.due_at "
        "ELSE tasks.overdue_notified_for_due_at END, "
        f"escalated_at = CASE WHEN u.escalated THEN :now ELSE tasks.escalated_at END FROM {source} "
        "WHERE tasks.id = u.id").bindparams(bindparam("now", type_=UTCDateTime())),
        {"marks": _json_rows(marks), "now": now})


def _open_and_over_sla(entered_before: dict[str, datetime]) -> Any:
    from sqlalchemy import and_, false, or_

    return and_(col(Application.status) == ApplicationStatus.OPEN,
                or_(false(), *(and_(col(Application.stage) == stage, col(Application.stage_entered_at) < before)
                               for stage, before in entered_before.items())))


def applications_over_sla(session: Session, entered_before: dict[str, datetime], *,
                          listed_per_owner: int) -> Sequence[Any]:
    """Open applications over their stage's SLA (entered it before the stage's threshold, now − SLA) with
    candidate name and owner, position title and when a breach of the application was last flagged
    (`last_flagged_at`, None if never): those whose current stage entry has no flag yet (`unflagged`), and each
    owner's `listed_per_owner` longest over (`rank` 1…N of `owner_total`; no owner counts as one owner).
    A few rows per owner, not every breach: the digests list a few and count the rest.
    """
    from sqlalchemy import case, extract, literal

    flagged = (
        select(Activity.application_id, func.max(Activity.occurred_at).label("last_flagged_at"))
        .where(Activity.kind == "sla.flagged")
        .group_by(col(Activity.application_id))
        .subquery()
    )
    unflagged = flagged.c.last_flagged_at.is_(None) | (flagged.c.last_flagged_at < col(Application.stage_entered_at))
    columns: list[Any] = [
        col(Application.id).label("application_id"), Application.candidate_id, Application.position_id,
        Application.stage, Application.stage_entered_at, col(Candidate.full_name).label("candidate_name"),
        Candidate.owner_slack_id, col(Position.title).label("position_title"), flagged.c.last_flagged_at]
    query = (
        select(*columns)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Position, col(Position.id) == Application.position_id)
        .outerjoin(flagged, flagged.c.application_id == Application.id)
        .where(_open_and_over_sla(entered_before))
    )
    # Seconds between entering the stage and the stage's threshold: the most negative is the longest over.
    over_key = extract("epoch", col(Application.stage_entered_at)) - case(
        {stage: before.timestamp() for stage, before in entered_before.items()}, value=col(Application.stage))
    owner = func.coalesce(Candidate.owner_slack_id, literal(""))
    ranked = query.add_columns(
        func.row_number().over(partition_by=owner, order_by=(over_key, col(Application.id))).label("rank"),
        func.count().over(partition_by=owner).label("owner_total"),
        unflagged.label("unflagged"),
    ).subquery()
    return session.exec(
        select(*ranked.c).where((ranked.c.rank <= listed_per_owner) | ranked.c.unflagged)
        .order_by(ranked.c.owner_slack_id, ranked.c.rank)
    ).all()


def append_activities(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Timeline rows ({candidate_id, application_id, position_id, actor, kind, payload, occurred_at}) in one
    statement, however many: a job may flag or escalate thousands at once, and an executemany processes every
    row's parameters in Python."""
    from datetime import UTC

    from sqlalchemy import text

    if not rows:
        return
    if _is_postgresql(session):
        session.connection().execute(text(
            "INSERT INTO activities (candidate_id, application_id, position_id, actor, kind, payload, occurred_at) "
            "SELECT * FROM json_to_recordset(CAST(:rows AS json)) AS r(candidate_id integer, application_id integer, "
            "position_id integer, actor text, kind text, payload json, occurred_at timestamp)"),
            {"rows": _json_rows([{**row, "occurred_at": _utc_text(row["occurred_at"])} for row in rows])})
        return
    # SQLite: json_each; the time in the text form SQLAlchemy stores DateTime in ('2026-11-16 09:00:00.000000'),
    # so that it sorts and compares with the rows written through the ORM.
    stamps: dict[datetime, str] = {}
    for row in rows:
        if row["occurred_at"] not in stamps:
            stamps[row["occurred_at"]] = row["occurred_at"].astimezone(UTC).replace(tzinfo=None).isoformat(
                " ", "microseconds")
    session.connection().execute(text(
        "INSERT INTO activities (candidate_id, application_id, position_id, actor, kind, payload, occurred_at) "
        "SELECT json_extract(value, '$.candidate_id'), json_extract(value, '$.application_id'), "
        "json_extract(value, '$.position_id'), json_extract(value, '$.actor'), json_extract(value, '$.kind'), "
        "json_extract(value, '$.payload'), json_extract(value, '$.occurred_at') FROM json_each(:rows)"),
        {"rows": _json_rows([{**row, "occurred_at": stamps[row["occurred_at"]]} for row in rows])})


def existing_outbox_keys(session: Session, dedupe_keys: Sequence[str]) -> set[str]:
    if not dedupe_keys:
        return set()
    return set(session.exec(
        select(OutboxMessage.dedupe_key).where(col(OutboxMessage.dedupe_key).in_(list(dedupe_keys)))).all())


def insert_outbox_messages(session: Session, messages: Sequence[dict[str, Any]], *, now: datetime) -> list[int]:
    """Queue many outbox rows ({method, payload, dedupe_key}); returns the ids of those keys' pending rows.

    A dedupe key already queued (by an earlier run, or a concurrent one that committed first) inserts nothing,
    which is what makes a reminder exactly-once across restarts and overlapping runs; if that row is still
    pending its id is returned all the same (delivering it twice is a no-op: a row is claimed before it is sent).
    """
    import json

    from sqlalchemy import bindparam, text
    from sqlalchemy.dialects import sqlite

    from storage.types import UTCDateTime

    if not messages:
        return []
    table: Any = OutboxMessage.__table__  # type: ignore[attr-defined]
    keys = [m["dedupe_key"] for m in messages]
    connection = session.connection()
    if _is_postgresql(session):
        connection.execute(text(
            "INSERT INTO outbox (method, payload, dedupe_key, status, attempts, next_attempt_at, created_at) "
            "SELECT u.method, u.payload, u.dedupe_key, :pending, 0, :now, :now "
            "FROM json_to_recordset(CAST(:messages AS json)) AS u(method text, payload json, dedupe_key text) "
            "ON CONFLICT (dedupe_key) DO NOTHING"
        ).bindparams(bindparam("now", type_=UTCDateTime())),
            {"messages": _json_rows([{"method": m["method"], "payload": m["payload"], "dedupe_key": m["dedupe_key"]}
                                     for m in messages]),
             "pending": OutboxStatus.PENDING, "now": now})
        rows = connection.execute(text(
            "SELECT outbox.id FROM json_array_elements_text(CAST(:keys AS json)) AS k(dedupe_key) "
            "JOIN outbox ON outbox.dedupe_key = k.dedupe_key WHERE outbox.status = :pending ORDER BY outbox.id"),
            {"keys": json.dumps(keys), "pending": OutboxStatus.PENDING})
        return [int(row_id) for row_id in rows.scalars()]
    connection.execute(sqlite.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]), [
        {"method": m["method"], "payload": m["payload"], "dedupe_key": m["dedupe_key"],
         "status": OutboxStatus.PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now}
        for m in messages])
    return [int(row_id) for row_id in connection.execute(
        select(table.c.id).where(table.c.dedupe_key.in_(keys), table.c.status == OutboxStatus.PENDING)
        .order_by(table.c.id)).scalars()]


def serialize_job(session: Session, name: str) -> None:
    """Make transactions of the job `name` run one after the other (PostgreSQL: a transaction-scoped advisory
    lock; SQLite's writers are already serialised by BEGIN IMMEDIATE)."""
    import hashlib

    from sqlalchemy import text

    if not _is_postgresql(session):
        return
    digest = hashlib.blake2b(f"job:{name}".encode(), digest_size=8).digest()
    session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": int.from_bytes(digest, "big", signed=True)})


# --- interviews, scorecards and referral payouts -----------------------------------------------------
# For bot/services/interviews.py and bot/services/payouts.py. The section imports its own tables here,
# so that it can be added or changed without touching the shared import block at the top.

from storage.models import Interview, InterviewStatus, PayoutStatus, Scorecard, TaskKind  # noqa: E402


def interview_by_ical_uid(session: Session, ical_uid: str) -> Interview | None:
    return session.exec(select(Interview).where(Interview.ical_uid == ical_uid)).first()


def interviews_without_scorecard_tasks(
    session: Session, *, started_before: datetime, started_after: datetime, limit: int
) -> Sequence[Interview]:
    """Scheduled interviews that began in the window and whose interviewers have not been asked for scorecards."""
    from sqlalchemy import exists

    asked = exists().where(col(Task.interview_id) == col(Interview.id), col(Task.kind) == TaskKind.SCORECARD)
    return session.exec(
        select(Interview)
        .where(Interview.status == InterviewStatus.SCHEDULED, ~asked)
        .where(col(Interview.starts_at) <= started_before, col(Interview.starts_at) >= started_after)
        .order_by(col(Interview.starts_at), col(Interview.id))
        .limit(limit)
    ).all()


def scorecard_tasks_for_interview(session: Session, interview_id: int) -> Sequence[Task]:
    return session.exec(
        select(Task).where(Task.interview_id == interview_id, Task.kind == TaskKind.SCORECARD).order_by(col(Task.id))
    ).all()


def scorecard_by_interviewer(session: Session, *, interview_id: int, interviewer_slack_id: str) -> Scorecard | None:
    return session.exec(
        select(Scorecard).where(Scorecard.interview_id == interview_id,
                                Scorecard.interviewer_slack_id == interviewer_slack_id)
    ).first()


def interviews_for_candidate(session: Session, candidate_id: int) -> Sequence[Interview]:
    """The candidate's scheduled (not cancelled) interviews, newest first."""
    return session.exec(
        select(Interview)
        .where(Interview.candidate_id == candidate_id, Interview.status == InterviewStatus.SCHEDULED)
        .order_by(col(Interview.starts_at).desc(), col(Interview.id).desc())
    ).all()


def scorecards_for_interviews(session: Session, interview_ids: Sequence[int]) -> Sequence[Scorecard]:
    if not interview_ids:
        return []
    return session.exec(
        select(Scorecard)
        .where(col(Scorecard.interview_id).in_(interview_ids))
        .order_by(col(Scorecard.submitted_at), col(Scorecard.id))
    ).all()


def referral_ids_due_for_payout_approval(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Referrals whose bonus has waited out the retention period, oldest due first."""
    rows = session.exec(
        select(Referral.id)
        .where(Referral.payout_status == PayoutStatus.WAITING_RETENTION, col(Referral.payout_due_at) <= now)
        .order_by(col(Referral.payout_due_at), col(Referral.id))
        .limit(limit)
    ).all()
    return [row for row in rows if row is not None]


def hired_application_for_referral(session: Session, referral: Referral) -> Application | None:
    """The hire a referral's bonus is for: its position's application, or for a talent-pool referral the
    candidate's most recent hire."""
    query = select(Application).where(Application.candidate_id == referral.candidate_id,
                                      Application.status == ApplicationStatus.HIRED)
    if referral.position_id is not None:
        query = query.where(Application.position_id == referral.position_id)
    return session.exec(query.order_by(col(Application.hired_at).desc(), col(Application.id).desc())).first()


def outbox_message_by_dedupe_key(session: Session, dedupe_key: str) -> OutboxMessage | None:
    return session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)).first()


# --- candidate search, the candidate card and the App Home board ----------------------------------
# Hiring managers see only candidates with an application to a position they hire for; every query
# here that lists candidates takes `manager_slack_id` for that restriction (None = no restriction).
# Imports used only here are local, so this section can change without touching the shared import block.


def _managed_candidate_ids(manager_slack_id: str) -> Any:
    return (
        select(Application.candidate_id)
        .join(Position, col(Position.id) == Application.position_id)
        .where(Position.hiring_manager_slack_id == manager_slack_id)
    )


def manages_any_position(session: Session, manager_slack_id: str) -> bool:
    return session.exec(
        select(Position.id).where(Position.hiring_manager_slack_id == manager_slack_id).limit(1)
    ).first() is not None


def manages_candidate(session: Session, *, candidate_id: int, manager_slack_id: str) -> bool:
    return session.exec(
        select(Application.id)
        .join(Position, col(Position.id) == Application.position_id)
        .where(Application.candidate_id == candidate_id, Position.hiring_manager_slack_id == manager_slack_id)
        .limit(1)
    ).first() is not None


def candidates_with_name_tokens(
    session: Session, tokens: Sequence[str], *, manager_slack_id: str | None, exclude_status: str, limit: int
) -> Sequence[Candidate]:
    """Candidates whose folded name contains every token (the caller checks word boundaries)."""
    query = select(Candidate).where(Candidate.status != exclude_status)
    for token in tokens:
        query = query.where(col(Candidate.name_key).contains(token, autoescape=True))
    if manager_slack_id is not None:
        query = query.where(col(Candidate.id).in_(_managed_candidate_ids(manager_slack_id)))
    return session.exec(query.order_by(col(Candidate.full_name), col(Candidate.id)).limit(limit)).all()


def candidate_name_keys(
    session: Session, *, manager_slack_id: str | None, exclude_status: str, limit: int
) -> Sequence[tuple[int, str]]:
    """(id, name_key) of the newest candidates, for fuzzy matching of a mistyped name."""
    query = select(Candidate.id, Candidate.name_key).where(Candidate.status != exclude_status)
    if manager_slack_id is not None:
        query = query.where(col(Candidate.id).in_(_managed_candidate_ids(manager_slack_id)))
    return session.exec(query.order_by(col(Candidate.id).desc()).limit(limit)).all()  # type: ignore[return-value]


def candidates_by_ids(session: Session, candidate_ids: Sequence[int]) -> Sequence[Candidate]:
    if not candidate_ids:
        return []
    return session.exec(select(Candidate).where(col(Candidate.id).in_(list(candidate_ids)))).all()


def applications_of_candidate(session: Session, candidate_id: int) -> Sequence[tuple[Application, Position]]:
    return session.exec(  # type: ignore[return-value]
        select(Application, Position)
        .join(Position, col(Position.id) == Application.position_id)
        .where(Application.candidate_id == candidate_id)
        .order_by(col(Application.created_at), col(Application.id))
    ).all()


def _timeline_query(candidate_id: int, hidden_application_ids: Sequence[int]) -> Any:
    from sqlalchemy import and_, or_

    condition: Any = col(Activity.candidate_id) == candidate_id
    if hidden_application_ids:
        condition = and_(condition, or_(col(Activity.application_id).is_(None),
                                        col(Activity.application_id).not_in(list(hidden_application_ids))))
    return condition


def timeline_page(
    session: Session, candidate_id: int, *, limit: int, offset: int = 0, hidden_application_ids: Sequence[int] = ()
) -> Sequence[Activity]:
    """Newest first; entries about applications in `hidden_application_ids` are left out."""
    return session.exec(
        select(Activity)
        .where(_timeline_query(candidate_id, hidden_application_ids))
        .order_by(col(Activity.occurred_at).desc(), col(Activity.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()


def count_timeline(session: Session, candidate_id: int, *, hidden_application_ids: Sequence[int] = ()) -> int:
    return session.exec(
        select(func.count()).select_from(Activity).where(_timeline_query(candidate_id, hidden_application_ids))
    ).one()


def activities_of_kind(session: Session, candidate_id: int, kind: str) -> Sequence[Activity]:
    return session.exec(
        select(Activity).where(Activity.candidate_id == candidate_id, Activity.kind == kind)
        .order_by(col(Activity.id))
    ).all()


def scorecards_of_candidate(session: Session, candidate_id: int) -> Sequence[tuple[Any, Any]]:
    """(Scorecard, Interview) pairs, oldest interview first."""
    from storage.models import Interview, Scorecard

    return session.exec(  # type: ignore[return-value]
        select(Scorecard, Interview)
        .join(Interview, col(Interview.id) == Scorecard.interview_id)
        .where(Scorecard.candidate_id == candidate_id)
        .order_by(col(Interview.starts_at), col(Scorecard.id))
    ).all()


def open_tasks_of_candidate(session: Session, candidate_id: int, *, limit: int) -> Sequence[Task]:
    return session.exec(
        select(Task).where(Task.candidate_id == candidate_id, Task.status == TaskStatus.OPEN)
        .order_by(col(Task.due_at), col(Task.id)).limit(limit)
    ).all()


def open_application_counts(
    session: Session, *, position_ids: Sequence[int] | None = None
) -> Sequence[tuple[int, str, int]]:
    """(position_id, stage, number of open applications)."""
    query = (
        select(Application.position_id, Application.stage, func.count())
        .where(Application.status == ApplicationStatus.OPEN)
        .group_by(col(Application.position_id), col(Application.stage))
    )
    if position_ids is not None:
        query = query.where(col(Application.position_id).in_(list(position_ids)))
    return session.exec(query).all()  # type: ignore[return-value]


def _open_applications_with_names() -> Any:
    return (
        select(Application, Candidate.full_name, Position.title)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Position, col(Position.id) == Application.position_id)
        .where(Application.status == ApplicationStatus.OPEN)
    )


def longest_in_stage(
    session: Session, stage: str, *, position_id: int | None = None, limit: int
) -> Sequence[tuple[Application, str, str]]:
    """Open applications in a stage, longest there first, with the candidate's name and position title."""
    query = _open_applications_with_names().where(Application.stage == stage)
    if position_id is not None:
        query = query.where(Application.position_id == position_id)
    return session.exec(
        query.order_by(col(Application.stage_entered_at), col(Application.id)).limit(limit)
    ).all()  # type: ignore[no-any-return]


def _over_sla(cutoffs: dict[str, datetime]) -> Any:
    # An application is over its stage's SLA when it entered the stage before that stage's cutoff.
    from sqlalchemy import and_, or_

    return or_(*(and_(col(Application.stage) == stage, col(Application.stage_entered_at) < cutoff)
                 for stage, cutoff in cutoffs.items()))


def board_applications_over_sla(
    session: Session, cutoffs: dict[str, datetime], *, position_id: int | None = None, limit: int, offset: int = 0
) -> Sequence[tuple[Application, str, str]]:
    if not cutoffs:
        return []
    query = _open_applications_with_names().where(_over_sla(cutoffs))
    if position_id is not None:
        query = query.where(Application.position_id == position_id)
    return session.exec(
        query.order_by(col(Application.stage_entered_at), col(Application.id)).limit(limit).offset(offset)
    ).all()  # type: ignore[no-any-return]


def count_board_applications_over_sla(session: Session, cutoffs: dict[str, datetime], *,
                                position_id: int | None = None) -> int:
    if not cutoffs:
        return 0
    query = select(func.count()).select_from(Application).where(
        Application.status == ApplicationStatus.OPEN, _over_sla(cutoffs))
    if position_id is not None:
        query = query.where(Application.position_id == position_id)
    return session.exec(query).one()


def open_positions_managed_by(session: Session, manager_slack_id: str, *, limit: int,
                              offset: int = 0) -> Sequence[Position]:
    return session.exec(
        select(Position)
        .where(Position.hiring_manager_slack_id == manager_slack_id, Position.status == PositionStatus.OPEN)
        .order_by(col(Position.title), col(Position.id)).limit(limit).offset(offset)
    ).all()


def count_open_positions_managed_by(session: Session, manager_slack_id: str) -> int:
    return session.exec(
        select(func.count()).select_from(Position)
        .where(Position.hiring_manager_slack_id == manager_slack_id, Position.status == PositionStatus.OPEN)
    ).one()


def onboarding_tasks_for_manager(session: Session, manager_slack_id: str) -> Sequence[tuple[Task, str, str]]:
    """Onboarding tasks of every hire into the manager's positions, with candidate name and position title."""
    from storage.models import TaskKind

    return session.exec(  # type: ignore[return-value]
        select(Task, Candidate.full_name, Position.title)
        .join(Application, col(Application.id) == Task.application_id)
        .join(Position, col(Position.id) == Application.position_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .where(Position.hiring_manager_slack_id == manager_slack_id, Task.kind == TaskKind.ONBOARDING)
        .order_by(col(Application.id), col(Task.due_at), col(Task.id))
    ).all()


def open_tasks_page(session: Session, assignee: str, *, limit: int,
                    offset: int = 0) -> Sequence[tuple[Task, str | None]]:
    return session.exec(  # type: ignore[return-value]
        select(Task, Candidate.full_name)
        .outerjoin(Candidate, col(Candidate.id) == Task.candidate_id)
        .where(Task.assignee_slack_id == assignee, Task.status == TaskStatus.OPEN)
        .order_by(col(Task.due_at), col(Task.id))
        .limit(limit).offset(offset)
    ).all()


def count_open_tasks_for_assignee(session: Session, assignee: str) -> int:
    return session.exec(
        select(func.count()).select_from(Task)
        .where(Task.assignee_slack_id == assignee, Task.status == TaskStatus.OPEN)
    ).one()


# --- questions: stale, pipeline, full-text search, status, my work, numbers, search index -----------
# For bot/services/questions.py, metrics.py and search_index.py (issue 4). `position_ids` limits a hiring
# manager to their positions (None = no limit). Imports used only here are local to the section, so it can
# change without touching the shared import block at the top.

import re as _re  # noqa: E402
from collections.abc import Mapping as _Mapping  # noqa: E402
from functools import cache as _cache  # noqa: E402

from sqlalchemy import and_ as _and  # noqa: E402
from sqlalchemy import column as _column  # noqa: E402
from sqlalchemy import exists as _exists  # noqa: E402
from sqlalchemy import literal_column as _literal_column  # noqa: E402
from sqlalchemy import or_ as _or  # noqa: E402
from sqlalchemy import select as _core_select  # noqa: E402
from sqlalchemy import table as _table  # noqa: E402
from sqlalchemy import text as _text  # noqa: E402

from storage.models import CandidateSearchDocument, CandidateStatus  # noqa: E402

_FTS = _table("candidate_search_fts", _column("rowid"))
_TSVECTOR: Any = _literal_column("candidate_search.document_tsv")
_SIMPLE: Any = _literal_column("'simple'::regconfig")
_NOT_A_WORD = _re.compile(r"\W+")


def position_ids_managed_by(session: Session, manager_slack_id: str) -> list[int]:
    rows = session.exec(select(Position.id).where(Position.hiring_manager_slack_id == manager_slack_id)).all()
    return [row for row in rows if row is not None]


def positions_titled(session: Session, title: str, *, limit: int = 50) -> list[int]:
    """Ids of positions with exactly this title (any case); else of those whose title contains it."""
    wanted = " ".join(title.split()).lower()
    for condition in (func.lower(Position.title) == wanted,
                      func.lower(Position.title).contains(wanted, autoescape=True)):
        rows = session.exec(select(Position.id).where(condition).order_by(col(Position.id)).limit(limit)).all()
        if rows:
            return [row for row in rows if row is not None]
    return []


@_cache
def _stale_statements(stages: tuple[str, ...], known_stages: tuple[str, ...], *, other_cutoff: bool,
                      only_these_stages: bool, by_positions: bool, by_owner: bool) -> tuple[Any, Any]:
    """The page and count statements for one shape of the question, built once; every value is a bind parameter.

    A question's own cost is a few milliseconds of SQL, so building and hashing the expression again for each
    one would be most of the time the answer takes."""
    from sqlalchemy import Integer, bindparam, case, null

    from storage.types import UTCDateTime

    a: Any = Application.__table__.c  # type: ignore[attr-defined]
    c: Any = Candidate.__table__.c  # type: ignore[attr-defined]
    p: Any = Position.__table__.c  # type: ignore[attr-defined]
    # One CASE instead of a branch per stage: the same plan, and a tenth of the expression. Stages the config does
    # not name use the other cutoff; configured stages without a cutoff never go stale.
    whens: dict[str, Any] = {stage: bindparam(f"cutoff_{i}", type_=UTCDateTime()) for i, stage in enumerate(stages)}
    whens |= {stage: null() for stage in known_stages if stage not in whens}
    other = bindparam("other_cutoff", type_=UTCDateTime()) if other_cutoff else null()
    cutoff_of_stage = case(whens, value=a.stage, else_=other) if whens else other
    conditions = [
        a.status == ApplicationStatus.OPEN.value,
        # An application nobody has touched yet counts from its creation.
        func.coalesce(a.last_activity_at, a.created_at) <= cutoff_of_stage,
        _or(a.stale_snoozed_until.is_(None), a.stale_snoozed_until <= bindparam("now", type_=UTCDateTime())),
    ]
    if only_these_stages:
        # Implied by the CASE, but spelled out so that the (status, stage) index can find them.
        conditions.append(a.stage.in_(stages))
    if by_positions:
        conditions.append(a.position_id.in_(bindparam("position_ids", expanding=True)))
    if by_owner:
        conditions.append(c.owner_slack_id == bindparam("owner"))
    page = (
        _core_select(a.id.label("application_id"), a.candidate_id, a.stage, a.last_activity_at, a.created_at,
                     c.full_name.label("candidate_name"), c.owner_slack_id, p.title.label("position_title"))
        .select_from(Application.__table__.join(Candidate.__table__, c.id == a.candidate_id)  # type: ignore[attr-defined]
                     .join(Position.__table__, p.id == a.position_id))  # type: ignore[attr-defined]
        .where(*conditions)
        .order_by(a.last_activity_at, a.id)
        .limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
    )
    source: Any = Application.__table__  # type: ignore[attr-defined]
    if by_owner:
        source = source.join(Candidate.__table__, c.id == a.candidate_id)  # type: ignore[attr-defined]
    # Oldest touch first: those are stale in every stage, so the cap is reached after reading about that many rows.
    capped = (_core_select(a.id).select_from(source).where(*conditions).order_by(a.last_activity_at)
              .limit(bindparam("cap", type_=Integer())).subquery())
    return page, _core_select(func.count()).select_from(capped)


def stale_applications(
    session: Session, *, cutoffs: _Mapping[str, datetime], other_stages_cutoff: datetime | None = None,
    known_stages: Sequence[str] = (), now: datetime, position_ids: Sequence[int] | None = None,
    owner: str | None = None, limit: int, offset: int = 0, count_up_to: int | None = None,
) -> tuple[Sequence[Any], int | None]:
    """Open, unsnoozed applications last touched at or before their stage's cutoff (`cutoffs`: stage → cutoff;
    stages not in `known_stages` — renamed or removed from the config — use `other_stages_cutoff`, or are never
    stale when that is None). Longest untouched first, as rows of application_id, candidate_id, stage,
    last_activity_at, created_at, candidate_name, owner_slack_id, position_title; and, with `count_up_to`, how
    many there are, counting no further than that: each stale application costs a table row read (its stage is not
    in the last-activity index), and a neglected pipeline has tens of thousands."""
    stages = tuple(cutoffs)
    # Without a cutoff for other stages, only the named ones can be stale.
    only_these = other_stages_cutoff is None and bool(stages) and len(stages) < len(known_stages)
    page, count = _stale_statements(stages, tuple(known_stages), other_cutoff=other_stages_cutoff is not None,
                                    only_these_stages=only_these, by_positions=position_ids is not None,
                                    by_owner=owner is not None)
    params: dict[str, Any] = {f"cutoff_{i}": cutoffs[stage] for i, stage in enumerate(stages)}
    params |= {"other_cutoff": other_stages_cutoff, "now": now, "position_ids": list(position_ids or []),
               "owner": owner, "limit": limit, "offset": offset, "cap": count_up_to}
    # Plain rows through the session's connection: a question reads ten rows and changes nothing, so the ORM's
    # identity map and entity loading would be pure cost.
    connection = session.connection()
    rows = connection.execute(page, params).all()
    if count_up_to is None:
        return rows, None
    return rows, connection.execute(count, params).scalar_one()


@_cache
def _latest_activities_statement(ignoring: bool) -> Any:
    from sqlalchemy import bindparam

    t: Any = Activity.__table__.c  # type: ignore[attr-defined]
    ranked = (
        _core_select(t.candidate_id, t.kind, t.occurred_at, func.row_number().over(
            partition_by=t.candidate_id, order_by=(t.occurred_at.desc(), t.id.desc())).label("rank"))
        .where(t.candidate_id.in_(bindparam("candidate_ids", expanding=True)))
    )
    if ignoring:
        ranked = ranked.where(t.kind.not_in(bindparam("ignore_kinds", expanding=True)))
    newest = ranked.subquery()
    return _core_select(newest.c.candidate_id, newest.c.kind, newest.c.occurred_at).where(newest.c.rank == 1)


def latest_activities(
    session: Session, candidate_ids: Sequence[int], *, ignore_kinds: Sequence[str] = ()
) -> dict[int, tuple[str, datetime]]:
    """Each candidate's newest timeline entry as (kind, occurred_at), entries of `ignore_kinds` left out. (Built
    once and run on the session's connection, like `stale_applications`, whose page it completes.)"""
    if not candidate_ids:
        return {}
    rows = session.connection().execute(_latest_activities_statement(bool(ignore_kinds)), {
        "candidate_ids": list(candidate_ids), "ignore_kinds": list(ignore_kinds)}).all()
    return {candidate_id: (kind, occurred_at) for candidate_id, kind, occurred_at in rows}


def activity_since(session: Session, *, application_id: int, kind: str, since: datetime) -> Activity | None:
    return session.exec(
        select(Activity)
        .where(Activity.application_id == application_id, Activity.kind == kind, col(Activity.occurred_at) >= since)
        .order_by(col(Activity.occurred_at).desc(), col(Activity.id).desc())
        .limit(1)
    ).first()


def _pipeline_filter(
    *, stages: Sequence[str] | None, position_ids: Sequence[int] | None, owner: str | None,
    entered_since: datetime | None, entered_before: datetime | None,
) -> list[Any]:
    conditions: list[Any] = [Application.status == ApplicationStatus.OPEN]
    if stages is not None:
        conditions.append(col(Application.stage).in_(list(stages)))
    if position_ids is not None:
        conditions.append(col(Application.position_id).in_(list(position_ids)))
    if owner is not None:
        conditions.append(Candidate.owner_slack_id == owner)
    if entered_since is not None:
        conditions.append(col(Application.stage_entered_at) >= entered_since)
    if entered_before is not None:
        conditions.append(col(Application.stage_entered_at) < entered_before)
    return conditions


def pipeline_applications(
    session: Session, *, stage_order: Sequence[str], stages: Sequence[str] | None = None,
    position_ids: Sequence[int] | None = None, owner: str | None = None, entered_since: datetime | None = None,
    entered_before: datetime | None = None, limit: int, offset: int = 0,
) -> Sequence[tuple[Application, str, str | None, str]]:
    """Open applications in pipeline order (by `stage_order`), longest in their stage first, with the candidate's
    name and owner and the position's title."""
    from sqlalchemy import case

    rank = case({stage: index for index, stage in enumerate(stage_order)}, value=col(Application.stage),
                else_=len(stage_order))
    query = (
        select(Application, Candidate.full_name, Candidate.owner_slack_id, Position.title)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Position, col(Position.id) == Application.position_id)
        .where(*_pipeline_filter(stages=stages, position_ids=position_ids, owner=owner,
                                 entered_since=entered_since, entered_before=entered_before))
        .order_by(rank, col(Application.stage_entered_at), col(Application.id))
        .limit(limit)
        .offset(offset)
    )
    return session.exec(query).all()  # type: ignore[return-value]


def count_pipeline_by_stage(
    session: Session, *, stages: Sequence[str] | None = None, position_ids: Sequence[int] | None = None,
    owner: str | None = None, entered_since: datetime | None = None, entered_before: datetime | None = None,
) -> dict[str, int]:
    query = select(Application.stage, func.count()).select_from(Application)
    if owner is not None:
        query = query.join(Candidate, col(Candidate.id) == Application.candidate_id)
    query = query.where(*_pipeline_filter(stages=stages, position_ids=position_ids, owner=owner,
                                          entered_since=entered_since, entered_before=entered_before))
    return {stage: count for stage, count in session.exec(query.group_by(col(Application.stage))).all()}


def _fts5_phrase(term: str) -> str:
    # A double-quoted FTS5 string is always a phrase of plain tokens: no operator inside it is read as one.
    return '"' + term.replace('"', '""') + '"'


def _full_text_condition(dialect: str, phrases: Sequence[str], prefixes: Sequence[str],
                         any_of: Sequence[str]) -> Any:
    """Every phrase, a word starting with every prefix, and one of the `any_of` phrases. Terms are bound parameters
    on both backends."""
    if dialect == "postgresql":
        parts = [func.phraseto_tsquery(_SIMPLE, phrase) for phrase in phrases]
        # to_tsquery reads operators, so a prefix is reduced to word characters before ':*' is added.
        parts += [func.to_tsquery(_SIMPLE, word + ":*") for word in prefixes]
        if any_of:
            either: Any = func.phraseto_tsquery(_SIMPLE, any_of[0])
            for phrase in any_of[1:]:
                either = either.op("||")(func.phraseto_tsquery(_SIMPLE, phrase))
            parts.append(either)
        combined: Any = parts[0]
        for part in parts[1:]:
            combined = combined.op("&&")(part)
        return _TSVECTOR.op("@@")(combined)
    terms = [_fts5_phrase(p) for p in phrases] + [_fts5_phrase(w) + "*" for w in prefixes]
    if any_of:
        terms.append("(" + " OR ".join(_fts5_phrase(p) for p in any_of) + ")")
    return _text("candidate_search_fts MATCH :fts_query").bindparams(fts_query=" AND ".join(terms))


def _candidate_filter(
    *, locations: Sequence[str], seniority: str | None, source: str | None, pool: str | None, owner: str | None,
    stage: str | None, position_ids: Sequence[int] | None, manager_position_ids: Sequence[int] | None,
) -> list[Any]:
    conditions: list[Any] = [Candidate.status != CandidateStatus.ERASED]
    if locations:
        conditions.append(func.lower(Candidate.location).in_([place.lower() for place in locations]))
    if seniority:
        conditions.append(func.lower(Candidate.seniority) == seniority.lower())
    if source:
        conditions.append(Candidate.source == source)
    if pool:
        conditions.append(func.lower(Candidate.talent_pool) == pool.lower())
    if owner:
        conditions.append(Candidate.owner_slack_id == owner)
    if stage is not None or position_ids is not None:
        applied: list[Any] = [col(Application.candidate_id) == col(Candidate.id),
                              Application.status == ApplicationStatus.OPEN]
        if stage is not None:
            applied.append(Application.stage == stage)
        if position_ids is not None:
            applied.append(col(Application.position_id).in_(list(position_ids)))
        conditions.append(_exists().where(*applied))
    if manager_position_ids is not None:
        conditions.append(_exists().where(col(Application.candidate_id) == col(Candidate.id),
                                          col(Application.position_id).in_(list(manager_position_ids))))
    return conditions


def _candidate_search(
    session: Session, *, ids_only: bool, phrases: Sequence[str], prefixes: Sequence[str],
    locations: Sequence[str], seniority: str | None, source: str | None, pool: str | None, owner: str | None,
    stage: str | None, position_ids: Sequence[int] | None, manager_position_ids: Sequence[int] | None,
) -> tuple[Any, Any]:
    """The query (of candidates, or of their ids) and the column to order it by, newest candidate first."""
    from sqlalchemy import true
    from sqlalchemy.orm import aliased

    prefixes = [word for word in (_NOT_A_WORD.sub("", p) for p in prefixes) if word]
    filters = _candidate_filter(locations=locations, seniority=seniority, source=source, pool=pool, owner=owner,
                                stage=stage, position_ids=position_ids, manager_position_ids=manager_position_ids)
    # The document holds the location too, so the full-text index can narrow a location filter down first (the
    # exact comparison still decides); not when a place has no word in it, which the index cannot find.
    any_of = list(locations) if locations and all(_NOT_A_WORD.sub("", place) for place in locations) else []
    if not (phrases or prefixes or any_of):
        return select(col(Candidate.id) if ids_only else Candidate).where(*filters), col(Candidate.id)
    dialect = session.get_bind().dialect.name
    matching = _full_text_condition(dialect, phrases, prefixes, any_of)
    query: Any
    if dialect != "postgresql":
        # FTS5 hands rows out in rowid order, so "newest first" needs no sort of all the matches.
        query = select(col(Candidate.id) if ids_only else Candidate).join(_FTS, _FTS.c.rowid == Candidate.id)
        return query.where(matching, *filters), _FTS.c.rowid
    # PostgreSQL: one primary-key probe per matching document. As a plain join the planner misjudges how few
    # documents match (it cannot estimate a tsquery, nor lower(location)) and reads every candidate instead —
    # 0.5 s against 0.08 s for "SQL in Berlin" over a million. OFFSET 0 keeps the LATERAL subquery from being
    # flattened back into that join.
    person = (select(Candidate).where(col(Candidate.id) == CandidateSearchDocument.candidate_id, *filters)
              .offset(0).lateral("person"))
    found = aliased(Candidate, person)
    query = (select(found.id if ids_only else found).select_from(CandidateSearchDocument).join(person, true())
             .where(matching))
    return query, col(CandidateSearchDocument.candidate_id)


def search_candidates(
    session: Session, *, phrases: Sequence[str] = (), prefixes: Sequence[str] = (), locations: Sequence[str] = (),
    seniority: str | None = None, source: str | None = None, pool: str | None = None, owner: str | None = None,
    stage: str | None = None, position_ids: Sequence[int] | None = None,
    manager_position_ids: Sequence[int] | None = None, limit: int, offset: int = 0,
) -> Sequence[Candidate]:
    """Candidates whose search document has every phrase and a word starting with every prefix, and that pass
    every filter; newest first. Erased people are never found."""
    query, order = _candidate_search(
        session, ids_only=False, phrases=phrases, prefixes=prefixes, locations=locations, seniority=seniority,
        source=source, pool=pool, owner=owner, stage=stage, position_ids=position_ids,
        manager_position_ids=manager_position_ids)
    return session.exec(query.order_by(order.desc()).limit(limit).offset(offset)).all()


def count_search_candidates(
    session: Session, *, cap: int, phrases: Sequence[str] = (), prefixes: Sequence[str] = (),
    locations: Sequence[str] = (), seniority: str | None = None, source: str | None = None, pool: str | None = None,
    owner: str | None = None, stage: str | None = None, position_ids: Sequence[int] | None = None,
    manager_position_ids: Sequence[int] | None = None,
) -> int:
    """How many `search_candidates` finds, counting no further than `cap` (a common skill matches a large part of
    the database, and "1000+" says as much as the exact number)."""
    query, _ = _candidate_search(
        session, ids_only=True, phrases=phrases, prefixes=prefixes, locations=locations, seniority=seniority,
        source=source, pool=pool, owner=owner, stage=stage, position_ids=position_ids,
        manager_position_ids=manager_position_ids)
    capped = query.limit(cap).subquery()
    return session.exec(select(func.count()).select_from(capped)).one()


def open_applications_of(session: Session, candidate_ids: Sequence[int]) -> Sequence[tuple[Application, str]]:
    """Open applications of several candidates with the position's title, oldest first."""
    if not candidate_ids:
        return []
    return session.exec(  # type: ignore[return-value]
        select(Application, Position.title)
        .join(Position, col(Position.id) == Application.position_id)
        .where(col(Application.candidate_id).in_(list(candidate_ids)), Application.status == ApplicationStatus.OPEN)
        .order_by(col(Application.created_at), col(Application.id))
    ).all()


def candidates_named(
    session: Session, name_key: str, *, manager_position_ids: Sequence[int] | None = None, limit: int
) -> Sequence[Candidate]:
    """Candidates whose folded name is exactly `name_key` (bot.contact.name_key)."""
    query = select(Candidate).where(Candidate.name_key == name_key, Candidate.status != CandidateStatus.ERASED)
    if manager_position_ids is not None:
        query = query.where(_exists().where(col(Application.candidate_id) == col(Candidate.id),
                                            col(Application.position_id).in_(list(manager_position_ids))))
    return session.exec(query.order_by(col(Candidate.id).desc()).limit(limit)).all()


def candidate_names_for_keys(session: Session, name_keys: Sequence[str], *, limit: int) -> list[str]:
    """Full names of candidates whose folded name is one of `name_keys`."""
    if not name_keys:
        return []
    return list(session.exec(
        select(Candidate.full_name).where(col(Candidate.name_key).in_(list(name_keys))).distinct().limit(limit)
    ).all())


def open_tasks_due(
    session: Session, assignee: str, *, due_before: datetime | None, limit: int, offset: int = 0
) -> Sequence[tuple[Task, str | None]]:
    """Open tasks of `assignee` (due before `due_before`, when given), soonest due first, with the candidate's name."""
    query = (
        select(Task, Candidate.full_name)
        .outerjoin(Candidate, col(Candidate.id) == Task.candidate_id)
        .where(Task.assignee_slack_id == assignee, Task.status == TaskStatus.OPEN)
    )
    if due_before is not None:
        query = query.where(col(Task.due_at) < due_before)
    return session.exec(query.order_by(col(Task.due_at), col(Task.id)).limit(limit).offset(offset)).all()  # type: ignore[return-value]


def count_open_tasks_due(session: Session, assignee: str, *, due_before: datetime | None) -> int:
    query = select(func.count()).select_from(Task).where(Task.assignee_slack_id == assignee,
                                                          Task.status == TaskStatus.OPEN)
    if due_before is not None:
        query = query.where(col(Task.due_at) < due_before)
    return session.exec(query).one()


def _referrals_between(query: Any, *, since: datetime | None, before: datetime | None) -> Any:
    if since is not None:
        query = query.where(col(Referral.created_at) >= since)
    if before is not None:
        query = query.where(col(Referral.created_at) < before)
    return query


def referrals_of_referrer_between(
    session: Session, referrer_slack_id: str, *, since: datetime | None, before: datetime | None, limit: int,
    offset: int = 0,
) -> Sequence[tuple[Referral, Candidate, Position | None]]:
    query = (
        select(Referral, Candidate, Position)
        .join(Candidate, col(Candidate.id) == Referral.candidate_id)
        .outerjoin(Position, col(Position.id) == Referral.position_id)
        .where(Referral.referrer_slack_id == referrer_slack_id)
    )
    query = _referrals_between(query, since=since, before=before)
    query = query.order_by(col(Referral.created_at).desc(), col(Referral.id).desc()).limit(limit).offset(offset)
    return session.exec(query).all()  # type: ignore[no-any-return]


def count_referrals_of_referrer_between(
    session: Session, referrer_slack_id: str, *, since: datetime | None, before: datetime | None
) -> int:
    query = select(func.count()).select_from(Referral).where(Referral.referrer_slack_id == referrer_slack_id)
    return session.exec(_referrals_between(query, since=since, before=before)).one()  # type: ignore[no-any-return]


def referral_hires_between(
    session: Session, *, since: datetime, before: datetime, position_ids: Sequence[int] | None = None
) -> Sequence[tuple[Application, str, str, str]]:
    """Hires (hired_at in [since, before)) credited to a referral — for their position or the general talent
    pool — with the candidate's name, the position's title and the credited referrer; in hiring order."""
    query = (
        select(Application, Candidate.full_name, Position.title, Referral.referrer_slack_id)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Position, col(Position.id) == Application.position_id)
        .join(Referral, _and(col(Referral.candidate_id) == Application.candidate_id,
                             col(Referral.attributed).is_(True),
                             _or(col(Referral.position_id) == Application.position_id,
                                 col(Referral.position_id).is_(None))))
        .where(Application.status == ApplicationStatus.HIRED, col(Application.hired_at) >= since,
               col(Application.hired_at) < before)
        .order_by(col(Application.hired_at), col(Application.id), col(Referral.created_at))
    )
    if position_ids is not None:
        query = query.where(col(Application.position_id).in_(list(position_ids)))
    return session.exec(query).all()  # type: ignore[return-value]


def stage_moves_between(
    session: Session, *, since: datetime, before: datetime, to_stage: str | None = None,
    from_stage: str | None = None, position_ids: Sequence[int] | None = None,
) -> Sequence[tuple[Activity, datetime]]:
    """`stage.moved` timeline entries in [since, before) into or out of a stage, oldest first, with the created_at
    of the application they moved."""
    query = (
        select(Activity, Application.created_at)
        .join(Application, col(Application.id) == Activity.application_id)
        .where(Activity.kind == "stage.moved", col(Activity.occurred_at) >= since, col(Activity.occurred_at) < before)
    )
    if to_stage is not None:
        query = query.where(col(Activity.payload)["to"].as_string() == to_stage)
    if from_stage is not None:
        query = query.where(col(Activity.payload)["from"].as_string() == from_stage)
    if position_ids is not None:
        query = query.where(col(Application.position_id).in_(list(position_ids)))
    return session.exec(query.order_by(col(Activity.occurred_at), col(Activity.id))).all()  # type: ignore[return-value]


def all_position_titles(session: Session, *, limit: int) -> list[str]:
    """Distinct position titles, open positions' first."""
    rows = session.exec(
        select(Position.title, Position.status).order_by(col(Position.status) != PositionStatus.OPEN,
                                                        col(Position.id).desc()).limit(limit)
    ).all()
    return list(dict.fromkeys(title for title, _ in rows))


def position_facets(session: Session, *, limit: int) -> Sequence[tuple[list[str], str | None]]:
    """(required_skills, location) of the newest positions."""
    return session.exec(  # type: ignore[return-value]
        select(Position.required_skills, Position.location).order_by(col(Position.id).desc()).limit(limit)
    ).all()


def recent_candidate_facets(session: Session, *, limit: int) -> Sequence[tuple[list[str], str | None, str | None]]:
    """(skills, location, talent_pool) of the newest candidates: a sample of how the team spells them that costs
    a primary-key range scan, where a DISTINCT over every candidate would read the whole table."""
    return session.exec(  # type: ignore[return-value]
        select(Candidate.skills, Candidate.location, Candidate.talent_pool)
        .where(Candidate.status != CandidateStatus.ERASED)
        .order_by(col(Candidate.id).desc()).limit(limit)
    ).all()


def position_titles_of_candidate(session: Session, candidate_id: int) -> list[str]:
    rows = session.exec(
        select(Position.title).join(Application, col(Application.position_id) == Position.id)
        .where(Application.candidate_id == candidate_id).order_by(col(Application.id))
    ).all()
    return list(dict.fromkeys(rows))


def note_texts_of_candidate(session: Session, candidate_id: int, *, limit: int) -> list[str]:
    """The texts of `note.added` entries on the candidate's timeline, oldest first."""
    rows = session.exec(
        select(Activity.payload).where(Activity.candidate_id == candidate_id, Activity.kind == "note.added")
        .order_by(col(Activity.occurred_at), col(Activity.id)).limit(limit)
    ).all()
    return [str(payload["text"]) for payload in rows if isinstance(payload, dict) and payload.get("text")]


def candidate_ids_after(session: Session, after_id: int, *, limit: int) -> list[int]:
    """Candidate ids greater than `after_id`, ascending: batches for rebuilding the search index."""
    rows = session.exec(
        select(Candidate.id).where(col(Candidate.id) > after_id).order_by(col(Candidate.id)).limit(limit)
    ).all()
    return [row for row in rows if row is not None]


# --- outreach (issue 5) ----------------------------------------------------------------------------


def cancel_pending_emails(session: Session, *, candidate_id: int, kind_prefix: str, status: str, error: str,
                          now: datetime) -> int:
    """Mark the candidate's pending emails of these kinds with `status` (cancelled); returns how many.

    The delivery claim only takes pending rows, so a cancelled email is never picked up again.
    """
    result: Any = session.exec(  # type: ignore[call-overload]
        update(EmailMessage)
        .where(col(EmailMessage.candidate_id) == candidate_id, col(EmailMessage.status) == OutboxStatus.PENDING)
        .where(col(EmailMessage.kind).startswith(kind_prefix, autoescape=True))
        .values(status=status, last_error=error[:500], next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


# --- nurture sequences and engagement (issue 5, part B: bot/services/nurture.py, engagement.py) -------------
# The section imports its own tables, so that it can change without touching the import block at the top.

from storage.models import (  # noqa: E402
    CandidateEngagement,
    EngagementEvent,
    NurtureEnrollment,
    NurtureSend,
    NurtureStatus,
)


def claim_due_enrollments(session: Session, *, now: datetime, limit: int) -> Sequence[NurtureEnrollment]:
    """Active enrolments whose next step is due, locked for this transaction.

    PostgreSQL: `FOR UPDATE SKIP LOCKED`, so that concurrent runs take disjoint rows instead of waiting. SQLite:
    the transaction began with BEGIN IMMEDIATE (storage.db), which already keeps every other writer out.
    """
    statement = (select(NurtureEnrollment)
                 .where(col(NurtureEnrollment.status) == NurtureStatus.ACTIVE,
                        col(NurtureEnrollment.next_step_at) <= now)
                 .order_by(col(NurtureEnrollment.next_step_at), col(NurtureEnrollment.id))
                 .limit(limit))
    if _is_postgresql(session):
        statement = statement.with_for_update(skip_locked=True)
    return session.exec(statement).all()


def enrollment_for(session: Session, *, candidate_id: int, sequence: str) -> NurtureEnrollment | None:
    return session.exec(select(NurtureEnrollment).where(NurtureEnrollment.candidate_id == candidate_id,
                                                        NurtureEnrollment.sequence == sequence)).first()


def enrollments_of(session: Session, candidate_id: int) -> Sequence[NurtureEnrollment]:
    return session.exec(select(NurtureEnrollment).where(NurtureEnrollment.candidate_id == candidate_id)
                        .order_by(col(NurtureEnrollment.id))).all()


def stop_active_enrollments(session: Session, *, candidate_id: int, reason: str, now: datetime) -> list[int]:
    """Stop every active enrolment of the candidate; returns the ids stopped."""
    ids = list(session.exec(select(NurtureEnrollment.id).where(
        NurtureEnrollment.candidate_id == candidate_id, NurtureEnrollment.status == NurtureStatus.ACTIVE)).all())
    if ids:
        session.exec(  # type: ignore[call-overload]
            update(NurtureEnrollment).where(col(NurtureEnrollment.id).in_(ids))
            .values(status=NurtureStatus.STOPPED, stop_reason=reason[:60], stopped_at=now, updated_at=now,
                    next_step_at=None)
            .execution_options(synchronize_session="fetch"))
    return [i for i in ids if i is not None]


def enrolled_candidate_ids(session: Session, *, sequence: str, candidate_ids: Sequence[int]) -> set[int]:
    if not candidate_ids:
        return set()
    return set(session.exec(select(NurtureEnrollment.candidate_id).where(
        NurtureEnrollment.sequence == sequence, col(NurtureEnrollment.candidate_id).in_(list(candidate_ids)))).all())


def segment_candidates(session: Session, *, location: str | None, seniority: str | None, min_score: int | None,
                       after_id: int, limit: int) -> Sequence[tuple[Candidate, int]]:
    """Active candidates matching the filters SQL can check cheaply, with their engagement score, by id."""
    statement = (select(Candidate, func.coalesce(CandidateEngagement.score, 0))
                 .join(CandidateEngagement, col(CandidateEngagement.candidate_id) == col(Candidate.id), isouter=True)
                 .where(col(Candidate.status) == "active", col(Candidate.id) > after_id))
    if location:
        statement = statement.where(func.lower(col(Candidate.location)).contains(location.casefold(),
                                                                                  autoescape=True))
    if seniority:
        statement = statement.where(func.lower(col(Candidate.seniority)) == seniority.casefold())
    if min_score is not None:
        statement = statement.where(func.coalesce(CandidateEngagement.score, 0) >= min_score)
    return session.exec(statement.order_by(col(Candidate.id)).limit(limit)).all()  # type: ignore[return-value]


def position_titles_by_candidate(session: Session, candidate_ids: Sequence[int]) -> dict[int, list[str]]:
    titles: dict[int, list[str]] = {}
    if not candidate_ids:
        return titles
    rows = session.exec(select(Application.candidate_id, Position.title)
                        .join(Position, col(Position.id) == col(Application.position_id))
                        .where(col(Application.candidate_id).in_(list(candidate_ids)))
                        .order_by(col(Application.created_at).desc())).all()
    for candidate_id, title in rows:
        titles.setdefault(candidate_id, []).append(title)
    return titles


def nurture_send_for_message_ids(session: Session, message_ids: Sequence[str]) -> NurtureSend | None:
    """The nurture step whose email carried one of these Message-IDs (a reply's In-Reply-To / References)."""
    if not message_ids:
        return None
    return session.exec(select(NurtureSend).join(EmailMessage, col(EmailMessage.id) == col(NurtureSend.email_id))
                        .where(col(EmailMessage.message_id).in_(list(message_ids)))
                        .order_by(col(NurtureSend.id).desc())).first()


def candidate_engagement_for_update(session: Session, candidate_id: int) -> CandidateEngagement:
    """The candidate's engagement row, created when missing, locked for the rest of the transaction."""
    table: Any = CandidateEngagement.__table__  # type: ignore[attr-defined]
    if _is_postgresql(session):
        from sqlalchemy.dialects import postgresql

        session.connection().execute(postgresql.insert(table).values(candidate_id=candidate_id, score=0, opens=0,
                                                                     clicks=0, replies=0)
                                     .on_conflict_do_nothing(index_elements=["candidate_id"]))
    else:
        from sqlalchemy.dialects import sqlite

        session.connection().execute(sqlite.insert(table).values(candidate_id=candidate_id, score=0, opens=0,
                                                                 clicks=0, replies=0)
                                     .on_conflict_do_nothing(index_elements=["candidate_id"]))
    row = session.get(CandidateEngagement, candidate_id, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def nurture_rates(session: Session, *, since: datetime | None, before: datetime | None
                  ) -> Sequence[tuple[str, int, int, int, int]]:
    """Per sequence: emails queued, and how many of them were opened, clicked and replied to."""
    def counted(column: Any) -> Any:
        return func.count(column)

    statement = select(NurtureSend.sequence, counted(NurtureSend.email_id), counted(NurtureSend.opened_at),
                       counted(NurtureSend.clicked_at), counted(NurtureSend.replied_at)) \
        .where(col(NurtureSend.email_id).is_not(None))
    if since is not None:
        statement = statement.where(col(NurtureSend.created_at) >= since)
    if before is not None:
        statement = statement.where(col(NurtureSend.created_at) < before)
    return session.exec(statement.group_by(col(NurtureSend.sequence))  # type: ignore[return-value]
                        .order_by(col(NurtureSend.sequence))).all()


def engagement_event_exists(session: Session, *, send_id: int, kind: str) -> bool:
    return session.exec(select(EngagementEvent.id).where(EngagementEvent.send_id == send_id,
                                                         EngagementEvent.kind == kind).limit(1)).first() is not None


def drafts_with_status(session: Session, status: str, *, limit: int) -> list[int]:
    rows = session.exec(select(OutreachDraft.id).where(OutreachDraft.status == status)
                        .order_by(col(OutreachDraft.id)).limit(limit)).all()
    return [row for row in rows if row is not None]


def candidates_with_pending_emails(session: Session, *, kind_prefix: str, limit: int) -> list[int]:
    rows = session.exec(
        select(EmailMessage.candidate_id).where(col(EmailMessage.status) == OutboxStatus.PENDING)
        .where(col(EmailMessage.kind).startswith(kind_prefix, autoescape=True))
        .where(col(EmailMessage.candidate_id).is_not(None)).distinct().limit(limit)
    ).all()
    return [row for row in rows if row is not None]


# --- sending nurture steps in batches (bot/services/nurture.py) --------------------------------------------


def latest_consents(session: Session, *, candidate_ids: Sequence[int], kind: str) -> dict[int, Consent]:
    """Each candidate's newest consent row of `kind` (what `latest_consent` finds), for many candidates at once."""
    if not candidate_ids:
        return {}
    rows = session.exec(select(Consent).where(col(Consent.candidate_id).in_(list(candidate_ids)),
                                              Consent.kind == kind)).all()
    latest: dict[int, Consent] = {}
    for row in rows:
        held = latest.get(row.candidate_id)
        if held is None or (row.recorded_at, row.id or 0) > (held.recorded_at, held.id or 0):
            latest[row.candidate_id] = row
    return latest


def insert_nurture_sends(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert step records with one executemany; their ids in the order of `rows`."""
    if not rows:
        return []
    statement = sa_insert(NurtureSend).returning(col(NurtureSend.id), sort_by_parameter_order=True)
    return [row[0] for row in session.execute(statement, rows).all()]


def insert_emails_once(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Queue emails with one executemany; a dedupe_key already queued keeps its email (ON CONFLICT DO NOTHING).

    Returns the id of the email under each row's dedupe_key, new or already there.
    """
    if not rows:
        return {}
    if _is_postgresql(session):
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(EmailMessage.__table__).on_conflict_do_nothing(  # type: ignore[attr-defined]
        index_elements=["dedupe_key"])
    session.execute(statement, rows)
    keys = [row["dedupe_key"] for row in rows]
    found = session.exec(select(EmailMessage.id, EmailMessage.dedupe_key)
                         .where(col(EmailMessage.dedupe_key).in_(keys))).all()
    return {key: email_id for email_id, key in found if email_id is not None}
