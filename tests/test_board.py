"""The App Home board per role, without Slack: counts, the longest-waiting, stale, positions and onboarding."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.services.board import STALE_PAGE, pipeline_board, task_page
from bot.services.pipeline import move_stage
from bot.services.tasks import complete_task
from bot.workspace import parse_workspace_config
from storage.db import Database
from storage.models import Task
from tests.conftest import WORKSPACE, Clock
from tests.test_candidate_service import (
    EMPLOYEE,
    MANAGER,
    OTHER_MANAGER,
    RECRUITER,
    add_candidate,
    add_position,
    apply,
)

CONFIG = parse_workspace_config({**WORKSPACE, "teams": {"it": "UIT00001", "hr": "UHR00001", "payroll": "C0PAYROLL"}})


def test_board_counts_each_stage_and_lists_the_longest_waiting_first(db: Database, clock: Clock) -> None:
    now = clock()
    with db.transaction() as session:
        backend = add_position(session, "Backend Engineer", manager=MANAGER.user_id, now=now)
        design = add_position(session, "Designer", now=now)
        # Sourced: 5 in Backend (waiting 1..5 days), 2 in Design; Interview: 1 over its 10-day limit.
        for days in range(1, 6):
            apply(session, add_candidate(session, f"Backend {days}", now=now), backend, stage="Sourced",
                  entered=now - timedelta(days=days))
        for days in (8, 9):
            apply(session, add_candidate(session, f"Design {days}", now=now), design, stage="Sourced",
                  entered=now - timedelta(days=days))
        apply(session, add_candidate(session, "Interviewee", now=now), backend, stage="Interview",
              entered=now - timedelta(days=11))
        apply(session, add_candidate(session, "Rejected One", now=now), backend, stage="Rejected",
              entered=now - timedelta(days=40), status="rejected")
        backend_id = backend.id

    with db.read() as session:
        board = pipeline_board(session, actor=RECRUITER, config=CONFIG, now=now)
    assert board.manager is None and board.pipeline is not None
    columns = {c.name: c for c in board.pipeline.stages}
    assert [c.name for c in board.pipeline.stages] == [s.name for s in CONFIG.pipeline.stages if s.outcome is None]
    assert (columns["Sourced"].count, columns["Interview"].count, columns["Offer"].count) == (7, 1, 0)
    assert [i.candidate_name for i in columns["Sourced"].top] == ["Design 9", "Design 8", "Backend 5"]
    assert columns["Sourced"].over_sla == 2 and columns["Interview"].over_sla == 1
    assert [i.candidate_name for i in board.pipeline.stale] == ["Interviewee", "Design 9", "Design 8"]
    assert board.pipeline.stale_total == 3 and all(i.over_sla for i in board.pipeline.stale)
    assert ("Backend Engineer" in [t for _, t in board.pipeline.positions])

    with db.read() as session:
        filtered = pipeline_board(session, actor=RECRUITER, config=CONFIG, now=now, position_id=backend_id)
    assert filtered.pipeline is not None and filtered.pipeline.position_id == backend_id
    assert {c.name: c.count for c in filtered.pipeline.stages if c.count} == {"Sourced": 5, "Interview": 1}
    assert [i.candidate_name for i in filtered.pipeline.stale] == ["Interviewee"]


def test_stale_list_pages(db: Database, clock: Clock) -> None:
    now = clock()
    with db.transaction() as session:
        position = add_position(session, "Backend", now=now)
        for n in range(STALE_PAGE + 2):
            apply(session, add_candidate(session, f"Waiting {n}", now=now), position, stage="Outreach",
                  entered=now - timedelta(days=30 - n))
    with db.read() as session:
        second = pipeline_board(session, actor=RECRUITER, config=CONFIG, now=now, stale_offset=STALE_PAGE)
        past_the_end = pipeline_board(session, actor=RECRUITER, config=CONFIG, now=now, stale_offset=99)
    assert second.pipeline is not None and past_the_end.pipeline is not None
    assert [i.candidate_name for i in second.pipeline.stale] == [f"Waiting {STALE_PAGE}", f"Waiting {STALE_PAGE + 1}"]
    assert past_the_end.pipeline.stale_offset == STALE_PAGE


def test_hiring_managers_see_their_positions_and_onboarding_progress(db: Database, clock: Clock) -> None:
    now = clock()
    with db.transaction() as session:
        backend = add_position(session, "Backend Engineer", manager=MANAGER.user_id, now=now)
        add_position(session, "Designer", manager=OTHER_MANAGER.user_id, now=now)
        add_position(session, "Old role", manager=MANAGER.user_id, status="closed", now=now)
        hire = apply(session, add_candidate(session, "Jane Doe", now=now), backend, stage="Offer", entered=now)
        apply(session, add_candidate(session, "John Roe", now=now), backend, stage="Sourced", entered=now)
        move_stage(session, actor=RECRUITER, application_id=hire.id or 0, to_stage="Offer Accepted", config=CONFIG,
                   now=now)

    def manager_view():  # type: ignore[no-untyped-def]
        with db.read() as session:
            return pipeline_board(session, actor=MANAGER, config=CONFIG, now=clock())

    board = manager_view()
    assert board.pipeline is None and board.manager is not None
    assert [(p.title, p.open_applications, p.stage_counts) for p in board.manager.positions] == [
        ("Backend Engineer", 2, [("Sourced", 1), ("Offer Accepted", 1)])]
    [checklist] = board.manager.checklists
    assert (checklist.candidate_name, checklist.done, checklist.total) == ("Jane Doe", 0, 4)

    with db.transaction() as session:
        laptop = session.exec(select(Task).where(Task.title == "Prepare laptop and access")).one()
        complete_task(session, actor=RECRUITER, task_id=laptop.id or 0, now=clock())
    assert manager_view().manager.checklists[0].done == 1  # type: ignore[union-attr]

    with db.transaction() as session:
        for task in session.exec(select(Task).where(Task.group_key == checklist.group_key)):
            complete_task(session, actor=RECRUITER, task_id=task.id or 0, now=clock())
    finished = manager_view().manager
    assert finished is not None and finished.checklists == [] and finished.checklists_total == 0

    with db.read() as session:
        nobody = pipeline_board(session, actor=EMPLOYEE, config=CONFIG, now=now)
    assert (nobody.pipeline, nobody.manager) == (None, None)


def test_task_page_is_the_actors_own_open_tasks_soonest_first(db: Database, clock: Clock) -> None:
    now = clock()
    with db.transaction() as session:
        candidate = add_candidate(session, "Jane Doe", now=now)
        for n in range(11):
            session.add(Task(candidate_id=candidate.id, title=f"Task {n}", assignee_slack_id=RECRUITER.user_id,
                             due_at=now + timedelta(hours=n), created_at=now))
        session.add(Task(title="Someone else's", assignee_slack_id=EMPLOYEE.user_id, due_at=now, created_at=now))
        session.add(Task(title="Done already", assignee_slack_id=RECRUITER.user_id, status="done", due_at=now,
                         created_at=now))
    with db.read() as session:
        first = task_page(session, actor=RECRUITER)
        second = task_page(session, actor=RECRUITER, offset=8)
    assert first.total == 11 and [line.task.title for line in first.tasks][:2] == ["Task 0", "Task 1"]
    assert [line.task.title for line in second.tasks] == ["Task 8", "Task 9", "Task 10"]
    assert first.tasks[0].candidate_name == "Jane Doe"


def test_home_view_is_valid_and_within_100_blocks_with_every_list_full() -> None:
    from datetime import UTC, datetime

    from slack_sdk.models.views import View

    from bot.services.board import (
        CHECKLISTS_PAGE,
        POSITIONS_PAGE,
        Board,
        BoardItem,
        ChecklistProgress,
        ManagerSection,
        PipelineSection,
        PositionSummary,
        StageColumn,
        TaskLine,
        TaskPage,
    )
    from bot.services.referrals import ReferralStatusItem, ReferralStatusPage
    from commands.home_views import build_home
    from storage.models import OutboxMessage
    from tests.harness import check_view

    now = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    long = "Ü<&>" * 40
    stages = [s.name for s in CONFIG.pipeline.stages]

    def item(n: int, stage: str) -> BoardItem:
        return BoardItem(application_id=n, candidate_id=n, candidate_name=long, position_title=long, stage=stage,
                         time_in_stage=timedelta(days=n), sla=timedelta(days=5))

    open_stages = [s for s in CONFIG.pipeline.stages if s.outcome is None]
    pipeline = PipelineSection(
        stages=[StageColumn(name=s.name, sla=s.sla, count=500, over_sla=400, top=[item(i * 10 + k, s.name)
                                                                                 for k in range(3)])
                for i, s in enumerate(open_stages)],
        stale=[item(900 + n, "Interview") for n in range(STALE_PAGE)], stale_total=400, stale_offset=6,
        position_id=7, positions=[(n, long) for n in range(99)], stage_names=stages)
    checklist_tasks = [Task(id=n, title=long, assignee_slack_id="C0IT", due_at=now, status="open") for n in range(4)]
    manager = ManagerSection(
        positions=[PositionSummary(position_id=n, title=long, open_applications=50,
                                   stage_counts=[(s, 5) for s in stages]) for n in range(POSITIONS_PAGE)],
        positions_total=40, positions_offset=0,
        checklists=[ChecklistProgress(application_id=n, group_key=f"onboarding:{n}", candidate_name=long,
                                      position_title=long, tasks=checklist_tasks) for n in range(CHECKLISTS_PAGE)],
        checklists_total=9, checklists_offset=4)
    tasks = TaskPage(tasks=[TaskLine(Task(id=100 + n, title=long, assignee_slack_id="U1", due_at=now), long)
                            for n in range(8)], total=30, offset=8)
    referrals = ReferralStatusPage(items=[ReferralStatusItem(code=f"R-{n}", candidate_name=long, position_title=long,
                                                             status_label="In process", created_at=now,
                                                             attributed=True) for n in range(5)],
                                   total=20, offset=5)
    failed = [OutboxMessage(id=n, method="chat.postMessage", payload={"channel": "C1"}, dedupe_key=str(n),
                            attempts=10, last_error="x" * 400, created_at=now) for n in range(10)]
    home = build_home(referrals=referrals, failed_deliveries=failed, failed_total=10,
                      board=Board(pipeline=pipeline, manager=manager), tasks=tasks, now=now, nonce="n")
    View(**home).validate_json()
    assert check_view(home) == [] and len(home["blocks"]) <= 100
    text = str(home)
    assert "more than fits here" not in text
    assert {b["block_id"] for b in home["blocks"] if b.get("block_id", "").startswith("page:")} == {
        "page:stale", "page:positions", "page:checklists", "page:tasks", "page:referrals"}
    move = next(b["accessory"] for b in home["blocks"] if b.get("block_id", "").startswith("stage:0:"))
    assert len(move["option_groups"]) == 3 and "Sourced" not in str(move["option_groups"][0]["options"])
