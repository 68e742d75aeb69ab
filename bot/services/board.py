"""What the App Home shows, per role: the pipeline board and stale applications for recruiters, a hiring
manager's positions and onboarding checklists, and everyone's own open tasks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.access import Actor
from bot.services.pipeline import onboarding_group_key
from bot.workspace import WorkspaceConfig
from storage import queries
from storage.models import Application, Position, PositionStatus, Task, TaskStatus

STALE_PAGE = 6
POSITIONS_PAGE = 8
CHECKLISTS_PAGE = 4
TASKS_PAGE = 8
# The filter is a static select (100 options at most), one of which is "All positions".
MAX_FILTER_POSITIONS = 99


@dataclass(frozen=True)
class BoardItem:
    application_id: int
    candidate_id: int
    candidate_name: str
    position_title: str
    stage: str
    time_in_stage: timedelta
    sla: timedelta | None

    @property
    def over_sla(self) -> bool:
        return self.sla is not None and self.time_in_stage > self.sla


@dataclass(frozen=True)
class StageColumn:
    name: str
    sla: timedelta | None
    count: int
    over_sla: int
    # Longest in the stage first.
    top: list[BoardItem]


@dataclass(frozen=True)
class PipelineSection:
    stages: list[StageColumn]
    stale: list[BoardItem]
    stale_total: int
    stale_offset: int
    # The position the board is filtered by (None: all), and the positions one can filter by.
    position_id: int | None
    positions: list[tuple[int, str]]
    stage_names: list[str]


@dataclass(frozen=True)
class PositionSummary:
    position_id: int
    title: str
    open_applications: int
    # (stage, count) in pipeline order, stages with nobody left out.
    stage_counts: list[tuple[str, int]]


@dataclass(frozen=True)
class ChecklistProgress:
    application_id: int
    group_key: str
    candidate_name: str
    position_title: str
    tasks: list[Task]

    @property
    def done(self) -> int:
        return sum(task.status == TaskStatus.DONE for task in self.tasks)

    @property
    def total(self) -> int:
        return sum(task.status != TaskStatus.CANCELLED for task in self.tasks)


@dataclass(frozen=True)
class ManagerSection:
    positions: list[PositionSummary]
    positions_total: int
    positions_offset: int
    # Checklists with at least one step still open.
    checklists: list[ChecklistProgress]
    checklists_total: int
    checklists_offset: int


@dataclass(frozen=True)
class Board:
    pipeline: PipelineSection | None
    manager: ManagerSection | None


@dataclass(frozen=True)
class TaskLine:
    task: Task
    candidate_name: str | None


@dataclass(frozen=True)
class TaskPage:
    tasks: list[TaskLine]
    total: int
    offset: int


def _item(row: tuple[Application, str, str], *, config: WorkspaceConfig, now: datetime) -> BoardItem:
    application, candidate_name, position_title = row
    stage = config.pipeline.stage(application.stage)
    return BoardItem(application_id=application.id or 0, candidate_id=application.candidate_id,
                     candidate_name=candidate_name, position_title=position_title, stage=application.stage,
                     time_in_stage=now - application.stage_entered_at, sla=stage.sla if stage else None)


def _sla_cutoffs(config: WorkspaceConfig, now: datetime) -> dict[str, datetime]:
    return {stage.name: now - stage.sla for stage in config.pipeline.stages
            if stage.outcome is None and stage.sla is not None}


def _pipeline(session: Session, *, config: WorkspaceConfig, now: datetime, position_id: int | None, top_n: int,
              stale_offset: int, stale_limit: int) -> PipelineSection:
    choices = list(queries.open_positions(session, limit=MAX_FILTER_POSITIONS))
    if position_id is not None:
        position = session.get(Position, position_id)
        # A filter left over from a position since closed or deleted falls back to everything.
        if position is None or position.status != PositionStatus.OPEN:
            position_id = None
    counts: dict[str, int] = defaultdict(int)
    for _position, stage_name, count in queries.open_application_counts(
            session, position_ids=None if position_id is None else [position_id]):
        counts[stage_name] += count
    cutoffs = _sla_cutoffs(config, now)
    columns = []
    for stage in config.pipeline.stages:
        if stage.outcome is not None:
            continue
        top = [_item(row, config=config, now=now)
               for row in queries.longest_in_stage(session, stage.name, position_id=position_id, limit=top_n)] \
            if counts[stage.name] and top_n > 0 else []
        over = queries.count_board_applications_over_sla(session, {stage.name: cutoffs[stage.name]},
                                                         position_id=position_id) \
            if stage.name in cutoffs and counts[stage.name] else 0
        columns.append(StageColumn(name=stage.name, sla=stage.sla, count=counts[stage.name], over_sla=over, top=top))
    stale_total = queries.count_board_applications_over_sla(session, cutoffs, position_id=position_id)
    stale_offset = min(max(stale_offset, 0), max(stale_total - 1, 0) // stale_limit * stale_limit)
    stale = [_item(row, config=config, now=now) for row in queries.board_applications_over_sla(
        session, cutoffs, position_id=position_id, limit=stale_limit, offset=stale_offset)]
    return PipelineSection(stages=columns, stale=stale, stale_total=stale_total, stale_offset=stale_offset,
                           position_id=position_id, positions=[(p.id or 0, p.title) for p in choices],
                           stage_names=config.pipeline.names)


def _manager(session: Session, *, actor: Actor, config: WorkspaceConfig, positions_offset: int,
             checklists_offset: int) -> ManagerSection:
    positions_total = queries.count_open_positions_managed_by(session, actor.user_id)
    positions_offset = min(max(positions_offset, 0), max(positions_total - 1, 0) // POSITIONS_PAGE * POSITIONS_PAGE)
    positions = list(queries.open_positions_managed_by(session, actor.user_id, limit=POSITIONS_PAGE,
                                                       offset=positions_offset))
    by_position: dict[int, dict[str, int]] = defaultdict(dict)
    for position_id, stage, count in queries.open_application_counts(
            session, position_ids=[p.id or 0 for p in positions]):
        by_position[position_id][stage] = count
    order = {name: i for i, name in enumerate(config.pipeline.names)}
    summaries = [
        PositionSummary(position_id=p.id or 0, title=p.title, open_applications=sum(by_position[p.id or 0].values()),
                        stage_counts=sorted(by_position[p.id or 0].items(), key=lambda item: order.get(item[0], 999)))
        for p in positions]

    grouped: dict[int, list[tuple[Task, str, str]]] = defaultdict(list)
    for task, candidate_name, position_title in queries.onboarding_tasks_for_manager(session, actor.user_id):
        if task.application_id is not None and task.group_key == onboarding_group_key(task.application_id):
            grouped[task.application_id].append((task, candidate_name, position_title))
    open_checklists = [
        ChecklistProgress(application_id=application_id, group_key=onboarding_group_key(application_id),
                          candidate_name=rows[0][1], position_title=rows[0][2], tasks=[row[0] for row in rows])
        for application_id, rows in grouped.items()
        if any(row[0].status == TaskStatus.OPEN for row in rows)]
    checklists_offset = min(max(checklists_offset, 0),
                            max(len(open_checklists) - 1, 0) // CHECKLISTS_PAGE * CHECKLISTS_PAGE)
    return ManagerSection(positions=summaries, positions_total=positions_total, positions_offset=positions_offset,
                          checklists=open_checklists[checklists_offset:checklists_offset + CHECKLISTS_PAGE],
                          checklists_total=len(open_checklists), checklists_offset=checklists_offset)


def pipeline_board(session: Session, *, actor: Actor, config: WorkspaceConfig, now: datetime,
                   position_id: int | None = None, top_n: int = 3, stale_offset: int = 0,
                   stale_limit: int = STALE_PAGE, positions_offset: int = 0, checklists_offset: int = 0) -> Board:
    """The sections the actor's roles entitle them to: recruiters and admins the pipeline (per open stage its
    count, the `top_n` longest in it, and the applications over their stage's SLA), hiring managers their
    open positions and open onboarding checklists. Someone with neither gets an empty board."""
    pipeline = _pipeline(session, config=config, now=now, position_id=position_id, top_n=top_n,
                         stale_offset=stale_offset, stale_limit=max(stale_limit, 1)) if actor.sees_pipeline else None
    manager = _manager(session, actor=actor, config=config, positions_offset=positions_offset,
                       checklists_offset=checklists_offset) \
        if queries.manages_any_position(session, actor.user_id) else None
    return Board(pipeline=pipeline, manager=manager)


def task_page(session: Session, *, actor: Actor, offset: int = 0, limit: int = TASKS_PAGE) -> TaskPage:
    """The actor's own open tasks, soonest due first."""
    total = queries.count_open_tasks_for_assignee(session, actor.user_id)
    offset = min(max(offset, 0), max(total - 1, 0) // limit * limit)
    rows = queries.open_tasks_page(session, actor.user_id, limit=limit, offset=offset)
    return TaskPage(tasks=[TaskLine(task=task, candidate_name=name) for task, name in rows], total=total,
                    offset=offset)
