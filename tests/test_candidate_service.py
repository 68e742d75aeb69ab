"""Candidate search, the card, notes and who may see whom — without Slack, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.access import AccessDenied, Actor, Role
from bot.contact import name_key
from bot.services.candidates import (
    NoteInvalid,
    NoteSource,
    add_note,
    candidate_card,
    find_candidates,
    movable_applications,
)
from bot.services.pipeline import move_stage
from bot.services.referrals import ReferralDraft, submit_referral, validate_referral
from bot.workspace import parse_workspace_config
from storage.db import Database
from storage.models import (
    Activity,
    Application,
    Candidate,
    CandidateStatus,
    Interview,
    Position,
    Scorecard,
)
from tests.conftest import WORKSPACE, Clock

RECRUITER = Actor("URECRUIT1", frozenset({Role.RECRUITER}))
MANAGER = Actor("UHIRING01", frozenset({Role.EMPLOYEE}))
OTHER_MANAGER = Actor("UHIRING02", frozenset({Role.EMPLOYEE}))
EMPLOYEE = Actor("UEMPLOY01", frozenset({Role.EMPLOYEE}))
CONFIG = parse_workspace_config(WORKSPACE)


# --- seeding helpers (also used by the board and scenario tests) ----------------------------------------


def add_position(session: Session, title: str, *, now: datetime, manager: str | None = None,
                 status: str = "open") -> Position:
    position = Position(title=title, hiring_manager_slack_id=manager, status=status, created_at=now, updated_at=now)
    session.add(position)
    session.flush()
    return position


def add_candidate(session: Session, name: str, *, now: datetime, email: str | None = None,
                  status: str = CandidateStatus.ACTIVE, owner: str | None = None) -> Candidate:
    candidate = Candidate(full_name=name, name_key=name_key(name), email=email,
                          email_normalized=email.casefold() if email else None, status=status, owner_slack_id=owner,
                          created_at=now, updated_at=now)
    session.add(candidate)
    session.flush()
    return candidate


def apply(session: Session, candidate: Candidate, position: Position, *, stage: str = "Sourced",
          entered: datetime, status: str = "open") -> Application:
    application = Application(candidate_id=candidate.id or 0, position_id=position.id or 0, stage=stage,
                              stage_entered_at=entered, status=status, created_at=entered,
                              closed_at=entered if status != "open" else None)
    session.add(application)
    session.flush()
    return application


def _names(matches: list) -> list[str]:  # type: ignore[type-arg]
    return [m.full_name for m in matches]


# --- search -----------------------------------------------------------------------------------------


def test_search_by_email_exactly_and_by_name_forgivingly(db: Database, clock: Clock) -> None:
    with db.transaction() as session:
        for name, email in [("José Núñez", "jose@example.com"), ("Jane Doe", "jane@example.com"),
                            ("Janet Smith", None), ("John Doe", None), ("Zoë Müller-Lüdenscheidt", None)]:
            add_candidate(session, name, email=email, now=clock())
        add_candidate(session, "Erased Person", status=CandidateStatus.ERASED, now=clock())

    def find(query: str) -> list[str]:
        with db.read() as session:
            return _names(find_candidates(session, actor=RECRUITER, query=query))

    assert find("JOSE@Example.com") == ["José Núñez"]
    assert find("nobody@example.com") == []
    assert find("jose nunez") == find("NÚÑEZ") == ["José Núñez"]
    assert find("doe") == ["Jane Doe", "John Doe"]
    assert find("jane doe") == ["Jane Doe"], "an exact name wins over names that merely contain it"
    assert find("jan") == ["Jane Doe", "Janet Smith"]
    assert find("doe jane") == ["Jane Doe"]
    assert find("zoe muller") == ["Zoë Müller-Lüdenscheidt"]
    assert find("Jnae Doe")[0] == "Jane Doe", "a typo still finds the person"
    assert find("Xavier Quint") == []
    assert find("erased") == [], "erased candidates are never found"
    assert find("   ") == []


def test_search_shows_each_person_only_what_they_may_see(db: Database, clock: Clock) -> None:
    with db.transaction() as session:
        mine = add_position(session, "Backend Engineer", manager=MANAGER.user_id, now=clock())
        theirs = add_position(session, "Designer", manager=OTHER_MANAGER.user_id, now=clock())
        apply(session, add_candidate(session, "Jane Doe", now=clock()), mine, entered=clock())
        apply(session, add_candidate(session, "Jane Roe", email="roe@example.com", now=clock()), theirs,
              entered=clock())
        add_candidate(session, "Jane Poe", now=clock())

    with db.read() as session:
        assert _names(find_candidates(session, actor=RECRUITER, query="jane")) == ["Jane Doe", "Jane Poe", "Jane Roe"]
        matches = find_candidates(session, actor=MANAGER, query="jane")
        assert _names(matches) == ["Jane Doe"]
        assert matches[0].open_applications == [("Backend Engineer", "Sourced")]
        assert find_candidates(session, actor=MANAGER, query="roe@example.com") == []
        assert find_candidates(session, actor=MANAGER, query="Jnae Roe") == []
        with pytest.raises(AccessDenied, match="Only recruiters"):
            find_candidates(session, actor=EMPLOYEE, query="jane")


# --- the card ---------------------------------------------------------------------------------------


def test_card_shows_applications_with_time_in_stage_and_sla(db: Database, clock: Clock) -> None:
    now = clock()
    with db.transaction() as session:
        candidate = add_candidate(session, "Jane Doe", now=now)
        mine = add_position(session, "Backend Engineer", manager=MANAGER.user_id, now=now)
        theirs = add_position(session, "Designer", manager=OTHER_MANAGER.user_id, now=now)
        closed = add_position(session, "Data Analyst", now=now)
        add_position(session, "Product Manager", now=now)
        add_position(session, "Old Role", status="closed", now=now)
        apply(session, candidate, mine, stage="Interview", entered=now - timedelta(days=12))
        apply(session, candidate, theirs, stage="Phone Screen", entered=now - timedelta(days=2))
        apply(session, candidate, closed, stage="Rejected", entered=now - timedelta(days=30), status="rejected")
        candidate_id = candidate.id or 0

    with db.read() as session:
        card = candidate_card(session, actor=RECRUITER, candidate_id=candidate_id, config=CONFIG, now=now)
    by_title = {a.position_title: a for a in card.applications}
    assert set(by_title) == {"Backend Engineer", "Designer", "Data Analyst"}
    interview = by_title["Backend Engineer"]
    assert (interview.stage, interview.time_in_stage, interview.sla, interview.over_sla) == (
        "Interview", timedelta(days=12), timedelta(days=10), True)
    assert not by_title["Designer"].over_sla and by_title["Designer"].sla == timedelta(days=5)
    assert not by_title["Data Analyst"].is_open and by_title["Data Analyst"].time_in_stage is None
    assert card.may_manage and [title for _, title in card.addable_positions] == ["Product Manager"]
    assert card.stages == CONFIG.pipeline.names

    with db.read() as session:
        managed = candidate_card(session, actor=MANAGER, candidate_id=candidate_id, config=CONFIG, now=now)
        assert [a.position_title for a in managed.applications] == ["Backend Engineer"]
        assert not managed.may_manage and managed.addable_positions == []
        with pytest.raises(AccessDenied, match="Only recruiters"):
            candidate_card(session, actor=EMPLOYEE, candidate_id=candidate_id, config=CONFIG, now=now)
        stranger = add_candidate(session, "Someone Else", now=now)
        with pytest.raises(AccessDenied, match="positions you hire for"):
            candidate_card(session, actor=MANAGER, candidate_id=stranger.id or 0, config=CONFIG, now=now)


def test_card_gathers_referrers_consent_scorecards_and_open_tasks(db: Database, clock: Clock) -> None:
    with db.transaction() as session:
        position = add_position(session, "Backend Engineer", manager=MANAGER.user_id, now=clock())
        referral = validate_referral(ReferralDraft(candidate_name="Jane Doe", email="jane@example.com",
                                                   position=str(position.id), relationship="Former colleague",
                                                   note="Great", consent_confirmed=True), default_region="DE")
        outcome = submit_referral(session, actor=EMPLOYEE, referral=referral, config=CONFIG, now=clock())
        application = session.exec(select(Application)).one()
        move_stage(session, actor=RECRUITER, application_id=application.id or 0, to_stage="Phone Screen",
                   config=CONFIG, now=clock())
        interview = Interview(application_id=application.id or 0, candidate_id=outcome.candidate_id,
                              starts_at=clock(), interviewer_slack_ids=["UINT00001", "UINT00002"], ical_uid="x@t",
                              scheduled_by_slack_id=RECRUITER.user_id, created_at=clock())
        session.add(interview)
        session.flush()
        session.add(Scorecard(interview_id=interview.id or 0, candidate_id=outcome.candidate_id,
                              interviewer_slack_id="UINT00001", ratings={"Technical skills": 4, "Communication": 5},
                              recommendation="hire", submitted_at=clock()))
        session.add(Scorecard(interview_id=interview.id or 0, candidate_id=outcome.candidate_id,
                              interviewer_slack_id="UINT00002", ratings={"Technical skills": 3, "Team fit": "n/a"},
                              recommendation="no_hire", submitted_at=clock()))

    with db.read() as session:
        card = candidate_card(session, actor=MANAGER, candidate_id=outcome.candidate_id, config=CONFIG, now=clock())
    assert [(r.referrer_slack_id, r.relationship, p.title if p else None) for r, p in card.referrals] == [
        (EMPLOYEE.user_id, "Former colleague", "Backend Engineer")]
    contact = next(c for c in card.consents if c.kind == "contact")
    assert contact.action == "granted" and contact.is_valid(clock())
    assert contact.expires_at is not None and contact.expires_at - clock() == timedelta(days=365)
    assert not contact.is_valid(clock() + timedelta(days=366))
    assert [(s.average_rating, s.recommendations, s.position_title) for s in card.scorecards] == [
        (4.0, [("UINT00001", "hire"), ("UINT00002", "no_hire")], "Backend Engineer")]
    assert {t.title for t in card.open_tasks} == {"Send calendar invite", "Complete phone screen notes"}
    assert card.timeline.total == len(card.timeline.entries) <= 10
    assert card.timeline.entries[0].occurred_at >= card.timeline.entries[-1].occurred_at


def test_timeline_pages_newest_first_and_hides_other_positions_from_managers(db: Database, clock: Clock) -> None:
    with db.transaction() as session:
        candidate = add_candidate(session, "Jane Doe", now=clock())
        mine = add_position(session, "Backend Engineer", manager=MANAGER.user_id, now=clock())
        theirs = add_position(session, "Designer", manager=OTHER_MANAGER.user_id, now=clock())
        apply(session, candidate, mine, entered=clock())
        hidden = apply(session, candidate, theirs, entered=clock())
        candidate_id = candidate.id or 0
    for n in range(1, 24):
        clock.advance(minutes=1)
        with db.transaction() as session:
            add_note(session, actor=RECRUITER, candidate_id=candidate_id, text=f"note {n}", now=clock())
    with db.transaction() as session:
        move_stage(session, actor=RECRUITER, application_id=hidden.id or 0, to_stage="Outreach", config=CONFIG,
                   now=clock() + timedelta(minutes=1))

    def page(actor: Actor, offset: int):  # type: ignore[no-untyped-def]
        with db.read() as session:
            return candidate_card(session, actor=actor, candidate_id=candidate_id, config=CONFIG, now=clock(),
                                  timeline_offset=offset).timeline

    first = page(RECRUITER, 0)
    # The move (and the entry task it created) is newest.
    assert first.total == 25 and {e.kind for e in first.entries[:2]} == {"stage.moved", "task.created"}
    assert [e.payload.get("text") for e in first.entries[2:5]] == ["note 23", "note 22", "note 21"]
    assert first.has_older and not first.has_newer
    last = page(RECRUITER, 20)
    assert [e.payload.get("text") for e in last.entries] == ["note 5", "note 4", "note 3", "note 2", "note 1"]
    assert last.has_newer and not last.has_older
    assert page(RECRUITER, 500).offset == 20, "a page past the end shows the oldest page"

    managed = page(MANAGER, 0)
    assert managed.total == 23 and {e.kind for e in managed.entries} == {"note.added"}, \
        "the move on another manager's position is not theirs to see"


# --- notes ------------------------------------------------------------------------------------------


def test_notes_are_checked_stored_once_and_keep_their_slack_source(db: Database, clock: Clock) -> None:
    with db.transaction() as session:
        candidate = add_candidate(session, "Jane Doe", now=clock())
        apply(session, candidate, add_position(session, "Backend", manager=MANAGER.user_id, now=clock()),
              entered=clock())
        candidate_id = candidate.id or 0

    for bad, message in [("   ", "Write something"), ("x" * 3001, "3000 characters")]:
        with pytest.raises(NoteInvalid, match=message), db.transaction() as session:
            add_note(session, actor=RECRUITER, candidate_id=candidate_id, text=bad, now=clock())
    with pytest.raises(AccessDenied), db.transaction() as session:
        add_note(session, actor=EMPLOYEE, candidate_id=candidate_id, text="hello", now=clock())

    for _ in range(2):
        with db.transaction() as session:
            first = add_note(session, actor=MANAGER, candidate_id=candidate_id, text="  Strong on systems  ",
                             now=clock(), submission_key="V123")
    assert not first.changed

    source = NoteSource(channel="C0RECRUIT", message_ts="1700000000.000200", author_slack_id=EMPLOYEE.user_id,
                        permalink="https://acme.slack.com/archives/C0RECRUIT/p1700000000000200")
    results = []
    for key in ("V200", "V201"):
        with db.transaction() as session:
            results.append(add_note(session, actor=RECRUITER, candidate_id=candidate_id, text="Met at the meetup",
                                    now=clock(), source=source, submission_key=key).changed)
    assert results == [True, False], "the same message attached twice is one note"

    with db.read() as session:
        notes = session.exec(select(Activity).where(Activity.kind == "note.added").order_by(Activity.id)).all()
    assert [(n.actor, n.payload["text"]) for n in notes] == [(MANAGER.user_id, "Strong on systems"),
                                                           (RECRUITER.user_id, "Met at the meetup")]
    assert notes[1].payload["permalink"] == source.permalink
    assert (notes[1].payload["author"], notes[1].payload["channel"]) == (EMPLOYEE.user_id, "C0RECRUIT")
    assert notes[1].occurred_at == clock()


def test_movable_applications_are_the_open_ones_the_actor_may_move(db: Database, clock: Clock) -> None:
    with db.transaction() as session:
        candidate = add_candidate(session, "Jane Doe", now=clock())
        apply(session, candidate, add_position(session, "Backend", manager=MANAGER.user_id, now=clock()),
              entered=clock())
        apply(session, candidate, add_position(session, "Design", manager=OTHER_MANAGER.user_id, now=clock()),
              entered=clock())
        apply(session, candidate, add_position(session, "Data", now=clock()), entered=clock(), status="withdrawn")
        candidate_id = candidate.id or 0
    with db.read() as session:
        everything = movable_applications(session, actor=RECRUITER, candidate_id=candidate_id, config=CONFIG,
                                          now=clock())
        managed = movable_applications(session, actor=MANAGER, candidate_id=candidate_id, config=CONFIG,
                                       now=clock())
    assert [a.position_title for a in everything.applications] == ["Backend", "Design"] and everything.any_closed
    assert [a.position_title for a in managed.applications] == ["Backend"] and not managed.any_closed


# --- builders and parsers (no database) ---------------------------------------------------------------


def test_move_commands_are_parsed_by_the_longest_stage_name_at_the_end() -> None:
    from commands.candidate_views import parse_candidate_command, split_move

    names = CONFIG.pipeline.names
    assert parse_candidate_command("").verb == parse_candidate_command("help").verb == "help"
    assert parse_candidate_command("move").verb == "help"
    assert parse_candidate_command("  Jane   Doe ") == parse_candidate_command("Jane Doe")
    assert parse_candidate_command("Jane Doe").who == "Jane Doe"
    assert parse_candidate_command("<mailto:jane@example.com|jane@example.com>").who == "jane@example.com"
    move = parse_candidate_command('move <mailto:jane@example.com|jane@example.com> "Offer Accepted"')
    assert (move.verb, move.rest) == ("move", "jane@example.com Offer Accepted")
    assert split_move("jane doe offer   ACCEPTED", names) == ("jane doe", "Offer Accepted")
    assert split_move("jane doe offer", names) == ("jane doe", "Offer")
    assert split_move("jane day 1 complete", names) == ("jane", "Day 1 Complete")
    assert split_move("jane lunch", names) is None
    assert split_move("offer accepted", names) is None, "a stage alone names nobody to move"


def test_shortcut_text_reads_like_what_people_typed() -> None:
    from commands.candidate_views import readable_message_text

    assert readable_message_text("A &amp; B &lt;3 <https://x.example|the repo> <https://y.example> <@U123>") == (
        "A & B <3 the repo (https://x.example) https://y.example <@U123>")


def test_the_card_stays_valid_with_everything_at_its_limits() -> None:
    from slack_sdk.models.views import View

    from bot.services.candidates import ApplicationView, CandidateCard, ConsentState, InterviewScores, TimelinePage
    from commands.candidate_views import build_candidate_card
    from storage.models import Referral, Task
    from tests.harness import check_view

    now = datetime(2026, 11, 16, 9, 0)
    long = "Ü<&>" * 50
    candidate = Candidate(id=1, full_name=long, name_key="x", email="a@b.example", owner_slack_id="U1",
                          profile_url="https://x.example/" + "p" * 400, created_at=now, updated_at=now)
    applications = [ApplicationView(application_id=n, position_id=n, position_title=long, stage="Interview",
                                    status="open" if n % 2 else "rejected", stage_entered_at=now, closed_at=now,
                                    time_in_stage=timedelta(days=n), sla=timedelta(days=10), over_sla=n > 10)
                    for n in range(30)]
    timeline = [Activity(id=n, candidate_id=1, actor="U1", kind=kind, occurred_at=now,
                         payload={"text": "n" * 3000, "title": long, "from": "A", "to": "B", "position": long,
                                  "assignee": "C0TEAM", "permalink": "https://x.example/p"})
                for n, kind in enumerate(["note.added", "stage.moved", "task.created", "something.new"] * 6)]
    card = CandidateCard(
        candidate=candidate, applications=applications,
        referrals=[(Referral(code=f"R-{n}", referrer_slack_id="U2", candidate_id=1, relationship=long, note="x",
                             attributed=True, created_at=now), None) for n in range(40)],
        consents=[ConsentState(kind="contact", action="granted", recorded_at=now, expires_at=None)],
        scorecards=[InterviewScores(interview_id=n, starts_at=now, position_title=long, average_rating=3.5,
                                    recommendations=[("U3", "strong_hire")] * 8) for n in range(30)],
        open_tasks=[Task(id=n, title=long, assignee_slack_id="U4", due_at=now, mandatory=True) for n in range(15)],
        timeline=TimelinePage(entries=timeline, offset=25, page_size=25, total=80),
        stages=CONFIG.pipeline.names, may_manage=True,
        addable_positions=[(n, long) for n in range(100)])
    view = build_candidate_card(card, now=now, nonce="n1")
    View(**view).validate_json()
    assert check_view(view) == []
    mrkdwn = [text["text"] for block in view["blocks"]
              for text in [block.get("text"), *(block.get("elements") or [])] if text and text.get("type") == "mrkdwn"]
    assert any("Ü&lt;&amp;&gt;" in text for text in mrkdwn) and not any("<&>" in text for text in mrkdwn), \
        "user text is escaped wherever Slack would read it as markup"
    paging = [e["text"]["text"] for b in view["blocks"] if b.get("block_id") == "timeline-paging"
              for e in b["elements"]]
    assert paging == ["Newer", "Older"]
