"""Interview rules without Slack: scheduling, the invite, scorecard requests, scorecards and their results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlmodel import select

from bot.access import SYSTEM, AccessDenied, Actor, Role
from bot.deps import Deps
from bot.services.interviews import (
    InterviewDraft,
    InterviewInvalid,
    InterviewRefused,
    ScorecardDraft,
    ScorecardInvalid,
    ValidInterview,
    create_scorecard_requests,
    interview_form,
    schedule_interview,
    scorecard_form,
    scorecard_results,
    submit_scorecard,
    validate_interview,
)
from bot.services.pipeline import MilestoneKind, move_stage
from bot.services.positions import create_position
from bot.services.referrals import ReferralDraft, submit_referral, validate_referral
from bot.services.tasks import complete_task
from bot.workspace import WorkspaceConfig, parse_workspace_config
from commands.interview_views import (
    Invitee,
    build_invite_ics,
    build_schedule_modal,
    build_scorecard_modal,
    build_scorecard_request,
    build_scorecard_results,
    read_scorecard_form,
    scorecard_errors,
)
from commands.notifications import queue_referral_news
from storage.db import Database
from storage.models import Activity, Application, Interview, OutboxMessage, Scorecard, Task, TaskStatus
from tests.conftest import WORKSPACE, Clock
from tests.harness import check_blocks, check_view

RECRUITER = Actor("URECRUIT1", frozenset({Role.RECRUITER}))
MANAGER = Actor("UHIRING01", frozenset({Role.EMPLOYEE}))
STRANGER = Actor("USTRANGE1", frozenset({Role.EMPLOYEE}))
REFERRER = Actor("UEMPLOY01", frozenset({Role.EMPLOYEE}))
PANEL = ("UHIRING01", "UEMPLOY02")
CONFIG = parse_workspace_config(WORKSPACE)
CRITERIA = CONFIG.interviews.scorecard_criteria


def referred_application(db: Database, clock: Clock, *, title: str = "Backend Engineer",
                         email: str = "jane@example.com", name: str = "Jane Doe",
                         config: WorkspaceConfig = CONFIG) -> int:
    """A candidate referred by REFERRER for a new position managed by MANAGER; the application's id."""
    with db.transaction() as session:
        position = create_position(session, actor=SYSTEM, title=title, now=clock(),
                                   hiring_manager_slack_id=MANAGER.user_id)
        referral = validate_referral(ReferralDraft(candidate_name=name, email=email, position=str(position.id),
                                                   relationship="Friend", note="Great", consent_confirmed=True),
                                     default_region="DE")
        submit_referral(session, actor=REFERRER, referral=referral, config=config, now=clock())
        application = session.exec(select(Application).where(Application.position_id == position.id)).one()
        return application.id or 0


def move_to(db: Database, clock: Clock, application_id: int, stage: str, config: WorkspaceConfig = CONFIG) -> None:
    """Finish the open tasks (mandatory ones gate the move) and move on."""
    with db.transaction() as session:
        for task in session.exec(select(Task).where(Task.application_id == application_id, Task.status == "open")):
            complete_task(session, actor=RECRUITER, task_id=task.id or 0, now=clock())
        move_stage(session, actor=RECRUITER, application_id=application_id, to_stage=stage, config=config,
                   now=clock())


def tomorrow_at_two(clock: Clock) -> ValidInterview:
    return ValidInterview(starts_at=clock() + timedelta(days=1, hours=5), duration_minutes=60,
                          interviewer_slack_ids=PANEL, location="Room 4")


def schedule(db: Database, clock: Clock, application_id: int, *, actor: Actor = RECRUITER,
             interview: ValidInterview | None = None, key: str | None = "V1"):
    with db.transaction() as session:
        return schedule_interview(session, actor=actor, application_id=application_id,
                                  interview=interview or tomorrow_at_two(clock), config=CONFIG, now=clock(),
                                  submission_key=key)


# --- validation (no database) ------------------------------------------------------------------------


