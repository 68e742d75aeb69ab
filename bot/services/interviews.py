"""Interviews: scheduling one, asking the interviewers for scorecards afterwards, and the results for the card.

Slack calls stay outside: the handler looks up time zones and email addresses and hands them in; the
rules here take a session, the acting person and `now`, and return plain data.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from bot.access import AccessDenied, Actor
from bot.services.candidates import NotFound
from bot.services.pipeline import MilestoneKind, ReferralNews, require_application_access
from bot.services.tasks import complete_task
from bot.services.timeline import record_activity
from bot.workspace import SLACK_USER_ID, WorkspaceConfig
from storage import queries
from storage.models import (
    Application,
    ApplicationStatus,
    Candidate,
    ConsentAction,
    ConsentKind,
    Interview,
    InterviewStatus,
    Position,
    Scorecard,
    Task,
    TaskKind,
    TaskStatus,
)

MIN_DURATION_MINUTES = 15
MAX_DURATION_MINUTES = 480
MAX_INTERVIEWERS = 10
MAX_LOCATION = 300
MAX_NOTES = 3000
# A year ahead is far beyond any interview plan; later dates are typos (2027 for 2026).
LONGEST_AHEAD = timedelta(days=365)
# Interviews that started longer ago than this are no longer scanned for scorecard requests, so that
# interviews whose application closed before they took place are not re-read forever.
SCORECARD_LOOKBACK = timedelta(days=30)
RATINGS = range(1, 6)
# Where the iCalendar UIDs live; uuid5 over it turns a modal submission into the same UID every time.
_UID_NAMESPACE = uuid.UUID("5d0f3c8e-4a7b-4f3e-9d61-7a1f0c2b9e44")


class Recommendation(StrEnum):
    STRONG_YES = "strong_yes"
    YES = "yes"
    NO = "no"
    STRONG_NO = "strong_no"


class InterviewInvalid(Exception):
    """Field (= modal block id: date, time, duration, interviewers, location) → what to fix. Nothing stored."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(errors)


class InterviewRefused(Exception):
    """Scheduling is not possible for this application now; the message says why."""


