"""Referral payouts end to end: the job after the retention period, the approver's card, a departure."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from bot.jobs import JOBS
from storage.models import Application, PayoutStatus, Referral
from tests.conftest import ADMIN, EMPLOYEE, RECRUITER, RECRUITING_CHANNEL, Clock
from tests.harness import FakeSlack, SignedSlackClient, datepicker
from tests.harness.running_app import RunningApp
from tests.test_payouts import hired_referral


def _referral(app: RunningApp, referral_id: int) -> Referral:
    with app.deps.db.read() as session:
        referral = session.get(Referral, referral_id)
        assert referral is not None
        return referral


def _approval_card(slack: FakeSlack) -> Any:
    return next(call for call in slack.messages_in(ADMIN) if "payout_approve" in str(call.args.get("blocks")))


def _click(signed: SignedSlackClient, user: str, action_id: str, card: Any) -> None:
    response = signed.block_action(user, action_id, card.args["blocks"][1]["elements"][0]["value"],
                                   message=card.response["message"], channel_id=card.response["channel"])
    assert response.status_code == 200


def test_the_approver_decides_the_bonus_once_the_retention_period_is_over(app: RunningApp, signed: SignedSlackClient,
                                                                          slack: FakeSlack, clock: Clock) -> None:
    _, referral_id = hired_referral(app.deps.db, clock)
    job = JOBS["referral_payouts"]
    assert job.every == timedelta(hours=1)
    assert job.run(app.deps).startswith("asked for approval of 0 ")

    clock.advance(days=90, hours=1)
    assert job.run(app.deps).startswith("asked for approval of 1 ")
    assert job.run(app.deps).startswith("asked for approval of 0 ")
    card = _approval_card(slack)
    assert "1000 EUR" in card.args["text"] and f"<@{EMPLOYEE}>" in card.args["text"]
    told = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == EMPLOYEE
                          and "retention milestone" in call.args["text"])
    assert "1000 EUR" in told.args["text"]
    assert _referral(app, referral_id).payout_status == PayoutStatus.AWAITING_APPROVAL

    # A recruiter (and anyone else who is not the configured approver) is refused.
    _click(signed, RECRUITER, "payout_approve", card)
    slack.wait_for("response_url", lambda call: f"Only <@{ADMIN}>" in str(call.args))
    assert _referral(app, referral_id).payout_status == PayoutStatus.AWAITING_APPROVAL

    _click(signed, ADMIN, "payout_approve", card)
    update = slack.wait_for("chat.update", lambda call: call.args["ts"] == card.response["ts"])
    assert f"Approved by <@{ADMIN}>" in update.args["text"] and "payout_approve" not in str(update.args["blocks"])
    slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == EMPLOYEE
                   and "has been approved" in call.args["text"])
    referral = _referral(app, referral_id)
    assert (referral.payout_status, referral.payout_decided_by_slack_id, referral.payout_decided_at) == (
        PayoutStatus.APPROVED, ADMIN, clock())

    # A double click (or the Reject button afterwards) changes nothing and says who decided.
    posted = len(slack.calls_to("chat.postMessage"))
    _click(signed, ADMIN, "payout_reject", card)
    slack.wait_for("response_url", lambda call: f"already approved by <@{ADMIN}>" in str(call.args))
    time.sleep(0.3)
    assert len(slack.calls_to("chat.postMessage")) == posted and len(slack.calls_to("chat.update")) == 1
    assert _referral(app, referral_id).payout_status == PayoutStatus.APPROVED


def test_a_departure_before_the_period_cancels_the_bonus_and_tells_the_approver(
        app: RunningApp, signed: SignedSlackClient, slack: FakeSlack, clock: Clock) -> None:
    application_id, referral_id = hired_referral(app.deps.db, clock)
    clock.advance(days=90, hours=1)
    JOBS["referral_payouts"].run(app.deps)
    card = _approval_card(slack)

    # "Mark as left" on the candidate card (a modal): the form is stacked on it.
    signed.block_action(EMPLOYEE, "hire_left", str(application_id), channel_id=RECRUITING_CHANNEL)
    slack.wait_for("response_url", lambda call: "Only recruiters" in str(call.args))
    before = len(slack.calls_to("views.push"))
    signed.block_action(RECRUITER, "hire_left", str(application_id),
                        view={"id": "VCARD0001", "type": "modal", "state": {"values": {}}})
    slack.wait_for("views.push", lambda call: len(slack.calls_to("views.push")) > before)
    view = slack.calls_to("views.push")[-1].response["view"]
    assert view["callback_id"] == "hire_left_submit"

    # Berlin is an hour ahead: tomorrow there is still in the future.
    hired_on = (clock() - timedelta(days=90, hours=1)).date()
    for day, problem in [(clock().date() + timedelta(days=1), "future"),
                         (hired_on - timedelta(days=1), "started on")]:
        body = signed.view_submission(RECRUITER, view, {"left_on": datepicker(day.isoformat())}).json()
        assert body["response_action"] == "errors" and problem in body["errors"]["left_on"]

    left_on = clock().date() - timedelta(days=2)
    response = signed.view_submission(RECRUITER, view, {"left_on": datepicker(left_on.isoformat())})
    assert response.status_code == 200 and "errors" not in response.text
    notice = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == ADMIN
                            and "is cancelled" in call.args["text"])
    assert "nothing left to approve" in notice.args["text"]
    update = slack.wait_for("chat.update", lambda call: call.args["ts"] == card.response["ts"])
    assert "Cancelled" in update.args["text"] and "payout_approve" not in str(update.args["blocks"])
    slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == EMPLOYEE
                   and "no longer applies" in call.args["text"])
    slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == RECRUITER
                   and "Recorded" in call.args["text"])
    with app.deps.db.read() as session:
        assert session.get(Application, application_id).left_at.date() == left_on
    assert _referral(app, referral_id).payout_status == PayoutStatus.CANCELLED

    # The approver clicking the old card now learns why there is nothing to decide.
    _click(signed, ADMIN, "payout_approve", card)
    slack.wait_for("response_url", lambda call: "was cancelled" in str(call.args))
    assert _referral(app, referral_id).payout_status == PayoutStatus.CANCELLED
