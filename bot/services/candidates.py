"""Candidates: search, the candidate card, notes and ownership, with who may see whom.

Recruiters and admins see every candidate; a hiring manager sees the candidates with an application to a
position they hire for (and on the card only those applications); other employees see none (their own
referrals are in /refer status).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from numbers import Real

from rapidfuzz import fuzz, process
from sqlmodel import Session

from bot.access import AccessDenied, Actor
from bot.contact import InvalidContact, name_key, normalize_email
from bot.services.timeline import record_activity
from bot.workspace import WorkspaceConfig
from storage import queries
from storage.models import (
    Activity,
    Application,
    ApplicationStatus,
    Candidate,
    CandidateStatus,
    ConsentAction,
    ConsentKind,
    Interview,
    Position,
    Referral,
    Scorecard,
    Task,
)


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class OwnerChange:
    candidate_id: int
    candidate_name: str
    owner_slack_id: str
    previous_owner_slack_id: str | None
    changed: bool


def assign_owner(session: Session, *, actor: Actor, candidate_id: int, owner_slack_id: str, now: datetime,
                 take_over: bool = False) -> OwnerChange:
    """Make someone the candidate's owner. Repeating it changes nothing (a double click is harmless);
    taking a candidate from another owner needs `take_over`, so two recruiters don't silently race."""
    actor.require_pipeline_access()
    # Locked, so that two clicks at the same moment see each other's result (PostgreSQL; SQLite
    # transactions already run one writer at a time).
    candidate = session.get(Candidate, candidate_id, with_for_update=True)
    if candidate is None:
        raise NotFound("That candidate no longer exists.")
    previous = candidate.owner_slack_id
    if previous == owner_slack_id:
        return OwnerChange(candidate_id, candidate.full_name, owner_slack_id, previous, changed=False)
    if previous is not None and not take_over:
        raise AccessDenied(f"{candidate.full_name} is already owned by <@{previous}>.")
    candidate.owner_slack_id = owner_slack_id
    candidate.updated_at = now
    record_activity(session, actor=actor.user_id, kind="candidate.owner_assigned", now=now,
                    candidate_id=candidate.id, payload={"owner": owner_slack_id, "previous": previous})
    return OwnerChange(candidate_id, candidate.full_name, owner_slack_id, previous, changed=True)


@dataclass(frozen=True)
class ConsentState:
    kind: str
    action: str | None
    recorded_at: datetime | None
    expires_at: datetime | None

    def is_valid(self, now: datetime) -> bool:
        return self.action == ConsentAction.GRANTED and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class CandidateSummary:
    candidate: Candidate
    referrals: list[tuple[Referral, Position | None]]
    consents: list[ConsentState]
    timeline: list[Activity]


def candidate_summary(session: Session, *, actor: Actor, candidate_id: int,
                      timeline_limit: int = 10) -> CandidateSummary:
    actor.require_pipeline_access()
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound("That candidate no longer exists.")
    referrals = [
        (referral, session.get(Position, referral.position_id) if referral.position_id else None)
        for referral in queries.referrals_for_candidate(session, candidate_id)
    ]
    consents = []
    for kind in ConsentKind:
        latest = queries.latest_consent(session, candidate_id=candidate_id, kind=kind)
        consents.append(ConsentState(kind=kind, action=latest.action if latest else None,
                                     recorded_at=latest.recorded_at if latest else None,
                                     expires_at=latest.expires_at if latest else None))
    return CandidateSummary(candidate=candidate, referrals=referrals, consents=consents,
                            timeline=list(queries.timeline(session, candidate_id, limit=timeline_limit)))


# --- who may see whom --------------------------------------------------------------------------------

NO_CANDIDATE_ACCESS = ("Only recruiters, admins and hiring managers (for their own positions) can see candidates. "
                       "You can see your own referrals with `/refer status`.")
NOT_YOUR_CANDIDATE = "You can only see candidates for positions you hire for."


def _search_scope(session: Session, actor: Actor) -> str | None:
    """None when the actor sees every candidate, else the hiring manager whose positions bound the search."""
    if actor.sees_pipeline:
        return None
    if queries.manages_any_position(session, actor.user_id):
        return actor.user_id
    raise AccessDenied(NO_CANDIDATE_ACCESS)


def require_candidate_search(session: Session, actor: Actor) -> None:
    """Refuse people who can see no candidate at all (before offering them a search)."""
    _search_scope(session, actor)