class ScorecardInvalid(Exception):
    """Criterion name, "recommendation" or "notes" → what to fix. Nothing stored."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(errors)


# --- scheduling --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InterviewDraft:
    """What the modal sent, untrusted: the date and time are in `timezone` (the scheduler's Slack zone)."""

    date: str | None
    time: str | None
    timezone: str
    duration_minutes: str | int | None
    interviewer_slack_ids: Sequence[str] = ()
    location: str | None = None


@dataclass(frozen=True)
class ValidInterview:
    starts_at: datetime
    duration_minutes: int
    interviewer_slack_ids: tuple[str, ...]
    location: str | None
    timezone: str = "UTC"

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone Slack reports for a person; UTC when it is missing or unknown to this system."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_today(now: datetime, timezone: str | None) -> date:
    return now.astimezone(zone(timezone)).date()


def validate_interview(draft: InterviewDraft, *, now: datetime) -> ValidInterview:
    """Check every field at once so that the modal shows all problems together. Raises InterviewInvalid."""
    errors: dict[str, str] = {}
    tz = zone(draft.timezone)
    day: date | None = None
    at: time | None = None
    try:
        day = date.fromisoformat(draft.date or "")
    except ValueError:
        errors["date"] = "Choose the day of the interview."
    try:
        at = time.fromisoformat(draft.time or "")
    except ValueError:
        errors["time"] = "Choose the time the interview starts."
    starts_at = None
    if day is not None and at is not None:
        starts_at = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
        if day < now.astimezone(tz).date():
            errors["date"] = "That day has passed; choose a day from today on."
        elif starts_at <= now:
            errors["time"] = f"That time has passed ({now.astimezone(tz):%H:%M} now, {tz.key}); choose a later one."
        elif starts_at - now > LONGEST_AHEAD:
            errors["date"] = "That is more than a year ahead; check the year."

    duration = _parse_duration(draft.duration_minutes, errors)

    interviewers = tuple(dict.fromkeys(i.strip() for i in draft.interviewer_slack_ids if i and i.strip()))
    if not interviewers:
        errors["interviewers"] = "Choose at least one interviewer."
    elif len(interviewers) > MAX_INTERVIEWERS:
        errors["interviewers"] = f"Choose at most {MAX_INTERVIEWERS} interviewers (there are {len(interviewers)})."
    elif not all(SLACK_USER_ID.match(i) for i in interviewers):
        errors["interviewers"] = "Choose the interviewers from the list of people."

    location = " ".join((draft.location or "").split()) or None
    if location and len(location) > MAX_LOCATION:
        errors["location"] = f"Keep the place or link under {MAX_LOCATION} characters."

    if errors or starts_at is None or duration is None:
        raise InterviewInvalid(errors)
    return ValidInterview(starts_at=starts_at, duration_minutes=duration, interviewer_slack_ids=interviewers,
                          location=location, timezone=tz.key)


def _parse_duration(value: str | int | None, errors: dict[str, str]) -> int | None:
    try:
        minutes = int(str(value).strip())
    except ValueError:
        errors["duration"] = "Choose how long the interview takes."
        return None
    if not MIN_DURATION_MINUTES <= minutes <= MAX_DURATION_MINUTES:
        errors["duration"] = (f"An interview takes between {MIN_DURATION_MINUTES} minutes and "
                              f"{MAX_DURATION_MINUTES // 60} hours.")
        return None
    return minutes


@dataclass(frozen=True)
class InterviewForm:
    """What the scheduling modal shows about the application."""

    application_id: int
    candidate_name: str
    candidate_has_email: bool
    position_title: str
    stage: str


def _load_application(session: Session, application_id: int, *,
                      for_update: bool = False) -> tuple[Application, Candidate, Position]:
    application = session.get(Application, application_id, with_for_update=for_update)
    if application is None:
        raise NotFound("That application no longer exists.")
    candidate = session.get(Candidate, application.candidate_id)
    position = session.get(Position, application.position_id)
    assert candidate is not None and position is not None
    return application, candidate, position


def _require_open(application: Application, candidate: Candidate, position: Position) -> None:
    if application.status != ApplicationStatus.OPEN:
        raise InterviewRefused(f"{candidate.full_name}'s application for {position.title} is closed "
                               f"({application.status}); interviews are scheduled for open applications only.")


def interview_form(session: Session, *, actor: Actor, application_id: int) -> InterviewForm:
    """Recruiters, admins and the position's hiring manager schedule. Raises AccessDenied, InterviewRefused."""
    application, candidate, position = _load_application(session, application_id)
    require_application_access(actor, position)
    _require_open(application, candidate, position)
    return InterviewForm(application_id=application_id, candidate_name=candidate.full_name,
                         candidate_has_email=bool(candidate.email), position_title=position.title,
                         stage=application.stage)


@dataclass(frozen=True)
class ScheduledInterview:
    interview_id: int
    ical_uid: str
    application_id: int
    candidate_id: int
    candidate_name: str
    candidate_email: str | None
    position_title: str
    starts_at: datetime
    duration_minutes: int
    interviewer_slack_ids: tuple[str, ...]
    location: str | None
    scheduled_by_slack_id: str
    created_at: datetime
    # True when this submission had already been stored (a double click, a retry): nothing new happened.
    repeated: bool = False
    referral_news: list[ReferralNews] = field(default_factory=list)
    sequence: int = 0
    timezone: str = "UTC"
    status: str = InterviewStatus.SCHEDULED
    # When this version of the interview was decided (the iCalendar DTSTAMP of its invite).
    stamped_at: datetime | None = None

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


def ical_uid_for(submission_key: str | None) -> str:
    """A stable UID: the same modal submission always names the same calendar event."""
    token = uuid.uuid5(_UID_NAMESPACE, submission_key) if submission_key else uuid.uuid4()
    return f"interview-{token}@talentbot"


def schedule_interview(session: Session, *, actor: Actor, application_id: int, interview: ValidInterview,
                       config: WorkspaceConfig, now: datetime, submission_key: str | None = None,
                       ) -> ScheduledInterview:
    """Store the interview and say which referrers hear about it. The same `submission_key` (the modal's
    view id) stored twice is one interview. Raises AccessDenied, InterviewRefused, NotFound."""
    application, candidate, position = _load_application(session, application_id, for_update=True)
    require_application_access(actor, position)
    uid = ical_uid_for(submission_key)
    if submission_key:
        queries.lock_submission_key(session, f"interview:{submission_key}")
        earlier = queries.interview_by_ical_uid(session, uid)
        if earlier is not None:
            return _scheduled(earlier, candidate, position, repeated=True,
                              email_allowed=may_email_candidate(session, candidate, now=now))
    _require_open(application, candidate, position)
    if interview.starts_at <= now:
        raise InterviewRefused("The interview's start time has passed in the meantime; schedule it again.")

    row = Interview(application_id=application_id, candidate_id=candidate.id or 0, starts_at=interview.starts_at,
                    duration_minutes=interview.duration_minutes,
                    interviewer_slack_ids=list(interview.interviewer_slack_ids), location=interview.location,
                    ical_uid=uid, status=InterviewStatus.SCHEDULED, scheduled_by_slack_id=actor.user_id,
                    created_at=now, timezone=interview.timezone)
    session.add(row)
    session.flush()
    record_activity(session, actor=actor.user_id, kind="interview.scheduled", now=now, candidate_id=candidate.id,
                    application_id=application_id, position_id=position.id,
                    payload={"interview_id": row.id, "starts_at": row.starts_at.isoformat(),
                             "duration_minutes": row.duration_minutes, "interviewers": row.interviewer_slack_ids})
    news = _interview_news(session, application, candidate, position, config)
    return _scheduled(row, candidate, position, news=news, email_allowed=may_email_candidate(session, candidate,
                                                                                               now=now))


def _scheduled(row: Interview, candidate: Candidate, position: Position, *, email_allowed: bool,
               repeated: bool = False, news: list[ReferralNews] | None = None) -> ScheduledInterview:
    return ScheduledInterview(
        interview_id=row.id or 0, ical_uid=row.ical_uid, application_id=row.application_id,
        candidate_id=candidate.id or 0, candidate_name=candidate.full_name,
        candidate_email=candidate.email if email_allowed else None,
        position_title=position.title, starts_at=row.starts_at, duration_minutes=row.duration_minutes,
        interviewer_slack_ids=tuple(row.interviewer_slack_ids), location=row.location,
        scheduled_by_slack_id=row.scheduled_by_slack_id, created_at=row.created_at, repeated=repeated,
        referral_news=news or [], sequence=row.sequence, timezone=row.timezone, status=row.status,
        stamped_at=row.updated_at or row.created_at)


def _interview_news(session: Session, application: Application, candidate: Candidate, position: Position,
                    config: WorkspaceConfig) -> list[ReferralNews]:
    """The referrer's "moving to interviews" news, when the pipeline has not sent it yet.

    The pipeline sends it on entering the stage that carries the `interview` milestone; an interview
    scheduled while the application is still in an earlier stage is the same news, sent now. The outbox
    dedupe key is the pipeline's, so a later stage move does not send it again. Without any stage carrying
    the milestone, scheduling is the only signal there is.
    """
    stages = config.pipeline.stages
    milestone_at = next((i for i, s in enumerate(stages) if s.referral_milestone == "interview"), None)
    current = config.pipeline.stage(application.stage)
    if milestone_at is not None and (current is None or config.pipeline.position_of(current.name) >= milestone_at):
        return []
    return [ReferralNews(referral_id=r.id or 0, referral_code=r.code, referrer_slack_id=r.referrer_slack_id,
                         candidate_name=candidate.full_name, position_title=position.title,
                         milestone=MilestoneKind.INTERVIEW)
            for r in queries.referrals_for_application(session, candidate.id or 0, position.id or 0)]


# --- rescheduling and cancelling --------------------------------------------------------------------


@dataclass(frozen=True)
class InterviewChangeForm:
    """What the reschedule modal starts from: the interview as it stands, in the zone it was scheduled in."""

    interview_id: int
    application_id: int
    candidate_name: str
    position_title: str
    starts_at: datetime
    duration_minutes: int
    interviewer_slack_ids: tuple[str, ...]
    location: str | None
    timezone: str


@dataclass(frozen=True)
class InterviewChange:
    """A rescheduled or cancelled interview, and who is to be told."""

    interview: ScheduledInterview
    # False when nothing changed (the same form sent twice, a second cancel): nobody is told again.
    changed: bool
    # Interviewers taken off the panel by a reschedule: they get the cancellation instead of the update.
    removed_interviewer_slack_ids: tuple[str, ...] = ()


def may_email_candidate(session: Session, candidate: Candidate, *, now: datetime) -> bool:
    """The candidate gets interview emails only with an address and a contact consent in force: granted, not
    revoked since, not expired."""
    if not candidate.email:
        return False
    consent = queries.latest_consent(session, candidate_id=candidate.id or 0, kind=ConsentKind.CONTACT)
    return consent is not None and consent.action == ConsentAction.GRANTED and (
        consent.expires_at is None or consent.expires_at > now)


def _changeable_interview(session: Session, actor: Actor, interview_id: int, *,
                          for_update: bool = False) -> tuple[Interview, Application, Candidate, Position]:
    interview = session.get(Interview, interview_id, with_for_update=for_update)
    if interview is None:
        raise NotFound("That interview no longer exists.")
    application, candidate, position = _load_application(session, interview.application_id)
    require_application_access(actor, position)
    return interview, application, candidate, position


def _require_upcoming(interview: Interview, *, now: datetime) -> None:
    if interview.status == InterviewStatus.CANCELLED:
        raise InterviewRefused("This interview was cancelled; schedule a new one from the candidate card.")
    if interview.starts_at <= now:
        raise InterviewRefused("This interview has already started, so it can no longer be moved or cancelled.")


def interview_change_form(session: Session, *, actor: Actor, interview_id: int, now: datetime) -> InterviewChangeForm:
    """Recruiters, admins and the position's hiring manager. Raises AccessDenied, InterviewRefused, NotFound."""
    interview, _, candidate, position = _changeable_interview(session, actor, interview_id)
    _require_upcoming(interview, now=now)
    return InterviewChangeForm(
        interview_id=interview.id or 0, application_id=interview.application_id, candidate_name=candidate.full_name,
        position_title=position.title, starts_at=interview.starts_at, duration_minutes=interview.duration_minutes,
        interviewer_slack_ids=tuple(interview.interviewer_slack_ids), location=interview.location,
        timezone=interview.timezone)


def _record_revision(session: Session, row: Interview, *, actor: Actor, kind: str, position: Position,
                     now: datetime, **details: object) -> None:
    """A new revision of the event: its SEQUENCE raised and the change on the candidate's timeline."""
    row.sequence += 1
    row.updated_at = now
    session.add(row)
    session.flush()
    record_activity(session, actor=actor.user_id, kind=kind, now=now, candidate_id=row.candidate_id,
                    application_id=row.application_id, position_id=position.id,
                    payload={"interview_id": row.id, "starts_at": row.starts_at.isoformat(),
                             "sequence": row.sequence, **details})


def reschedule_interview(session: Session, *, actor: Actor, interview_id: int, interview: ValidInterview,
                         now: datetime) -> InterviewChange:
    """Move an upcoming interview (time, length, panel, place), raising its iCalendar SEQUENCE so that the
    attendees' calendars replace the event. Sending the same values again changes nothing.
    Raises AccessDenied, InterviewRefused, NotFound."""
    row, _, candidate, position = _changeable_interview(session, actor, interview_id, for_update=True)
    _require_upcoming(row, now=now)
    allowed = may_email_candidate(session, candidate, now=now)
    before = (row.starts_at, row.duration_minutes, tuple(row.interviewer_slack_ids), row.location)
    after = (interview.starts_at, interview.duration_minutes, interview.interviewer_slack_ids, interview.location)
    if before == after:
        return InterviewChange(_scheduled(row, candidate, position, repeated=True, email_allowed=allowed),
                               changed=False)
    removed = tuple(i for i in row.interviewer_slack_ids if i not in interview.interviewer_slack_ids)
    row.starts_at, row.duration_minutes = interview.starts_at, interview.duration_minutes
    row.interviewer_slack_ids = list(interview.interviewer_slack_ids)
    row.location, row.timezone = interview.location, interview.timezone
    _record_revision(session, row, actor=actor, kind="interview.rescheduled", position=position, now=now,
                     previous_starts_at=before[0].isoformat(), duration_minutes=row.duration_minutes,
                     interviewers=row.interviewer_slack_ids)
    return InterviewChange(_scheduled(row, candidate, position, email_allowed=allowed), changed=True,
                           removed_interviewer_slack_ids=removed)


def cancel_interview(session: Session, *, actor: Actor, interview_id: int, now: datetime) -> InterviewChange:
    """Cancel an upcoming interview; a second cancel changes nothing. Raises AccessDenied, InterviewRefused,
    NotFound."""
    row, _, candidate, position = _changeable_interview(session, actor, interview_id, for_update=True)
    allowed = may_email_candidate(session, candidate, now=now)
    if row.status == InterviewStatus.CANCELLED:
        return InterviewChange(_scheduled(row, candidate, position, repeated=True, email_allowed=allowed),
                               changed=False)
    _require_upcoming(row, now=now)
    row.status = InterviewStatus.CANCELLED
    _record_revision(session, row, actor=actor, kind="interview.cancelled", position=position, now=now)
    return InterviewChange(_scheduled(row, candidate, position, email_allowed=allowed), changed=True)


# --- scorecard requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScorecardRequest:
    task_id: int
    interview_id: int
    interviewer_slack_id: str
    candidate_name: str
    position_title: str
    starts_at: datetime
    due_at: datetime


def scorecard_task_title(candidate_name: str, position_title: str) -> str:
    return f"Scorecard: {candidate_name} ({position_title})"[:200]


def create_scorecard_requests(session: Session, *, config: WorkspaceConfig, now: datetime,
                              limit: int = 100) -> list[ScorecardRequest]:
    """After an interview has ended, one scorecard task per interviewer, due `scorecard_due_after` later.

    Each interviewer is asked once: the interview row is locked and the tasks looked up before any is made,
    so two runs at the same moment cannot both create them.
    """
    requests: list[ScorecardRequest] = []
    for candidate_row in queries.interviews_without_scorecard_tasks(
            session, started_before=now, started_after=now - SCORECARD_LOOKBACK, limit=limit):
        interview = session.get(Interview, candidate_row.id, with_for_update=True)
        if interview is None or interview.status != InterviewStatus.SCHEDULED:
            continue
        ends_at = interview.starts_at + timedelta(minutes=interview.duration_minutes)
        if ends_at > now:
            continue
        application, candidate, position = _load_application(session, interview.application_id)
        # An application closed before the interview began means it did not take place.
        if application.closed_at is not None and application.closed_at <= interview.starts_at:
            continue
        asked = {t.assignee_slack_id for t in queries.scorecard_tasks_for_interview(session, interview.id or 0)}
        due_at = ends_at + config.interviews.scorecard_due_after
        created = []
        for interviewer in interview.interviewer_slack_ids:
            if interviewer in asked:
                continue
            task = Task(candidate_id=candidate.id, application_id=application.id, interview_id=interview.id,
                        kind=TaskKind.SCORECARD, title=scorecard_task_title(candidate.full_name, position.title),
                        group_key=f"scorecards:{interview.id}", assignee_slack_id=interviewer,
                        status=TaskStatus.OPEN, due_at=due_at, created_by_slack_id="system", created_at=now)
            session.add(task)
            created.append(task)
        session.flush()
        for task in created:
            record_activity(session, actor="system", kind="task.created", now=now, candidate_id=candidate.id,
                            application_id=application.id,
                            payload={"task_id": task.id, "title": task.title, "assignee": task.assignee_slack_id,
                                     "due_at": task.due_at.isoformat(), "mandatory": False})
            requests.append(ScorecardRequest(task_id=task.id or 0, interview_id=interview.id or 0,
                                             interviewer_slack_id=task.assignee_slack_id,
                                             candidate_name=candidate.full_name, position_title=position.title,
                                             starts_at=interview.starts_at, due_at=due_at))
    return requests


# --- filling in a scorecard --------------------------------------------------------------------------


@dataclass(frozen=True)
class ScorecardForm:
    interview_id: int
    candidate_name: str
    position_title: str
    starts_at: datetime
    criteria: tuple[str, ...]
    # Set when this interviewer's scorecard is already in; it is not changed afterwards.
    submitted_at: datetime | None


def _interview_for_interviewer(session: Session, actor: Actor, interview_id: int, *,
                               for_update: bool = False) -> tuple[Interview, Candidate, Position]:
    interview = session.get(Interview, interview_id, with_for_update=for_update)
    if interview is None:
        raise NotFound("That interview no longer exists.")
    if actor.user_id not in interview.interviewer_slack_ids:
        raise AccessDenied("Only the interviewers fill in a scorecard for an interview, each their own.")
    _, candidate, position = _load_application(session, interview.application_id)
    return interview, candidate, position


def scorecard_form(session: Session, *, actor: Actor, interview_id: int, config: WorkspaceConfig,
                   now: datetime) -> ScorecardForm:
    interview, candidate, position = _interview_for_interviewer(session, actor, interview_id)
    if interview.starts_at > now:
        raise AccessDenied("The interview has not started yet; fill in the scorecard afterwards.")
    existing = queries.scorecard_by_interviewer(session, interview_id=interview_id, interviewer_slack_id=actor.user_id)
    return ScorecardForm(interview_id=interview_id, candidate_name=candidate.full_name, position_title=position.title,
                         starts_at=interview.starts_at, criteria=tuple(config.interviews.scorecard_criteria),
                         submitted_at=existing.submitted_at if existing else None)


@dataclass(frozen=True)
class ScorecardDraft:
    """Criterion → rating as sent ("1"…"5" or None), the recommendation and the notes."""

    ratings: Mapping[str, str | int | None]
    recommendation: str | None
    notes: str | None = None


@dataclass(frozen=True)
class ScorecardOutcome:
    scorecard: Scorecard
    candidate_name: str
    position_title: str
    # False when the interviewer's scorecard was already in: nothing changed.
    created: bool


def submit_scorecard(session: Session, *, actor: Actor, interview_id: int, draft: ScorecardDraft,
                     config: WorkspaceConfig, now: datetime) -> ScorecardOutcome:
    """Store the interviewer's scorecard and complete their scorecard task.

    A scorecard is final once in: a second submission (a double click, a second modal) changes nothing, so
    what each interviewer concluded before the debrief stays on record. Raises ScorecardInvalid,
    AccessDenied, NotFound.
    """
    criteria = list(config.interviews.scorecard_criteria)
    errors: dict[str, str] = {}
    ratings: dict[str, int] = {}
    for criterion in criteria:
        value = draft.ratings.get(criterion)
        try:
            rating = int(str(value))
        except ValueError:
            rating = 0
        if rating not in RATINGS:
            errors[criterion] = "Rate this from 1 to 5."
        else:
            ratings[criterion] = rating
    try:
        recommendation = Recommendation(draft.recommendation or "")
    except ValueError:
        errors["recommendation"] = "Choose your recommendation."
    notes = (draft.notes or "").strip()
    if len(notes) > MAX_NOTES:
        errors["notes"] = f"Keep the notes under {MAX_NOTES} characters (they are {len(notes)})."
    if errors:
        raise ScorecardInvalid(errors)

    # Locked, so that two submissions at the same moment see each other's scorecard.
    interview, candidate, position = _interview_for_interviewer(session, actor, interview_id, for_update=True)
    existing = queries.scorecard_by_interviewer(session, interview_id=interview_id, interviewer_slack_id=actor.user_id)
    if existing is not None:
        return ScorecardOutcome(existing, candidate.full_name, position.title, created=False)
    if interview.starts_at > now:
        raise AccessDenied("The interview has not started yet; fill in the scorecard afterwards.")
    scorecard = Scorecard(interview_id=interview_id, candidate_id=candidate.id or 0,
                          interviewer_slack_id=actor.user_id, ratings=ratings, recommendation=recommendation,
                          notes=notes, submitted_at=now)
    session.add(scorecard)
    session.flush()
    record_activity(session, actor=actor.user_id, kind="scorecard.submitted", now=now, candidate_id=candidate.id,
                    application_id=interview.application_id,
                    payload={"interview_id": interview_id, "recommendation": recommendation})
    for task in queries.scorecard_tasks_for_interview(session, interview_id):
        if task.assignee_slack_id == actor.user_id and task.status == TaskStatus.OPEN:
            complete_task(session, actor=actor, task_id=task.id or 0, now=now)
    return ScorecardOutcome(scorecard, candidate.full_name, position.title, created=True)


# --- results for the candidate card ------------------------------------------------------------------


@dataclass(frozen=True)
class SubmittedScorecard:
    interviewer_slack_id: str
    recommendation: str
    ratings: dict[str, int]
    notes: str
    submitted_at: datetime


@dataclass(frozen=True)
class InterviewResult:
    interview_id: int
    application_id: int
    position_title: str
    starts_at: datetime
    duration_minutes: int
    interviewer_slack_ids: tuple[str, ...]
    # Criterion → mean rating over the submitted scorecards, in the order the criteria were first rated.
    averages: dict[str, float]
    scorecards: list[SubmittedScorecard]
    # Interviewers whose scorecard is not in yet.
    pending: list[str]

    @property
    def recommendation_counts(self) -> dict[str, int]:
        counts = Counter(s.recommendation for s in self.scorecards)
        return {r.value: counts[r.value] for r in Recommendation if counts[r.value]}


def scorecard_results(session: Session, *, candidate_id: int, actor: Actor | None = None) -> list[InterviewResult]:
    """Every scheduled interview of the candidate with its scorecards, newest first.

    Feedback is for the hiring team only, never for employees or referrers. The candidate card calls this
    after its own recruiter check; any other caller passes `actor` and is checked here (recruiters and
    admins see all, a hiring manager the interviews for their positions).
    """
    interviews = queries.interviews_for_candidate(session, candidate_id)
    positions = {}
    for interview in interviews:
        application = session.get(Application, interview.application_id)
        assert application is not None
        positions[interview.id] = session.get(Position, application.position_id)
    if actor is not None and not actor.sees_pipeline:
        interviews = [i for i in interviews
                      if (p := positions[i.id]) is not None and p.hiring_manager_slack_id == actor.user_id]
        if not interviews:
            raise AccessDenied("Interview feedback is for the hiring team only.")
    by_interview: dict[int, list[Scorecard]] = {}
    for scorecard in queries.scorecards_for_interviews(session, [i.id or 0 for i in interviews]):
        by_interview.setdefault(scorecard.interview_id, []).append(scorecard)
    results = []
    for interview in interviews:
        cards = by_interview.get(interview.id or 0, [])
        totals: dict[str, list[int]] = {}
        for card in cards:
            for criterion, rating in card.ratings.items():
                totals.setdefault(criterion, []).append(int(rating))
        submitted = {c.interviewer_slack_id for c in cards}
        position = positions[interview.id]
        results.append(InterviewResult(
            interview_id=interview.id or 0, application_id=interview.application_id,
            position_title=position.title if position else "",
            starts_at=interview.starts_at, duration_minutes=interview.duration_minutes,
            interviewer_slack_ids=tuple(interview.interviewer_slack_ids),
            averages={criterion: round(sum(values) / len(values), 1) for criterion, values in totals.items()},
            scorecards=[SubmittedScorecard(c.interviewer_slack_id, c.recommendation, dict(c.ratings), c.notes,
                                           c.submitted_at) for c in cards],
            pending=[i for i in interview.interviewer_slack_ids if i not in submitted]))
    return results
