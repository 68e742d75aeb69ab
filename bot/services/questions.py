"""Answers to questions asked in plain words: one query tool per intent of bot.nlu, all from the database.

Every tool takes the session, the asking Actor, the parsed arguments, the workspace config and `now`; it applies
the access rules and returns plain data that commands/question_views.py renders. The LLM fallback (bot/llm.py)
calls the very same tools, so a model can choose a tool and its arguments but never write the answer.

Access: recruiters and admins see everything. Hiring managers see the candidates with an application to a
position they hire for (stale, pipeline, search, status and numbers are limited to those positions). Anyone else
gets a polite refusal (AccessDenied) — except for their own tasks and their own referrals, which everyone has.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.access import AccessDenied, Actor
from bot.contact import name_key
from bot.nlu import (
    ASKER,
    INTENT_EXAMPLES,
    Arguments,
    DraftArgs,
    HelpArgs,
    Intent,
    Metric,
    MetricArgs,
    OverdueArgs,
    ParsedQuestion,
    PipelineArgs,
    ReferralsArgs,
    SearchArgs,
    StaleArgs,
    StatusArgs,
    TasksArgs,
    TimeRange,
    Vocabulary,
)
from bot.services.candidates import NotFound
from bot.services.metrics import MetricAnswer, answer_metric
from bot.services.pipeline import require_application_access
from bot.services.referrals import STATUS_LABELS, ReferralStatusItem
from bot.services.tasks import due_label
from bot.services.timeline import NOT_A_TOUCH, record_activity
from bot.workspace import WorkspaceConfig
from storage import queries
from storage.models import Application, ApplicationStatus, Candidate, Position, ReferralStatus

PAGE_SIZE = 20
# Each stale candidate takes two blocks (the line and its buttons): ten stay well inside Slack's 50.
STALE_PAGE_SIZE = 10
# Counts stop here ("1000+"): past it the exact number says nothing more, and it costs a read per row.
SEARCH_COUNT_CAP = 1000
STALE_COUNT_CAP = 1000
STATUS_CHOICES = 5
# Stages the workspace file no longer names (renamed, removed) still go stale, after this long.
DEFAULT_SLA = timedelta(days=7)
SNOOZE_FOR = timedelta(days=7)
# One nudge per application a day is plenty; a second click says it was already sent.
NUDGE_INTERVAL = timedelta(days=1)
# The vocabulary's skills, locations and pools come from the newest candidates, not from all of them.
VOCABULARY_SAMPLE = 5000

NOT_FOR_EMPLOYEES = ("Questions about candidates and the pipeline are for recruiters and hiring managers. "
                     "You can always ask me about *my referrals* or *my tasks*.")
_WORD = re.compile(r"\w+")


# --- access -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose candidates the asker may see: everyone's (`position_ids` None) or those of their positions."""

    position_ids: tuple[int, ...] | None

    @property
    def hiring_manager(self) -> bool:
        return self.position_ids is not None


def scope_of(session: Session, actor: Actor) -> Scope:
    if actor.sees_pipeline:
        return Scope(None)
    managed = queries.position_ids_managed_by(session, actor.user_id)
    if not managed:
        raise AccessDenied(NOT_FOR_EMPLOYEES)
    return Scope(tuple(managed))


def _positions(session: Session, scope: Scope, title: str | None) -> tuple[int, ...] | None:
    """The positions a question is about: the titled ones within the scope, else the whole scope."""
    if title is None:
        return scope.position_ids
    ids = queries.positions_titled(session, title)
    if scope.position_ids is not None:
        ids = [i for i in ids if i in scope.position_ids]
    if not ids:
        raise NotFound(f"I know no position called “{title}” that you can see.")
    return tuple(ids)


def _owner(actor: Actor, owner: str | None) -> str | None:
    return actor.user_id if owner == ASKER else owner


def _touched_at(application: Application) -> datetime:
    return application.last_activity_at or application.created_at


# --- stale ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaleItem:
    application_id: int
    candidate_id: int
    candidate_name: str
    position_title: str
    stage: str
    owner_slack_id: str | None
    last_touched_at: datetime
    days_since_touch: int
    stale_since: datetime
    # Went stale inside the asked time range ("this week"), rather than before it.
    new_in_range: bool
    last_activity_kind: str | None
    last_activity_at: datetime | None


