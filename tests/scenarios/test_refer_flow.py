"""/refer end to end: signed requests to the real endpoint, Slack answered by the fake."""

from __future__ import annotations

import time

from sqlmodel import func, select

from bot.access import SYSTEM
from bot.services.positions import create_position
from storage.models import Activity, Application, Candidate, Consent, Referral
from tests.conftest import EMPLOYEE, OTHER_EMPLOYEE, RECRUITING_CHANNEL, Clock
from tests.harness import FakeSlack, SignedSlackClient, email_text, plain_text, static_select, url_text
from tests.harness.running_app import RunningApp
from tests.scenarios.referral_steps import open_referral_modal, refer, referral_form


def _count(app: RunningApp, model: type) -> int:
    with app.deps.db.read() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_refer_stores_referral_with_consent_and_notifies(app: RunningApp, signed: SignedSlackClient,
                                                         slack: FakeSlack, clock: Clock) -> None:
    with app.deps.db.transaction() as session:
        position = create_position(session, actor=SYSTEM, title="Backend Engineer", now=clock())
    view = open_referral_modal(signed, slack, EMPLOYEE)
    assert view["callback_id"] == "referral_submit"

    response = signed.view_submission(EMPLOYEE, view, referral_form(position=static_select(str(position.id))))
    assert response.status_code == 200
    assert "errors" not in response.text

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
        application = session.exec(select(Application)).one()
        kinds = {a.kind for a in session.exec(select(Activity))}
    assert candidate.phone_e164 == "+49301234567"
    assert candidate.email_normalized == "jane@example.com"
    assert referral.referrer_slack_id == EMPLOYEE and referral.attributed
    assert (application.position_id, application.stage) == (position.id, "Sourced")
    assert consent.kind == "contact" and consent.action == "granted"
    assert consent.recorded_at == clock() and consent.recorded_by_slack_id == EMPLOYEE
    assert "confirmed by referrer" in consent.evidence
    assert {"candidate.created", "referral.submitted", "consent.granted", "application.created"} <= kinds


def test_prefill_from_command_text(signed: SignedSlackClient, slack: FakeSlack) -> None:
    view = open_referral_modal(signed, slack, EMPLOYEE, "Jane Doe <mailto:jane@example.com|jane@example.com>")
    elements = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert elements["candidate_name"]["initial_value"] == "Jane Doe"
    assert elements["email"]["initial_value"] == "jane@example.com"


def test_invalid_fields_get_inline_errors_and_nothing_is_stored(app: RunningApp, signed: SignedSlackClient,
                                                                slack: FakeSlack) -> None:
    response = refer(
        signed, slack, EMPLOYEE,
        candidate_name=plain_text("   "),
        email=email_text("jane(at)example"),
        phone=plain_text("12"),
        profile_url=url_text("ftp://files.example.com/cv"),
        note=plain_text("x" * 2001),
        consent={"type": "checkboxes", "selected_options": []},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"candidate_name", "email", "phone", "profile_url", "note", "consent"}
    assert "agreed to be contacted" in body["errors"]["consent"]
    assert _count(app, Candidate) == 0 and _count(app, Referral) == 0 and _count(app, Consent) == 0
    assert _count(app, Activity) == 0
    slack.assert_no_call("chat.postMessage")


def test_corrected_submission_is_accepted(app: RunningApp, signed: SignedSlackClient, slack: FakeSlack) -> None:
    view = open_referral_modal(signed, slack, EMPLOYEE)
    refused = signed.view_submission(EMPLOYEE, view, referral_form(email=email_text("not-an-email")))
    assert refused.json()["errors"].keys() == {"email"}
    accepted = signed.view_submission(EMPLOYEE, view, referral_form())
    assert "errors" not in accepted.text
    slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == EMPLOYEE)
    assert _count(app, Referral) == 1


def test_double_clicked_submit_stores_and_notifies_once(app: RunningApp, signed: SignedSlackClient,
                                                        slack: FakeSlack) -> None:
    view = open_referral_modal(signed, slack, EMPLOYEE)
    for _ in range(3):
        assert signed.view_submission(EMPLOYEE, view, referral_form()).status_code == 200
    slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == RECRUITING_CHANNEL)
    time.sleep(0.5)  # give a wrongly repeated notification the time to show up
    assert len(slack.messages_in(RECRUITING_CHANNEL)) == 1
    assert _count(app, Referral) == 1 and _count(app, Candidate) == 1
    assert len(slack.messages_in(EMPLOYEE)) == 1


def test_same_person_referred_again_attaches_without_revealing(app: RunningApp, signed: SignedSlackClient,
                                                               slack: FakeSlack) -> None:
    refer(signed, slack, EMPLOYEE)
    slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == EMPLOYEE)
    # Same person: the email differs only in case, the phone only in formatting.
    refer(signed, slack, OTHER_EMPLOYEE, candidate_name=plain_text("jane DOE"),
          email=email_text("Jane@Example.com"), phone=plain_text("+49 30 1234567"),
          relationship=static_select("Friend"), note=plain_text("Great engineer."))
    dm = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == OTHER_EMPLOYEE)
    assert "already known" in dm.args["text"]
    for private in ("Former colleague", "payments", "+49", "linkedin", EMPLOYEE):
        assert private not in str(dm.args), f"the second referrer must not learn {private!r}"

    with app.deps.db.read() as session:
        referrals = session.exec(select(Referral).order_by(Referral.id)).all()
    assert _count(app, Candidate) == 1
    assert [(r.referrer_slack_id, r.attributed, r.candidate_was_known) for r in referrals] == [
        (EMPLOYEE, True, False), (OTHER_EMPLOYEE, False, True)]
    post = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == RECRUITING_CHANNEL
                          and "Another referral" in call.args["text"])
    assert "no referral credit" in str(post.args["blocks"])


def test_near_identical_name_with_same_profile_is_the_same_person(app: RunningApp, signed: SignedSlackClient,
                                                                  slack: FakeSlack) -> None:
    refer(signed, slack, EMPLOYEE, phone=plain_text(""))
    slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == EMPLOYEE)
    refer(signed, slack, OTHER_EMPLOYEE, candidate_name=plain_text("Jane  Doé"), email=email_text("jd@other.org"),
          phone=plain_text(""), profile_url=url_text("https://www.linkedin.com/in/JaneDoe/"))
    slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == OTHER_EMPLOYEE)
    assert _count(app, Candidate) == 1 and _count(app, Referral) == 2


def test_refer_status_lists_only_my_referrals(signed: SignedSlackClient, slack: FakeSlack) -> None:
    refer(signed, slack, EMPLOYEE)
    refer(signed, slack, OTHER_EMPLOYEE, candidate_name=plain_text("Max Mustermann"),
          email=email_text("max@example.com"), phone=plain_text(""), profile_url=url_text(""))
    slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == OTHER_EMPLOYEE)
    signed.slash_command(EMPLOYEE, "/refer", "status")
    answer = slack.wait_for("response_url")
    assert "Jane Doe" in str(answer.args) and "Max Mustermann" not in str(answer.args)
    assert answer.args.get("response_type") == "ephemeral"