def require_candidate_access(session: Session, actor: Actor, candidate_id: int) -> Candidate:
    if not actor.sees_pipeline and not queries.manages_candidate(session, candidate_id=candidate_id,
                                                                 manager_slack_id=actor.user_id):
        # Whether the candidate exists is itself not for everyone to learn.
        raise AccessDenied(NOT_YOUR_CANDIDATE if queries.manages_any_position(session, actor.user_id)
                           else NO_CANDIDATE_ACCESS)
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound("That candidate no longer exists.")
    return candidate


def _visible(actor: Actor, position: Position) -> bool:
    return actor.sees_pipeline or position.hiring_manager_slack_id == actor.user_id


# --- search ------------------------------------------------------------------------------------------

MAX_MATCHES = 10
# Token matches are checked word by word in Python after a LIKE prefilter; this bounds that prefilter.
TOKEN_PREFILTER = 200
# A mistyped name is compared with this many of the newest candidates (a small team's whole pool).
FUZZY_POOL = 5000
FUZZY_MIN_SCORE = 80


@dataclass(frozen=True)
class CandidateMatch:
    candidate_id: int
    full_name: str
    email: str | None
    # (position title, stage) of the open applications the actor may see.
    open_applications: list[tuple[str, str]]


def _email_key(text: str) -> str:
    try:
        return normalize_email(text)[1]
    except InvalidContact:
        return text.strip().casefold()


def _words_start_with(name: str, tokens: list[str]) -> bool:
    words = name.split()
    return all(any(word.startswith(token) for word in words) for token in tokens)


def find_candidates(session: Session, *, actor: Actor, query: str, limit: int = MAX_MATCHES) -> list[CandidateMatch]:
    """Candidates the actor may see, best first: an email matches exactly; a name matches case- and
    accent-insensitively — the exact name, else every typed word starting a word of the name, else a
    near-spelling (typos)."""
    manager = _search_scope(session, actor)
    text = " ".join(query.split())
    if not text:
        return []
    if "@" in text and " " not in text:
        found = queries.candidate_by_email(session, _email_key(text))
        hits = [found] if found is not None and found.status != CandidateStatus.ERASED and (
            manager is None or queries.manages_candidate(session, candidate_id=found.id or 0,
                                                         manager_slack_id=manager)) else []
        return _matches(session, actor, hits)

    key = name_key(text)
    tokens = key.split()
    rows = queries.candidates_with_name_tokens(session, tokens, manager_slack_id=manager,
                                               exclude_status=CandidateStatus.ERASED, limit=TOKEN_PREFILTER)
    token_hits = [c for c in rows if _words_start_with(c.name_key, tokens)]
    exact = [c for c in token_hits if c.name_key == key]
    if exact or token_hits:
        return _matches(session, actor, (exact or token_hits)[:limit])

    pool = dict(queries.candidate_name_keys(session, manager_slack_id=manager, exclude_status=CandidateStatus.ERASED,
                                            limit=FUZZY_POOL))
    scored = process.extract(key, pool, scorer=fuzz.WRatio, score_cutoff=FUZZY_MIN_SCORE, limit=limit)
    ranked_ids = [candidate_id for _, _, candidate_id in scored]
    by_id = {c.id: c for c in queries.candidates_by_ids(session, ranked_ids)}
    return _matches(session, actor, [by_id[i] for i in ranked_ids if i in by_id])


def _matches(session: Session, actor: Actor, candidates: list[Candidate]) -> list[CandidateMatch]:
    matches = []
    for candidate in candidates:
        applications = [(position.title, application.stage)
                        for application, position in queries.applications_of_candidate(session, candidate.id or 0)
                        if application.status == ApplicationStatus.OPEN and _visible(actor, position)]
        matches.append(CandidateMatch(candidate_id=candidate.id or 0, full_name=candidate.full_name,
                                      email=candidate.email, open_applications=applications))
    return matches


# --- the candidate card ------------------------------------------------------------------------------

MAX_TIMELINE_PAGE = 25
MAX_OPEN_TASKS_SHOWN = 15
MAX_POSITION_CHOICES = 100


@dataclass(frozen=True)
class ApplicationView:
    application_id: int
    position_id: int
    position_title: str
    stage: str
    status: str
    stage_entered_at: datetime
    closed_at: datetime | None
    # Open applications only: how long in the current stage, the stage's SLA and whether it is exceeded.
    time_in_stage: timedelta | None
    sla: timedelta | None
    over_sla: bool

    @property
    def is_open(self) -> bool:
        return self.status == ApplicationStatus.OPEN


@dataclass(frozen=True)
class InterviewScores:
    interview_id: int
    starts_at: datetime
    position_title: str | None
    # Mean of every rating given in the interview's scorecards (1–5), None when none was numeric.
    average_rating: float | None
    # (interviewer, recommendation) per scorecard.
    recommendations: list[tuple[str, str]]