def _draft(**overrides: object) -> InterviewDraft:
    fields: dict[str, object] = dict(date="2026-11-17", time="14:00", timezone="Europe/Berlin",
                                     duration_minutes="60", interviewer_slack_ids=list(PANEL), location=" Room 4 ")
    fields.update(overrides)
    return InterviewDraft(**fields)  # type: ignore[arg-type]


def test_a_time_in_the_scheduler_zone_is_stored_in_utc(clock: Clock) -> None:
    valid = validate_interview(_draft(), now=clock())
    # Berlin is UTC+1 in November.
    assert valid.starts_at == datetime(2026, 11, 17, 13, 0, tzinfo=UTC)
    assert valid.ends_at - valid.starts_at == timedelta(hours=1)
    assert valid.interviewer_slack_ids == PANEL and valid.location == "Room 4"
    summer = validate_interview(_draft(date="2027-06-01", time="09:30"), now=clock())
    assert summer.starts_at == datetime(2027, 6, 1, 7, 30, tzinfo=UTC)


def test_past_times_missing_interviewers_and_odd_durations_are_refused_together(clock: Clock) -> None:
    with pytest.raises(InterviewInvalid) as refused:
        validate_interview(_draft(date="2026-11-15", duration_minutes="5", interviewer_slack_ids=[]), now=clock())
    assert set(refused.value.errors) == {"date", "duration", "interviewers"}
    assert "passed" in refused.value.errors["date"]
    # Today, but earlier than now (09:00 UTC is 10:00 in Berlin).
    with pytest.raises(InterviewInvalid) as earlier:
        validate_interview(_draft(date="2026-11-16", time="09:45", duration_minutes="600"), now=clock())
    assert set(earlier.value.errors) == {"time", "duration"}
    assert "10:00 now, Europe/Berlin" in earlier.value.errors["time"]
    with pytest.raises(InterviewInvalid) as empty:
        validate_interview(_draft(date=None, time=None, interviewer_slack_ids=["not a user"]), now=clock())
    assert set(empty.value.errors) == {"date", "time", "interviewers"}
    with pytest.raises(InterviewInvalid, match="year"):
        validate_interview(_draft(date="2028-11-17"), now=clock())


# --- scheduling --------------------------------------------------------------------------------------


def test_scheduling_stores_the_interview_once_per_submission(db: Database, clock: Clock) -> None:
    application_id = referred_application(db, clock)
    first = schedule(db, clock, application_id)
    again = schedule(db, clock, application_id)
    assert not first.repeated and again.repeated
    assert again.interview_id == first.interview_id and again.ical_uid == first.ical_uid
    assert first.candidate_email == "jane@example.com" and first.interviewer_slack_ids == PANEL
    other = schedule(db, clock, application_id, key="V2")
    assert other.ical_uid != first.ical_uid
    with db.read() as session:
        assert len(session.exec(select(Interview)).all()) == 2


def test_recruiters_and_the_hiring_manager_schedule_nobody_else(db: Database, clock: Clock) -> None:
    application_id = referred_application(db, clock)
    with pytest.raises(AccessDenied), db.read() as session:
        interview_form(session, actor=STRANGER, application_id=application_id)
    with pytest.raises(AccessDenied):
        schedule(db, clock, application_id, actor=STRANGER)
    assert schedule(db, clock, application_id, actor=MANAGER).scheduled_by_slack_id == MANAGER.user_id
    move_to(db, clock, application_id, "Rejected")
    with pytest.raises(InterviewRefused, match="closed"), db.read() as session:
        interview_form(session, actor=RECRUITER, application_id=application_id)


def test_an_interview_before_the_interview_stage_is_the_referrers_interview_news(db: Database, clock: Clock) -> None:
    early = referred_application(db, clock)
    news = schedule(db, clock, early).referral_news
    assert [(n.referrer_slack_id, n.milestone) for n in news] == [(REFERRER.user_id, MilestoneKind.INTERVIEW)]

    # In the Interview stage the pipeline has told them already.
    late = referred_application(db, clock, title="Designer", email="max@example.com", name="Max Muster")
    move_to(db, clock, late, "Interview")
    assert schedule(db, clock, late, key="V9").referral_news == []


