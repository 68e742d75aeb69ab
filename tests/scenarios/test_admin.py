"""Admins see emails the mail server refused for good on their Home tab, and send them again."""

from __future__ import annotations

import json
import time

from bot.mail import queue_email
from storage.models import EmailMessage
from tests.conftest import ADMIN, EMPLOYEE, Clock
from tests.harness import FakeSlack, SignedSlackClient
from tests.harness.running_app import RunningApp
from tests.harness.smtp import SmtpServer
from tests.scenarios import test_interviews

# The app with SMTP on loopback, as in the interview scenarios.
smtp = test_interviews.smtp
settings = test_interviews.settings


def _home(signed: SignedSlackClient, slack: FakeSlack, user: str) -> dict:
    before = len([c for c in slack.calls_to("views.publish") if c.args["user_id"] == user])
    signed.event({"type": "app_home_opened", "user": user, "tab": "home"})
    slack.wait_for("views.publish", lambda call: call.args["user_id"] == user and len(
        [c for c in slack.calls_to("views.publish") if c.args["user_id"] == user]) > before)
    return [c for c in slack.calls_to("views.publish") if c.args["user_id"] == user][-1].args["view"]


def _status(app: RunningApp, email_id: int) -> str:
    with app.deps.db.read() as session:
        row = session.get(EmailMessage, email_id)
        assert row is not None
        return row.status


def test_a_refused_email_is_listed_for_admins_and_sent_again(app: RunningApp, signed: SignedSlackClient,
                                                             slack: FakeSlack, clock: Clock,
                                                             smtp: SmtpServer) -> None:
    with app.deps.db.transaction() as session:
        email_id = queue_email(session, kind="welcome", to=["new.hire@example.com"], subject="Welcome to Acme",
                               text_body="Hello\n", dedupe_key="welcome:1", now=clock()).id or 0
    smtp.fail_next(550, stage="rcpt")
    report = app.deps.mailer.deliver([email_id])
    assert report.failed == 1 and _status(app, email_id) == "failed"

    home = _home(signed, slack, ADMIN)
    assert "Undelivered emails (1)" in json.dumps(home) and "new.hire@example.com" in json.dumps(home)
    assert "Undelivered emails" not in json.dumps(_home(signed, slack, EMPLOYEE))
    retry = next(b["accessory"] for b in home["blocks"] if b.get("accessory", {}).get("action_id") == "email_retry")
    assert retry["value"] == str(email_id)

    # Not an admin: refused, nothing changes.
    signed.block_action(EMPLOYEE, "email_retry", retry["value"], view={"id": "VHOME", "type": "home"})
    time.sleep(0.5)
    assert _status(app, email_id) == "failed" and smtp.received == []

    signed.block_action(ADMIN, "email_retry", retry["value"], view={"id": "VHOME", "type": "home"})
    [received] = smtp.wait_for(1)
    assert received.rcpt_tos == ["new.hire@example.com"] and received.message["Subject"] == "Welcome to Acme"
    deadline = time.monotonic() + 5
    while _status(app, email_id) != "sent" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _status(app, email_id) == "sent"
    refreshed = slack.wait_for("views.publish", lambda call: call.args["user_id"] == ADMIN
                               and "Undelivered emails" not in json.dumps(call.args["view"]))
    assert refreshed.ok