@dataclass(frozen=True)
class StaleAnswer:
    args: StaleArgs
    items: list[StaleItem]
    # Counted up to STALE_COUNT_CAP; `capped` says the real number is at least that.
    total: int
    offset: int
    limit: int
    since: datetime | None = None
    capped: bool = False

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total

    def by_owner(self) -> list[tuple[str | None, list[StaleItem]]]:
        """The page grouped by owner, groups in order of their first (longest untouched) item."""
        groups: dict[str | None, list[StaleItem]] = {}
        for item in self.items:
            groups.setdefault(item.owner_slack_id, []).append(item)
        return list(groups.items())


def stale_thresholds(config: WorkspaceConfig, args: StaleArgs) -> tuple[dict[str, timedelta], timedelta | None]:
    """How long without a touch makes an application stale, per open stage; and for stages the config does not
    name. An age the asker gave ("stuck over 2 weeks") replaces the SLAs, in every open stage."""
    open_stages = [stage for stage in config.pipeline.stages if stage.outcome is None]
    if args.older_than is not None:
        thresholds = {stage.name: args.older_than for stage in open_stages}
        other: timedelta | None = args.older_than
    else:
        thresholds = {stage.name: stage.sla for stage in open_stages if stage.sla is not None}
        other = DEFAULT_SLA
    if args.stage is not None:
        stage = config.pipeline.stage(args.stage)
        wanted = stage.name if stage else args.stage
        return ({wanted: thresholds[wanted]} if wanted in thresholds else {}), None
    return thresholds, other


def answer_stale(session: Session, *, actor: Actor, args: StaleArgs, config: WorkspaceConfig, now: datetime,
                 offset: int = 0, limit: int = STALE_PAGE_SIZE) -> StaleAnswer:
    """Open applications with no timeline activity for longer than their stage's SLA, longest untouched first.

    Stale at `now`: the application is open, not snoozed (`stale_snoozed_until` unset or passed), and its last
    touch — `last_activity_at`, the newest entry on the candidate's timeline, or its creation if there is none —
    lies at least the stage's SLA before `now`. It went stale at `last touch + SLA` (`stale_since`).

    With a time range [start, end) ("this week", "since Monday", "in October"): the applications that were stale
    at some moment of the range *and still are*, i.e. stale now with `stale_since < end`; those with
    `stale_since >= start` went stale during the range and are marked `new_in_range`. For a range running up to
    now, such as "this week" (from Monday 00:00 in the asker's time zone), that is every application stale now —
    the ones stale since before the week and the ones that became stale during it — with the latter marked.

    Not listed: applications that went stale during the range and have been touched since. They need nothing
    any more, and finding them needs the timeline's history (`last_activity_at` keeps only the newest touch),
    which would make the question cost a scan of the timeline instead of an index range on applications.
    """
    scope = scope_of(session, actor)
    thresholds, other = stale_thresholds(config, args)
    horizon = min(now, args.time_range.end) if args.time_range else now
    cutoffs = {stage: horizon - threshold for stage, threshold in thresholds.items()}
    filters: dict[str, Any] = dict(cutoffs=cutoffs, other_stages_cutoff=horizon - other if other is not None else None,
                   known_stages=config.pipeline.names, now=now,
                   position_ids=_positions(session, scope, args.position), owner=_owner(actor, args.owner))
    rows, counted = queries.stale_applications(session, **filters, limit=limit, offset=offset,
                                               count_up_to=STALE_COUNT_CAP)
    total = counted or 0
    latest = queries.latest_activities(session, [row.candidate_id for row in rows], ignore_kinds=sorted(NOT_A_TOUCH))
    since = args.time_range.start if args.time_range else None
    items = []
    for row in rows:
        # An application nobody has touched yet counts from its creation.
        touched = row.last_activity_at or row.created_at
        stale_since = touched + thresholds.get(row.stage, other or DEFAULT_SLA)
        kind, at = latest.get(row.candidate_id, (None, None))
        items.append(StaleItem(
            application_id=row.application_id, candidate_id=row.candidate_id, candidate_name=row.candidate_name,
            position_title=row.position_title, stage=row.stage, owner_slack_id=row.owner_slack_id,
            last_touched_at=touched, days_since_touch=(now - touched).days, stale_since=stale_since,
            new_in_range=since is not None and stale_since >= since, last_activity_kind=kind, last_activity_at=at))
    return StaleAnswer(args=args, items=items, total=total, offset=offset, limit=limit, since=since,
                       capped=total >= STALE_COUNT_CAP)