def test_the_referrer_hears_of_interviews_once_whoever_tells_first(deps: Deps, clock: Clock) -> None:
    application_id = referred_application(deps.db, clock)
    news = schedule(deps.db, clock, application_id).referral_news
    with deps.db.transaction() as session:
        first = queue_referral_news(session, news, deps)
        move = move_stage(session, actor=RECRUITER, application_id=application_id, to_stage="Interview",
                          config=CONFIG, now=clock())
        assert [n.milestone for n in move.referral_news] == [MilestoneKind.INTERVIEW]
        # The pipeline's news for entering the stage is the same outbox row: the referrer gets one DM.
        assert queue_referral_news(session, move.referral_news, deps) == first
        assert len(session.exec(select(OutboxMessage)).all()) == 1


# --- the invite --------------------------------------------------------------------------------------


def test_the_invite_is_an_icalendar_request_in_utc_with_every_attendee(db: Database, clock: Clock) -> None:
    scheduled = schedule(db, clock, referred_application(db, clock))
    ics = build_invite_ics(scheduled, organizer="Acme Recruiting <jobs@acme.test>", company_name="Acme",
                           invitees=[Invitee("jane@example.com", "Jane Doe"),
                                     Invitee("hank@acme.test", "Hank", "UHIRING01")])
    calendar = Calendar.from_ical(ics)
    assert calendar["method"] == "REQUEST"
    [event] = calendar.events
    assert event.uid == scheduled.ical_uid
    assert event.start == scheduled.starts_at and event.end == scheduled.starts_at + timedelta(hours=1)
    assert "DTSTART:20261117T140000Z" in ics
    assert {str(a) for a in event.attendees} == {"mailto:jane@example.com", "mailto:hank@acme.test"}
    assert str(event.organizer) == "mailto:jobs@acme.test"
    assert "Jane Doe" in str(event.summary) and event.location == "Room 4"


# --- scorecard requests ------------------------------------------------------------------------------


def test_each_interviewer_is_asked_once_after_the_interview(db: Database, clock: Clock) -> None:
    scheduled = schedule(db, clock, referred_application(db, clock))
    clock.now = scheduled.starts_at + timedelta(minutes=30)
    with db.transaction() as session:
        assert create_scorecard_requests(session, config=CONFIG, now=clock()) == []
    clock.now = scheduled.ends_at
    with db.transaction() as session:
        requests = create_scorecard_requests(session, config=CONFIG, now=clock())
    assert {r.interviewer_slack_id for r in requests} == set(PANEL)
    assert {r.due_at for r in requests} == {scheduled.ends_at + timedelta(hours=24)}
    clock.advance(minutes=10)
    with db.transaction() as session:
        assert create_scorecard_requests(session, config=CONFIG, now=clock()) == []
        tasks = session.exec(select(Task).where(Task.kind == "scorecard")).all()
    assert {(t.assignee_slack_id, t.interview_id, t.due_at, t.status) for t in tasks} == {
        (person, scheduled.interview_id, scheduled.ends_at + timedelta(hours=24), "open") for person in PANEL}
    message = build_scorecard_request(requests[0])
    assert check_blocks(message["blocks"], surface="message") == []


def test_no_scorecards_for_an_interview_whose_application_closed_before_it(db: Database, clock: Clock) -> None:
    application_id = referred_application(db, clock)
    scheduled = schedule(db, clock, application_id)
    move_to(db, clock, application_id, "Withdrawn")
    clock.now = scheduled.ends_at + timedelta(hours=1)
    with db.transaction() as session:
        assert create_scorecard_requests(session, config=CONFIG, now=clock()) == []


# --- scorecards --------------------------------------------------------------------------------------


def _ratings(*values: int) -> dict[str, str]:
    return {criterion: str(value) for criterion, value in zip(CRITERIA, values, strict=True)}


def _submit(db: Database, clock: Clock, interview_id: int, actor: Actor, draft: ScorecardDraft):
    with db.transaction() as session:
        return submit_scorecard(session, actor=actor, interview_id=interview_id, draft=draft, config=CONFIG,
                                now=clock())


