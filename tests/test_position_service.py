"""The position rules without Slack: validation, access, edits, closing, and agency submissions with consent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.access import AccessDenied, Actor, Role
from bot.services.candidates import NotFound
from bot.services.positions import (
    ClientSubmissionRefused,
    PositionDraft,
    PositionInvalid,
    close_position,
    create_position,
    parse_skills,
    position_candidates,
    positions_matching,
    positions_visible_to,
    record_client_submission_consent,
    reopen_position,
    submit_to_client,
    update_position,
    validate_position,
)
from storage.db import Database
from storage.models import Activity, Application, Candidate, Consent, Position
from tests.conftest import Clock

RITA = Actor("URECRUIT1", frozenset({Role.RECRUITER, Role.EMPLOYEE}))
ADA = Actor("UADMIN01", frozenset({Role.ADMIN, Role.EMPLOYEE}))
HANK = Actor("UHIRING01", frozenset({Role.EMPLOYEE}))
EMMA = Actor("UEMPLOY01", frozenset({Role.EMPLOYEE}))


def draft(**overrides: object) -> PositionDraft:
    fields: dict[str, object] = dict(title="Backend Engineer", hiring_manager_slack_id=HANK.user_id,
                                     location="Berlin", required_skills="Python, SQL")
    fields.update(overrides)
    return PositionDraft(**fields)  # type: ignore[arg-type]


def new_position(db: Database, clock: Clock, actor: Actor = RITA, **fields: Any) -> Position:
    values: dict[str, Any] = dict(title="Backend Engineer", hiring_manager_slack_id=HANK.user_id)
    values.update(fields)
    with db.transaction() as session:
        return create_position(session, actor=actor, now=clock(), **values)


def agency_position(db: Database, clock: Clock, **fields: Any) -> Position:
    return new_position(db, clock, client_company="Globex", fee_amount=15000, fee_currency="EUR", **fields)


def add_candidate(db: Database, clock: Clock, position: Position, name: str = "Jane Doe",
                  status: str = "open") -> tuple[int, int]:
    """A candidate with an application to the position: (candidate_id, application_id)."""
    with db.transaction() as session:
        candidate = Candidate(full_name=name, name_key=name.lower(), created_at=clock(), updated_at=clock())
        session.add(candidate)
        session.flush()
        application = Application(candidate_id=candidate.id or 0, position_id=position.id or 0, stage="Sourced",
                                  stage_entered_at=clock(), created_at=clock(), status=status)
        session.add(application)
        session.flush()
        return candidate.id or 0, application.id or 0


def activities(session: Session, kind: str) -> list[Activity]:
    return list(session.exec(select(Activity).where(Activity.kind == kind).order_by(col(Activity.id))))


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "block", "message"), [
    ({"title": "   "}, "title", "Enter the position's title"),
    ({"title": "T" * 151}, "title", "under 150"),
    ({"hiring_manager_slack_id": "hank"}, "hiring_manager", "from the list"),
    ({"location": "L" * 201}, "location", "under 200"),
    ({"required_skills": ",".join(f"skill {i}" for i in range(31))}, "required_skills", "at most 30"),
    ({"required_skills": "Python, " + "x" * 51}, "required_skills", "under 50"),
    ({"fee_amount": "15000", "fee_currency": "EUR"}, "client_company", "enter the client company"),
    ({"client_company": "Globex", "fee_currency": "EUR"}, "fee_amount", "fee the client pays"),
    ({"client_company": "Globex", "fee_amount": "15000"}, "fee_currency", "currency"),
    ({"client_company": "Globex", "fee_amount": "12.5", "fee_currency": "EUR"}, "fee_amount", "whole number"),
    ({"client_company": "Globex", "fee_amount": "-3", "fee_currency": "EUR"}, "fee_amount", "more than zero"),
    ({"client_company": "Globex", "fee_amount": 0, "fee_currency": "EUR"}, "fee_amount", "more than zero"),
    ({"client_company": "Globex", "fee_amount": 15000, "fee_currency": "EURO"}, "fee_currency", "three-letter"),
])
def test_each_invalid_field_is_reported_under_its_block(overrides: dict[str, object], block: str,
                                                        message: str) -> None:
    with pytest.raises(PositionInvalid) as caught:
        validate_position(draft(**overrides))
    assert list(caught.value.errors) == [block]
    assert message in caught.value.errors[block]


def test_all_problems_are_reported_together() -> None:
    with pytest.raises(PositionInvalid) as caught:
        validate_position(draft(title="", hiring_manager_slack_id="nobody", fee_amount="abc"))
    assert set(caught.value.errors) == {"title", "hiring_manager", "fee_amount"}


def test_skills_are_tidied_and_deduplicated_case_insensitively() -> None:
    assert parse_skills(" Python ,python,  Machine   learning;SQL\nPYTHON, ,sql") == [
        "Python", "Machine learning", "SQL"]
    assert parse_skills(["Go", "go ", "Rust"]) == ["Go", "Rust"]
    assert parse_skills(None) == []


def test_a_client_position_keeps_fee_and_currency_and_an_in_house_one_neither() -> None:
    agency = validate_position(draft(client_company=" Globex  Corp ", fee_amount="15000", fee_currency="eur"))
    assert (agency.client_company, agency.fee_amount, agency.fee_currency) == ("Globex Corp", 15000, "EUR")
    # A currency chosen without fee or client is dropped: Slack cannot clear a static select.
    in_house = validate_position(draft(fee_currency="USD"))
    assert (in_house.client_company, in_house.fee_amount, in_house.fee_currency) == (None, None, None)


# --- create and edit -------------------------------------------------------------------------------


def test_create_stores_the_position_and_its_timeline_entry(db: Database, clock: Clock) -> None:
    position = new_position(db, clock, location=" Berlin ", required_skills="Python, python, SQL")
    with db.read() as session:
        stored = session.get(Position, position.id)
        created = activities(session, "position.created")
    assert stored is not None
    assert (stored.title, stored.location, stored.required_skills, stored.status) == (
        "Backend Engineer", "Berlin", ["Python", "SQL"], "open")
    assert stored.created_by_slack_id == RITA.user_id and stored.created_at == clock()
    assert [(a.actor, a.occurred_at, a.position_id) for a in created] == [(RITA.user_id, clock(), position.id)]


def test_a_repeated_submission_creates_one_position(db: Database, clock: Clock) -> None:
    first = new_position(db, clock, submission_key="V0001")
    clock.advance(seconds=1)
    again = new_position(db, clock, submission_key="V0001")
    other = new_position(db, clock, submission_key="V0002")
    assert again.id == first.id and other.id != first.id
    with db.read() as session:
        assert len(session.exec(select(Position)).all()) == 2
        assert len(activities(session, "position.created")) == 2


def test_employees_and_hiring_managers_cannot_create_or_change(db: Database, clock: Clock) -> None:
    for actor in (EMMA, HANK):
        with pytest.raises(AccessDenied), db.transaction() as session:
            create_position(session, actor=actor, title="Designer", now=clock())
    position = new_position(db, clock)
    with pytest.raises(AccessDenied), db.transaction() as session:
        update_position(session, actor=HANK, position_id=position.id or 0, title="Renamed", now=clock())
    with pytest.raises(AccessDenied), db.transaction() as session:
        reopen_position(session, actor=EMMA, position_id=position.id or 0, now=clock())
    with db.read() as session:
        assert [p.title for p in session.exec(select(Position))] == ["Backend Engineer"]


def test_invalid_input_stores_nothing(db: Database, clock: Clock) -> None:
    with pytest.raises(PositionInvalid), db.transaction() as session:
        create_position(session, actor=RITA, title="Designer", fee_amount="100", fee_currency="EUR", now=clock())
    with db.read() as session:
        assert session.exec(select(Position)).all() == [] and session.exec(select(Activity)).all() == []


def test_edit_records_what_changed_and_a_repeat_changes_nothing(db: Database, clock: Clock) -> None:
    position = new_position(db, clock, location="Berlin", required_skills="Python")
    opened_at = position.updated_at
    clock.advance(hours=1)
    fields: dict[str, Any] = dict(title="Senior Backend Engineer", hiring_manager_slack_id=HANK.user_id,
                                  location="Berlin", required_skills="Python, Go", status="open",
                                  seen_updated_at=opened_at)
    with db.transaction() as session:
        change = update_position(session, actor=ADA, position_id=position.id or 0, now=clock(), **fields)
    assert change.changed == ("title", "required_skills")
    with db.transaction() as session:
        repeat = update_position(session, actor=ADA, position_id=position.id or 0, now=clock(), **fields)
    assert repeat.changed == ()
    with db.read() as session:
        updated = activities(session, "position.updated")
        stored = session.get(Position, position.id)
    assert stored is not None and stored.title == "Senior Backend Engineer" and stored.updated_at == clock()
    assert len(updated) == 1 and updated[0].actor == ADA.user_id
    assert updated[0].payload["changes"]["required_skills"] == [["Python"], ["Python", "Go"]]


def test_an_edit_on_a_stale_form_is_refused(db: Database, clock: Clock) -> None:
    position = new_position(db, clock)
    opened_at = position.updated_at
    clock.advance(minutes=5)
    with db.transaction() as session:
        update_position(session, actor=ADA, position_id=position.id or 0, title="Platform Engineer", now=clock())
    with pytest.raises(PositionInvalid) as caught, db.transaction() as session:
        update_position(session, actor=RITA, position_id=position.id or 0, title="Data Engineer", now=clock(),
                        seen_updated_at=opened_at)
    assert "Someone changed this position" in caught.value.errors["title"]


def test_closing_from_the_edit_form(db: Database, clock: Clock) -> None:
    in_house = new_position(db, clock)
    with db.transaction() as session:
        change = update_position(session, actor=RITA, position_id=in_house.id or 0, title="Backend Engineer",
                                 hiring_manager_slack_id=HANK.user_id, status="closed", now=clock())
    assert change.changed == ("status",)
    assert (change.position.status, change.position.close_reason) == ("closed", "closed")

    agency = agency_position(db, clock)
    with pytest.raises(PositionInvalid) as caught, db.transaction() as session:
        update_position(session, actor=RITA, position_id=agency.id or 0, title="Backend Engineer",
                        hiring_manager_slack_id=HANK.user_id, client_company="Globex", fee_amount=15000,
                        fee_currency="EUR", status="closed", now=clock())
    assert "won or lost" in caught.value.errors["status"]


# --- who sees what ---------------------------------------------------------------------------------


def test_recruiters_see_all_hiring_managers_theirs_employees_nothing(db: Database, clock: Clock) -> None:
    mine = new_position(db, clock, title="Zookeeper")
    new_position(db, clock, title="Accountant", hiring_manager_slack_id="UOTHER01")
    closed = new_position(db, clock, title="Archivist", hiring_manager_slack_id=HANK.user_id)
    with db.transaction() as session:
        reopen_position(session, actor=RITA, position_id=closed.id or 0, now=clock())
        update_position(session, actor=RITA, position_id=closed.id or 0, title="Archivist",
                        hiring_manager_slack_id=HANK.user_id, status="closed", now=clock())

    with db.read() as session:
        everything = positions_visible_to(session, actor=RITA)
        hanks = positions_visible_to(session, actor=HANK)
        with pytest.raises(AccessDenied) as refused:
            positions_visible_to(session, actor=EMMA)
    # Open positions first, then by title.
    assert [i.position.title for i in everything.items] == ["Accountant", "Zookeeper", "Archivist"]
    assert everything.can_manage and everything.total == 3
    assert [i.position.id for i in hanks.items] == [mine.id, closed.id] and not hanks.can_manage
    assert "/refer" in str(refused.value)


def test_positions_are_found_by_number_or_title(db: Database, clock: Clock) -> None:
    backend = new_position(db, clock, title="Backend Engineer")
    new_position(db, clock, title="Frontend Engineer")
    with db.read() as session:
        assert [p.id for p in positions_matching(session, actor=RITA, reference=f"#{backend.id}")] == [backend.id]
        assert [p.id for p in positions_matching(session, actor=RITA, reference="backend engineer")] == [backend.id]
        assert len(positions_matching(session, actor=RITA, reference="engineer")) == 2
        for nothing in ("Astronaut", "%"):  # a typed % is a character, not a wildcard
            with pytest.raises(NotFound):
                positions_matching(session, actor=RITA, reference=nothing)
        with pytest.raises(AccessDenied):
            positions_matching(session, actor=HANK, reference="Backend")


# --- closing ---------------------------------------------------------------------------------------


def test_won_needs_a_placed_candidate_with_an_application(db: Database, clock: Clock) -> None:
    position = agency_position(db, clock)
    elsewhere = agency_position(db, clock, title="Designer")
    outsider, _ = add_candidate(db, clock, elsewhere, name="Max Mustermann")
    placed, application_id = add_candidate(db, clock, position)

    for candidate_id, message in ((None, "Choose the candidate"), (outsider, "no application to this position")):
        with pytest.raises(PositionInvalid) as caught, db.transaction() as session:
            close_position(session, actor=RITA, position_id=position.id or 0, outcome="won", now=clock(),
                           placed_candidate_id=candidate_id, fee_amount=18000, fee_currency="EUR")
        assert message in caught.value.errors["placed_candidate"]
    with pytest.raises(PositionInvalid) as caught, db.transaction() as session:
        close_position(session, actor=RITA, position_id=position.id or 0, outcome="won", now=clock(),
                       placed_candidate_id=placed, fee_amount=None, fee_currency="EUR")
    assert set(caught.value.errors) == {"fee_amount"}

    clock.advance(days=30)
    with db.transaction() as session:
        change = close_position(session, actor=RITA, position_id=position.id or 0, outcome="won", now=clock(),
                                placed_candidate_id=placed, fee_amount="18000", fee_currency="EUR")
    assert change.changed == ("status",)
    with db.transaction() as session:
        again = close_position(session, actor=RITA, position_id=position.id or 0, outcome="won", now=clock(),
                               placed_candidate_id=placed, fee_amount="18000", fee_currency="EUR")
    assert again.changed == (), "a double click closes once"
    with db.read() as session:
        stored = session.get(Position, position.id)
        closed = activities(session, "position.closed")
    assert stored is not None
    assert (stored.status, stored.close_reason, stored.placed_candidate_id) == ("closed", "won", placed)
    assert (stored.fee_amount, stored.fee_currency) == (18000, "EUR")
    assert len(closed) == 1
    assert (closed[0].actor, closed[0].occurred_at, closed[0].candidate_id, closed[0].application_id) == (
        RITA.user_id, clock(), placed, application_id)
    assert closed[0].payload == {"outcome": "won", "placed_candidate_id": placed, "fee_amount": 18000,
                                 "fee_currency": "EUR"}


def test_lost_then_reopened(db: Database, clock: Clock) -> None:
    position = agency_position(db, clock)
    with db.transaction() as session:
        close_position(session, actor=RITA, position_id=position.id or 0, outcome="lost", now=clock(),
                       note="Client hired internally")
    with pytest.raises(PositionInvalid) as caught, db.transaction() as session:
        close_position(session, actor=RITA, position_id=position.id or 0, outcome="won", now=clock(),
                       placed_candidate_id=1, fee_amount=1, fee_currency="EUR")
    assert "already closed (lost)" in caught.value.errors["placed_candidate"]
    clock.advance(days=2)
    with db.transaction() as session:
        reopened = reopen_position(session, actor=ADA, position_id=position.id or 0, now=clock())
        repeat = reopen_position(session, actor=ADA, position_id=position.id or 0, now=clock())
    assert reopened.changed == ("status",) and repeat.changed == ()
    with db.read() as session:
        stored = session.get(Position, position.id)
        kinds = [(a.kind, a.actor) for a in session.exec(select(Activity).order_by(col(Activity.id)))]
        closed = activities(session, "position.closed")[0]
    assert stored is not None and (stored.status, stored.close_reason) == ("open", None)
    assert kinds == [("position.created", RITA.user_id), ("position.closed", RITA.user_id),
                     ("position.reopened", ADA.user_id)]
    assert closed.payload == {"outcome": "lost", "note": "Client hired internally"}


def test_an_in_house_position_closes_without_a_fee(db: Database, clock: Clock) -> None:
    position = new_position(db, clock)
    with pytest.raises(PositionInvalid) as caught, db.transaction() as session:
        close_position(session, actor=RITA, position_id=position.id or 0, outcome="won", now=clock(),
                       placed_candidate_id=add_candidate(db, clock, position)[0], fee_amount=500, fee_currency="EUR")
    assert "Only client positions" in caught.value.errors["fee_amount"]
    agency = agency_position(db, clock)
    with pytest.raises(PositionInvalid) as caught, db.transaction() as session:
        close_position(session, actor=RITA, position_id=agency.id or 0, outcome="closed", now=clock())
    assert "won or lost" in caught.value.errors["status"]


def test_position_candidates_lists_applications(db: Database, clock: Clock) -> None:
    position = agency_position(db, clock)
    add_candidate(db, clock, position, name="Zoe Zed")
    add_candidate(db, clock, position, name="Adam Ant", status="rejected")
    with db.read() as session:
        everyone = position_candidates(session, actor=RITA, position_id=position.id or 0)
        open_only = position_candidates(session, actor=RITA, position_id=position.id or 0, open_only=True)
    assert [c.candidate_name for c in everyone.candidates] == ["Adam Ant", "Zoe Zed"] and everyone.total == 2
    assert [c.candidate_name for c in open_only.candidates] == ["Zoe Zed"] and open_only.total == 1


# --- agency: consent and submission to the client --------------------------------------------------


def test_submission_to_the_client_follows_the_consent_ledger(db: Database, clock: Clock) -> None:
    position = agency_position(db, clock)
    candidate_id, application_id = add_candidate(db, clock, position)

    def submit() -> object:
        with db.transaction() as session:
            return submit_to_client(session, actor=RITA, application_id=application_id, now=clock())

    with pytest.raises(ClientSubmissionRefused, match="no consent on record"):
        submit()

    with db.transaction() as session:
        consent = record_client_submission_consent(
            session, actor=RITA, candidate_id=candidate_id, evidence="Email of 16 Nov: happy to be put forward",
            now=clock(), expires_at=clock() + timedelta(days=90), position_id=position.id)
    assert (consent.recorded_by_slack_id, consent.recorded_at, consent.kind) == (
        RITA.user_id, clock(), "client_submission")

    clock.advance(hours=1)
    first = submit()
    again = submit()
    assert not first.repeated and again.repeated  # type: ignore[attr-defined]
    with db.read() as session:
        submitted = activities(session, "client.submitted")
    assert len(submitted) == 1
    assert (submitted[0].actor, submitted[0].occurred_at, submitted[0].candidate_id, submitted[0].position_id) == (
        RITA.user_id, clock(), candidate_id, position.id)
    assert submitted[0].payload["client"] == "Globex"

    clock.advance(days=1)
    with db.transaction() as session:
        record_client_submission_consent(session, actor=ADA, candidate_id=candidate_id, action="revoked",
                                         evidence="Phone call: no longer looking", now=clock())
    with pytest.raises(ClientSubmissionRefused, match="withdrew"):
        submit()
    with db.read() as session:
        assert [c.action for c in session.exec(select(Consent).order_by(col(Consent.id)))] == ["granted", "revoked"]


def test_an_expired_consent_no_longer_allows_submission(db: Database, clock: Clock) -> None:
    position = agency_position(db, clock)
    candidate_id, application_id = add_candidate(db, clock, position)
    with db.transaction() as session:
        record_client_submission_consent(session, actor=RITA, candidate_id=candidate_id, evidence="Signed form",
                                         now=clock(), expires_at=clock() + timedelta(days=30))
    clock.advance(days=31)
    with pytest.raises(ClientSubmissionRefused, match="expired"), db.transaction() as session:
        submit_to_client(session, actor=RITA, application_id=application_id, now=clock())


def test_submission_needs_an_open_client_position_and_a_recruiter(db: Database, clock: Clock) -> None:
    in_house = new_position(db, clock)
    candidate_id, application_id = add_candidate(db, clock, in_house)
    with db.transaction() as session:
        record_client_submission_consent(session, actor=RITA, candidate_id=candidate_id, evidence="Signed form",
                                         now=clock())
    with pytest.raises(ClientSubmissionRefused, match="not a client position"), db.transaction() as session:
        submit_to_client(session, actor=RITA, application_id=application_id, now=clock())
    with pytest.raises(AccessDenied), db.transaction() as session:
        submit_to_client(session, actor=HANK, application_id=application_id, now=clock())
    agency = agency_position(db, clock)
    with db.transaction() as session:
        session.add(Application(candidate_id=candidate_id, position_id=agency.id or 0, stage="Sourced",
                                stage_entered_at=clock(), created_at=clock()))
    with db.transaction() as session:
        close_position(session, actor=RITA, position_id=agency.id or 0, outcome="lost", now=clock())
        application = session.exec(select(Application).where(Application.position_id == agency.id)).one()
    with pytest.raises(ClientSubmissionRefused, match="closed"), db.transaction() as session:
        submit_to_client(session, actor=RITA, application_id=application.id or 0, now=clock())


def test_consent_needs_evidence_and_a_future_expiry_and_is_not_repeated(db: Database, clock: Clock) -> None:
    position = agency_position(db, clock)
    candidate_id, _ = add_candidate(db, clock, position)
    with pytest.raises(PositionInvalid) as caught, db.transaction() as session:
        record_client_submission_consent(session, actor=RITA, candidate_id=candidate_id, evidence="  ",
                                         now=clock(), expires_at=clock() - timedelta(days=1))
    assert set(caught.value.errors) == {"evidence", "expires_at"}
    with pytest.raises(AccessDenied), db.transaction() as session:
        record_client_submission_consent(session, actor=EMMA, candidate_id=candidate_id, evidence="Trust me",
                                         now=clock())
    for _ in range(2):
        with db.transaction() as session:
            record_client_submission_consent(session, actor=RITA, candidate_id=candidate_id,
                                             evidence="Signed form", now=clock())
    with db.read() as session:
        assert len(session.exec(select(Consent)).all()) == 1
        assert len(activities(session, "consent.granted")) == 1
