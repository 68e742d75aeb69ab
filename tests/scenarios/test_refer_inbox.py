"""/refer through the inbox: what is decided after the ack still reaches the person, and exactly once."""

from __future__ import annotations

from sqlmodel import select

from bot.access import SYSTEM
from bot.services.positions import create_position
from storage.models import InboundJob, PositionStatus, Referral
from tests.conftest import EMPLOYEE, Clock
from tests.harness import FakeSlack, SignedSlackClient, static_select
from tests.harness.running_app import RunningApp
from tests.scenarios.referral_steps import open_referral_modal, referral_form


def test_position_closed_after_the_modal_opened_is_explained_by_dm(app: RunningApp, signed: SignedSlackClient,
                                                                   slack: FakeSlack, clock: Clock) -> None:
    with app.deps.db.transaction() as session:
        position = create_position(session, actor=SYSTEM, title="Backend Engineer", now=clock())
    view = open_referral_modal(signed, slack, EMPLOYEE)
    with app.deps.db.transaction() as session:
        position.status = PositionStatus.CLOSED
        session.add(position)

    response = signed.view_submission(EMPLOYEE, view, referral_form(position=static_select(str(position.id))))
    assert response.status_code == 200 and "errors" not in response.text  # the modal closes

    dm = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == EMPLOYEE)
    assert "could not be stored" in dm.args["text"] and "no longer open" in dm.args["text"]
    with app.deps.db.read() as session:
        assert session.exec(select(Referral)).all() == []
        [job] = session.exec(select(InboundJob).where(InboundJob.kind == "referral.submission")).all()
    assert job.status == "done"


def test_each_request_is_one_job_and_each_job_is_finished(app: RunningApp, signed: SignedSlackClient,
                                                          slack: FakeSlack) -> None:
    view = open_referral_modal(signed, slack, EMPLOYEE)
    for _ in range(2):  # a double click
        assert signed.view_submission(EMPLOYEE, view, referral_form()).status_code == 200
    slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == EMPLOYEE)
    with app.deps.db.read() as session:
        jobs = session.exec(select(InboundJob).order_by(InboundJob.id)).all()
    assert [(job.kind, job.key, job.status) for job in jobs] == [
        ("referral.command", f"command:{jobs[0].payload['trigger_id']}", "done"),
        ("referral.submission", f"view:{view['id']}", "done"),
    ]


def test_a_modal_that_comes_too_late_for_its_trigger_is_explained(app: RunningApp, signed: SignedSlackClient,
                                                                  slack: FakeSlack, clock: Clock) -> None:
    assert app.inbox is not None
    command = {"user_id": EMPLOYEE, "channel_id": "C1", "text": "", "trigger_id": signed.trigger_id(),
               "response_url": signed.response_url()}
    with app.inbox.answering():  # the server is busy: the job waits (its deferral is 1 s)…
        app.inbox.accept("referral.command", f"command:{command['trigger_id']}", command)
        clock.advance(seconds=4)  # …and by the time it runs, Slack's 3 s for the trigger are over
    assert app.inbox.wait_idle(5)
    answer = slack.wait_for("response_url")
    assert "took too long" in answer.args["text"] and answer.args["response_type"] == "ephemeral"
    slack.assert_no_call("views.open")