def test_a_scorecard_is_complete_final_and_only_the_interviewers(db: Database, clock: Clock) -> None:
    application_id = referred_application(db, clock)
    scheduled = schedule(db, clock, application_id)
    clock.now = scheduled.ends_at
    with db.transaction() as session:
        create_scorecard_requests(session, config=CONFIG, now=clock())

    with pytest.raises(ScorecardInvalid) as invalid:
        _submit(db, clock, scheduled.interview_id, MANAGER,
                ScorecardDraft(ratings={CRITERIA[0]: "4", CRITERIA[1]: "9"}, recommendation="maybe"))
    assert set(invalid.value.errors) == {*CRITERIA[1:], "recommendation"}
    with pytest.raises(AccessDenied, match="interviewers"):
        _submit(db, clock, scheduled.interview_id, RECRUITER, ScorecardDraft(_ratings(4, 4, 4, 4), "yes"))

    first = _submit(db, clock, scheduled.interview_id, MANAGER,
                    ScorecardDraft(_ratings(4, 5, 3, 4), "strong_yes", "  Solid system design.  "))
    again = _submit(db, clock, scheduled.interview_id, MANAGER, ScorecardDraft(_ratings(1, 1, 1, 1), "strong_no"))
    assert first.created and not again.created
    assert again.scorecard.recommendation == "strong_yes"
    with db.read() as session:
        scorecard = session.exec(select(Scorecard)).one()
        tasks = {t.assignee_slack_id: t for t in session.exec(select(Task).where(Task.kind == "scorecard"))}
        form = scorecard_form(session, actor=MANAGER, interview_id=scheduled.interview_id, config=CONFIG,
                              now=clock())
    assert scorecard.ratings == {"Technical skills": 4, "Problem solving": 5, "Communication": 3, "Team fit": 4}
    assert scorecard.notes == "Solid system design."
    assert tasks[MANAGER.user_id].status == TaskStatus.DONE and tasks["UEMPLOY02"].status == TaskStatus.OPEN
    assert form.submitted_at == clock()


def test_results_average_the_scorecards_and_stay_with_the_hiring_team(db: Database, clock: Clock) -> None:
    application_id = referred_application(db, clock)
    scheduled = schedule(db, clock, application_id)
    clock.now = scheduled.ends_at
    _submit(db, clock, scheduled.interview_id, MANAGER, ScorecardDraft(_ratings(4, 5, 3, 4), "strong_yes"))
    with db.read() as session:
        application = session.get(Application, application_id)
        assert application is not None
        candidate_id = application.candidate_id
        [result] = scorecard_results(session, candidate_id=candidate_id)
    assert result.averages == {"Technical skills": 4.0, "Problem solving": 5.0, "Communication": 3.0,
                               "Team fit": 4.0}
    assert result.pending == ["UEMPLOY02"] and result.recommendation_counts == {"strong_yes": 1}

    _submit(db, clock, scheduled.interview_id, Actor("UEMPLOY02", frozenset({Role.EMPLOYEE})),
            ScorecardDraft(_ratings(3, 4, 4, 2), "no"))
    with db.read() as session:
        [result] = scorecard_results(session, candidate_id=candidate_id, actor=RECRUITER)
        assert scorecard_results(session, candidate_id=candidate_id, actor=MANAGER)
        with pytest.raises(AccessDenied):
            scorecard_results(session, candidate_id=candidate_id, actor=REFERRER)
    assert result.averages["Technical skills"] == 3.5 and result.averages["Team fit"] == 3.0
    assert result.pending == [] and result.recommendation_counts == {"strong_yes": 1, "no": 1}
    blocks = build_scorecard_results([result], now=clock())
    assert check_blocks(blocks, surface="modal") == []
    assert "Technical skills: *3.5*/5" in blocks[0]["text"]["text"] and "Strong yes" in blocks[0]["text"]["text"]


# --- modals as data ----------------------------------------------------------------------------------


