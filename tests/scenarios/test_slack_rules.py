"""Slack's rules as product rules: signatures, retries, rate limits, failures after commit, access."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from sqlmodel import select

from bot.jobs import JOBS
from storage.models import Candidate, OutboxMessage, Referral
from tests.conftest import ADMIN, EMPLOYEE, GROUP_RECRUITER, RECRUITER, RECRUITING_CHANNEL, Clock
from tests.harness import FakeSlack, SignedSlackClient
from tests.harness.running_app import RunningApp
from tests.scenarios.referral_steps import open_referral_modal, refer, referral_form


def _slash_body(signed: SignedSlackClient) -> str:
    return urlencode({"command": "/refer", "text": "status", "user_id": EMPLOYEE, "team_id": "T0001",
                      "channel_id": "C1", "trigger_id": signed.trigger_id(), "response_url": signed.response_url()})


def test_forged_and_stale_requests_are_refused(app: RunningApp, signed: SignedSlackClient, slack: FakeSlack) -> None:
    form = "application/x-www-form-urlencoded"
    forged = signed.raw(_slash_body(signed), content_type=form, signature="v0=" + "0" * 64)
    stale = signed.raw(_slash_body(signed), content_type=form, timestamp=int(time.time()) - 6 * 60)
    unsigned = signed.raw(_slash_body(signed), content_type=form, signature="")
    assert (forged.status_code, stale.status_code, unsigned.status_code) == (401, 401, 401)
    fresh = signed.raw(_slash_body(signed), content_type=form)
    assert fresh.status_code == 200, "the same body correctly signed must pass, or the 401s prove nothing"
    slack.wait_for("response_url")


def test_retried_event_is_handled_once(signed: SignedSlackClient, slack: FakeSlack) -> None:
    event = {"type": "app_home_opened", "user": EMPLOYEE, "channel": "D1", "tab": "home"}
    assert signed.event(event, event_id="Ev0001").status_code == 200
    slack.wait_for("views.publish")
    for retry in (1, 2):
        assert signed.event(event, event_id="Ev0001", retry_num=retry).status_code == 200
    time.sleep(0.5)
    assert len(slack.calls_to("views.publish")) == 1
    signed.event(event, event_id="Ev0002")
    slack.wait_for("views.publish", lambda call: len(slack.calls_to("views.publish")) == 2)


def test_rate_limited_post_waits_for_retry_after(signed: SignedSlackClient, slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    refer(signed, slack, EMPLOYEE)
    slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == RECRUITING_CHANNEL)
    posts = slack.calls_to("chat.postMessage")
    limited, retried = posts[0], posts[1]
    assert limited.status == 429 and retried.ok
    assert retried.args == limited.args
    assert retried.at - limited.at >= 0.95


def test_slack_outage_after_commit_loses_nothing(app: RunningApp, signed: SignedSlackClient, slack: FakeSlack,
                                                 clock: Clock) -> None:
    view = open_referral_modal(signed, slack, EMPLOYEE)
    slack.fail_next("chat.postMessage", times=100, status=503)
    assert "errors" not in signed.view_submission(EMPLOYEE, view, referral_form()).text
    # Each delivery tries three times (slack_sdk's 5xx retries back off 0.5 s, then 1 s) before it is queued.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with app.deps.db.read() as session:
            pending = session.exec(select(OutboxMessage)).all()
        if len(pending) == 2 and all(m.attempts == 1 for m in pending):
            break
        time.sleep(0.05)
    assert [(m.status, m.attempts) for m in pending] == [("pending", 1), ("pending", 1)]
    with app.deps.db.read() as session:
        assert session.exec(select(Referral)).one().referrer_slack_id == EMPLOYEE

    slack.clear()  # Slack is back
    assert "sent 0" in JOBS["deliver_outbox"].run(app.deps), "nothing is due before the back-off has passed"
    clock.advance(seconds=16)
    assert "sent 2" in JOBS["deliver_outbox"].run(app.deps)
    assert len(slack.messages_in(EMPLOYEE)) == 1 and len(slack.messages_in(RECRUITING_CHANNEL)) == 1
    assert "sent 0" in JOBS["deliver_outbox"].run(app.deps), "a delivered message is never sent again"


def test_permanent_failure_is_kept_and_shown_to_admins(app: RunningApp, signed: SignedSlackClient,
                                                       slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", error="channel_not_found")
    refer(signed, slack, EMPLOYEE)
    slack.wait_for("chat.postMessage", lambda call: call.args["channel"] != EMPLOYEE or True)
    deadline = time.monotonic() + 5
    failed: list[OutboxMessage] = []
    while time.monotonic() < deadline and not failed:
        with app.deps.db.read() as session:
            failed = list(session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")))
        time.sleep(0.05)
    assert len(failed) == 1 and failed[0].last_error == "channel_not_found"

    signed.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    home = slack.wait_for("views.publish", lambda call: call.args["user_id"] == ADMIN).args["view"]
    assert "Undelivered notifications (1)" in json.dumps(home)
    signed.event({"type": "app_home_opened", "user": EMPLOYEE, "tab": "home"})
    employee_home = slack.wait_for("views.publish", lambda call: call.args["user_id"] == EMPLOYEE).args["view"]
    assert "Undelivered" not in json.dumps(employee_home)

    retry_button = next(b["accessory"] for b in home["blocks"]
                        if b.get("accessory", {}).get("action_id") == "outbox_retry")
    signed.block_action(ADMIN, "outbox_retry", retry_button["value"], view={"id": "VHOME", "type": "home"})
    slack.wait_for("chat.postMessage", lambda call: call.ok and call.args["channel"] == failed[0].payload["channel"])


def test_employee_cannot_open_a_candidate_but_recruiters_can(app: RunningApp, signed: SignedSlackClient,
                                                             slack: FakeSlack) -> None:
    refer(signed, slack, EMPLOYEE)
    post = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == RECRUITING_CHANNEL)
    with app.deps.db.read() as session:
        candidate_id = str(session.exec(select(Candidate)).one().id)
    views_before = len(slack.calls_to("views.open"))

    signed.block_action(EMPLOYEE, "candidate_open", candidate_id, message=post.response["message"],
                        channel_id=RECRUITING_CHANNEL)
    refusal = slack.wait_for("response_url", lambda call: "Only recruiters" in str(call.args))
    assert refusal.args["response_type"] == "ephemeral"
    time.sleep(0.3)
    assert len(slack.calls_to("views.open")) == views_before

    # GROUP_RECRUITER is a recruiter only through the @recruiting user group.
    signed.block_action(GROUP_RECRUITER, "candidate_open", candidate_id, message=post.response["message"],
                        channel_id=RECRUITING_CHANNEL)
    card = slack.wait_for("views.open", lambda call: "Jane Doe" in json.dumps(call.args["view"]))
    assert "Consent" in json.dumps(card.args["view"]) and "granted" in json.dumps(card.args["view"])


def test_assign_to_me_is_idempotent_and_updates_the_post(app: RunningApp, signed: SignedSlackClient,
                                                         slack: FakeSlack) -> None:
    refer(signed, slack, EMPLOYEE)
    post = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == RECRUITING_CHANNEL)
    with app.deps.db.read() as session:
        candidate_id = str(session.exec(select(Candidate)).one().id)
    message = post.response["message"]
    for _ in range(2):
        signed.block_action(RECRUITER, "candidate_assign_me", candidate_id, message=message,
                            channel_id=RECRUITING_CHANNEL)
    slack.wait_for("chat.update")
    slack.wait_for("response_url", lambda call: "already own" in str(call.args))
    assert len(slack.calls_to("chat.update")) == 1
    updated = slack.message(RECRUITING_CHANNEL, post.response["ts"])
    assert updated is not None and f"<@{RECRUITER}>" in json.dumps(updated["blocks"])
    assert "candidate_assign_me" not in json.dumps(updated["blocks"])
    with app.deps.db.read() as session:
        assert session.exec(select(Candidate)).one().owner_slack_id == RECRUITER

    signed.block_action(EMPLOYEE, "candidate_assign_me", candidate_id, message=message,
                        channel_id=RECRUITING_CHANNEL)
    slack.wait_for("response_url", lambda call: "Only recruiters" in str(call.args))
