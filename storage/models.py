"""The domain tables. Later features extend these rather than adding parallel ones.

Conventions: integer surrogate keys; Slack users are referenced by their Slack user ID (`*_slack_id`);
every timestamp is an aware UTC datetime (`UTCDateTime`); enumerations are stored as short strings so
that adding a value needs no migration.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, event
from sqlalchemy.orm import Mapper
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _utc(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _json(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


class CandidateStatus(StrEnum):
    ACTIVE = "active"
    HIRED = "hired"
    ARCHIVED = "archived"
    ERASED = "erased"


class CandidateSource(StrEnum):
    REFERRAL = "referral"
    SOURCED = "sourced"
    APPLIED = "applied"
    AGENCY = "agency"
    OTHER = "other"


class Candidate(SQLModel, table=True):
    __tablename__ = "candidates"
    __table_args__ = (
        # One person, one row: the same email or phone number is the same candidate.
        UniqueConstraint("email_normalized", name="uq_candidates_email"),
        UniqueConstraint("phone_e164", name="uq_candidates_phone"),
    )

    id: int | None = Field(default=None, primary_key=True)
    full_name: str = Field(max_length=200)
    # Case- and accent-folded name used to recognise the same person across referrals.
    name_key: str = Field(max_length=200, index=True)
    email: str | None = Field(default=None, max_length=320)
    email_normalized: str | None = Field(default=None, max_length=320)
    phone_e164: str | None = Field(default=None, max_length=20)
    profile_url: str | None = Field(default=None, max_length=500)
    profile_url_key: str | None = Field(default=None, max_length=500, index=True)
    location: str | None = Field(default=None, max_length=200)
    skills: list[str] = _json(list)
    seniority: str | None = Field(default=None, max_length=40)
    source: str = Field(default=CandidateSource.OTHER, max_length=20)
    talent_pool: str | None = Field(default=None, max_length=80)
    owner_slack_id: str | None = Field(default=None, max_length=20, index=True)
    status: str = Field(default=CandidateStatus.ACTIVE, max_length=20, index=True)
    open_to_opportunities: bool = False
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class PositionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Position(SQLModel, table=True):
    __tablename__ = "positions"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=150)
    hiring_manager_slack_id: str | None = Field(default=None, max_length=20, index=True)
    location: str | None = Field(default=None, max_length=200)
    required_skills: list[str] = _json(list)
    # Agency mode: the position is filled for a client, for a fee.
    client_company: str | None = Field(default=None, max_length=200)
    fee_amount: int | None = None
    fee_currency: str | None = Field(default=None, max_length=3)
    status: str = Field(default=PositionStatus.OPEN, max_length=20, index=True)
    close_reason: str | None = Field(default=None, max_length=20)
    placed_candidate_id: int | None = Field(default=None, foreign_key="candidates.id")
    created_by_slack_id: str | None = Field(default=None, max_length=20)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class ApplicationStatus(StrEnum):
    OPEN = "open"
    HIRED = "hired"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Application(SQLModel, table=True):
    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("candidate_id", "position_id", name="uq_applications_candidate_position"),
        Index("ix_applications_status_stage", "status", "stage"),
        Index("ix_applications_status_last_activity", "status", "last_activity_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    position_id: int = Field(foreign_key="positions.id", index=True)
    stage: str = Field(max_length=60)
    stage_entered_at: datetime = _utc()
    status: str = Field(default=ApplicationStatus.OPEN, max_length=20)
    # Newest timeline entry about the candidate, kept here so that "stale" needs no scan of the timeline.
    last_activity_at: datetime | None = _utc(nullable=True)
    # "Snooze 7 days" on a stale answer keeps the application off stale lists until then.
    stale_snoozed_until: datetime | None = _utc(nullable=True)
    created_at: datetime = _utc()
    closed_at: datetime | None = _utc(nullable=True)
    # Day 1 of a hire, and the day they left if they did (cancels a referral payout still waiting).
    hired_at: datetime | None = _utc(nullable=True)
    left_at: datetime | None = _utc(nullable=True)


class ReferralStatus(StrEnum):
    SUBMITTED = "submitted"
    IN_PROCESS = "in_process"
    HIRED = "hired"
    NOT_HIRED = "not_hired"
    CLOSED = "closed"


class PayoutStatus(StrEnum):
    NONE = "none"
    WAITING_RETENTION = "waiting_retention"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Referral(SQLModel, table=True):
    __tablename__ = "referrals"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True)
    referrer_slack_id: str = Field(max_length=20, index=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    position_id: int | None = Field(default=None, foreign_key="positions.id")
    relationship: str = Field(max_length=100)
    note: str = Field(max_length=3000)
    status: str = Field(default=ReferralStatus.SUBMITTED, max_length=20)
    # Whether this referral holds the credit for the person (see referrals.attribution).
    attributed: bool = True
    # The person was already known to the team when this referral arrived.
    candidate_was_known: bool = False
    # Slack view id of the submitted modal: a double-clicked submit stores one referral.
    submission_key: str | None = Field(default=None, max_length=64, unique=True)
    payout_status: str = Field(default=PayoutStatus.NONE, max_length=20)
    payout_amount: int | None = None
    payout_currency: str | None = Field(default=None, max_length=3)
    payout_due_at: datetime | None = _utc(nullable=True)
    payout_decided_by_slack_id: str | None = Field(default=None, max_length=20)
    payout_decided_at: datetime | None = _utc(nullable=True)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class ConsentKind(StrEnum):
    CONTACT = "contact"
    AI_PROCESSING = "ai_processing"
    DATA_RETENTION = "data_retention"
    CLIENT_SUBMISSION = "client_submission"


class ConsentAction(StrEnum):
    GRANTED = "granted"
    REVOKED = "revoked"


class Consent(SQLModel, table=True):
    """Append-only ledger: the state of a consent is its newest row."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_candidate_kind", "candidate_id", "kind", "recorded_at"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidates.id")
    kind: str = Field(max_length=30)
    action: str = Field(max_length=10)
    recorded_at: datetime = _utc()
    evidence: str = Field(max_length=500)
    recorded_by_slack_id: str | None = Field(default=None, max_length=20)
    expires_at: datetime | None = _utc(nullable=True)