def test_the_modals_are_valid_block_kit(db: Database, clock: Clock) -> None:
    application_id = referred_application(db, clock)
    with db.read() as session:
        form = interview_form(session, actor=RECRUITER, application_id=application_id)
    view = build_schedule_modal(form, timezone="Europe/Berlin", today=clock().date(), default_minutes=50)
    assert check_view(view, expected_type="modal") == []
    duration = next(b for b in view["blocks"] if b.get("block_id") == "duration")["element"]
    assert "50" in {o["value"] for o in duration["options"]} and duration["initial_option"]["value"] == "50"

    scheduled = schedule(db, clock, application_id)
    clock.now = scheduled.ends_at
    with db.read() as session:
        scorecard = scorecard_form(session, actor=MANAGER, interview_id=scheduled.interview_id, config=CONFIG,
                                   now=clock())
    modal = build_scorecard_modal(scorecard, reply_to=("DUHIRING01", "1.2"))
    assert check_view(modal, expected_type="modal") == []
    values = {"criterion_0": {"value": {"selected_option": {"value": "5"}}},
              "recommendation": {"value": {"selected_option": {"value": "yes"}}}}
    draft = read_scorecard_form(values, criteria=CRITERIA)
    assert draft.ratings[CRITERIA[0]] == "5" and draft.ratings[CRITERIA[1]] is None and draft.recommendation == "yes"
    assert scorecard_errors({CRITERIA[1]: "x", "notes": "y"}, criteria=CRITERIA) == {"criterion_1": "x", "notes": "y"}


# --- rescheduling and cancelling ----------------------------------------------------------------------


def _moved(clock: Clock, **changes: object) -> ValidInterview:
    fields: dict[str, object] = dict(starts_at=clock() + timedelta(days=2, hours=5), duration_minutes=45,
                                     interviewer_slack_ids=(PANEL[0], "UNEWPANEL"), location="Room 5",
                                     timezone="Europe/Berlin")
    fields.update(changes)
    return ValidInterview(**fields)  # type: ignore[arg-type]


def test_a_reschedule_raises_the_sequence_and_a_repeat_changes_nothing(db: Database, clock: Clock) -> None:
    from bot.services.interviews import reschedule_interview

    scheduled = schedule(db, clock, referred_application(db, clock))
    assert scheduled.sequence == 0 and scheduled.candidate_email == "jane@example.com"
    for expected_sequence, changed in ((1, True), (1, False)):
        with db.transaction() as session:
            change = reschedule_interview(session, actor=MANAGER, interview_id=scheduled.interview_id,
                                          interview=_moved(clock), now=clock())
        assert change.changed is changed and change.interview.sequence == expected_sequence
    assert change.interview.timezone == "Europe/Berlin"
    with db.transaction() as session:
        first = reschedule_interview(session, actor=MANAGER, interview_id=scheduled.interview_id,
                                     interview=_moved(clock, interviewer_slack_ids=PANEL), now=clock())
    assert first.removed_interviewer_slack_ids == ("UNEWPANEL",) and first.interview.sequence == 2
    with db.read() as session:
        row = session.get(Interview, scheduled.interview_id)
        moves = session.exec(select(Activity).where(Activity.kind == "interview.rescheduled")).all()
    assert row is not None and row.starts_at == clock() + timedelta(days=2, hours=5) and row.duration_minutes == 45
    assert [m.payload["sequence"] for m in moves] == [1, 2]


def test_a_reschedule_reports_who_left_the_panel(db: Database, clock: Clock) -> None:
    from bot.services.interviews import reschedule_interview

    scheduled = schedule(db, clock, referred_application(db, clock))
    with db.transaction() as session:
        change = reschedule_interview(session, actor=RECRUITER, interview_id=scheduled.interview_id,
                                      interview=_moved(clock), now=clock())
    assert change.removed_interviewer_slack_ids == (PANEL[1],)
    assert change.interview.interviewer_slack_ids == (PANEL[0], "UNEWPANEL")