@dataclass(frozen=True)
class TimelinePage:
    entries: list[Activity]
    offset: int
    page_size: int
    total: int

    @property
    def has_newer(self) -> bool:
        return self.offset > 0

    @property
    def has_older(self) -> bool:
        return self.offset + len(self.entries) < self.total


@dataclass(frozen=True)
class CandidateCard:
    candidate: Candidate
    applications: list[ApplicationView]
    referrals: list[tuple[Referral, Position | None]]
    consents: list[ConsentState]
    scorecards: list[InterviewScores]
    open_tasks: list[Task]
    timeline: TimelinePage
    stages: list[str]
    # Recruiters and admins: assign the owner, add to a position (hiring managers move and add notes).
    may_manage: bool
    # (position id, title) of open positions the candidate is not in yet.
    addable_positions: list[tuple[int, str]]


def application_view(application: Application, position: Position, *, config: WorkspaceConfig,
                     now: datetime) -> ApplicationView:
    stage = config.pipeline.stage(application.stage)
    is_open = application.status == ApplicationStatus.OPEN
    time_in_stage = now - application.stage_entered_at if is_open else None
    sla = stage.sla if stage is not None and is_open else None
    return ApplicationView(
        application_id=application.id or 0, position_id=position.id or 0, position_title=position.title,
        stage=application.stage, status=application.status, stage_entered_at=application.stage_entered_at,
        closed_at=application.closed_at, time_in_stage=time_in_stage, sla=sla,
        over_sla=bool(sla is not None and time_in_stage is not None and time_in_stage > sla))


def _consents(session: Session, candidate_id: int) -> list[ConsentState]:
    states = []
    for kind in ConsentKind:
        latest = queries.latest_consent(session, candidate_id=candidate_id, kind=kind)
        states.append(ConsentState(kind=kind, action=latest.action if latest else None,
                                   recorded_at=latest.recorded_at if latest else None,
                                   expires_at=latest.expires_at if latest else None))
    return states


def _scores(session: Session, candidate_id: int, titles: dict[int, str],
            hidden_application_ids: set[int]) -> list[InterviewScores]:
    by_interview: dict[int, list[Scorecard]] = defaultdict(list)
    interviews: dict[int, Interview] = {}
    for scorecard, interview in queries.scorecards_of_candidate(session, candidate_id):
        if interview.application_id in hidden_application_ids:
            continue
        by_interview[interview.id or 0].append(scorecard)
        interviews[interview.id or 0] = interview
    results = []
    for interview_id, scorecards in by_interview.items():
        interview = interviews[interview_id]
        ratings = [float(value) for card in scorecards for value in card.ratings.values()
                   if isinstance(value, Real) and not isinstance(value, bool)]
        results.append(InterviewScores(
            interview_id=interview_id, starts_at=interview.starts_at,
            position_title=titles.get(interview.application_id),
            average_rating=round(sum(ratings) / len(ratings), 1) if ratings else None,
            recommendations=[(card.interviewer_slack_id, card.recommendation) for card in scorecards]))
    return results