class Activity(SQLModel, table=True):
    """Append-only timeline and audit trail."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_candidate_time", "candidate_id", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int | None = Field(default=None, foreign_key="candidates.id")
    application_id: int | None = Field(default=None, foreign_key="applications.id", index=True)
    position_id: int | None = Field(default=None, foreign_key="positions.id")
    referral_id: int | None = Field(default=None, foreign_key="referrals.id")
    # A Slack user ID, or "system" for the bot's own jobs.
    actor: str = Field(max_length=20)
    kind: str = Field(max_length=60, index=True)
    payload: dict[str, Any] = _json(dict)
    occurred_at: datetime = _utc(index=True)


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class TaskKind(StrEnum):
    STAGE = "stage"
    ONBOARDING = "onboarding"
    SCORECARD = "scorecard"
    PAYOUT = "payout"
    OTHER = "other"


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_status_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int | None = Field(default=None, foreign_key="candidates.id", index=True)
    application_id: int | None = Field(default=None, foreign_key="applications.id", index=True)
    interview_id: int | None = Field(default=None, foreign_key="interviews.id", index=True)
    kind: str = Field(default=TaskKind.OTHER, max_length=20)
    title: str = Field(max_length=200)
    # Tasks created together (an onboarding checklist, a stage's entry tasks) share a group key.
    group_key: str | None = Field(default=None, max_length=80, index=True)
    stage: str | None = Field(default=None, max_length=60)
    assignee_slack_id: str = Field(max_length=20, index=True)
    mandatory: bool = False
    status: str = Field(default=TaskStatus.OPEN, max_length=20)
    due_at: datetime = _utc()
    snoozed_until: datetime | None = _utc(nullable=True)
    reminded_for_due_at: datetime | None = _utc(nullable=True)
    overdue_notified_for_due_at: datetime | None = _utc(nullable=True)
    escalated_at: datetime | None = _utc(nullable=True)
    created_by_slack_id: str | None = Field(default=None, max_length=20)
    created_at: datetime = _utc()
    completed_at: datetime | None = _utc(nullable=True)
    completed_by_slack_id: str | None = Field(default=None, max_length=20)


class InterviewStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Interview(SQLModel, table=True):
    __tablename__ = "interviews"

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="applications.id", index=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    starts_at: datetime = _utc(index=True)
    duration_minutes: int = 60
    interviewer_slack_ids: list[str] = _json(list)
    location: str | None = Field(default=None, max_length=300)
    # Stable iCalendar UID, so that an updated invite replaces the old one in calendars.
    ical_uid: str = Field(max_length=120, unique=True)
    status: str = Field(default=InterviewStatus.SCHEDULED, max_length=20)
    scheduled_by_slack_id: str = Field(max_length=20)
    created_at: datetime = _utc()
    # iCalendar SEQUENCE: raised on every reschedule and on the cancellation, so that calendars take the newest
    # invite (RFC 5546) instead of ignoring it as a repeat of the first.
    sequence: int = 0
    # The IANA zone the interview was scheduled in (the scheduler's Slack zone): emails state local times in it.
    timezone: str = Field(default="UTC", max_length=64)
    updated_at: datetime | None = _utc(nullable=True)


class Scorecard(SQLModel, table=True):
    __tablename__ = "scorecards"
    __table_args__ = (UniqueConstraint("interview_id", "interviewer_slack_id", name="uq_scorecards_interviewer"),)

    id: int | None = Field(default=None, primary_key=True)
    interview_id: int = Field(foreign_key="interviews.id")
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    interviewer_slack_id: str = Field(max_length=20)
    # Criterion → rating 1–5.
    ratings: dict[str, Any] = _json(dict)
    recommendation: str = Field(max_length=20)
    notes: str = Field(default="", max_length=3000)
    submitted_at: datetime = _utc()


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(SQLModel, table=True):
    """An outbound Slack call written in the same transaction as the change it reports.

    Delivery happens after the commit; a Slack failure leaves the row pending for the delivery job,
    so a notification is never lost between the database and Slack.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    method: str = Field(max_length=40)
    payload: dict[str, Any] = _json(dict)
    # Idempotency: the same notification queued twice (a Slack retry, a double click) is one row.
    dedupe_key: str = Field(max_length=200, unique=True)
    status: str = Field(default=OutboxStatus.PENDING, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = _utc()
    # A sender holds the row until this time so that two processes never send it twice.
    claimed_until: datetime | None = _utc(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    result_channel: str | None = Field(default=None, max_length=20)
    result_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = _utc()
    sent_at: datetime | None = _utc(nullable=True)


class EmailMessage(SQLModel, table=True):
    """An outgoing email, queued in the transaction that decided to send it and sent by the mail job."""

    __tablename__ = "emails"
    __table_args__ = (Index("ix_emails_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    candidate_id: int | None = Field(default=None, foreign_key="candidates.id", index=True)
    to: list[str] = _json(list)
    reply_to: str | None = Field(default=None, max_length=320)
    subject: str = Field(max_length=300)
    text_body: str
    html_body: str | None = None
    headers: dict[str, Any] = _json(dict)
    # [{"filename", "content_type", "content"}], text content only (calendar invites).
    attachments: list[dict[str, Any]] = _json(list)
    dedupe_key: str = Field(max_length=200, unique=True)
    status: str = Field(default=OutboxStatus.PENDING, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = _utc()
    claimed_until: datetime | None = _utc(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    message_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = _utc()
    sent_at: datetime | None = _utc(nullable=True)


class WebhookDelivery(SQLModel, table=True):
    """A signed JSON POST to another system (the HR handoff), retried until it is answered with a 2xx."""

    __tablename__ = "webhooks"
    __table_args__ = (Index("ix_webhooks_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    event: str = Field(max_length=60)
    url: str = Field(max_length=500)
    payload: dict[str, Any] = _json(dict)
    dedupe_key: str = Field(max_length=200, unique=True)
    status: str = Field(default=OutboxStatus.PENDING, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = _utc()
    claimed_until: datetime | None = _utc(nullable=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _utc()
    delivered_at: datetime | None = _utc(nullable=True)


class CandidateSearchDocument(SQLModel, table=True):
    """The text search looks at: name, skills, location, notes, position titles — one row per candidate.

    A full-text index sits on top of it (FTS5 on SQLite, a tsvector GIN index on PostgreSQL), created by
    migration 0002 because neither can be declared as an ordinary table.
    """

    __tablename__ = "candidate_search"

    candidate_id: int = Field(primary_key=True, foreign_key="candidates.id")
    document: str
    updated_at: datetime = _utc()


class ProcessedRequest(SQLModel, table=True):
    """Keys of Slack deliveries already handled (event_id, …), so that retries change nothing."""

    __tablename__ = "processed_requests"

    key: str = Field(primary_key=True, max_length=200)
    processed_at: datetime = _utc(index=True)


# --- inbound work taken after the ack (issue 2, ack latency: bot/inbox.py) ----------------------------


class InboundJobStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class InboundJob(SQLModel, table=True):
    """Work a Slack request asked for, committed before the ack and done by the inbox's workers after it.

    The row is the promise made by the ack: a crash after the commit leaves it pending for the inbox's
    recovery poll, and its unique key (the view ID of a submission, …) makes Slack's retries and double
    clicks one job.
    """

    __tablename__ = "inbound_jobs"
    __table_args__ = (Index("ix_inbound_jobs_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=40)
    payload: dict[str, Any] = _json(dict)
    status: str = Field(default=InboundJobStatus.PENDING, max_length=10)
    attempts: int = 0
    received_at: datetime = _utc()
    next_attempt_at: datetime = _utc()
    # The process that stored the job runs it at once; the recovery poll leaves it alone until then.
    claimed_until: datetime | None = _utc(nullable=True)
    finished_at: datetime | None = _utc(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)


# --- nurture sequences and engagement (issue 5, part B: bot/services/nurture.py, engagement.py) ---------


class NurtureStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    STOPPED = "stopped"


class NurtureEnrollment(SQLModel, table=True):
    """A candidate in a nurture sequence: which step comes next and when.

    The `nurture_steps` job claims due rows (FOR UPDATE SKIP LOCKED on PostgreSQL) and, in the same transaction,
    queues the step's email under a key naming enrolment and step and moves `next_step` on, so that a step is
    sent once whatever crashes or overlaps.
    """

    __tablename__ = "nurture_enrollments"
    __table_args__ = (
        UniqueConstraint("candidate_id", "sequence", name="uq_nurture_enrollments_candidate_sequence"),
        Index("ix_nurture_enrollments_status_due", "status", "next_step_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    sequence: str = Field(max_length=60)
    status: str = Field(default=NurtureStatus.ACTIVE, max_length=12)
    # Index into the sequence's steps of the step still to send.
    next_step: int = 0
    next_step_at: datetime | None = _utc(nullable=True)
    enrolled_by_slack_id: str = Field(max_length=20)
    enrolled_at: datetime = _utc()
    stopped_at: datetime | None = _utc(nullable=True)
    stop_reason: str | None = Field(default=None, max_length=60)
    updated_at: datetime = _utc()


class NurtureSend(SQLModel, table=True):
    """One step of one enrolment, taken: an email queued, a draft posted for approval, or skipped (blocked).

    The row's id is what the open pixel and the click links name; `links` are the URLs the email carried, the
    only ones a click may redirect to.
    """

    __tablename__ = "nurture_sends"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "step", name="uq_nurture_sends_enrollment_step"),
        Index("ix_nurture_sends_sequence", "sequence", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enrollment_id: int = Field(foreign_key="nurture_enrollments.id")
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    sequence: str = Field(max_length=60)
    step: int
    template: str = Field(max_length=80)
    # queued (an email), draft (waiting for approval), blocked (consent or unsubscribe: nothing sent).
    outcome: str = Field(max_length=12)
    email_id: int | None = Field(default=None, foreign_key="emails.id", index=True)
    links: list[str] = _json(list)
    created_at: datetime = _utc()
    opened_at: datetime | None = _utc(nullable=True)
    clicked_at: datetime | None = _utc(nullable=True)
    replied_at: datetime | None = _utc(nullable=True)


class EngagementEvent(SQLModel, table=True):
    """An open, a click or a reply; append-only, the ledger behind a candidate's engagement score."""

    __tablename__ = "engagement_events"
    __table_args__ = (Index("ix_engagement_events_candidate_time", "candidate_id", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidates.id")
    send_id: int | None = Field(default=None, foreign_key="nurture_sends.id", index=True)
    kind: str = Field(max_length=10)
    url: str | None = Field(default=None, max_length=2000)
    points: int = 0
    occurred_at: datetime = _utc()


class CandidateEngagement(SQLModel, table=True):
    """A candidate's engagement score, kept apart from `candidates` so that tracking hits never lock that row."""

    __tablename__ = "candidate_engagement"

    candidate_id: int = Field(primary_key=True, foreign_key="candidates.id")
    score: int = Field(default=0, index=True)
    opens: int = 0
    clicks: int = 0
    replies: int = 0
    last_event_at: datetime | None = _utc(nullable=True)
    # When the owner was told this candidate is hot; once, so that every further open is no new DM.
    routed_at: datetime | None = _utc(nullable=True)



# --- AI-drafted outreach (issue 5, part A: bot/services/outreach.py, bot/drafting.py) ----------------


class DraftStatus(StrEnum):
    PENDING = "pending"  # posted in its thread, waiting for a decision
    SENDING = "sending"  # approved; its email is queued
    SENT = "sent"
    FAILED = "failed"  # approved, but the email could not be sent (or was refused by consent at approval)
    REJECTED = "rejected"


class OutreachDraft(SQLModel, table=True):
    """An outreach email waiting for a person's approval, with where it was generated and what the model saw.

    Its decisions (edited, approved, rejected, regenerated) go on the append-only timeline with who, when and
    the final text; this row holds the current text and state. `prompt_sent` is exactly what went to the model
    (already redacted), `model_output` exactly what came back (placeholders not filled in).
    """

    __tablename__ = "outreach_drafts"

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidates.id", index=True)
    position_id: int | None = Field(default=None, foreign_key="positions.id")
    # intro, follow_up: picks prompts/outreach/<purpose> templates.
    purpose: str = Field(max_length=30)
    status: str = Field(default=DraftStatus.PENDING, max_length=12, index=True)
    # ai, template; for a template draft, why (ai_off, no_ai_consent, model_error).
    source: str = Field(max_length=12)
    source_note: str | None = Field(default=None, max_length=40)
    subject: str = Field(max_length=300)
    body: str
    html_body: str | None = None
    # Problems for the approver: placeholders the model invented or lost.
    flags: list[str] = _json(list)
    model: str | None = Field(default=None, max_length=120)
    prompt_sent: list[dict[str, Any]] = _json(list)
    model_output: str | None = None
    model_error: str | None = Field(default=None, max_length=500)
    # Regenerate and Edit bump it; a button carries the version it was drawn for, so a stale click is refused.
    version: int = 1
    requested_by_slack_id: str = Field(max_length=20)
    channel_id: str | None = Field(default=None, max_length=20)
    thread_ts: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    decided_by_slack_id: str | None = Field(default=None, max_length=20)
    decided_at: datetime | None = _utc(nullable=True)
    reply_to: str | None = Field(default=None, max_length=320)
    email_id: int | None = Field(default=None, foreign_key="emails.id", index=True)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()

APPEND_ONLY_TABLES = (Consent, Activity)


class AppendOnlyViolation(Exception):
    pass


def _refuse_change(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    raise AppendOnlyViolation(f"{type(target).__name__} rows are append-only; record a new row instead")


for _table in APPEND_ONLY_TABLES:
    event.listen(_table, "before_update", _refuse_change)
    event.listen(_table, "before_delete", _refuse_change)