def test_cancelling_is_once_and_only_for_the_hiring_team_before_the_start(db: Database, clock: Clock) -> None:
    from bot.services.interviews import InterviewRefused, cancel_interview, reschedule_interview

    scheduled = schedule(db, clock, referred_application(db, clock))
    with pytest.raises(AccessDenied), db.transaction() as session:
        cancel_interview(session, actor=STRANGER, interview_id=scheduled.interview_id, now=clock())
    with db.transaction() as session:
        first = cancel_interview(session, actor=RECRUITER, interview_id=scheduled.interview_id, now=clock())
    with db.transaction() as session:
        again = cancel_interview(session, actor=RECRUITER, interview_id=scheduled.interview_id, now=clock())
    assert (first.changed, first.interview.sequence, first.interview.status) == (True, 1, "cancelled")
    assert (again.changed, again.interview.sequence) == (False, 1)
    with pytest.raises(InterviewRefused, match="cancelled"), db.transaction() as session:
        reschedule_interview(session, actor=RECRUITER, interview_id=scheduled.interview_id, interview=_moved(clock),
                             now=clock())

    other = schedule(db, clock, referred_application(db, clock, title="Data Engineer", email="max@example.com",
                                                     name="Max Roe"), key="V2")
    clock.now = other.starts_at + timedelta(minutes=1)
    with pytest.raises(InterviewRefused, match="already started"), db.transaction() as session:
        cancel_interview(session, actor=RECRUITER, interview_id=other.interview_id, now=clock())


def test_the_update_and_the_cancel_are_valid_icalendar(db: Database, clock: Clock) -> None:
    from bot.services.interviews import cancel_interview, reschedule_interview

    scheduled = schedule(db, clock, referred_application(db, clock))
    clock.advance(hours=1)
    with db.transaction() as session:
        moved = reschedule_interview(session, actor=RECRUITER, interview_id=scheduled.interview_id,
                                     interview=_moved(clock, interviewer_slack_ids=PANEL), now=clock()).interview
    invitees = [Invitee("jane@example.com", "Jane Doe")]
    update = Calendar.from_ical(build_invite_ics(moved, organizer="jobs@acme.test", company_name="Acme",
                                                 invitees=invitees))
    [event] = update.events
    assert update["method"] == "REQUEST" and event["sequence"] == 1 and event.uid == scheduled.ical_uid
    stamp = event.DTSTAMP
    assert event.start == moved.starts_at and stamp == clock()
    with db.transaction() as session:
        cancelled = cancel_interview(session, actor=RECRUITER, interview_id=scheduled.interview_id,
                                     now=clock()).interview
    ics = build_invite_ics(cancelled, organizer="jobs@acme.test", company_name="Acme", invitees=invitees,
                           method="CANCEL")
    calendar = Calendar.from_ical(ics)
    [event] = calendar.events
    assert calendar["method"] == "CANCEL" and event["sequence"] == 2 and str(event["status"]) == "CANCELLED"
    assert event.uid == scheduled.ical_uid


def test_no_interview_email_to_a_candidate_who_revoked_contact_consent(db: Database, clock: Clock) -> None:
    from bot.services.interviews import cancel_interview
    from storage.models import Consent

    scheduled = schedule(db, clock, referred_application(db, clock))
    with db.transaction() as session:
        session.add(Consent(candidate_id=scheduled.candidate_id, kind="contact", action="revoked",
                            recorded_at=clock(), evidence="Asked by email not to be contacted"))
    with db.transaction() as session:
        change = cancel_interview(session, actor=RECRUITER, interview_id=scheduled.interview_id, now=clock())
    assert change.interview.candidate_email is None


def test_the_reschedule_modal_starts_from_the_interview(db: Database, clock: Clock) -> None:
    from bot.services.interviews import interview_change_form
    from commands.interview_views import build_reschedule_modal, read_reschedule_metadata

    scheduled = schedule(db, clock, referred_application(db, clock))
    with db.read() as session:
        form = interview_change_form(session, actor=MANAGER, interview_id=scheduled.interview_id, now=clock())
    view = build_reschedule_modal(form, timezone="Europe/Berlin", default_minutes=60)
    assert check_view(view, expected_type="modal") == []
    elements = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    local = scheduled.starts_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert elements["time"]["initial_time"] == f"{local:%H:%M}" and elements["time"]["timezone"] == "Europe/Berlin"
    assert elements["date"]["initial_date"] == local.date().isoformat()
    assert elements["interviewers"]["initial_users"] == list(PANEL)
    assert read_reschedule_metadata(view) == (scheduled.interview_id, "Europe/Berlin")
