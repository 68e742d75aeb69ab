"""Block Kit for the App Home tab, per role. Every list is a page with Previous/More buttons, so that the
whole tab stays within Slack's 100 blocks however large the pipeline grows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.services.board import (
    CHECKLISTS_PAGE,
    POSITIONS_PAGE,
    STALE_PAGE,
    TASKS_PAGE,
    Board,
    BoardItem,
    ChecklistProgress,
    ManagerSection,
    PipelineSection,
    StageColumn,
    TaskPage,
)
from bot.services.referrals import ReferralStatusPage
from bot.services.tasks import due_label
from bot.templates import render
from commands.admin_views import build_failed_email_blocks
from commands.candidate_views import how_long, move_select, move_value, who
from commands.kit import (
    MAX_OPTION_TEXT,
    MAX_VIEW_BLOCKS,
    Block,
    actions,
    button,
    context,
    divider,
    fit_blocks,
    header,
    option,
    plain,
    section,
    truncate,
)
from commands.referral_views import ACTION_STATUS_MORE, build_status_blocks
from commands.task_views import task_block
from storage.models import EmailMessage, OutboxMessage, TaskStatus

ACTION_RETRY_DELIVERY = "outbox_retry"
ACTION_HOME_REFRESH = "home_refresh"
ACTION_HOME_FILTER = "home_board_position"
ACTION_HOME_PAGE = "home_page"
ACTION_HOME_MOVE = "home_move_stage"
MAX_PROBLEMS_SHOWN = 10
REFERRALS_PAGE = 5
ALL_POSITIONS = "all"

# The lists that page; the button value is "<list>:<offset>".
PAGE_STALE = "stale"
PAGE_TASKS = "tasks"
PAGE_POSITIONS = "positions"
PAGE_CHECKLISTS = "checklists"
PAGE_REFERRALS = "referrals"


def page_value(page: str, offset: int) -> str:
    return f"{page}:{offset}"


def read_page_value(value: str) -> tuple[str, int]:
    page, _, offset = value.partition(":")
    return page, int(offset or 0)


def _paging(page: str, *, offset: int, shown: int, page_size: int, total: int) -> list[Block]:
    buttons = []
    if offset > 0:
        buttons.append(button("Previous", ACTION_HOME_PAGE, page_value(page, max(offset - page_size, 0))))
    if offset + shown < total:
        buttons.append(button("More", ACTION_HOME_PAGE, page_value(page, offset + shown)))
    return [actions(*buttons, block_id=f"page:{page}")] if buttons else []


# --- recruiters: the board and the stale list --------------------------------------------------------


def _filter_select(pipeline: PipelineSection) -> Block:
    choices = [option("All positions", ALL_POSITIONS)] + [option(title, str(pid)) for pid, title in pipeline.positions]
    select: dict[str, Any] = {"type": "static_select", "action_id": ACTION_HOME_FILTER,
                              "placeholder": plain("Filter by position"), "options": choices}
    chosen = next((c for c in choices if c["value"] == str(pipeline.position_id)), choices[0])
    select["initial_option"] = chosen
    return actions(select, block_id=f"board-filter:{pipeline.position_id or ALL_POSITIONS}")


def _column_move(column: StageColumn, stages: Sequence[str]) -> dict[str, Any] | None:
    """One select per stage moves any of its top candidates: a group of target stages per candidate, which
    keeps the board at one block per stage."""
    groups = []
    for item in column.top:
        targets = [option(stage, move_value(item.application_id, stage)) for stage in stages if stage != item.stage]
        if targets:
            groups.append({"label": plain(truncate(f"{item.candidate_name} · {item.position_title}",
                                                   MAX_OPTION_TEXT), MAX_OPTION_TEXT),
                           "options": targets[:100]})
    if not groups:
        return None
    return {"type": "static_select", "action_id": ACTION_HOME_MOVE, "placeholder": plain("Move stage"),
            "option_groups": groups}


def _board_blocks(pipeline: PipelineSection, *, nonce: str) -> list[Block]:
    title = next((t for pid, t in pipeline.positions if pid == pipeline.position_id), None)
    blocks: list[Block] = [divider(), section(render("home/board_heading.md.j2", position_title=title,
                                                     total=sum(c.count for c in pipeline.stages))),
                           _filter_select(pipeline)]
    for index, column in enumerate(pipeline.stages):
        lines = [{"item": item, "waited": how_long(item.time_in_stage)} for item in column.top]
        text = render("home/stage_column.md.j2", column=column, lines=lines,
                      sla=how_long(column.sla) if column.sla else "")
        blocks.append(section(text, accessory=_column_move(column, pipeline.stage_names),
                              block_id=f"stage:{index}:{nonce}"))
    return blocks


def _stale_line(item: BoardItem, stages: Sequence[str], *, nonce: str) -> Block:
    text = render("home/stale_line.md.j2", item=item, waited=how_long(item.time_in_stage),
                  limit=how_long(item.sla) if item.sla else "none")
    return section(text, accessory=move_select(stages, application_id=item.application_id, current=item.stage,
                                               action_id=ACTION_HOME_MOVE),
                   block_id=f"stale:{item.application_id}:{nonce}")


def _stale_blocks(pipeline: PipelineSection, *, nonce: str) -> list[Block]:
    blocks: list[Block] = [divider(), section(render("home/stale_heading.md.j2", total=pipeline.stale_total,
                                                     shown=len(pipeline.stale), offset=pipeline.stale_offset))]
    blocks += [_stale_line(item, pipeline.stage_names, nonce=nonce) for item in pipeline.stale]
    return blocks + _paging(PAGE_STALE, offset=pipeline.stale_offset, shown=len(pipeline.stale),
                            page_size=STALE_PAGE, total=pipeline.stale_total)


# --- hiring managers: positions and onboarding -------------------------------------------------------


def _checklist_blocks(checklist: ChecklistProgress, *, now: datetime) -> list[Block]:
    open_steps = [t for t in checklist.tasks if t.status == TaskStatus.OPEN]
    overdue = sum(t.due_at < now for t in open_steps)
    lines = [{"task": task, "assignee": who(task.assignee_slack_id), "due": due_label(task, now),
              "overdue": task.status == TaskStatus.OPEN and task.due_at < now} for task in checklist.tasks]
    return [section(render("home/checklist.md.j2", checklist=checklist, overdue=overdue),
                    block_id=f"checklist:{checklist.application_id}"),
            context(render("home/checklist_steps.md.j2", lines=lines))]


def _manager_blocks(manager: ManagerSection, *, now: datetime) -> list[Block]:
    blocks: list[Block] = [divider(), section(render("home/positions_heading.md.j2", total=manager.positions_total))]
    blocks += [section(render("home/position_line.md.j2", position=p), block_id=f"position:{p.position_id}")
               for p in manager.positions]
    blocks += _paging(PAGE_POSITIONS, offset=manager.positions_offset, shown=len(manager.positions),
                      page_size=POSITIONS_PAGE, total=manager.positions_total)
    blocks += [divider(), section(render("home/checklists_heading.md.j2", total=manager.checklists_total))]
    for checklist in manager.checklists:
        blocks += _checklist_blocks(checklist, now=now)
    return blocks + _paging(PAGE_CHECKLISTS, offset=manager.checklists_offset, shown=len(manager.checklists),
                            page_size=CHECKLISTS_PAGE, total=manager.checklists_total)


# --- everyone: tasks and referrals -------------------------------------------------------------------


def _task_blocks(tasks: TaskPage, *, now: datetime) -> list[Block]:
    blocks: list[Block] = [divider(), section(render("home/tasks_heading.md.j2", total=tasks.total))]
    blocks += [task_block(line.task, now=now, candidate_name=line.candidate_name) for line in tasks.tasks]
    return blocks + _paging(PAGE_TASKS, offset=tasks.offset, shown=len(tasks.tasks),
                            page_size=TASKS_PAGE, total=tasks.total)


def _referral_blocks(referrals: ReferralStatusPage) -> list[Block]:
    # The status list's own "More" answers through a response_url, which the Home tab does not have.
    blocks = [b for b in build_status_blocks(referrals)
              if not (b.get("type") == "actions"
                      and any(e.get("action_id") == ACTION_STATUS_MORE for e in b.get("elements", [])))]
    return [divider(), *blocks, *_paging(PAGE_REFERRALS, offset=referrals.offset, shown=len(referrals.items),
                                          page_size=REFERRALS_PAGE, total=referrals.total)]


def _personal_blocks(board: Board, tasks: TaskPage | None, *, now: datetime) -> list[Block]:
    blocks = _manager_blocks(board.manager, now=now) if board.manager is not None else []
    if tasks is not None and (tasks.total or board.pipeline is not None or board.manager is not None):
        blocks += _task_blocks(tasks, now=now)
    return blocks


def build_home(*, referrals: ReferralStatusPage, failed_deliveries: Sequence[OutboxMessage] | None,
               failed_total: int = 0, board: Board | None = None, tasks: TaskPage | None = None,
               now: datetime | None = None, nonce: str = "", failed_emails: Sequence[EmailMessage] = (),
               failed_emails_total: int = 0) -> dict[str, Any]:
    """The tab for one person: the sections their roles give them (see bot.services.board). `nonce` goes
    into the ids of blocks holding selects, so that a redraw resets them. Tasks and checklists need `now`."""
    board = board or Board(pipeline=None, manager=None)
    intro = render("home/intro.md.j2", sees_pipeline=board.pipeline is not None, manages=board.manager is not None)
    blocks: list[Block] = [header("talentbot"),
                           section(intro, accessory=button("Refresh", ACTION_HOME_REFRESH, "refresh"))]
    if board.pipeline is not None:
        blocks += _board_blocks(board.pipeline, nonce=nonce)
        blocks += _stale_blocks(board.pipeline, nonce=nonce)
    if board.manager is not None or tasks is not None:
        if now is None:
            raise ValueError("build_home needs `now` to show tasks and checklists")
        blocks += _personal_blocks(board, tasks, now=now)
    blocks += _referral_blocks(referrals)
    if failed_deliveries:
        blocks += [divider(), section(render("home/delivery_problems.md.j2", total=failed_total))]
        for problem in failed_deliveries[:MAX_PROBLEMS_SHOWN]:
            blocks.append(section(render("home/delivery_problem_line.md.j2", message=problem),
                                  accessory=button("Try again", ACTION_RETRY_DELIVERY, str(problem.id))))
    blocks += build_failed_email_blocks(failed_emails, total=failed_emails_total, shown=MAX_PROBLEMS_SHOWN)
    return {"type": "home", "blocks": fit_blocks(blocks, MAX_VIEW_BLOCKS)}