# --- pipeline ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineItem:
    application_id: int
    candidate_id: int
    candidate_name: str
    position_title: str
    stage: str
    owner_slack_id: str | None
    days_in_stage: int


@dataclass(frozen=True)
class PipelineAnswer:
    args: PipelineArgs
    # (stage, open applications) in pipeline order; stages with none left out.
    stage_counts: list[tuple[str, int]]
    items: list[PipelineItem]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return not self.args.count_only and self.offset + len(self.items) < self.total


def answer_pipeline(session: Session, *, actor: Actor, args: PipelineArgs, config: WorkspaceConfig, now: datetime,
                    offset: int = 0, limit: int = PAGE_SIZE) -> PipelineAnswer:
    """Who is in a stage and/or for a position, with counts per stage. A time range keeps the applications that
    entered their current stage within it ("who moved to Interview this week")."""
    scope = scope_of(session, actor)
    stage = config.pipeline.stage(args.stage) if args.stage else None
    filters: dict[str, Any] = dict(stages=[stage.name if stage else str(args.stage)] if args.stage else None,
                   position_ids=_positions(session, scope, args.position), owner=_owner(actor, args.owner),
                   entered_since=args.time_range.start if args.time_range else None,
                   entered_before=args.time_range.end if args.time_range else None)
    counts = queries.count_pipeline_by_stage(session, **filters)
    order = config.pipeline.names
    stage_counts = sorted(counts.items(), key=lambda pair: (order.index(pair[0]) if pair[0] in order else len(order),
                                                            pair[0]))
    items: list[PipelineItem] = []
    if not args.count_only:
        rows = queries.pipeline_applications(session, stage_order=order, **filters, limit=limit, offset=offset)
        items = [PipelineItem(application_id=a.id or 0, candidate_id=a.candidate_id, candidate_name=name,
                              position_title=title, stage=a.stage, owner_slack_id=owner,
                              days_in_stage=(now - a.stage_entered_at).days)
                 for a, name, owner, title in rows]
    return PipelineAnswer(args=args, stage_counts=stage_counts, items=items, total=sum(counts.values()),
                          offset=offset, limit=limit)


# --- search -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchItem:
    candidate_id: int
    name: str
    location: str | None
    seniority: str | None
    skills: tuple[str, ...]
    source: str
    talent_pool: str | None
    owner_slack_id: str | None
    # (position title, stage) of their open applications.
    applications: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SearchAnswer:
    args: SearchArgs
    items: list[SearchItem]
    # Counted up to SEARCH_COUNT_CAP; `capped` says the real number is at least that.
    total: int
    capped: bool
    offset: int
    limit: int
    # Recruiters may open the full card; hiring managers ask for the status instead.
    can_open: bool = True

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


def search_terms(args: SearchArgs) -> tuple[list[str], list[str]]:
    """(phrases, prefixes): skills must appear as written; each word of the free text ("Jane Do") as a prefix."""
    return list(args.skills), _WORD.findall(args.text or "")


