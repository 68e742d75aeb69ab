"""Nurture sequences: enrolment, due steps sent once over real SMTP, and everything that stops a sequence."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.access import AccessDenied, Actor, Role
from bot.deps import Deps, build_deps
from bot.jobs import JOBS
from bot.services import engagement, nurture
from bot.services.engagement import InboundReply
from bot.services.nurture import NurtureRefused, Segment
from bot.services.outreach_mail import record_consent_revocation, record_unsubscribe
from bot.services.pipeline import move_stage
from bot.settings import Settings
from bot.workspace import ConfigError, WorkspaceConfig, parse_workspace_config
from storage.db import Database
from storage.models import (
    Application,
    Candidate,
    Consent,
    ConsentAction,
    ConsentKind,
    EmailMessage,
    NurtureEnrollment,
    NurtureSend,
    NurtureStatus,
    OutboxStatus,
    Position,
)
from tests.conftest import ADMIN, BOT_TOKEN, EMPLOYEE, RECRUITER, SIGNING_SECRET, WORKSPACE, Clock
from tests.harness import FakeSlack
from tests.harness.smtp import SmtpServer

INBOUND_SECRET = "inbound-secret"
RECRUITER_ACTOR = Actor(user_id=RECRUITER, roles=frozenset({Role.RECRUITER, Role.EMPLOYEE}))
EMPLOYEE_ACTOR = Actor(user_id=EMPLOYEE, roles=frozenset({Role.EMPLOYEE}))
STEPS = [{"template": "intro", "delay": "0d"}, {"template": "culture_video", "delay": "7d"},
         {"template": "check_in", "delay": "10d"}]
NURTURE_WORKSPACE: dict[str, Any] = {
    **WORKSPACE,
    "nurture": {"sequences": {
        "passive": {"steps": STEPS, "event": "the Berlin meetup",
                    "links": {"culture_video": "https://videos.acme.test/culture?x=1&y=2",
                              "careers": "https://acme.test/careers"}},
        "approved": {"steps": [{"template": "intro", "delay": "0d", "needs_approval": True},
                               {"template": "check_in", "delay": "1d"}]},
    }},
}


@pytest.fixture
def config() -> WorkspaceConfig:
    return parse_workspace_config(NURTURE_WORKSPACE)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def deps(slack: FakeSlack, database_url: str, config: WorkspaceConfig, db: Database, clock: Clock,
         smtp: SmtpServer) -> Deps:
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.base_url,
                        database_url=database_url, smtp_url=smtp.url(), smtp_from="Acme <jobs@acme.test>",
                        talentbot_public_url="https://bot.acme.test", talentbot_inbound_mail_secret=INBOUND_SECRET)
    return build_deps(settings, config, db=db, clock=clock)


def add_candidate(db: Database, clock: Clock, *, name: str = "Jane Doe", email: str = "jane@example.com",
                  consent: bool = True, **fields: Any) -> int:
    with db.transaction() as session:
        candidate = Candidate(full_name=name, name_key=name.lower(), email=email, email_normalized=email.lower(),
                              created_at=clock(), updated_at=clock(), **fields)
        session.add(candidate)
        session.flush()
        assert candidate.id is not None
        if consent:
            session.add(Consent(candidate_id=candidate.id, kind=ConsentKind.CONTACT, action=ConsentAction.GRANTED,
                                recorded_at=clock(), evidence="confirmed by referrer"))
        return candidate.id


def enroll(deps: Deps, candidate_id: int, sequence: str = "passive") -> int:
    with deps.db.transaction() as session:
        enrollment = nurture.enroll(session, actor=RECRUITER_ACTOR, candidate_id=candidate_id, sequence=sequence,
                                    config=deps.config, now=deps.clock())
        assert enrollment.id is not None
        return enrollment.id


def run_job(deps: Deps) -> str:
    return JOBS["nurture_steps"].run(deps)


def enrollment(db: Database, enrollment_id: int) -> NurtureEnrollment:
    with db.read() as session:
        row = session.get(NurtureEnrollment, enrollment_id)
        assert row is not None
        return row


def nurture_emails(db: Database) -> list[EmailMessage]:
    with db.read() as session:
        return list(session.exec(select(EmailMessage).where(EmailMessage.kind == nurture.EMAIL_KIND)
                                 .order_by(EmailMessage.id)).all())  # type: ignore[arg-type]


# --- config -------------------------------------------------------------------------------------------------


def test_default_sequence_is_the_six_step_playbook() -> None:
    default = parse_workspace_config(WORKSPACE).nurture.sequences["passive"]
    assert [s.template for s in default.steps] == ["intro", "culture_video", "event_invite", "role_article",
                                                   "check_in", "re_engagement"]
    assert sum((s.delay for s in default.steps), timedelta()) == timedelta(days=60)
    assert [s.needs_approval for s in default.steps] == [True, False, False, False, False, False]


def test_config_errors_name_the_dotted_key() -> None:
    bad = {**WORKSPACE, "nurture": {"sequences": {"passive": {"steps": [{"template": "nope", "delay": "1d"},
                                                                        {"template": "intro", "delay": "soon"}]}}}}
    with pytest.raises(ConfigError) as error:
        parse_workspace_config(bad)
    keys = dict(error.value.problems)
    assert "no template prompts/nurture/nope.subject.j2" in keys["nurture.sequences.passive.steps[0].template"]
    assert "duration" in keys["nurture.sequences.passive.steps[1].delay"]
    with pytest.raises(ConfigError) as error:
        parse_workspace_config({**WORKSPACE, "nurture": {"cadence": 2}})
    assert error.value.problems == [("nurture.cadence", "unknown key")]


# --- sending ------------------------------------------------------------------------------------------------


def test_due_steps_are_mailed_once_each_with_tracking_and_footer(deps: Deps, clock: Clock, smtp: SmtpServer) -> None:
    candidate_id = add_candidate(deps.db, clock)
    enrollment_id = enroll(deps, candidate_id)

    assert "1 emails queued" in run_job(deps)
    first = smtp.wait_for(1)[0]
    assert first.rcpt_tos == ["jane@example.com"]
    assert first.message["Subject"] == "Jane, a hello from Acme"
    assert first.message["X-Talentbot-Sequence"] == "passive; step=1"
    assert first.message["List-Unsubscribe"].startswith("<https://bot.acme.test/unsubscribe/")
    text, html = first.part("plain"), first.part("html")
    # The careers link goes through the click tracker; the raw URL is not in the email.
    assert "https://bot.acme.test/e/c/" in text and "https://acme.test/careers" not in text
    assert "https://bot.acme.test/e/o/" in html and ".gif" in html

    # Nothing else is due until the next step's delay has passed; running again sends nothing.
    run_job(deps)
    clock.advance(days=6, hours=23)
    run_job(deps)
    assert len(smtp.received) == 1
    clock.advance(hours=2)
    run_job(deps)
    second = smtp.wait_for(2)[1]
    assert second.message["Subject"] == "How we work at Acme, in three minutes"
    with deps.db.read() as session:
        send = session.exec(select(NurtureSend).where(NurtureSend.step == 1)).one()
    # Only the links the email really carried may be redirected to.
    assert send.links == ["https://videos.acme.test/culture?x=1&y=2"]

    clock.advance(days=10)
    run_job(deps)
    clock.advance(days=30)
    run_job(deps)
    assert len(smtp.wait_for(3)) == 3
    assert enrollment(deps.db, enrollment_id).status == NurtureStatus.COMPLETED


def test_open_to_opportunities_runs_faster(deps: Deps, clock: Clock, smtp: SmtpServer) -> None:
    eager = add_candidate(deps.db, clock, name="Eager Eve", email="eve@example.com", open_to_opportunities=True)
    enroll(deps, eager)
    run_job(deps)
    clock.advance(days=3, hours=12)  # half of the 7 days
    run_job(deps)
    assert len(smtp.wait_for(2)) == 2


def test_crash_before_commit_takes_the_step_again_once(deps: Deps, clock: Clock, smtp: SmtpServer) -> None:
    for n in range(3):
        enroll(deps, add_candidate(deps.db, clock, name=f"Cand {n}", email=f"c{n}@example.com"))

    class Killed(Exception):
        pass

    # A process dies after claiming and queuing, before its commit: nothing of it remains.
    with pytest.raises(Killed), deps.db.transaction() as session:
        run = nurture.take_due_steps(session, settings=deps.settings, config=deps.config, now=clock())
        assert len(run.email_ids) == 3
        raise Killed
    assert nurture_emails(deps.db) == []

    # Crash after the commit, before the mailer sent anything: the restart sends each email once.
    with deps.db.transaction() as session:
        assert len(nurture.take_due_steps(session, settings=deps.settings, config=deps.config,
                                          now=clock()).email_ids) == 3
    with deps.db.transaction() as session:
        assert nurture.take_due_steps(session, settings=deps.settings, config=deps.config, now=clock()).email_ids == []
    assert str(deps.mailer.deliver_due()).startswith("sent 3")
    run_job(deps)
    assert str(deps.mailer.deliver_due()).startswith("sent 0")
    received = smtp.wait_for(3)
    assert sorted(r.rcpt_tos[0] for r in received) == ["c0@example.com", "c1@example.com", "c2@example.com"]
    assert len({r.message["Message-ID"] for r in received}) == 3


def test_overlapping_runs_take_disjoint_steps(deps: Deps, clock: Clock) -> None:
    """Two runs at once (two workers, or `talentbot jobs run` beside the scheduler): the second skips the rows the
    first holds (PostgreSQL: SKIP LOCKED) or waits for its commit (SQLite), and then finds nothing due."""
    import threading

    for n in range(3):
        enroll(deps, add_candidate(deps.db, clock, name=f"Cand {n}", email=f"c{n}@example.com"))
    taken: dict[str, int] = {}
    first_holds, second_done = threading.Event(), threading.Event()

    def take(name: str, hold: bool) -> None:
        with deps.db.transaction() as session:
            taken[name] = len(nurture.take_due_steps(session, settings=deps.settings, config=deps.config,
                                                     now=clock()).email_ids)
            if hold:
                first_holds.set()
                second_done.wait(timeout=1.0)  # SQLite: the second run waits for this commit
        if not hold:
            second_done.set()

    first = threading.Thread(target=take, args=("first", True))
    first.start()
    assert first_holds.wait(timeout=10)
    take("second", False)
    first.join()
    assert taken == {"first": 3, "second": 0}
    assert len(nurture_emails(deps.db)) == 3


def test_smtp_down_is_retried_with_backoff(deps: Deps, clock: Clock, smtp: SmtpServer) -> None:
    enroll(deps, add_candidate(deps.db, clock))
    smtp.stop()
    assert "1 emails queued" in run_job(deps)
    [email] = nurture_emails(deps.db)
    assert email.status == OutboxStatus.PENDING and email.attempts == 1 and email.next_attempt_at > clock()
    smtp.start()
    # Not before its back-off, and the step itself is not taken again.
    run_job(deps)
    assert str(deps.mailer.deliver_due()).startswith("sent 0")
    clock.advance(minutes=1)
    assert str(deps.mailer.deliver_due()).startswith("sent 1")
    assert len(smtp.wait_for(1)) == 1
    assert len(nurture_emails(deps.db)) == 1


# --- stopping -----------------------------------------------------------------------------------------------


def first_step_sent(deps: Deps, clock: Clock, smtp: SmtpServer) -> tuple[int, int]:
    candidate_id = add_candidate(deps.db, clock, owner_slack_id=RECRUITER)
    enrollment_id = enroll(deps, candidate_id)
    run_job(deps)
    smtp.wait_for(1)
    clock.advance(days=8)  # step 2 is due from here on
    return candidate_id, enrollment_id


def assert_stopped(deps: Deps, smtp: SmtpServer, enrollment_id: int, reason: str) -> None:
    run_job(deps)
    row = enrollment(deps.db, enrollment_id)
    assert (row.status, row.stop_reason) == (NurtureStatus.STOPPED, reason)
    assert len(smtp.received) == 1
    assert len(nurture_emails(deps.db)) == 1


def test_unsubscribe_mid_sequence_stops_it(deps: Deps, clock: Clock, smtp: SmtpServer) -> None:
    candidate_id, enrollment_id = first_step_sent(deps, clock, smtp)
    with deps.db.transaction() as session:
        record_unsubscribe(session, candidate_id=candidate_id, now=clock(), evidence="link in email")
    assert_stopped(deps, smtp, enrollment_id, "unsubscribed")


def test_consent_revocation_stops_it(deps: Deps, clock: Clock, smtp: SmtpServer) -> None:
    candidate_id, enrollment_id = first_step_sent(deps, clock, smtp)
    with deps.db.transaction() as session:
        record_consent_revocation(session, candidate_id=candidate_id, kind=ConsentKind.CONTACT, now=clock(),
                                  evidence="asked by phone", recorded_by_slack_id=RECRUITER)
    assert_stopped(deps, smtp, enrollment_id, "contact_consent_revoked")


def test_consent_that_expired_stops_it_at_the_next_step(deps: Deps, clock: Clock, smtp: SmtpServer) -> None:
    candidate_id, enrollment_id = first_step_sent(deps, clock, smtp)
    with deps.db.transaction() as session:
        # Recorded without going through the outreach service (an expiry): the job checks before each step.
        session.add(Consent(candidate_id=candidate_id, kind=ConsentKind.CONTACT, action=ConsentAction.GRANTED,
                            recorded_at=clock(), evidence="renewed", expires_at=clock() - timedelta(seconds=1)))
    assert_stopped(deps, smtp, enrollment_id, "contact_consent_expired")


def test_reply_stops_it_and_scores(deps: Deps, clock: Clock, smtp: SmtpServer) -> None:
    candidate_id, enrollment_id = first_step_sent(deps, clock, smtp)
    message_id = smtp.received[0].message["Message-ID"]
    with deps.db.transaction() as session:
        result = engagement.record_reply(session, reply=InboundReply(sender="someone@else.test",
                                                                     message_ids=(message_id,)),
                                         config=deps.config, now=clock())
    assert result is not None and result.candidate_id == candidate_id and result.score == 10
    assert_stopped(deps, smtp, enrollment_id, "replied")


def test_reply_matched_by_sender_address(deps: Deps, clock: Clock, smtp: SmtpServer) -> None:
    candidate_id, enrollment_id = first_step_sent(deps, clock, smtp)
    with deps.db.transaction() as session:
        result = engagement.record_reply(session, reply=InboundReply(sender="Jane <JANE@example.com>",
                                                                     message_ids=()),
                                         config=deps.config, now=clock())
        assert engagement.record_reply(session, reply=InboundReply(sender="nobody@example.com", message_ids=()),
                                       config=deps.config, now=clock()) is None
    assert result is not None and result.candidate_id == candidate_id
    assert_stopped(deps, smtp, enrollment_id, "replied")


def test_stage_change_stops_it(deps: Deps, clock: Clock, smtp: SmtpServer) -> None:
    candidate_id, enrollment_id = first_step_sent(deps, clock, smtp)
    with deps.db.transaction() as session:
        position = Position(title="Backend Engineer", created_at=clock(), updated_at=clock())
        session.add(position)
        session.flush()
        application = Application(candidate_id=candidate_id, position_id=position.id or 0, stage="Sourced",
                                  stage_entered_at=clock(), created_at=clock())
        session.add(application)
        session.flush()
        application_id = application.id or 0
    with deps.db.transaction() as session:
        move_stage(session, actor=RECRUITER_ACTOR, application_id=application_id, to_stage="Outreach",
                   config=deps.config, now=clock())
    assert_stopped(deps, smtp, enrollment_id, "stage_moved")


# --- approval -----------------------------------------------------------------------------------------------


def test_step_needing_approval_is_a_draft_until_approved(deps: Deps, clock: Clock, smtp: SmtpServer,
                                                          slack: FakeSlack) -> None:
    candidate_id = add_candidate(deps.db, clock, owner_slack_id=RECRUITER)
    enroll(deps, candidate_id, "approved")
    assert "1 drafts for approval" in run_job(deps)
    draft = slack.wait_for("chat.postMessage")
    assert "Nothing is sent until someone approves" in draft.args["text"]
    assert nurture_emails(deps.db) == [] and smtp.received == []
    send_id = int(draft.args["blocks"][-1]["elements"][0]["value"])

    with pytest.raises(AccessDenied), deps.db.transaction() as session:
        nurture.approve_step(session, actor=EMPLOYEE_ACTOR, send_id=send_id, reply_to=None, settings=deps.settings,
                             config=deps.config, now=clock())
    for _ in range(2):  # a double click is one email
        with deps.db.transaction() as session:
            nurture.approve_step(session, actor=RECRUITER_ACTOR, send_id=send_id, reply_to="rita@acme.test",
                                 settings=deps.settings, config=deps.config, now=clock())
    deps.mailer.deliver_due()
    [email] = smtp.wait_for(1)
    assert email.message["Reply-To"] == "rita@acme.test"
    assert len(nurture_emails(deps.db)) == 1


# --- enrolment ----------------------------------------------------------------------------------------------


def test_enrolment_rules(deps: Deps, clock: Clock) -> None:
    no_consent = add_candidate(deps.db, clock, name="No Consent", email="nc@example.com", consent=False)
    jane = add_candidate(deps.db, clock)
    with pytest.raises(AccessDenied), deps.db.transaction() as session:
        nurture.enroll(session, actor=EMPLOYEE_ACTOR, candidate_id=jane, sequence="passive", config=deps.config,
                       now=clock())
    with pytest.raises(NurtureRefused, match="consent"), deps.db.transaction() as session:
        nurture.enroll(session, actor=RECRUITER_ACTOR, candidate_id=no_consent, sequence="passive",
                       config=deps.config, now=clock())
    with pytest.raises(NurtureRefused, match="no nurture sequence called"), deps.db.transaction() as session:
        nurture.enroll(session, actor=RECRUITER_ACTOR, candidate_id=jane, sequence="weekly", config=deps.config,
                       now=clock())
    enroll(deps, jane)
    with pytest.raises(NurtureRefused, match="already in"):
        enroll(deps, jane)


def test_segment_enrolment_filters(deps: Deps, clock: Clock) -> None:
    berlin_py = add_candidate(deps.db, clock, name="Py Berlin", email="a@example.com", location="Berlin, DE",
                              skills=["Python", "SQL"], seniority="Senior", talent_pool="Backend")
    add_candidate(deps.db, clock, name="Go Berlin", email="b@example.com", location="Berlin", skills=["Go"],
                  seniority="Senior", talent_pool="Backend")
    add_candidate(deps.db, clock, name="Py Paris", email="c@example.com", location="Paris", skills=["python"],
                  seniority="Senior", talent_pool="Backend")
    add_candidate(deps.db, clock, name="Py Berlin NoConsent", email="d@example.com", location="Berlin",
                  skills=["python"], seniority="senior", talent_pool="Backend engineers", consent=False)
    segment = Segment(role_family="backend", skills=("python",), location="berlin", seniority="senior")
    with pytest.raises(AccessDenied), deps.db.transaction() as session:
        nurture.enroll_segment(session, actor=EMPLOYEE_ACTOR, sequence="passive", segment=segment,
                               config=deps.config, now=clock())
    with deps.db.transaction() as session:
        result = nurture.enroll_segment(session, actor=RECRUITER_ACTOR, sequence="passive", segment=segment,
                                        config=deps.config, now=clock())
    with deps.db.read() as session:
        enrolled = session.get(NurtureEnrollment, result.enrolled[0])
        assert enrolled is not None and enrolled.candidate_id == berlin_py
    assert len(result.enrolled) == 1 and result.skipped == {"no contact consent": 1}
    with deps.db.transaction() as session:
        again = nurture.enroll_segment(session, actor=RECRUITER_ACTOR, sequence="passive", segment=segment,
                                       config=deps.config, now=clock())
    assert again.enrolled == [] and again.skipped["already enrolled"] == 1
    # Engagement is a filter too: nobody has a score of 5 yet.
    with deps.db.transaction() as session:
        hot = nurture.enroll_segment(session, actor=RECRUITER_ACTOR, sequence="approved",
                                     segment=Segment(min_engagement=5), config=deps.config, now=clock())
    assert hot.enrolled == []


def test_high_scorer_is_routed_to_the_owner_once(deps: Deps, clock: Clock, smtp: SmtpServer,
                                                 slack: FakeSlack) -> None:
    candidate_id, _ = first_step_sent(deps, clock, smtp)
    message_id = smtp.received[0].message["Message-ID"]
    with deps.db.transaction() as session:
        for _ in range(2):
            engagement.record_reply(session, reply=InboundReply(sender="x@y.test", message_ids=(message_id,)),
                                    config=deps.config, now=clock())
    deps.outbox.deliver_due()
    dms = slack.messages_in(RECRUITER)
    assert len(dms) == 1 and "Jane Doe" in dms[0].args["text"] and "score 10" in dms[0].args["text"]
    with deps.db.read() as session:
        rates = engagement.sequence_rates(session)
    assert [(r.sequence, r.sent, r.replied) for r in rates] == [("passive", 1, 1)]
    assert candidate_id


def test_admin_may_enroll_too(deps: Deps, clock: Clock) -> None:
    admin = Actor(user_id=ADMIN, roles=frozenset({Role.ADMIN}))
    with deps.db.transaction() as session:
        row = nurture.enroll(session, actor=admin, candidate_id=add_candidate(deps.db, clock), sequence="passive",
                             config=deps.config, now=clock())
        assert row.status == NurtureStatus.ACTIVE


def test_nurture_rates_answer_the_numbers_question(deps: Deps, clock: Clock, smtp: SmtpServer) -> None:
    from bot.nlu import Metric, MetricArgs
    from bot.services.metrics import answer_metric
    from commands.question_views import build_metric

    _, _ = first_step_sent(deps, clock, smtp)
    message_id = smtp.received[0].message["Message-ID"]
    with deps.db.transaction() as session:
        engagement.record_reply(session, reply=InboundReply(sender="x@y.test", message_ids=(message_id,)),
                                config=deps.config, now=clock())
    with deps.db.read() as session:
        answer = answer_metric(session, actor=RECRUITER_ACTOR, args=MetricArgs(metric=Metric.NURTURE_RATES),
                               config=deps.config, now=clock())
        hidden = answer_metric(session, actor=EMPLOYEE_ACTOR, args=MetricArgs(metric=Metric.NURTURE_RATES),
                               config=deps.config, now=clock())
    text = build_metric(answer, now=clock(), tz="UTC")["text"]
    assert "Nurture sequences" in text
    body = build_metric(answer, now=clock(), tz="UTC")["blocks"][0]["text"]["text"]
    assert "*passive*: 1 sent — opened 100%, clicked 0%, replied 100%" in body
    assert hidden.sequences == [] and "recruiting team" in build_metric(hidden, now=clock(), tz="UTC")["text"]
