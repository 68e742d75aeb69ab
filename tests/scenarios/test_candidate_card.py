"""`/candidate`, the candidate card and the "Add to timeline" shortcut, end to end: signed requests to the real
endpoint, Slack answered by the fake."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from bot.access import Actor, Role
from bot.services.candidates import add_note, assign_owner
from bot.services.pipeline import move_stage
from bot.services.referrals import ReferralDraft, submit_referral, validate_referral
from bot.workspace import WorkspaceConfig, parse_workspace_config
from commands.candidate_views import move_value
from storage.models import Activity, Application, Candidate, Position
from tests.conftest import EMPLOYEE, HIRING_MANAGER, RECRUITER, RECRUITING_CHANNEL, WORKSPACE, Clock
from tests.harness import FakeSlack, SignedSlackClient, plain_text
from tests.harness.fake_slack import Call
from tests.harness.running_app import RunningApp
from tests.test_candidate_service import add_candidate, add_position, apply

IT, HR, PAYROLL = "UIT00001", "UHR00001", "C0PAYROLL"
SYSTEM_RECRUITER = Actor(RECRUITER, frozenset({Role.RECRUITER}))


@pytest.fixture
def config() -> WorkspaceConfig:
    return parse_workspace_config({**WORKSPACE, "teams": {"it": IT, "hr": HR, "payroll": PAYROLL}})


@pytest.fixture(autouse=True)
def teams(slack: FakeSlack) -> None:
    slack.add_user(IT, name="ivan")
    slack.add_user(HR, name="hera")
    slack.add_channel(PAYROLL, "payroll")


def _referred(app: RunningApp, clock: Clock, *, owner: str | None = RECRUITER) -> tuple[int, int]:
    """Jane Doe, referred by EMPLOYEE for Backend Engineer (hiring manager HIRING_MANAGER): (candidate, application)."""
    with app.deps.db.transaction() as session:
        position = add_position(session, "Backend Engineer", manager=HIRING_MANAGER, now=clock())
        draft = ReferralDraft(candidate_name="Jane Doe", email="jane@example.com", position=str(position.id),
                              relationship="Former colleague", note="Great engineer", consent_confirmed=True)
        outcome = submit_referral(session, actor=Actor(EMPLOYEE, frozenset({Role.EMPLOYEE})),
                                  referral=validate_referral(draft, default_region="DE"), config=app.deps.config,
                                  now=clock())
        if owner:
            assign_owner(session, actor=SYSTEM_RECRUITER, candidate_id=outcome.candidate_id, owner_slack_id=owner,
                         now=clock())
        application = session.exec(select(Application)).one()
        return outcome.candidate_id, application.id or 0


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _newest(slack: FakeSlack, method: str, predicate: Callable[[Call], bool] = lambda call: True,
            after: int = 0) -> Call:
    """The first successful call to `method` after the first `after` ones that matches."""
    return slack.wait_for(method, lambda call: call in slack.calls_to(method)[after:] and predicate(call))


def _open_card(signed: SignedSlackClient, slack: FakeSlack, user: str, text: str) -> dict[str, Any]:
    before = len(slack.calls_to("views.open"))
    assert signed.slash_command(user, "/candidate", text).status_code == 200
    return _newest(slack, "views.open", after=before).response["view"]


def _ephemeral(slack: FakeSlack, text: str) -> Call:
    return slack.wait_for("response_url", lambda call: text in _dump(call.args))


def _card_select(view: dict[str, Any], application_id: int) -> dict[str, Any]:
    block = next(b for b in view["blocks"] if b.get("block_id", "").startswith(f"application:{application_id}:"))
    return block["accessory"]


def _timeline_texts(view: dict[str, Any]) -> list[str]:
    return [b["elements"][0]["text"] for b in view["blocks"] if b["type"] == "context"]


def _button(view: dict[str, Any], action_id: str, text: str | None = None) -> dict[str, Any]:
    return next(e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e.get("action_id") == action_id and (text is None or e["text"]["text"] == text))


def test_card_opens_for_recruiters_and_own_hiring_managers_only(app: RunningApp, signed: SignedSlackClient,
                                                                slack: FakeSlack, clock: Clock) -> None:
    candidate_id, application_id = _referred(app, clock)
    with app.deps.db.transaction() as session:
        other = add_position(session, "Designer", now=clock())
        max_id = apply(session, add_candidate(session, "Max Other", now=clock()), other, entered=clock()).candidate_id

    card = _open_card(signed, slack, RECRUITER, "jane")
    text = _dump(card)
    assert card["callback_id"] == "candidate_card" and card["title"]["text"] == "Jane Doe"
    for expected in ("Backend Engineer", "Sourced", "Former colleague", "granted", "Add note", "Timeline"):
        assert expected in text, expected
    assert {o["text"]["text"] for o in _card_select(card, application_id)["options"]} >= {"Interview", "Rejected"}
    assert {"card_assign_owner", "card_add_position"} <= {e["action_id"] for b in card["blocks"]
                                                         if b["type"] == "actions" for e in b["elements"]}

    opened = len(slack.calls_to("views.open"))
    signed.slash_command(EMPLOYEE, "/candidate", "jane")
    refusal = _ephemeral(slack, "Only recruiters")
    assert refusal.args["response_type"] == "ephemeral"

    manager_card = _open_card(signed, slack, HIRING_MANAGER, "<mailto:jane@example.com|jane@example.com>")
    assert "Backend Engineer" in _dump(manager_card)
    assert "card_assign_owner" not in _dump(manager_card), "only recruiters hand candidates over"

    signed.slash_command(HIRING_MANAGER, "/candidate", "max other")
    _ephemeral(slack, "No candidate matches")
    signed.block_action(HIRING_MANAGER, "candidate_open", str(max_id), channel_id=RECRUITING_CHANNEL)
    _ephemeral(slack, "positions you hire for")
    slack.assert_no_call("views.open", lambda call: "Max Other" in _dump(call.args))
    assert len(slack.calls_to("views.open")) == opened + 1, "only the hiring manager's own card opened"
    assert candidate_id


def test_moving_from_the_card_assigns_tasks_and_tells_the_referrer(app: RunningApp, signed: SignedSlackClient,
                                                                  slack: FakeSlack, clock: Clock) -> None:
    _, application_id = _referred(app, clock)
    card = _open_card(signed, slack, RECRUITER, "Jane Doe")
    clock.advance(hours=1)
    signed.block_action(RECRUITER, "card_move_stage", move_value(application_id, "Interview"),
                        action_type="static_select", view=card)

    owner_dm = slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == RECRUITER)
    manager_dm = slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == HIRING_MANAGER)
    referrer_dm = slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == EMPLOYEE)
    assert "Schedule the interviews" in _dump(owner_dm.args["blocks"])
    assert "Share the interview plan with the panel" in _dump(manager_dm.args["blocks"])
    assert "Jane Doe" in referrer_dm.args["text"] and "interview" in referrer_dm.args["text"].lower()

    updated = slack.wait_for("views.update", lambda c: c.args["view_id"] == card["id"])
    assert "Interview" in _dump(updated.args["view"]) and "Schedule the interviews" in _dump(
        updated.args["view"])
    with app.deps.db.read() as session:
        application = session.get(Application, application_id)
        moves = session.exec(select(Activity).where(Activity.kind == "stage.moved")).all()
    assert application is not None and (application.stage, application.stage_entered_at) == ("Interview", clock())
    assert [(m.actor, m.payload["to"], m.occurred_at) for m in moves] == [(RECRUITER, "Interview", clock())]


def test_a_blocked_move_says_which_tasks_are_open(app: RunningApp, signed: SignedSlackClient, slack: FakeSlack,
                                                  clock: Clock) -> None:
    _, application_id = _referred(app, clock)
    with app.deps.db.transaction() as session:
        move_stage(session, actor=SYSTEM_RECRUITER, application_id=application_id, to_stage="Phone Screen",
                   config=app.deps.config, now=clock())
    card = _open_card(signed, slack, RECRUITER, "jane")
    signed.block_action(RECRUITER, "card_move_stage", move_value(application_id, "Interview"),
                        action_type="static_select", view=card)

    pushed = slack.wait_for("views.push").args["view"]
    explanation = _dump(pushed)
    assert "can't leave Phone Screen" in explanation
    assert "Send calendar invite" in explanation and "Complete phone screen notes" in explanation
    slack.wait_for("views.update", lambda c: c.args["view_id"] == card["id"])
    with app.deps.db.read() as session:
        assert session.get(Application, application_id).stage == "Phone Screen"  # type: ignore[union-attr]
    slack.assert_no_call("chat.postMessage", lambda c: c.args["channel"] == EMPLOYEE)


def test_move_command_with_a_multi_word_stage_starts_onboarding(app: RunningApp, signed: SignedSlackClient,
                                                                slack: FakeSlack, clock: Clock) -> None:
    _, application_id = _referred(app, clock)
    signed.slash_command(RECRUITER, "/candidate", "move jane@example.com offer accepted")

    answer = _ephemeral(slack, "Moved")
    assert "Offer Accepted" in answer.args["text"] and "Onboarding started: 4 steps" in answer.args["text"]
    for assignee, task in [(IT, "Prepare laptop and access"), (HR, "Send new-hire packet"),
                           (PAYROLL, "New hire setup"), (HIRING_MANAGER, "First-week agenda")]:
        dm = slack.wait_for("chat.postMessage",
                            lambda c, who=assignee, title=task: c.args["channel"] == who and title in _dump(
                                c.args["blocks"]))
        assert dm.ok
    checklist = slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == HIRING_MANAGER
                               and "Onboarding" in c.args["text"] and "0 of 4" in c.args["text"])
    assert "Jane Doe" in checklist.args["text"]
    slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == EMPLOYEE)
    with app.deps.db.read() as session:
        assert session.get(Application, application_id).stage == "Offer Accepted"  # type: ignore[union-attr]


def test_unknown_stages_and_ambiguous_names_get_clear_answers(app: RunningApp, signed: SignedSlackClient,
                                                              slack: FakeSlack, clock: Clock) -> None:
    _, application_id = _referred(app, clock)
    with app.deps.db.transaction() as session:
        position = session.exec(select(Position)).one()
        other = apply(session, add_candidate(session, "Jane Smith", email="smith@example.com", now=clock()),
                      position, entered=clock())

    signed.slash_command(RECRUITER, "/candidate", "move jane lunch break")
    unknown = _ephemeral(slack, "find a stage")
    assert "Phone Screen" in unknown.args["text"] and "Offer Accepted" in unknown.args["text"]

    signed.slash_command(RECRUITER, "/candidate", "move jane@example.com sourced")
    _ephemeral(slack, "already in Sourced")

    signed.slash_command(RECRUITER, "/candidate", "jane")
    which = _ephemeral(slack, "Which")
    buttons = [b["accessory"] for b in which.args["blocks"] if b.get("accessory", {}).get("type") == "button"]
    assert [b["action_id"] for b in buttons] == ["candidate_open", "candidate_open"]
    assert "Jane Doe" in _dump(which.args["blocks"]) and "Jane Smith" in _dump(which.args["blocks"])
    signed.block_action(RECRUITER, "candidate_open", str(other.candidate_id), channel_id=RECRUITING_CHANNEL)
    slack.wait_for("views.open", lambda c: c.args["view"]["title"]["text"] == "Jane Smith")

    signed.slash_command(RECRUITER, "/candidate", "move jane phone screen")
    question = _ephemeral(slack, "should move to")
    pick = next(b["accessory"] for b in question.args["blocks"]
                if "Jane Smith" in b.get("text", {}).get("text", "") and b.get("accessory"))
    assert pick["action_id"] == "candidate_move_pick"
    signed.block_action(RECRUITER, "candidate_move_pick", pick["value"], channel_id=RECRUITING_CHANNEL)
    moved = _ephemeral(slack, "Moved")
    assert moved.args["replace_original"] is True and "Jane Smith" in moved.args["text"]
    with app.deps.db.read() as session:
        assert session.get(Application, other.id).stage == "Phone Screen"  # type: ignore[union-attr]
        assert session.get(Application, application_id).stage == "Sourced"  # type: ignore[union-attr]


def test_notes_are_added_from_the_card_and_the_timeline_pages(app: RunningApp, signed: SignedSlackClient,
                                                              slack: FakeSlack, clock: Clock) -> None:
    candidate_id, _ = _referred(app, clock, owner=None)
    with app.deps.db.transaction() as session:
        for n in range(1, 13):
            add_note(session, actor=SYSTEM_RECRUITER, candidate_id=candidate_id, text=f"Note number {n}",
                     now=clock.advance(minutes=1))
    card = _open_card(signed, slack, RECRUITER, "jane doe")
    assert "Note number 12" in _timeline_texts(card)[0]
    total = int(_dump(card).split(" of ")[1].split(")")[0])

    signed.block_action(RECRUITER, "card_timeline_page", _button(card, "card_timeline_page", "Older")["value"],
                        view=card)
    older = slack.wait_for("views.update", lambda c: c.args.get("hash") == card["hash"])
    assert "Note number 12" not in _dump(older.args["view"])
    assert f"11–{total} of {total}" in _dump(older.args["view"])
    # The same click on the card as it was before (a double click) loses against the newer view.
    signed.block_action(RECRUITER, "card_timeline_page", "10", view=card)
    deadline = time.monotonic() + 5
    while not any(c.error == "hash_conflict" for c in slack.calls_to("views.update")):
        assert time.monotonic() < deadline, "the stale click never reached Slack"
        time.sleep(0.05)
    slack.assert_no_call("chat.postMessage", lambda c: c.args["channel"] == RECRUITER)

    paged = slack.view(card["id"])
    signed.block_action(RECRUITER, "card_timeline_page", _button(paged, "card_timeline_page", "Newer")["value"],
                        view=paged)
    slack.wait_for("views.update", lambda c: c.args.get("hash") == paged["hash"] and c.ok)
    assert "Note number 12" in _timeline_texts(slack.view(card["id"]))[0]

    signed.block_action(RECRUITER, "card_add_note", str(candidate_id), view=slack.view(card["id"]))
    note_modal = slack.wait_for("views.push").response["view"]
    blank = signed.view_submission(RECRUITER, note_modal, {"note": plain_text("   ")}).json()
    assert blank["response_action"] == "errors" and "Write something" in blank["errors"]["note"]
    for _ in range(2):  # a double-clicked Save
        response = signed.view_submission(RECRUITER, note_modal, {"note": plain_text("Great <b>call</b> today")})
        assert response.status_code == 200 and "errors" not in response.text
    slack.wait_for("views.update", lambda c: c.ok and c.args["view_id"] == card["id"]
                   and "Great &lt;b&gt;call&lt;/b&gt; today" in _dump(c.args["view"]))
    with app.deps.db.read() as session:
        notes = session.exec(select(Activity).where(Activity.kind == "note.added")).all()
    from_modal = [n for n in notes if n.payload.get("submission_key") == note_modal["id"]]
    assert [(n.payload["text"], n.actor, n.occurred_at) for n in from_modal] == [
        ("Great <b>call</b> today", RECRUITER, clock())]
    assert len(notes) == 13


def _suggest(signed: SignedSlackClient, user: str, view: dict[str, Any], value: str) -> list[dict[str, Any]]:
    payload = {"type": "block_suggestion", "user": {"id": user, "username": user.lower(), "team_id": "T0001"},
               "team": {"id": "T0001", "domain": "acme"}, "api_app_id": "A0TALENT", "token": "legacy",
               "action_id": "timeline_candidate_search", "block_id": "candidate", "value": value,
               "container": {"type": "view", "view_id": view["id"]}, "view": view}
    response = signed.raw(urlencode({"payload": json.dumps(payload)}),
                          content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    return response.json()["options"]


def test_message_shortcut_attaches_a_message_to_the_timeline(app: RunningApp, signed: SignedSlackClient,
                                                             slack: FakeSlack, clock: Clock) -> None:
    candidate_id, _ = _referred(app, clock)
    message = {"type": "message", "user": EMPLOYEE, "ts": "1700000000.000200",
               "text": "Jane &amp; I met at PyCon — she is <https://example.com|great>"}

    signed.message_shortcut(EMPLOYEE, "add_to_timeline", message, RECRUITING_CHANNEL)
    _ephemeral(slack, "Only recruiters")

    signed.message_shortcut(RECRUITER, "add_to_timeline", message, RECRUITING_CHANNEL)
    modal = slack.wait_for("views.open", lambda c: c.args["view"]["callback_id"] == "timeline_note").response["view"]
    note = next(b for b in modal["blocks"] if b.get("block_id") == "note")["element"]
    assert note["initial_value"] == "Jane & I met at PyCon — she is great (https://example.com)"

    options = _suggest(signed, RECRUITER, modal, "jan")
    assert [(o["value"], o["text"]["text"]) for o in options] == [(str(candidate_id), "Jane Doe · jane@example.com")]
    assert _suggest(signed, EMPLOYEE, modal, "jan") == []

    missing = signed.view_submission(RECRUITER, modal, {"note": plain_text("x")}).json()
    assert missing["response_action"] == "errors" and "candidate" in missing["errors"]
    chosen = {"type": "external_select",
              "selected_option": {"text": {"type": "plain_text", "text": "Jane Doe"}, "value": str(candidate_id)}}
    response = signed.view_submission(RECRUITER, modal, {"candidate": chosen,
                                                         "note": plain_text("Jane & I met at PyCon")}).json()
    assert response["response_action"] == "update" and "Jane Doe" in _dump(response["view"])

    with app.deps.db.read() as session:
        stored = session.exec(select(Activity).where(Activity.kind == "note.added")).one()
        candidate = session.get(Candidate, candidate_id)
    assert stored.candidate_id == candidate_id and stored.actor == RECRUITER and stored.occurred_at == clock()
    assert stored.payload["text"] == "Jane & I met at PyCon"
    assert (stored.payload["author"], stored.payload["channel"], stored.payload["message_ts"]) == (
        EMPLOYEE, RECRUITING_CHANNEL, "1700000000.000200")
    assert stored.payload["permalink"].endswith(f"/archives/{RECRUITING_CHANNEL}/p1700000000000200")
    assert candidate is not None

    # Attaching the same message again (from a new modal) keeps one note.
    signed.message_shortcut(RECRUITER, "add_to_timeline", message, RECRUITING_CHANNEL)
    time.sleep(0.2)
    again = slack.calls_to("views.open")[-1].response["view"]
    repeat = signed.view_submission(RECRUITER, again, {"candidate": chosen, "note": plain_text("dup")}).json()
    assert "already" in _dump(repeat["view"])
    with app.deps.db.read() as session:
        assert len(session.exec(select(Activity).where(Activity.kind == "note.added")).all()) == 1


def test_owner_and_positions_are_changed_from_the_card(app: RunningApp, signed: SignedSlackClient,
                                                       slack: FakeSlack, clock: Clock) -> None:
    candidate_id, _ = _referred(app, clock)
    with app.deps.db.transaction() as session:
        designer = add_position(session, "Designer", now=clock())
    card = _open_card(signed, slack, RECRUITER, "jane")
    adds = next(e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == "card_add_position")
    assert [o["text"]["text"] for o in adds["options"]] == ["Designer"]

    signed.block_action(RECRUITER, "card_add_position", str(designer.id), action_type="static_select", view=card)
    slack.wait_for("views.update", lambda c: c.ok and "*Designer* · Sourced" in _dump(c.args["view"]))
    # The referral was for Backend Engineer, so its referrer hears nothing about Designer.
    slack.assert_no_call("chat.postMessage", lambda c: c.args["channel"] == EMPLOYEE)

    signed.block_action(RECRUITER, "card_assign_owner", "UHIRING01", action_type="users_select",
                        view=slack.view(card["id"]))
    slack.wait_for("views.update", lambda c: c.ok and "*Owner:* <@UHIRING01>" in _dump(c.args["view"]))
    # Adding the same position again (a second click before the card redrew) is refused, and says why.
    signed.block_action(RECRUITER, "card_add_position", str(designer.id), action_type="static_select", view=card)
    refusal = slack.wait_for("views.push").args["view"]
    assert "already in the pipeline for Designer" in _dump(refusal)
    with app.deps.db.read() as session:
        candidate = session.get(Candidate, candidate_id)
        applications = session.exec(select(Application).where(Application.position_id == designer.id)).all()
        owners = session.exec(select(Activity).where(Activity.kind == "candidate.owner_assigned")).all()
    assert candidate is not None and candidate.owner_slack_id == "UHIRING01"
    assert [(a.stage, a.status) for a in applications] == [("Sourced", "open")]
    assert [(o.actor, o.payload["owner"]) for o in owners][-1] == (RECRUITER, "UHIRING01")


def test_the_card_schedules_interviews_and_records_departures(app: RunningApp, signed: SignedSlackClient,
                                                               slack: FakeSlack, clock: Clock) -> None:
    _, application_id = _referred(app, clock)
    card = _open_card(signed, slack, RECRUITER, "jane")
    schedule = _button(card, "interview_schedule")
    assert schedule["value"] == str(application_id)
    signed.block_action(RECRUITER, "interview_schedule", schedule["value"], view=card,
                        container={"type": "view", "view_id": card["id"]})
    # Clicked inside the card, the scheduling modal stacks on top of it.
    pushed = slack.wait_for("views.push", lambda call: call.args["view"].get("callback_id")
                            == "interview_schedule_submit")
    assert "Jane Doe" in _dump(pushed.args["view"])

    with app.deps.db.transaction() as session:
        application = session.get(Application, application_id)
        assert application is not None
        application.status, application.hired_at = "hired", clock()
    hired_card = _open_card(signed, slack, RECRUITER, "jane")
    assert _button(hired_card, "hire_left")["value"] == str(application_id)
    assert "interview_schedule" not in _dump(hired_card)