def answer_search(session: Session, *, actor: Actor, args: SearchArgs, config: WorkspaceConfig, now: datetime,
                  offset: int = 0, limit: int = PAGE_SIZE) -> SearchAnswer:
    """Full-text search over name, skills, location, notes and position titles, with filters; newest first."""
    scope = scope_of(session, actor)
    phrases, prefixes = search_terms(args)
    stage = config.pipeline.stage(args.stage) if args.stage else None
    filters: dict[str, Any] = dict(
        phrases=phrases, prefixes=prefixes, locations=args.locations, seniority=args.seniority, source=args.source,
        pool=args.pool, owner=_owner(actor, args.owner), stage=stage.name if stage else args.stage,
        position_ids=_positions(session, Scope(None), args.position) if args.position else None,
        manager_position_ids=scope.position_ids)
    total = queries.count_search_candidates(session, cap=SEARCH_COUNT_CAP, **filters)
    candidates = queries.search_candidates(session, **filters, limit=limit, offset=offset)
    applications: dict[int, list[tuple[str, str]]] = {}
    for application, title in queries.open_applications_of(session, [c.id or 0 for c in candidates]):
        if scope.position_ids is None or application.position_id in scope.position_ids:
            applications.setdefault(application.candidate_id, []).append((title, application.stage))
    items = [SearchItem(candidate_id=c.id or 0, name=c.full_name, location=c.location, seniority=c.seniority,
                        skills=tuple(c.skills or ()), source=c.source, talent_pool=c.talent_pool,
                        owner_slack_id=c.owner_slack_id, applications=tuple(applications.get(c.id or 0, ())))
             for c in candidates]
    return SearchAnswer(args=args, items=items, total=total, capped=total >= SEARCH_COUNT_CAP, offset=offset,
                        limit=limit, can_open=not scope.hiring_manager)


# --- status -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationLine:
    application_id: int
    position_title: str
    stage: str
    status: str
    days_in_stage: int
    last_touched_at: datetime


@dataclass(frozen=True)
class TimelineLine:
    kind: str
    occurred_at: datetime
    actor: str


@dataclass(frozen=True)
class CandidateCard:
    candidate_id: int
    name: str
    location: str | None
    seniority: str | None
    skills: tuple[str, ...]
    source: str
    talent_pool: str | None
    owner_slack_id: str | None
    status: str
    applications: list[ApplicationLine]
    recent: list[TimelineLine]
    # The full card (consents, referrals) is for recruiters; hiring managers get this summary only.
    can_open: bool


@dataclass(frozen=True)
class CandidateOption:
    candidate_id: int
    name: str
    detail: str


@dataclass(frozen=True)
class StatusAnswer:
    query: str
    card: CandidateCard | None = None
    # Several people match: the asker picks one.
    choices: list[CandidateOption] = field(default_factory=list)
    more_choices: bool = False


RECENT_ENTRIES = 3


def candidate_card(session: Session, *, actor: Actor, candidate_id: int, now: datetime) -> CandidateCard:
    scope = scope_of(session, actor)
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound("That candidate no longer exists.")
    rows = queries.applications_of_candidate(session, candidate_id)
    visible = [(a, p) for a, p in rows if scope.position_ids is None or a.position_id in scope.position_ids]
    if scope.hiring_manager and not visible:
        raise AccessDenied("You can only see candidates for positions you hire for.")
    recent = [] if scope.hiring_manager else [
        TimelineLine(kind=a.kind, occurred_at=a.occurred_at, actor=a.actor)
        for a in queries.timeline(session, candidate_id, limit=RECENT_ENTRIES)]
    return CandidateCard(
        candidate_id=candidate_id, name=candidate.full_name, location=candidate.location,
        seniority=candidate.seniority, skills=tuple(candidate.skills or ()), source=candidate.source,
        talent_pool=candidate.talent_pool, owner_slack_id=candidate.owner_slack_id, status=candidate.status,
        applications=[ApplicationLine(application_id=a.id or 0, position_title=p.title, stage=a.stage,
                                      status=a.status, days_in_stage=(now - a.stage_entered_at).days,
                                      last_touched_at=_touched_at(a)) for a, p in visible],
        recent=recent, can_open=not scope.hiring_manager)


def _option(candidate: Candidate) -> CandidateOption:
    detail = " · ".join(value for value in (candidate.location, candidate.seniority,
                                            ", ".join((candidate.skills or [])[:3])) if value)
    return CandidateOption(candidate_id=candidate.id or 0, name=candidate.full_name, detail=detail)