def candidate_card(session: Session, *, actor: Actor, candidate_id: int, config: WorkspaceConfig, now: datetime,
                   timeline_offset: int = 0, page_size: int = 10) -> CandidateCard:
    """Everything on the card. A hiring manager sees only the applications (and their timeline entries,
    tasks and scorecards) for positions they hire for."""
    candidate = require_candidate_access(session, actor, candidate_id)
    rows = list(queries.applications_of_candidate(session, candidate_id))
    shown = [(application, position) for application, position in rows if _visible(actor, position)]
    hidden = {application.id or 0 for application, position in rows if not _visible(actor, position)}

    page_size = max(1, min(page_size, MAX_TIMELINE_PAGE))
    total = queries.count_timeline(session, candidate_id, hidden_application_ids=sorted(hidden))
    # A page past the end (entries are never deleted, but a stale button may ask) shows the oldest page.
    offset = min(max(timeline_offset, 0), max(total - 1, 0) // page_size * page_size)
    entries = list(queries.timeline_page(session, candidate_id, limit=page_size, offset=offset,
                                         hidden_application_ids=sorted(hidden)))

    addable: list[tuple[int, str]] = []
    if actor.sees_pipeline:
        taken = {application.position_id for application, _ in rows}
        candidates_for = queries.open_positions(session, limit=MAX_POSITION_CHOICES + len(taken))
        addable = [(p.id or 0, p.title) for p in candidates_for if p.id not in taken][:MAX_POSITION_CHOICES]
    tasks = [task for task in queries.open_tasks_of_candidate(session, candidate_id, limit=MAX_OPEN_TASKS_SHOWN * 2)
             if task.application_id not in hidden][:MAX_OPEN_TASKS_SHOWN]
    referrals = [(referral, session.get(Position, referral.position_id) if referral.position_id else None)
                 for referral in queries.referrals_for_candidate(session, candidate_id)]
    return CandidateCard(
        candidate=candidate,
        applications=[application_view(a, p, config=config, now=now) for a, p in shown],
        referrals=referrals,
        consents=_consents(session, candidate_id),
        scorecards=_scores(session, candidate_id, {a.id or 0: p.title for a, p in shown}, hidden),
        open_tasks=tasks,
        timeline=TimelinePage(entries=entries, offset=offset, page_size=page_size, total=total),
        stages=config.pipeline.names,
        may_manage=actor.sees_pipeline,
        addable_positions=addable,
    )


@dataclass(frozen=True)
class MovableApplications:
    candidate_id: int
    candidate_name: str
    applications: list[ApplicationView]
    # Whether the actor sees closed applications (so the answer can say they ended rather than never began).
    any_closed: bool


def movable_applications(session: Session, *, actor: Actor, candidate_id: int, config: WorkspaceConfig,
                         now: datetime) -> MovableApplications:
    """The candidate's open applications the actor may move (for `/candidate move`)."""
    candidate = require_candidate_access(session, actor, candidate_id)
    shown = [(a, p) for a, p in queries.applications_of_candidate(session, candidate_id) if _visible(actor, p)]
    return MovableApplications(
        candidate_id=candidate_id, candidate_name=candidate.full_name,
        applications=[application_view(a, p, config=config, now=now) for a, p in shown
                      if a.status == ApplicationStatus.OPEN],
        any_closed=any(a.status != ApplicationStatus.OPEN for a, _ in shown))


# --- notes -------------------------------------------------------------------------------------------

MAX_NOTE_LENGTH = 3000
NOTE_KIND = "note.added"


class NoteInvalid(Exception):
    """The note cannot be stored; the message is shown under the note field."""


@dataclass(frozen=True)
class NoteSource:
    """The Slack message a note was attached from (the "Add to timeline" shortcut)."""

    channel: str
    message_ts: str
    author_slack_id: str | None
    permalink: str | None


@dataclass(frozen=True)
class NoteAdded:
    candidate_id: int
    candidate_name: str
    activity_id: int
    changed: bool


def validate_note(text: str | None) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise NoteInvalid("Write something for the note.")
    if len(cleaned) > MAX_NOTE_LENGTH:
        raise NoteInvalid(f"Keep the note to {MAX_NOTE_LENGTH} characters (it has {len(cleaned)}).")
    return cleaned


def _same_note(earlier: Activity, *, submission_key: str | None, source: NoteSource | None) -> bool:
    if submission_key and earlier.payload.get("submission_key") == submission_key:
        return True
    return source is not None and (earlier.payload.get("channel"), earlier.payload.get("message_ts")) == (
        source.channel, source.message_ts)


def add_note(session: Session, *, actor: Actor, candidate_id: int, text: str | None, now: datetime,
             source: NoteSource | None = None, submission_key: str | None = None) -> NoteAdded:
    """A note on the timeline. The same submission (a double-clicked Save, by its view id) or the same Slack
    message attached again to the candidate is stored once."""
    body = validate_note(text)
    require_candidate_access(session, actor, candidate_id)
    # Locked, so that two deliveries of one submission on PostgreSQL see each other's note.
    candidate = session.get(Candidate, candidate_id, with_for_update=True)
    if candidate is None:
        raise NotFound("That candidate no longer exists.")
    for earlier in queries.activities_of_kind(session, candidate_id, NOTE_KIND):
        if _same_note(earlier, submission_key=submission_key, source=source):
            return NoteAdded(candidate_id, candidate.full_name, earlier.id or 0, changed=False)
    payload: dict[str, object] = {"text": body}
    if source is not None:
        payload.update(channel=source.channel, message_ts=source.message_ts, author=source.author_slack_id,
                       permalink=source.permalink)
    if submission_key:
        payload["submission_key"] = submission_key
    activity = record_activity(session, actor=actor.user_id, kind=NOTE_KIND, now=now, candidate_id=candidate_id,
                               payload=payload)
    session.flush()
    return NoteAdded(candidate_id, candidate.full_name, activity.id or 0, changed=True)
