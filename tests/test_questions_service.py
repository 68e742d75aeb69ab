"""The query tools behind questions, on both databases: stale, pipeline, search, status, my work, access.

Time is Thursday 2026-11-19 15:00 UTC; the asker is in Berlin, so "this week" began on Monday 16 November
00:00 CET = 2026-11-15 23:00 UTC. Default SLAs: Phone Screen 5 days, Interview 10, Offer 5, Sourced 7.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.access import AccessDenied, Actor, Role
from bot.contact import name_key
from bot.nlu import (
    ASKER,
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
)
from bot.services.candidates import NotFound
from bot.services.metrics import MetricAnswer
from bot.services.questions import (
    answer_my_referrals,
    answer_my_tasks,
    answer_overdue,
    answer_pipeline,
    answer_question,
    answer_search,
    answer_stale,
    answer_status,
    build_vocabulary,
    nudge_owner,
    snooze_stale,
)
from bot.services.timeline import record_activity
from bot.workspace import WorkspaceConfig, parse_workspace_config
from storage.db import Database
from storage.models import Activity, Application, Candidate, Position, Referral, Task
from tests.conftest import WORKSPACE

NOW = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
THIS_WEEK = TimeRange(datetime(2026, 11, 15, 23, 0, tzinfo=UTC), NOW)
OCTOBER = TimeRange(datetime(2026, 9, 30, 22, 0, tzinfo=UTC), datetime(2026, 10, 31, 23, 0, tzinfo=UTC))
CONFIG = parse_workspace_config(WORKSPACE)

RECRUITER = Actor("URECRUIT1", frozenset({Role.RECRUITER, Role.EMPLOYEE}))
OTHER_RECRUITER = Actor("URECRUIT2", frozenset({Role.RECRUITER, Role.EMPLOYEE}))
MANAGER = Actor("UHIRING01", frozenset({Role.EMPLOYEE}))
EMPLOYEE = Actor("UEMPLOY01", frozenset({Role.EMPLOYEE}))


def named(session: Session, name: str) -> Candidate:
    return session.exec(select(Candidate).where(Candidate.full_name == name)).one()


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


@dataclass
class World:
    """Rows as the services would leave them: every change is on the timeline, which keeps last_activity_at
    and the search index up to date."""

    session: Session

    def position(self, title: str, *, manager: str | None = None) -> Position:
        position = Position(title=title, hiring_manager_slack_id=manager, created_at=ago(days=400),
                            updated_at=ago(days=400))
        self.session.add(position)
        self.session.flush()
        return position

    def candidate(self, name: str, *, at: datetime | None = None, skills: Sequence[str] = (),
                  location: str | None = None, seniority: str | None = None, source: str = "sourced",
                  pool: str | None = None, owner: str | None = None, email: str | None = None) -> Candidate:
        at = at or ago(days=300)
        candidate = Candidate(full_name=name, name_key=name_key(name), skills=list(skills), location=location,
                              seniority=seniority, source=source, talent_pool=pool, owner_slack_id=owner,
                              email=email, email_normalized=email.casefold() if email else None,
                              created_at=at, updated_at=at)
        self.session.add(candidate)
        self.session.flush()
        record_activity(self.session, actor="URECRUIT1", kind="candidate.created", now=at, candidate_id=candidate.id)
        return candidate

    def apply(self, candidate: Candidate, position: Position, *, stage: str, at: datetime,
              status: str = "open") -> Application:
        application = Application(candidate_id=candidate.id or 0, position_id=position.id or 0, stage=stage,
                                  stage_entered_at=at, status=status, created_at=at)
        self.session.add(application)
        self.session.flush()
        record_activity(self.session, actor="URECRUIT1", kind="application.created", now=at,
                        candidate_id=candidate.id, application_id=application.id, position_id=position.id,
                        payload={"stage": stage, "position": position.title})
        return application

    def note(self, candidate: Candidate, text: str, *, at: datetime) -> None:
        record_activity(self.session, actor="URECRUIT1", kind="note.added", now=at, candidate_id=candidate.id,
                        payload={"text": text})

    def move(self, application: Application, to: str, *, at: datetime) -> None:
        record_activity(self.session, actor="URECRUIT1", kind="stage.moved", now=at,
                        candidate_id=application.candidate_id, application_id=application.id,
                        position_id=application.position_id, payload={"from": application.stage, "to": to})
        application.stage = to
        application.stage_entered_at = at


@pytest.fixture
def world(db: Database) -> Iterator[World]:
    with db.transaction() as session:
        yield World(session)


def stale(db: Database, actor: Actor = RECRUITER, config: WorkspaceConfig = CONFIG, **args: object):
    with db.read() as session:
        return answer_stale(session, actor=actor, args=StaleArgs(**args), config=config, now=NOW)  # type: ignore[arg-type]


def names(answer: object) -> list[str]:
    return [getattr(i, "candidate_name", None) or i.name for i in answer.items]  # type: ignore[attr-defined]


@pytest.fixture
def stale_world(db: Database) -> None:
    with db.transaction() as session:
        w = World(session)
        backend = w.position("Backend Engineer", manager=MANAGER.user_id)
        design = w.position("Product Designer")
        ada = w.candidate("Ada Old", owner=RECRUITER.user_id)
        w.apply(ada, backend, stage="Interview", at=ago(days=40))            # stale since 30 days: in October
        bob = w.candidate("Bob New", owner=RECRUITER.user_id)
        w.apply(bob, backend, stage="Interview", at=ago(days=11))            # stale since yesterday
        cy = w.candidate("Cy Fresh", owner=RECRUITER.user_id)
        w.apply(cy, backend, stage="Interview", at=ago(days=9))              # within the 10-day SLA
        dee = w.candidate("Dee Screen", owner=OTHER_RECRUITER.user_id)
        w.apply(dee, design, stage="Phone Screen", at=ago(days=6))           # 5-day SLA: stale since yesterday
        eve = w.candidate("Eve Snoozed")
        snoozed = w.apply(eve, design, stage="Interview", at=ago(days=30))
        snoozed.stale_snoozed_until = NOW + timedelta(days=2)
        fay = w.candidate("Fay Rejected")
        w.apply(fay, design, stage="Rejected", at=ago(days=60), status="rejected")
        gus = w.candidate("Gus Legacy")
        w.apply(gus, design, stage="Technical Test", at=ago(days=8))         # not in the config: 7 days
        # Touched recently through another application: every open application of the candidate counts as touched.
        hal = w.candidate("Hal Touched")
        w.apply(hal, design, stage="Interview", at=ago(days=30))
        w.note(hal, "Called, will decide Monday", at=ago(days=1))


def test_stale_now_lists_each_open_application_past_its_stage_sla(db: Database, stale_world: None) -> None:
    answer = stale(db)
    assert names(answer) == ["Ada Old", "Bob New", "Gus Legacy", "Dee Screen"], "longest untouched first"
    assert answer.total == 4
    ada = answer.items[0]
    assert (ada.stage, ada.days_since_touch, ada.stale_since) == ("Interview", 40, ago(days=30))
    assert ada.last_activity_kind == "application.created" and ada.last_activity_at == ago(days=40)
    assert not any(item.new_in_range for item in answer.items), "no time range, nothing is 'new'"


def test_this_week_is_stale_now_with_those_gone_stale_since_monday_marked(db: Database, stale_world: None) -> None:
    answer = stale(db, time_range=THIS_WEEK)
    assert names(answer) == ["Ada Old", "Bob New", "Gus Legacy", "Dee Screen"]
    assert {i.candidate_name for i in answer.items if i.new_in_range} == {"Bob New", "Gus Legacy", "Dee Screen"}
    assert answer.since == THIS_WEEK.start


def test_a_past_range_keeps_those_already_stale_by_its_end(db: Database, stale_world: None) -> None:
    answer = stale(db, time_range=OCTOBER)
    assert names(answer) == ["Ada Old"]
    assert answer.items[0].new_in_range, "Ada went stale on 20 October"


def test_filters_by_stage_position_owner_and_age(db: Database, stale_world: None) -> None:
    assert names(stale(db, stage="Phone Screen")) == ["Dee Screen"]
    assert names(stale(db, position="backend engineer")) == ["Ada Old", "Bob New"]
    assert names(stale(db, owner=ASKER)) == ["Ada Old", "Bob New"]
    assert names(stale(db, owner=OTHER_RECRUITER.user_id)) == ["Dee Screen"]
    # "stuck over 2 weeks" replaces the SLAs: Eve is snoozed, so only Ada.
    assert names(stale(db, older_than=timedelta(days=14))) == ["Ada Old"]
    with pytest.raises(NotFound):
        stale(db, position="Astronaut")


def test_stale_pages_and_counts_everything(db: Database, stale_world: None) -> None:
    with db.read() as session:
        first = answer_stale(session, actor=RECRUITER, args=StaleArgs(), config=CONFIG, now=NOW, limit=3)
        rest = answer_stale(session, actor=RECRUITER, args=StaleArgs(), config=CONFIG, now=NOW, limit=3, offset=3)
    assert (first.total, len(first.items), first.has_more) == (4, 3, True)
    assert (names(rest), rest.has_more) == (["Dee Screen"], False)
    assert [owner for owner, _ in first.by_owner()] == [RECRUITER.user_id, None]


def test_who_sees_stale_candidates(db: Database, stale_world: None) -> None:
    with pytest.raises(AccessDenied, match="my referrals"):
        stale(db, actor=EMPLOYEE)
    # The hiring manager of Backend Engineer sees that position's candidates only.
    assert names(stale(db, actor=MANAGER)) == ["Ada Old", "Bob New"]
    with pytest.raises(NotFound):
        stale(db, actor=MANAGER, position="Product Designer")


def test_nudge_and_snooze_are_recorded_but_do_not_reset_the_clock(db: Database, stale_world: None) -> None:
    bob = stale(db).items[1]
    with db.transaction() as session:
        nudge = nudge_owner(session, actor=OTHER_RECRUITER, application_id=bob.application_id, now=NOW)
    assert (nudge.owner_slack_id, nudge.days_since_touch, nudge.repeated) == (RECRUITER.user_id, 11, False)
    with db.transaction() as session:
        again = nudge_owner(session, actor=OTHER_RECRUITER, application_id=bob.application_id,
                            now=NOW + timedelta(hours=2))
    assert again.repeated
    after = stale(db)
    assert "Bob New" in names(after), "a nudge is not work on the candidate"
    assert after.items[1].last_activity_kind == "application.created"

    with db.transaction() as session:
        snooze = snooze_stale(session, actor=RECRUITER, application_id=bob.application_id, now=NOW)
    assert snooze.until == NOW + timedelta(days=7)
    assert "Bob New" not in names(stale(db))
    with db.read() as session:
        kinds = [a.kind for a in session.exec(select(Activity).where(Activity.application_id == bob.application_id))]
    assert kinds.count("stale.nudged") == 1 and kinds.count("stale.snoozed") == 1


def test_only_recruiters_and_the_hiring_manager_may_nudge(db: Database, stale_world: None) -> None:
    dee = stale(db).items[-1]
    with db.transaction() as session, pytest.raises(AccessDenied):
        nudge_owner(session, actor=MANAGER, application_id=dee.application_id, now=NOW)
    gus = stale(db).items[2]
    with db.transaction() as session, pytest.raises(AccessDenied, match="Nobody owns"):
        nudge_owner(session, actor=RECRUITER, application_id=gus.application_id, now=NOW)


# --- pipeline ---------------------------------------------------------------------------------------


def test_pipeline_lists_and_counts_by_stage(db: Database, stale_world: None) -> None:
    with db.read() as session:
        everyone = answer_pipeline(session, actor=RECRUITER, args=PipelineArgs(), config=CONFIG, now=NOW)
        interview = answer_pipeline(session, actor=RECRUITER, args=PipelineArgs(stage="interview",
                                                                                position="Backend Engineer"),
                                    config=CONFIG, now=NOW)
        count = answer_pipeline(session, actor=RECRUITER, args=PipelineArgs(stage="Phone Screen", count_only=True),
                                config=CONFIG, now=NOW)
        managed = answer_pipeline(session, actor=MANAGER, args=PipelineArgs(), config=CONFIG, now=NOW)
    assert everyone.stage_counts == [("Phone Screen", 1), ("Interview", 5), ("Technical Test", 1)]
    assert everyone.total == 7 and [i.stage for i in everyone.items][:2] == ["Phone Screen", "Interview"]
    assert names(interview) == ["Ada Old", "Bob New", "Cy Fresh"]
    assert interview.items[0].days_in_stage == 40
    assert (count.total, count.items, count.has_more) == (1, [], False)
    assert managed.total == 3
    with pytest.raises(AccessDenied), db.read() as session:
        answer_pipeline(session, actor=EMPLOYEE, args=PipelineArgs(), config=CONFIG, now=NOW)


# --- search -----------------------------------------------------------------------------------------


def search(db: Database, actor: Actor = RECRUITER, **args: object):
    with db.read() as session:
        return answer_search(session, actor=actor, args=SearchArgs(**args), config=CONFIG, now=NOW)  # type: ignore[arg-type]


@pytest.fixture
def people(db: Database) -> None:
    with db.transaction() as session:
        w = World(session)
        backend = w.position("Backend Engineer", manager=MANAGER.user_id)
        w.position("Data Analyst")
        jane = w.candidate("Jane Doe", skills=["Python", "SQL"], location="Berlin", seniority="senior",
                           source="referral", email="jane@example.com")
        w.apply(jane, backend, stage="Interview", at=ago(days=3))
        w.candidate("Zoë Müller", skills=["Node.js", "SQL"], location="Munich", pool="Silver Medalists")
        w.candidate("Jan Novak", skills=["Go"], location="Berlin", seniority="junior")
        mo = w.candidate("Mo Salah", skills=["Python"], location="London", source="agency")
        w.note(mo, "Great at Kubernetes migrations; would move to Berlin", at=ago(days=2))


def test_search_by_skill_location_and_filters(db: Database, people: None) -> None:
    assert names(search(db, skills=("python",))) == ["Mo Salah", "Jane Doe"], "newest first"
    assert names(search(db, skills=("SQL",), locations=("berlin",))) == ["Jane Doe"]
    assert names(search(db, skills=("Python",), source="referral", seniority="Senior")) == ["Jane Doe"]
    assert names(search(db, locations=("Berlin",))) == ["Jan Novak", "Jane Doe"]
    assert names(search(db, pool="silver medalists")) == ["Zoë Müller"]
    assert names(search(db, stage="Interview", position="Backend Engineer")) == ["Jane Doe"]
    assert names(search(db, skills=("node.js",))) == ["Zoë Müller"]
    assert names(search(db, locations=("Munich", "berlin"))) == ["Jan Novak", "Zoë Müller", "Jane Doe"]
    assert names(search(db, skills=("Python",), locations=("Remote (EU)",))) == []


def test_search_reads_names_notes_and_titles_with_prefixes_and_accents(db: Database, people: None) -> None:
    assert names(search(db, text="Jan")) == ["Jan Novak", "Jane Doe"], "a word is a prefix"
    assert names(search(db, text="jane do")) == ["Jane Doe"]
    assert names(search(db, text="Zoe Muller")) == ["Zoë Müller"], "accents are optional"
    assert names(search(db, text="kubernetes")) == ["Mo Salah"], "notes are searchable"
    assert names(search(db, text="backend")) == ["Jane Doe"], "so are the titles of their positions"


@pytest.mark.parametrize("hostile", ['" OR *', "jane AND NOT doe", "NEAR(a b)", "python:*", "');--", "ü*"])
def test_search_text_is_never_read_as_query_syntax(db: Database, people: None, hostile: str) -> None:
    search(db, text=hostile)
    search(db, skills=(hostile,))


def test_hiring_managers_search_their_positions_candidates_only(db: Database, people: None) -> None:
    assert names(search(db, actor=MANAGER, skills=("SQL",))) == ["Jane Doe"]
    with pytest.raises(AccessDenied):
        search(db, actor=EMPLOYEE, text="jane")


def test_search_pages_with_a_capped_count(db: Database, people: None) -> None:
    with db.read() as session:
        first = answer_search(session, actor=RECRUITER, args=SearchArgs(), config=CONFIG, now=NOW, limit=3)
    assert (first.total, len(first.items), first.has_more, first.capped) == (4, 3, True, False)


# --- status -----------------------------------------------------------------------------------------


def status(db: Database, actor: Actor = RECRUITER, **args: object):
    with db.read() as session:
        return answer_status(session, actor=actor, args=StatusArgs(**args), config=CONFIG, now=NOW)  # type: ignore[arg-type]


def test_status_finds_one_person_by_name_or_email(db: Database, people: None) -> None:
    card = status(db, name="jane doe").card
    assert card is not None and card.name == "Jane Doe" and card.can_open
    assert [(a.position_title, a.stage, a.days_in_stage) for a in card.applications] == [
        ("Backend Engineer", "Interview", 3)]
    assert card.recent and card.recent[0].kind == "application.created"
    assert status(db, email="JANE@example.com").card == card
    assert status(db, name="Zoe Muller").card is not None, "the exact folded name"
    assert status(db, name="Mo Sal").card is not None, "else name prefixes"


def test_status_asks_which_one_when_several_match(db: Database, people: None) -> None:
    with db.transaction() as session:
        World(session).candidate("Jane Doe", location="Paris")
    answer = status(db, name="Jane Doe")
    assert answer.card is None
    assert [(c.name, c.detail.split(" · ")[0]) for c in answer.choices] == [("Jane Doe", "Paris"),
                                                                           ("Jane Doe", "Berlin")]
    nobody = status(db, name="Nobody Here")
    assert (nobody.card, nobody.choices) == (None, [])


def test_a_hiring_manager_sees_a_summary_of_their_own_candidates(db: Database, people: None) -> None:
    card = status(db, actor=MANAGER, name="Jane Doe").card
    assert card is not None and not card.can_open and card.recent == []
    assert status(db, actor=MANAGER, name="Mo Salah").card is None, "not one of their positions' candidates"


# --- my work ----------------------------------------------------------------------------------------


def test_my_tasks_and_overdue(db: Database, people: None) -> None:
    with db.transaction() as session:
        for title, due in [("Late", ago(days=2)), ("Today", NOW + timedelta(hours=3)),
                           ("Next month", NOW + timedelta(days=30))]:
            session.add(Task(title=title, assignee_slack_id=EMPLOYEE.user_id, due_at=due, created_at=ago(days=5)))
        session.add(Task(title="Someone else's", assignee_slack_id=RECRUITER.user_id, due_at=ago(days=1),
                         created_at=ago(days=5)))
    today = TimeRange(datetime(2026, 11, 18, 23, 0, tzinfo=UTC), NOW)
    with db.read() as session:
        mine = answer_my_tasks(session, actor=EMPLOYEE, args=TasksArgs(), config=CONFIG, now=NOW)
        due_today = answer_my_tasks(session, actor=EMPLOYEE, args=TasksArgs(today), config=CONFIG, now=NOW)
        overdue = answer_overdue(session, actor=EMPLOYEE, args=OverdueArgs(), config=CONFIG, now=NOW)
        theirs = answer_overdue(session, actor=OTHER_RECRUITER, args=OverdueArgs(owner=RECRUITER.user_id),
                                config=CONFIG, now=NOW)
        with pytest.raises(AccessDenied):
            answer_overdue(session, actor=EMPLOYEE, args=OverdueArgs(owner=RECRUITER.user_id), config=CONFIG,
                           now=NOW)
    assert [i.title for i in mine.items] == ["Late", "Today", "Next month"]
    assert [i.title for i in due_today.items] == ["Late", "Today"], "today runs to midnight, not to now"
    assert [(i.title, i.overdue) for i in overdue.items] == [("Late", True)]
    assert [i.title for i in theirs.items] == ["Someone else's"] and not theirs.asker_is_assignee


def test_anyone_sees_their_own_referrals_only(db: Database, people: None) -> None:
    with db.transaction() as session:
        jane = named(session, "Jane Doe")
        for number, (referrer, at) in enumerate([(EMPLOYEE.user_id, ago(days=3)), (EMPLOYEE.user_id, ago(days=40)),
                                                 (RECRUITER.user_id, ago(days=1))]):
            session.add(Referral(code=f"R-{number}", referrer_slack_id=referrer, candidate_id=jane.id or 0,
                                 relationship="Friend", note="", created_at=at, updated_at=at))
    with db.read() as session:
        mine = answer_my_referrals(session, actor=EMPLOYEE, args=ReferralsArgs(), config=CONFIG, now=NOW)
        this_week = answer_my_referrals(session, actor=EMPLOYEE, args=ReferralsArgs(THIS_WEEK), config=CONFIG,
                                        now=NOW)
    assert [i.code for i in mine.items] == ["R-0", "R-1"] and mine.total == 2
    assert [i.code for i in this_week.items] == ["R-0"]


# --- the search index and the vocabulary ------------------------------------------------------------


def test_the_document_follows_the_candidate_when_the_transaction_commits(db: Database, people: None) -> None:
    with db.transaction() as session:
        mo = named(session, "Mo Salah")
        mo.skills = ["Python", "Rust"]
        record_activity(session, actor="URECRUIT1", kind="candidate.updated", now=NOW, candidate_id=mo.id)
    assert names(search(db, skills=("rust",))) == ["Mo Salah"]
    with db.transaction() as session:
        mo = named(session, "Mo Salah")
        mo.status = "erased"
        record_activity(session, actor="URECRUIT1", kind="candidate.erased", now=NOW, candidate_id=mo.id)
    assert names(search(db, text="salah")) == []


def test_vocabulary_comes_from_config_positions_and_recent_candidates(db: Database, people: None) -> None:
    with db.read() as session:
        vocabulary = build_vocabulary(session, CONFIG)
    assert vocabulary.stages == tuple(CONFIG.pipeline.names)
    assert set(vocabulary.positions) == {"Backend Engineer", "Data Analyst"}
    assert {"Python", "SQL", "Node.js", "Go"} <= set(vocabulary.skills)
    assert set(vocabulary.locations) == {"Berlin", "Munich", "London"}
    assert vocabulary.pools == ("Silver Medalists",)


# --- numbers ----------------------------------------------------------------------------------------


def metric(db: Database, metric: Metric, actor: Actor = RECRUITER, time_range: TimeRange | None = None):
    with db.read() as session:
        answer = answer_question(session, actor=actor, question=ParsedQuestion(
            Intent.METRIC, MetricArgs(metric, time_range), True, 1.0), config=CONFIG, now=NOW, tz="Europe/Berlin")
    assert isinstance(answer, MetricAnswer)
    return answer


@pytest.fixture
def offers(db: Database) -> None:
    """Five applications through Offer in the last 90 days: 3 accepted (one of them hired, through a referral),
    1 rejected, 1 withdrawn; one more entered Offer long ago; one went back from Offer to Interview."""
    with db.transaction() as session:
        w = World(session)
        backend = w.position("Backend Engineer", manager=MANAGER.user_id)
        design = w.position("Product Designer")
        plan = [("Ann", backend, 30, 10, "Offer Accepted"), ("Ben", backend, 40, 20, "Offer Accepted"),
                ("Cat", design, 50, 30, "Offer Accepted"), ("Dan", design, 20, 5, "Rejected"),
                ("Eli", design, 60, 6, "Withdrawn"), ("Old", design, 400, 300, "Rejected"),
                ("Fox", design, 35, 12, "Interview")]
        for name, position, created_days_ago, offer_days_ago, after in plan:
            person = w.candidate(name, at=ago(days=created_days_ago + 1))
            application = w.apply(person, position, stage="Interview", at=ago(days=created_days_ago))
            w.move(application, "Offer", at=ago(days=offer_days_ago))
            w.move(application, after, at=ago(days=offer_days_ago - 2))
            if after in ("Rejected", "Withdrawn"):
                application.status = after.lower()
        ann = named(session, "Ann")
        hired = session.exec(select(Application).where(Application.candidate_id == ann.id)).one()
        hired.status, hired.hired_at = "hired", ago(days=3)
        session.add(Referral(code="R-ANN", referrer_slack_id=EMPLOYEE.user_id, candidate_id=ann.id or 0,
                             position_id=None, relationship="Friend", note="", created_at=ago(days=40),
                             updated_at=ago(days=40)))


def test_time_to_offer_is_the_median_from_application_to_offer(db: Database, offers: None) -> None:
    answer = metric(db, Metric.TIME_TO_OFFER)
    # Days from application to Offer: Ann 20, Ben 20, Cat 20, Dan 15, Eli 54, Fox 23; Old is outside 90 days.
    assert (answer.samples, answer.median_days) == (6, 20.0)
    assert metric(db, Metric.TIME_TO_OFFER, actor=MANAGER).samples == 2, "a hiring manager's positions only"


def test_offer_acceptance_counts_decisions_after_offer(db: Database, offers: None) -> None:
    answer = metric(db, Metric.OFFER_ACCEPTANCE_RATE)
    assert (answer.accepted, answer.declined, answer.rate) == (3, 2, 0.6), "a move back to Interview is neither"


def test_referral_hires_this_quarter(db: Database, offers: None) -> None:
    answer = metric(db, Metric.REFERRAL_HIRES)
    assert [(h.candidate_name, h.referrer_slack_id) for h in answer.hires] == [("Ann", EMPLOYEE.user_id)]
    assert answer.since == datetime(2026, 9, 30, 22, 0, tzinfo=UTC), "the quarter began 1 October in Berlin"
    with pytest.raises(AccessDenied):
        metric(db, Metric.REFERRAL_HIRES, actor=EMPLOYEE)