def answer_status(session: Session, *, actor: Actor, args: StatusArgs, config: WorkspaceConfig,
                  now: datetime) -> StatusAnswer:
    """"What's the status of Jane Doe?": the card when one person matches, a choice when several do.

    By email, else by the exact name (accents, case and spacing ignored), else by name prefixes ("Jane D")."""
    scope = scope_of(session, actor)
    query = (args.email or args.name or "").strip()
    if not query:
        return StatusAnswer(query="")
    wanted = STATUS_CHOICES + 1
    matches: list[Candidate] = []
    if args.email:
        found = queries.candidate_by_email(session, args.email.strip().casefold())
        matches = [found] if found is not None else []
    else:
        matches = list(queries.candidates_named(session, name_key(query), manager_position_ids=scope.position_ids,
                                                limit=wanted))
        if not matches:
            matches = list(queries.search_candidates(session, prefixes=_WORD.findall(query),
                                                     manager_position_ids=scope.position_ids, limit=wanted))
    if len(matches) == 1:
        return StatusAnswer(query=query, card=candidate_card(session, actor=actor, candidate_id=matches[0].id or 0,
                                                             now=now))
    return StatusAnswer(query=query, choices=[_option(c) for c in matches[:STATUS_CHOICES]],
                        more_choices=len(matches) > STATUS_CHOICES)


# --- my work: tasks, overdue, referrals -------------------------------------------------------------


@dataclass(frozen=True)
class TaskItem:
    task_id: int
    title: str
    candidate_name: str | None
    due_at: datetime
    overdue: bool
    due_label: str


@dataclass(frozen=True)
class TasksAnswer:
    args: TasksArgs | OverdueArgs
    overdue_only: bool
    assignee: str
    asker_is_assignee: bool
    items: list[TaskItem]
    total: int
    offset: int
    limit: int
    due_before: datetime | None = None

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


def _period_end(time_range: TimeRange, now: datetime) -> datetime:
    """Tasks are due in the future, but a range such as "today" or "this week" ends at `now`: a range still
    running is read as the whole day (if it began within a day) or the whole week (within a week)."""
    if time_range.end < now:
        return time_range.end
    for length in (timedelta(days=1), timedelta(days=7)):
        if now - time_range.start <= length:
            return time_range.start + length
    return time_range.end


def _tasks(session: Session, *, args: TasksArgs | OverdueArgs, assignee: str, asker: Actor,
           due_before: datetime | None, overdue_only: bool, now: datetime, offset: int, limit: int) -> TasksAnswer:
    rows = queries.open_tasks_due(session, assignee, due_before=due_before, limit=limit, offset=offset)
    items = [TaskItem(task_id=t.id or 0, title=t.title, candidate_name=name, due_at=t.due_at, overdue=t.due_at < now,
                      due_label=due_label(t, now)) for t, name in rows]
    total = queries.count_open_tasks_due(session, assignee, due_before=due_before)
    return TasksAnswer(args=args, overdue_only=overdue_only, assignee=assignee,
                       asker_is_assignee=assignee == asker.user_id, items=items, total=total, offset=offset,
                       limit=limit, due_before=due_before)


def answer_my_tasks(session: Session, *, actor: Actor, args: TasksArgs, config: WorkspaceConfig, now: datetime,
                    offset: int = 0, limit: int = PAGE_SIZE) -> TasksAnswer:
    """The asker's open tasks, soonest due first (overdue ones lead); with a range, those due by its end."""
    due_before = _period_end(args.time_range, now) if args.time_range else None
    return _tasks(session, args=args, assignee=actor.user_id, asker=actor, due_before=due_before, overdue_only=False,
                  now=now, offset=offset, limit=limit)


def answer_overdue(session: Session, *, actor: Actor, args: OverdueArgs, config: WorkspaceConfig, now: datetime,
                   offset: int = 0, limit: int = PAGE_SIZE) -> TasksAnswer:
    """Overdue open tasks: the asker's own, or (recruiters and admins only) someone else's."""
    assignee = _owner(actor, args.owner) or actor.user_id
    if assignee != actor.user_id and not actor.sees_pipeline:
        raise AccessDenied("You can see your own overdue tasks; other people's are for recruiters and admins.")
    return _tasks(session, args=args, assignee=assignee, asker=actor, due_before=now, overdue_only=True,
                  now=now, offset=offset, limit=limit)


@dataclass(frozen=True)
class ReferralsAnswer:
    args: ReferralsArgs
    items: list[ReferralStatusItem]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


