"""Referral payout rules without Slack: the approval after the retention period, the decision, a departure."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from bot.access import AccessDenied, Actor, Role
from bot.services.payouts import (
    DepartureInvalid,
    PayoutRefused,
    decide_payout,
    departure_form,
    due_payout_ids,
    record_hire_departure,
    request_payout_approval,
)
from bot.services.pipeline import MilestoneKind
from bot.workspace import WorkspaceConfig, parse_workspace_config
from commands.payout_views import build_cancelled_notice, build_departure_modal, build_payout_card
from storage.db import Database
from storage.models import Activity, Application, PayoutStatus, Referral, Task
from tests.conftest import ADMIN, WORKSPACE, Clock
from tests.harness import check_blocks, check_view
from tests.test_interviews import RECRUITER, REFERRER, move_to, referred_application

CONFIG = parse_workspace_config(WORKSPACE)
APPROVER = Actor(ADMIN, frozenset({Role.ADMIN}))
OTHER_ADMIN = Actor("UADMIN02", frozenset({Role.ADMIN}))
HIRE_STAGES = ("Offer", "Offer Accepted", "Day 1 Complete")


def hired_referral(db: Database, clock: Clock, config: WorkspaceConfig = CONFIG, **candidate: str) -> tuple[int, int]:
    """A referred candidate hired today (Day 1 Complete): (application id, referral id)."""
    application_id = referred_application(db, clock, config=config, **candidate)
    for stage in HIRE_STAGES:
        move_to(db, clock, application_id, stage, config=config)
    with db.read() as session:
        application = session.get(Application, application_id)
        referral = session.exec(select(Referral).where(Referral.candidate_id == application.candidate_id)).one()
    return application_id, referral.id or 0


def _request(db: Database, clock: Clock, referral_id: int, config: WorkspaceConfig = CONFIG):
    with db.transaction() as session:
        return request_payout_approval(session, referral_id=referral_id, config=config, now=clock())


def _decide(db: Database, clock: Clock, referral_id: int, actor: Actor, *, approve: bool = True,
            config: WorkspaceConfig = CONFIG):
    with db.transaction() as session:
        return decide_payout(session, actor=actor, referral_id=referral_id, approve=approve, config=config,
                             now=clock())


def _referral(db: Database, referral_id: int) -> Referral:
    with db.read() as session:
        referral = session.get(Referral, referral_id)
        assert referral is not None
        return referral


def test_the_approval_is_asked_once_when_the_retention_period_is_over(db: Database, clock: Clock) -> None:
    _, referral_id = hired_referral(db, clock)
    with db.read() as session:
        assert due_payout_ids(session, now=clock()) == []
    assert _request(db, clock, referral_id) is None

    clock.advance(days=90)
    with db.read() as session:
        assert due_payout_ids(session, now=clock()) == [referral_id]
    request = _request(db, clock, referral_id)
    assert request is not None and _request(db, clock, referral_id) is None
    assert request.card.status == PayoutStatus.AWAITING_APPROVAL and request.card.approver_slack_id == ADMIN
    assert (request.card.amount, request.card.currency, request.card.position_title) == (1000, "EUR",
                                                                                         "Backend Engineer")
    assert (request.news.milestone, request.news.referrer_slack_id) == (MilestoneKind.RETENTION_REACHED,
                                                                        REFERRER.user_id)
    assert (request.task.kind, request.task.assignee_slack_id) == ("payout", ADMIN)
    assert _referral(db, referral_id).payout_status == PayoutStatus.AWAITING_APPROVAL
    card = build_payout_card(request.card)
    assert check_blocks(card["blocks"], surface="message") == []
    assert [e["action_id"] for e in card["blocks"][1]["elements"]] == ["payout_approve", "payout_reject"]


def test_without_an_approver_the_payout_waits(db: Database, clock: Clock) -> None:
    config = parse_workspace_config({**WORKSPACE, "roles": {"recruiters": [RECRUITER.user_id]}})
    _, referral_id = hired_referral(db, clock, config=config)
    clock.advance(days=91)
    assert _request(db, clock, referral_id, config=config) is None
    assert _referral(db, referral_id).payout_status == PayoutStatus.WAITING_RETENTION


def test_only_the_configured_approver_decides_and_only_once(db: Database, clock: Clock) -> None:
    _, referral_id = hired_referral(db, clock)
    with pytest.raises(PayoutRefused, match="not due"):
        _decide(db, clock, referral_id, APPROVER)
    clock.advance(days=90)
    _request(db, clock, referral_id)

    with pytest.raises(AccessDenied, match=f"<@{ADMIN}>"):
        _decide(db, clock, referral_id, OTHER_ADMIN)
    with pytest.raises(AccessDenied):
        _decide(db, clock, referral_id, RECRUITER)
    decision = _decide(db, clock, referral_id, APPROVER)
    assert decision.changed and decision.card.status == PayoutStatus.APPROVED
    assert [n.milestone for n in decision.news] == [MilestoneKind.PAYOUT_APPROVED]
    clock.advance(minutes=1)
    second = _decide(db, clock, referral_id, APPROVER, approve=False)
    assert not second.changed and second.news == []
    assert (second.card.status, second.card.decided_by_slack_id) == (PayoutStatus.APPROVED, ADMIN)

    referral = _referral(db, referral_id)
    assert referral.payout_decided_at == clock() - timedelta(minutes=1)
    with db.read() as session:
        task = session.exec(select(Task).where(Task.kind == "payout")).one()
        kinds = [a.kind for a in session.exec(select(Activity).where(Activity.referral_id == referral_id))]
    assert task.status == "done" and task.completed_by_slack_id == ADMIN
    assert kinds.count("referral.payout_approved") == 1
    assert check_blocks(build_payout_card(decision.card)["blocks"], surface="message") == []


def test_a_rejection_is_recorded_and_nobody_decides_their_own_referral(db: Database, clock: Clock) -> None:
    config = parse_workspace_config({**WORKSPACE, "referrals": {"payout_approver": REFERRER.user_id}})
    _, referral_id = hired_referral(db, clock, config=config)
    clock.advance(days=90)
    _request(db, clock, referral_id, config=config)
    with pytest.raises(AccessDenied, match="You made this referral"):
        _decide(db, clock, referral_id, REFERRER, config=config)

    _, other_id = hired_referral(db, clock, title="Designer", email="max@example.com", name="Max Muster")
    clock.advance(days=90)
    _request(db, clock, other_id)
    decision = _decide(db, clock, other_id, APPROVER, approve=False)
    assert decision.card.status == PayoutStatus.REJECTED
    assert [n.milestone for n in decision.news] == [MilestoneKind.PAYOUT_REJECTED]


def test_leaving_before_the_period_cancels_the_payout_and_its_approval(db: Database, clock: Clock) -> None:
    application_id, referral_id = hired_referral(db, clock)
    hired_on = clock().date()
    clock.advance(days=30)
    today = clock().date()

    def depart(left_on: date | None, actor: Actor = RECRUITER):
        with db.transaction() as session:
            return record_hire_departure(session, actor=actor, application_id=application_id, left_on=left_on,
                                         today=today, config=CONFIG, now=clock())

    with pytest.raises(AccessDenied):
        depart(today, actor=REFERRER)
    for wrong, problem in [(None, "Choose"), (today + timedelta(days=1), "future"),
                           (hired_on - timedelta(days=1), "started on")]:
        with pytest.raises(DepartureInvalid, match=problem):
            depart(wrong)
    with db.read() as session:
        form = departure_form(session, actor=RECRUITER, application_id=application_id)
    assert check_view(build_departure_modal(form, timezone="Europe/Berlin", today=today), expected_type="modal") == []

    departure = depart(today - timedelta(days=2))
    assert [(card.referral_id, card.status, previous) for card, previous in departure.cancelled] == [
        (referral_id, PayoutStatus.CANCELLED, PayoutStatus.WAITING_RETENTION)]
    assert [n.milestone for n in departure.news] == [MilestoneKind.PAYOUT_CANCELLED]
    assert depart(today - timedelta(days=2)).repeated
    with pytest.raises(DepartureInvalid, match="Already recorded"):
        depart(today)
    with db.read() as session:
        assert session.get(Application, application_id).left_at.date() == today - timedelta(days=2)
    notice = build_cancelled_notice(departure.cancelled[0][0], left_on=departure.left_on,
                                    previous_status=departure.cancelled[0][1])
    assert "cancelled" in notice["text"] and "had not reached you" in notice["text"]


def test_leaving_while_awaiting_approval_cancels_the_approvers_task(db: Database, clock: Clock) -> None:
    application_id, referral_id = hired_referral(db, clock)
    clock.advance(days=90)
    _request(db, clock, referral_id)
    with db.transaction() as session:
        # They left the day before the period ended; it is recorded only now.
        departure = record_hire_departure(session, actor=RECRUITER, application_id=application_id,
                                          left_on=(clock() - timedelta(days=1)).date(), today=clock().date(),
                                          config=CONFIG, now=clock())
    assert [previous for _, previous in departure.cancelled] == [PayoutStatus.AWAITING_APPROVAL]
    with db.read() as session:
        task = session.exec(select(Task).where(Task.kind == "payout")).one()
    assert task.status == "cancelled"
    with pytest.raises(PayoutRefused, match="cancelled"):
        _decide(db, clock, referral_id, APPROVER)


def test_leaving_after_the_period_keeps_the_bonus(db: Database, clock: Clock) -> None:
    application_id, referral_id = hired_referral(db, clock)
    clock.advance(days=95)
    with db.transaction() as session:
        departure = record_hire_departure(session, actor=RECRUITER, application_id=application_id,
                                          left_on=clock().date(), today=clock().date(), config=CONFIG, now=clock())
    assert departure.cancelled == []
    assert _request(db, clock, referral_id) is not None
