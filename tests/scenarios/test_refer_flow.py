"""/refer end to end: signed requests to the real endpoint, Slack answered by the fake."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bot.access import SYSTEM
from bot.services.positions import create_position
from storage.models import Activity, Candidate, Consent, Referral
from tests.conftest import EMPLOYEE, RECRUITING_CHANNEL, Clock
from tests.harness import FakeSlack, SignedSlackClient, checkboxes, email_text, plain_text, static_select, url_text
from tests.harness.running_app import RunningApp


def _open_modal(signed: SignedSlackClient, slack: FakeSlack, text: str = "") -> dict[str, Any]:
    response = signed.slash_command(EMPLOYEE, "/refer", text)
    assert response.status_code == 200
    return slack.wait_for("views.open").response["view"]


def _form(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "candidate_name": {"value": plain_text("Jane Doe")},
        "email": {"value": email_text("jane@example.com")},
        "phone": {"value": plain_text("030 1234567")},
        "profile_url": {"value": url_text("https://linkedin.com/in/janedoe")},
        "position": {"value": static_select("general")},
        "relationship": {"value": static_select("Former colleague")},
        "note": {"value": plain_text("Built our payments platform with me.")},
        "consent": {"value": checkboxes("confirmed")},
    }
    values.update(overrides)
    return values


def test_refer_stores_referral_with_consent_and_notifies(app: RunningApp, signed: SignedSlackClient,
                                                         slack: FakeSlack, clock: Clock) -> None:
    with app.deps.db.transaction() as session:
        position = create_position(session, actor=SYSTEM, title="Backend Engineer", now=clock())
    view = _open_modal(signed, slack)
    assert view["callback_id"] == "referral_submit"

    response = signed.view_submission(EMPLOYEE, view, _form(position={"value": static_select(str(position.id))}))
    assert response.status_code == 200
    assert response.text in ("", "null") or "errors" not in response.json()

    dm = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == EMPLOYEE)
    post = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == RECRUITING_CHANNEL)
    assert "Jane Doe" in dm.args["text"]
    assert "interview is scheduled" in str(dm.args["blocks"])
    assert "Backend Engineer" in str(post.args["blocks"])
    assert {"Assign to me", "Open candidate"} <= {e["text"]["text"] for b in post.args["blocks"]
                                                  if b["type"] == "actions" for e in b["elements"]}

    with app.deps.db.read() as session:
        candidate = session.exec(select(Candidate)).one()
        referral = session.exec(select(Referral)).one()
        consent = session.exec(select(Consent)).one()
        kinds = {a.kind for a in session.exec(select(Activity))}
    assert candidate.phone_e164 == "+49301234567"
    assert referral.referrer_slack_id == EMPLOYEE and referral.attributed
    assert consent.kind == "contact" and consent.action == "granted"
    assert consent.recorded_at == clock() and consent.recorded_by_slack_id == EMPLOYEE
    assert "confirmed by referrer" in consent.evidence
    assert {"candidate.created", "referral.submitted", "consent.granted", "application.created"} <= kinds