def answer_my_referrals(session: Session, *, actor: Actor, args: ReferralsArgs, config: WorkspaceConfig,
                        now: datetime, offset: int = 0, limit: int = PAGE_SIZE) -> ReferralsAnswer:
    """The asker's own referrals (anyone may ask), newest first, with what a referrer may know of each."""
    since = args.time_range.start if args.time_range else None
    before = args.time_range.end if args.time_range else None
    rows = queries.referrals_of_referrer_between(session, actor.user_id, since=since, before=before, limit=limit,
                                                 offset=offset)
    items = [ReferralStatusItem(code=r.code, candidate_name=c.full_name, position_title=p.title if p else None,
                                status_label=STATUS_LABELS.get(ReferralStatus(r.status), r.status),
                                created_at=r.created_at, attributed=r.attributed)
             for r, c, p in rows]
    total = queries.count_referrals_of_referrer_between(session, actor.user_id, since=since, before=before)
    return ReferralsAnswer(args=args, items=items, total=total, offset=offset, limit=limit)


# --- help, and the dispatcher -----------------------------------------------------------------------


@dataclass(frozen=True)
class HelpAnswer:
    # False when the question was not understood (the answer then says so before the examples).
    understood: bool
    examples: Mapping[Intent, tuple[str, ...]] = field(default_factory=lambda: INTENT_EXAMPLES)
    # Why the language model could not help, when it was asked.
    note: str | None = None


Answer = (StaleAnswer | PipelineAnswer | SearchAnswer | StatusAnswer | TasksAnswer | ReferralsAnswer | MetricAnswer
          | HelpAnswer)


def answer_question(session: Session, *, actor: Actor, question: ParsedQuestion, config: WorkspaceConfig,
                    now: datetime, tz: str = "UTC", offset: int = 0) -> Answer:
    """Run the query tool for the question's intent. Raises AccessDenied and NotFound with a message for the
    asker."""
    args = question.args
    if not question.understood or isinstance(args, HelpArgs):
        return HelpAnswer(understood=question.understood)
    match args:
        case StaleArgs():
            return answer_stale(session, actor=actor, args=args, config=config, now=now, offset=offset)
        case PipelineArgs():
            return answer_pipeline(session, actor=actor, args=args, config=config, now=now, offset=offset)
        case SearchArgs():
            return answer_search(session, actor=actor, args=args, config=config, now=now, offset=offset)
        case StatusArgs():
            return answer_status(session, actor=actor, args=args, config=config, now=now)
        case TasksArgs():
            return answer_my_tasks(session, actor=actor, args=args, config=config, now=now, offset=offset)
        case OverdueArgs():
            return answer_overdue(session, actor=actor, args=args, config=config, now=now, offset=offset)
        case ReferralsArgs():
            return answer_my_referrals(session, actor=actor, args=args, config=config, now=now, offset=offset)
        case MetricArgs():
            positions = _positions(session, scope_of(session, actor), args.position)
            return answer_metric(session, actor=actor, args=args, config=config, now=now, tz=tz,
                                 position_ids=positions)
    return HelpAnswer(understood=False)


# --- acting on a stale answer: nudge the owner, snooze ------------------------------------------------


@dataclass(frozen=True)
class Nudge:
    application_id: int
    candidate_id: int
    candidate_name: str
    position_title: str
    stage: str
    owner_slack_id: str
    days_since_touch: int
    # Already nudged within NUDGE_INTERVAL: nothing new was recorded or should be sent.
    repeated: bool


@dataclass(frozen=True)
class Snooze:
    application_id: int
    candidate_name: str
    position_title: str
    until: datetime


def _open_application(session: Session, actor: Actor, application_id: int) -> tuple[Application, Candidate, Position]:
    application = session.get(Application, application_id, with_for_update=True)
    if application is None:
        raise NotFound("That application no longer exists.")
    candidate = session.get(Candidate, application.candidate_id)
    position = session.get(Position, application.position_id)
    assert candidate is not None and position is not None
    require_application_access(actor, position)
    if application.status != ApplicationStatus.OPEN:
        raise AccessDenied(f"{candidate.full_name}'s application for {position.title} is already closed "
                           f"({application.status}).")
    return application, candidate, position


