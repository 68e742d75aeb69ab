"""Nurture sequences through the Slack endpoint: enrol from the card, a segment with `/candidate nurture`, and a
drafted step approved with its button — then mailed over real SMTP."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from bot.deps import Deps
from commands.nurture_views import ACTION_APPROVE, ACTION_CARD_ENROLL, SEQUENCE_ACTION, SEQUENCE_BLOCK
from storage.models import NurtureEnrollment, NurtureStatus
from tests import test_nurture
from tests.conftest import EMPLOYEE, RECRUITER, Clock
from tests.harness import FakeSlack, SignedSlackClient, static_select
from tests.harness.running_app import RunningApp
from tests.harness.smtp import SmtpServer
from tests.test_nurture import add_candidate, run_job

# The nurture tests' fixtures: their workspace, a loopback SMTP server, and deps that mail there.
config = test_nurture.config
deps = test_nurture.deps
smtp = test_nurture.smtp


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def enrollments(deps: Deps) -> list[NurtureEnrollment]:
    with deps.db.read() as session:
        return list(session.exec(select(NurtureEnrollment).order_by(NurtureEnrollment.id)).all())  # type: ignore[arg-type]


def test_enroll_from_the_card(app: RunningApp, signed: SignedSlackClient, slack: FakeSlack, clock: Clock) -> None:
    add_candidate(app.deps.db, clock, owner_slack_id=RECRUITER)
    assert signed.slash_command(RECRUITER, "/candidate", "jane").status_code == 200
    card = slack.wait_for("views.open").response["view"]
    button = next(e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if e.get("action_id") == ACTION_CARD_ENROLL)
    assert signed.block_action(RECRUITER, ACTION_CARD_ENROLL, button["value"], view=card).status_code == 200
    modal = slack.wait_for("views.push").response["view"]
    values = {SEQUENCE_BLOCK: {SEQUENCE_ACTION: static_select("approved")}}
    response = signed.view_submission(RECRUITER, modal, values)
    assert response.status_code == 200 and "errors" not in response.text
    [enrolled] = enrollments(app.deps)
    assert (enrolled.sequence, enrolled.status) == ("approved", NurtureStatus.ACTIVE)
    # Enrolling again is refused inline, on the form.
    again = signed.view_submission(RECRUITER, modal, values)
    assert again.json()["response_action"] == "errors" and "already in" in again.json()["errors"][SEQUENCE_BLOCK]


def test_segment_with_the_slash_command(app: RunningApp, signed: SignedSlackClient, slack: FakeSlack,
                                        clock: Clock) -> None:
    add_candidate(app.deps.db, clock, name="Py Berlin", email="a@example.com", location="Berlin", skills=["Python"])
    add_candidate(app.deps.db, clock, name="Go Berlin", email="b@example.com", location="Berlin", skills=["Go"])
    assert signed.slash_command(EMPLOYEE, "/candidate", "nurture passive location:berlin").status_code == 200
    slack.wait_for("response_url", lambda call: "Only recruiters and admins" in _dump(call.args))
    assert enrollments(app.deps) == []
    assert signed.slash_command(RECRUITER, "/candidate", "nurture passive skills:python location:berlin"
                                ).status_code == 200
    slack.wait_for("response_url", lambda call: "Enrolled 1 candidate in the *passive* sequence" in _dump(call.args))
    assert len(enrollments(app.deps)) == 1
    assert signed.slash_command(RECRUITER, "/candidate", "nurture").status_code == 200
    slack.wait_for("response_url", lambda call: "/candidate nurture &lt;sequence&gt;" in _dump(call.args))


def test_drafted_step_is_mailed_after_approval(app: RunningApp, signed: SignedSlackClient, slack: FakeSlack,
                                               clock: Clock, smtp: SmtpServer) -> None:
    from tests.test_nurture import enroll

    enroll(app.deps, add_candidate(app.deps.db, clock, owner_slack_id=RECRUITER), "approved")
    run_job(app.deps)
    draft = slack.wait_for("chat.postMessage", lambda call: "for approval" in call.args.get("text", ""))
    assert smtp.received == []
    button = draft.args["blocks"][-1]["elements"][0]
    assert button["action_id"] == ACTION_APPROVE
    message = {"type": "message", "ts": draft.response["ts"], "text": draft.args["text"],
               "blocks": draft.args["blocks"]}
    assert signed.block_action(RECRUITER, ACTION_APPROVE, button["value"], message=message,
                               channel_id=draft.response["channel"]).status_code == 200
    [email] = smtp.wait_for(1)
    assert email.message["Subject"] == "Jane, a hello from Acme" and email.rcpt_tos == ["jane@example.com"]
    slack.wait_for("response_url", lambda call: "approved step 1" in _dump(call.args))
