"""Pipeline rules without Slack: stage moves, entry tasks, mandatory tasks, onboarding, referral milestones."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.access import SYSTEM, AccessDenied, Actor, Role
from bot.services.pipeline import (
    MilestoneKind,
    StageMoveRefused,
    add_to_position,
    move_stage,
    record_departure,
)
from bot.services.positions import create_position
from bot.services.referrals import ReferralDraft, submit_referral, validate_referral
from bot.services.tasks import complete_task, snooze_task
from bot.workspace import WorkspaceConfig, parse_workspace_config
from storage.db import Database
from storage.models import Activity, Application, PayoutStatus, Referral, Task
from tests.conftest import WORKSPACE, Clock

RECRUITER = Actor("URECRUIT1", frozenset({Role.RECRUITER}))
MANAGER = Actor("UHIRING01", frozenset({Role.EMPLOYEE}))
STRANGER = Actor("USTRANGE1", frozenset({Role.EMPLOYEE}))
REFERRER = Actor("UEMPLOY01", frozenset({Role.EMPLOYEE}))
CONFIG = parse_workspace_config({**WORKSPACE, "teams": {"it": "UIT00001", "hr": "UHR00001", "payroll": "C0PAYROLL"}})


def _referred_application(db: Database, clock: Clock, config: WorkspaceConfig = CONFIG) -> int:
    with db.transaction() as session:
        position = create_position(session, actor=SYSTEM, title="Backend Engineer", now=clock(),
                                   hiring_manager_slack_id=MANAGER.user_id)
        referral = validate_referral(ReferralDraft(candidate_name="Jane Doe", email="jane@example.com",
                                                   position=str(position.id), relationship="Friend", note="Great",
                                                   consent_confirmed=True), default_region="DE")
        submit_referral(session, actor=REFERRER, referral=referral, config=config, now=clock())
        return session.exec(select(Application)).one().id or 0


def _move(db: Database, clock: Clock, application_id: int, stage: str, actor: Actor = RECRUITER):
    with db.transaction() as session:
        return move_stage(session, actor=actor, application_id=application_id, to_stage=stage, config=CONFIG,
                          now=clock())


def _finish_open_tasks(db: Database, clock: Clock, application_id: int) -> None:
    with db.transaction() as session:
        for task in session.exec(select(Task).where(Task.application_id == application_id, Task.status == "open")):
            complete_task(session, actor=RECRUITER, task_id=task.id or 0, now=clock())


def test_entering_a_stage_creates_its_tasks_for_the_right_people(db: Database, clock: Clock) -> None:
    application_id = _referred_application(db, clock)
    move = _move(db, clock, application_id, "phone screen")
    assert move.to_stage == "Phone Screen"
    titles = {(t.title, t.assignee_slack_id, t.due_at - clock()) for t in move.tasks}
    # Nobody owns the candidate yet, so "owner" tasks go to the recruiting channel.
    assert {(title, assignee) for title, assignee, _ in titles} == {
        ("Send calendar invite", "C0RECRUIT"), ("Complete phone screen notes", "C0RECRUIT")}
    assert {due.total_seconds() / 3600 for _, _, due in titles} == {48, 24}


def test_mandatory_tasks_block_leaving_the_stage_but_not_rejecting(db: Database, clock: Clock) -> None:
    application_id = _referred_application(db, clock)
    _move(db, clock, application_id, "Phone Screen")
    with pytest.raises(StageMoveRefused, match=r"Send calendar invite.*Complete phone screen notes"):
        _move(db, clock, application_id, "Interview")
    with db.read() as session:
        assert session.get(Application, application_id).stage == "Phone Screen"
    _finish_open_tasks(db, clock, application_id)
    assert _move(db, clock, application_id, "Interview").from_stage == "Phone Screen"
    rejected = _move(db, clock, application_id, "Rejected")
    assert rejected.outcome == "rejected" and {t.title for t in rejected.cancelled_tasks} == {
        "Schedule the interviews", "Share the interview plan with the panel"}
    assert [n.milestone for n in rejected.referral_news] == [MilestoneKind.NOT_HIRED]


def test_bad_moves_are_refused_with_an_explanation(db: Database, clock: Clock) -> None:
    application_id = _referred_application(db, clock)
    with pytest.raises(StageMoveRefused, match="no stage called “Lunch”"):
        _move(db, clock, application_id, "Lunch")
    with pytest.raises(StageMoveRefused, match="already in Sourced"):
        _move(db, clock, application_id, "Sourced")
    with pytest.raises(AccessDenied):
        _move(db, clock, application_id, "Outreach", actor=STRANGER)
    assert _move(db, clock, application_id, "Outreach", actor=MANAGER).to_stage == "Outreach"
    with db.read() as session:
        moves = session.exec(select(Activity).where(Activity.kind == "stage.moved")).all()
    assert [(m.actor, m.payload["to"]) for m in moves] == [(MANAGER.user_id, "Outreach")]


def test_offer_accepted_starts_onboarding_and_hire_schedules_the_payout(db: Database, clock: Clock) -> None:
    application_id = _referred_application(db, clock)
    for stage in ("Offer", "Offer Accepted"):
        _finish_open_tasks(db, clock, application_id)
        move = _move(db, clock, application_id, stage)
    assert {(t.title, t.assignee_slack_id) for t in move.onboarding_tasks} == {
        ("Prepare laptop and access", "UIT00001"), ("Send new-hire packet and e-sign forms", "UHR00001"),
        ("First-week agenda and 90-day goals", MANAGER.user_id), ("New hire setup", "C0PAYROLL")}
    assert {(t.title, round((t.due_at - clock()).days)) for t in move.onboarding_tasks} >= {
        ("Prepare laptop and access", 5), ("Send new-hire packet and e-sign forms", 3)}
    assert [n.milestone for n in move.referral_news] == [MilestoneKind.OFFER_ACCEPTED]

    _finish_open_tasks(db, clock, application_id)
    clock.advance(days=14)
    hired = _move(db, clock, application_id, "Day 1 Complete")
    assert [n.milestone for n in hired.referral_news] == [MilestoneKind.HIRED]
    assert hired.referral_news[0].payout_amount == 1000
    with db.read() as session:
        referral = session.exec(select(Referral)).one()
        application = session.get(Application, application_id)
    assert referral.payout_status == PayoutStatus.WAITING_RETENTION
    assert (referral.payout_due_at - clock()).days == 90
    assert application.status == "hired" and application.hired_at == clock()

    clock.advance(days=30)
    with db.transaction() as session:
        departure = record_departure(session, actor=RECRUITER, application_id=application_id,
                                     left_at=clock(), now=clock())
    assert [n.milestone for n in departure.cancelled_payouts] == [MilestoneKind.PAYOUT_CANCELLED]
    with db.read() as session:
        assert session.exec(select(Referral)).one().payout_status == PayoutStatus.CANCELLED


def test_tasks_can_be_done_only_by_their_people(db: Database, clock: Clock) -> None:
    application_id = _referred_application(db, clock)
    _finish_open_tasks(db, clock, application_id)
    _move(db, clock, application_id, "Offer")
    with db.read() as session:
        approval = session.exec(select(Task).where(Task.title == "Approve the offer")).one()
    with pytest.raises(AccessDenied, match="belongs to"), db.transaction() as session:
        complete_task(session, actor=STRANGER, task_id=approval.id or 0, now=clock())
    with db.transaction() as session:
        with pytest.raises(AccessDenied, match="future"):
            snooze_task(session, actor=MANAGER, task_id=approval.id or 0, until=clock(), now=clock())
        assert complete_task(session, actor=MANAGER, task_id=approval.id or 0, now=clock()).changed
        assert not complete_task(session, actor=MANAGER, task_id=approval.id or 0, now=clock()).changed


def test_adding_a_pool_referral_to_a_position_tells_the_referrer(db: Database, clock: Clock) -> None:
    with db.transaction() as session:
        position = create_position(session, actor=SYSTEM, title="Designer", now=clock())
        referral = validate_referral(ReferralDraft(candidate_name="Max", email="max@example.com", position="general",
                                                   relationship="Friend", note="Great", consent_confirmed=True),
                                     default_region="DE")
        outcome = submit_referral(session, actor=REFERRER, referral=referral, config=CONFIG, now=clock())
    with db.transaction() as session:
        added = add_to_position(session, actor=RECRUITER, candidate_id=outcome.candidate_id,
                                position_id=position.id or 0, config=CONFIG, now=clock())
    assert [(n.referrer_slack_id, n.milestone) for n in added.referral_news] == [
        (REFERRER.user_id, MilestoneKind.APPLICATION_RECEIVED)]
    with pytest.raises(StageMoveRefused, match="already in the pipeline"), db.transaction() as session:
        add_to_position(session, actor=RECRUITER, candidate_id=outcome.candidate_id, position_id=position.id or 0,
                        config=CONFIG, now=clock())