def nudge_owner(session: Session, *, actor: Actor, application_id: int, now: datetime) -> Nudge:
    """Record that the candidate's owner is being reminded; the caller DMs them in the same transaction.
    Recruiters and the position's hiring manager may nudge. A second nudge within a day records nothing."""
    application, candidate, position = _open_application(session, actor, application_id)
    owner = candidate.owner_slack_id
    if owner is None:
        raise AccessDenied(f"Nobody owns {candidate.full_name} yet, so there is no one to nudge. "
                           "Assign an owner from the recruiting post first.")
    days = (now - _touched_at(application)).days
    nudge = Nudge(application_id=application_id, candidate_id=candidate.id or 0, candidate_name=candidate.full_name,
                  position_title=position.title, stage=application.stage, owner_slack_id=owner,
                  days_since_touch=days, repeated=False)
    if queries.activity_since(session, application_id=application_id, kind="stale.nudged",
                              since=now - NUDGE_INTERVAL) is not None:
        return replace(nudge, repeated=True)
    record_activity(session, actor=actor.user_id, kind="stale.nudged", now=now, candidate_id=candidate.id,
                    application_id=application_id, position_id=position.id,
                    payload={"owner": owner, "days_since_touch": days, "stage": application.stage})
    return nudge


def snooze_stale(session: Session, *, actor: Actor, application_id: int, now: datetime,
                 length: timedelta = SNOOZE_FOR) -> Snooze:
    """Keep the application off stale lists until now + `length`. Snoozing again moves the end."""
    application, candidate, position = _open_application(session, actor, application_id)
    until = now + length
    application.stale_snoozed_until = until
    record_activity(session, actor=actor.user_id, kind="stale.snoozed", now=now, candidate_id=candidate.id,
                    application_id=application_id, position_id=position.id,
                    payload={"until": until.isoformat(), "stage": application.stage})
    return Snooze(application_id=application_id, candidate_name=candidate.full_name, position_title=position.title,
                  until=until)


# --- the parser's vocabulary ------------------------------------------------------------------------


def _distinct(values: list[str], limit: int) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        clean = " ".join(value.split())
        if clean and clean.casefold() not in seen:
            seen[clean.casefold()] = clean
    return tuple(list(seen.values())[:limit])


def build_vocabulary(session: Session, config: WorkspaceConfig, *, sample: int = VOCABULARY_SAMPLE) -> Vocabulary:
    """Stage names from the config; position titles; skills, locations and talent pools as positions and the
    newest `sample` candidates spell them (reading every candidate would cost a full table scan per refresh)."""
    skills: list[str] = []
    locations: list[str] = []
    pools: list[str] = []
    for required, location in queries.position_facets(session, limit=500):
        skills += list(required or [])
        locations += [location] if location else []
    for candidate_skills, location, pool in queries.recent_candidate_facets(session, limit=sample):
        skills += list(candidate_skills or [])
        locations += [location] if location else []
        pools += [pool] if pool else []
    return Vocabulary(stages=tuple(config.pipeline.names),
                      positions=_distinct(queries.all_position_titles(session, limit=500), 500),
                      skills=_distinct(skills, 2000), locations=_distinct(locations, 500), pools=_distinct(pools, 200))


# --- tool arguments as JSON: "More" buttons carry them, the language model sends them ----------------

ARGUMENTS: dict[Intent, type] = {
    Intent.STALE: StaleArgs, Intent.PIPELINE: PipelineArgs, Intent.SEARCH: SearchArgs, Intent.STATUS: StatusArgs,
    Intent.MY_TASKS: TasksArgs, Intent.OVERDUE: OverdueArgs, Intent.MY_REFERRALS: ReferralsArgs,
    Intent.METRIC: MetricArgs, Intent.HELP: HelpArgs, Intent.DRAFT: DraftArgs,
}
INTENT_OF: dict[type, Intent] = {cls: intent for intent, cls in ARGUMENTS.items()}
MAX_TEXT = 200
MAX_ITEMS = 20
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SOURCES = frozenset({"referral", "sourced", "applied", "agency", "other"})


class InvalidArguments(ValueError):
    """Arguments that do not fit the tool (a tampered button, a model's invention); says which and why."""


def argument_kinds(intent: Intent) -> dict[str, str]:
    """Field → kind (text, flag, texts, time_range, days, metric) for an intent's argument dataclass."""
    kinds = {"str | None": "text", "bool": "flag", "tuple[str, ...]": "texts", "TimeRange | None": "time_range",
             "timedelta | None": "days", "Metric": "metric"}
    cls = ARGUMENTS[intent]
    return {f.name: kinds[str(f.type)] for f in fields(cls)}


def args_to_data(args: Arguments) -> dict[str, Any]:
    """The arguments that differ from their defaults, JSON-ready (times ISO 8601, ages in days)."""
    data: dict[str, Any] = {}
    for f in fields(args):  # type: ignore[arg-type]
        value = getattr(args, f.name)
        if value in (None, (), False):
            continue
        if isinstance(value, TimeRange):
            value = {"start": value.start.isoformat(), "end": value.end.isoformat()}
        elif isinstance(value, timedelta):
            value = value.total_seconds() / 86_400
        elif isinstance(value, tuple):
            value = list(value)
        data[f.name] = str(value) if isinstance(value, Metric) else value
    return data


def _moment(value: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as error:
        raise InvalidArguments(f"{name}: not an ISO 8601 time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArguments(f"{name}: expected text")
    clean = " ".join(value.split())
    if len(clean) > MAX_TEXT:
        raise InvalidArguments(f"{name}: longer than {MAX_TEXT} characters")
    return clean or None


def _checked_text(name: str, value: str | None, stages: Sequence[str] | None) -> str | None:
    if value is None:
        return None
    if name == "stage" and stages is not None:
        match = next((stage for stage in stages if stage.casefold() == value.casefold()), None)
        if match is None:
            raise InvalidArguments(f"stage: {value!r} is not a stage")
        return match
    if name == "source" and value not in _SOURCES:
        raise InvalidArguments(f"source: {value!r} is not a candidate source")
    if name == "owner" and value != ASKER and not _SLACK_USER.match(value):
        raise InvalidArguments("owner: expected @me or a Slack user ID")
    return value


def _value(kind: str, name: str, raw: Any, stages: Sequence[str] | None) -> Any:
    if kind == "text":
        return _checked_text(name, _text(raw, name), stages)
    if kind == "flag":
        if not isinstance(raw, bool):
            raise InvalidArguments(f"{name}: expected true or false")
        return raw
    if kind == "texts":
        if not isinstance(raw, list) or len(raw) > MAX_ITEMS:
            raise InvalidArguments(f"{name}: expected a list of at most {MAX_ITEMS} texts")
        return tuple(text for text in (_text(item, name) for item in raw) if text)
    if kind == "time_range":
        if not isinstance(raw, Mapping) or set(raw) != {"start", "end"}:
            raise InvalidArguments(f"{name}: expected start and end")
        start, end = _moment(raw["start"], f"{name}.start"), _moment(raw["end"], f"{name}.end")
        if start >= end:
            raise InvalidArguments(f"{name}: start must be before end")
        return TimeRange(start.astimezone(UTC), end.astimezone(UTC))
    if kind == "days":
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= 3650:
            raise InvalidArguments(f"{name}: expected a number of days between 0 and 3650")
        return timedelta(days=raw)
    try:
        return Metric(raw)
    except ValueError as error:
        raise InvalidArguments(f"{name}: {raw!r} is not a metric") from error


def args_from_data(intent: Intent, data: Mapping[str, Any], *, stages: Sequence[str] | None = None) -> Arguments:
    """Rebuild and check an intent's arguments; raises InvalidArguments. `stages` (the configured names) makes a
    stage an exact, known name."""
    kinds = argument_kinds(intent)
    unknown = set(data) - set(kinds)
    if unknown:
        raise InvalidArguments(f"unknown argument(s): {', '.join(sorted(unknown))}")
    values = {name: _value(kinds[name], name, raw, stages) for name, raw in data.items() if raw is not None}
    if "metric" in kinds and "metric" not in values:
        raise InvalidArguments("metric: required")
    return ARGUMENTS[intent](**values)  # type: ignore[no-any-return]
