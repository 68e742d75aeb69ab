"""/position end to end: signed requests to the real endpoint, Slack answered by the fake.

Plus the position builders as data: valid Block Kit within Slack's limits whatever the input.
"""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from sqlmodel import col, func, select

from bot.access import SYSTEM
from bot.services.positions import (
    CandidateChoice,
    PositionCandidates,
    PositionListItem,
    PositionPage,
    create_position,
)
from commands.position_views import (
    build_announcement,
    build_client_consent_modal,
    build_position_list,
    build_position_modal,
    build_won_modal,
)
from storage.models import Activity, Application, Candidate, Consent, Position
from tests.conftest import (
    EMPLOYEE,
    HIRING_MANAGER,
    OTHER_EMPLOYEE,
    RECRUITER,
    RECRUITING_CHANNEL,
    Clock,
)
from tests.harness import (
    Call,
    FakeSlack,
    SignedSlackClient,
    check_blocks,
    check_view,
    number_text,
    plain_text,
    radio,
    static_select,
    users_select,
)
from tests.harness.running_app import RunningApp

# --- steps -----------------------------------------------------------------------------------------


def _count(app: RunningApp, model: type) -> int:
    with app.deps.db.read() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def position_form(**overrides: Any) -> dict[str, Any]:
    """The create/edit modal's state as Slack sends it; override a field with e.g. title=plain_text("")."""
    fields: dict[str, Any] = {
        "title": plain_text("Backend Engineer"),
        "hiring_manager": users_select(HIRING_MANAGER),
        "location": plain_text("Berlin"),
        "required_skills": plain_text("Python, SQL, python"),
        "client_company": plain_text(None),
        "fee_amount": number_text(None),
        "fee_currency": static_select(None),
    }
    fields.update(overrides)
    return fields


def wait_new(slack: FakeSlack, method: str, before: int) -> Call:
    slack.wait_for(method, lambda call: len(slack.calls_to(method)) > before)
    return slack.calls_to(method)[-1]


def open_modal(signed: SignedSlackClient, slack: FakeSlack, user_id: str, text: str = "") -> dict[str, Any]:
    before = len(slack.calls_to("views.open"))
    assert signed.slash_command(user_id, "/position", text).status_code == 200
    return wait_new(slack, "views.open", before).response["view"]


def respond_to(signed: SignedSlackClient, slack: FakeSlack, user_id: str, text: str) -> dict[str, Any]:
    before = len(slack.calls_to("response_url"))
    assert signed.slash_command(user_id, "/position", text).status_code == 200
    return wait_new(slack, "response_url", before).args


def menu_values(blocks: list[dict[str, Any]]) -> set[str]:
    return {o["value"] for b in blocks if b.get("accessory", {}).get("type") == "overflow"
            for o in b["accessory"]["options"]}


def choose(signed: SignedSlackClient, slack: FakeSlack, user_id: str, value: str) -> dict[str, Any]:
    """Pick `value` ("won:3") in a position's menu; returns the modal it opened."""
    before = len(slack.calls_to("views.open"))
    signed.block_action(user_id, "position_menu", value, action_type="overflow", block_id=f"position:{value}")
    return wait_new(slack, "views.open", before).response["view"]


def add_candidate(app: RunningApp, clock: Clock, position_id: int, name: str) -> tuple[int, int]:
    with app.deps.db.transaction() as session:
        candidate = Candidate(full_name=name, name_key=name.lower(), created_at=clock(), updated_at=clock())
        session.add(candidate)
        session.flush()
        application = Application(candidate_id=candidate.id or 0, position_id=position_id, stage="Sourced",
                                  stage_entered_at=clock(), created_at=clock())
        session.add(application)
        session.flush()
        return candidate.id or 0, application.id or 0


def seed_position(app: RunningApp, clock: Clock, title: str, **fields: Any) -> Position:
    with app.deps.db.transaction() as session:
        return create_position(session, actor=SYSTEM, title=title, now=clock(), **fields)


def agency(app: RunningApp, clock: Clock, title: str = "Data Engineer") -> Position:
    return seed_position(app, clock, title, hiring_manager_slack_id=HIRING_MANAGER, client_company="Globex",
                         fee_amount=15000, fee_currency="EUR")


# --- creating and editing --------------------------------------------------------------------------


def test_recruiter_creates_a_position_after_inline_corrections(app: RunningApp, signed: SignedSlackClient,
                                                              slack: FakeSlack, clock: Clock) -> None:
    view = open_modal(signed, slack, RECRUITER)
    assert view["callback_id"] == "position_create"

    refusals = [
        (position_form(title=plain_text("  ")), {"title"}),
        (position_form(client_company=plain_text("Globex"), fee_amount=number_text(15000)), {"fee_currency"}),
        (position_form(fee_amount=number_text(15000), fee_currency=static_select("EUR")), {"client_company"}),
    ]
    for values, blocks in refusals:
        body = signed.view_submission(RECRUITER, view, values).json()
        assert body["response_action"] == "errors" and set(body["errors"]) == blocks
    assert _count(app, Position) == 0 and _count(app, Activity) == 0
    slack.assert_no_call("chat.postMessage")

    corrected = position_form(client_company=plain_text("Globex"), fee_amount=number_text(15000),
                              fee_currency=static_select("EUR"))
    for _ in range(3):  # a double-clicked submit, or a retry
        assert "errors" not in signed.view_submission(RECRUITER, view, corrected).text

    post = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == RECRUITING_CHANNEL)
    dm = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == HIRING_MANAGER)
    assert "Backend Engineer" in post.args["text"] and "Globex" in json.dumps(post.args["blocks"])
    assert "15000" not in json.dumps(post.args), "the fee is not for the channel"
    assert "hiring manager" in dm.args["text"]
    time.sleep(0.5)  # give a wrongly repeated announcement the time to show up
    assert len(slack.messages_in(RECRUITING_CHANNEL)) == 1 and len(slack.messages_in(HIRING_MANAGER)) == 1

    with app.deps.db.read() as session:
        position = session.exec(select(Position)).one()
        created = session.exec(select(Activity)).one()
    assert (position.required_skills, position.fee_amount, position.fee_currency) == (["Python", "SQL"], 15000, "EUR")
    assert position.created_by_slack_id == RECRUITER and position.hiring_manager_slack_id == HIRING_MANAGER
    assert (created.kind, created.actor, created.occurred_at) == ("position.created", RECRUITER, clock())
    assert created.payload["submission_key"] == view["id"]


def test_recruiter_edits_by_title_and_from_the_list(app: RunningApp, signed: SignedSlackClient, slack: FakeSlack,
                                                    clock: Clock) -> None:
    backend = seed_position(app, clock, "Backend Engineer", hiring_manager_slack_id=HIRING_MANAGER,
                            required_skills="Python")
    seed_position(app, clock, "Frontend Engineer")
    clock.advance(hours=1)

    view = open_modal(signed, slack, RECRUITER, "edit backend engineer")
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert view["callback_id"] == "position_edit"
    assert inputs["title"]["initial_value"] == "Backend Engineer"
    assert inputs["hiring_manager"]["initial_user"] == HIRING_MANAGER
    assert inputs["status"]["initial_option"]["value"] == "open"

    edited = position_form(title=plain_text("Senior Backend Engineer"), hiring_manager=users_select(OTHER_EMPLOYEE),
                           required_skills=plain_text("Python, Go"), status=radio("open"))
    assert "errors" not in signed.view_submission(RECRUITER, view, edited).text
    dm = slack.wait_for("chat.postMessage", lambda call: call.args["channel"] == OTHER_EMPLOYEE)
    assert "Senior Backend Engineer" in dm.args["text"]
    with app.deps.db.read() as session:
        stored = session.get(Position, backend.id)
        updated = session.exec(select(Activity).where(Activity.kind == "position.updated")).one()
    assert stored is not None and stored.title == "Senior Backend Engineer"
    assert stored.required_skills == ["Python", "Go"] and stored.hiring_manager_slack_id == OTHER_EMPLOYEE
    assert (updated.actor, updated.occurred_at) == (RECRUITER, clock())

    # Several titles match: the answer offers an Edit button for each.
    answer = respond_to(signed, slack, RECRUITER, "edit engineer")
    assert answer["response_type"] == "ephemeral"
    assert len([b for b in answer["blocks"] if b.get("accessory", {}).get("text", {}).get("text") == "Edit"]) == 2

    listing = respond_to(signed, slack, RECRUITER, "list")
    assert check_blocks(listing["blocks"], surface="message") == []
    assert f"edit:{backend.id}" in menu_values(listing["blocks"])
    again = choose(signed, slack, RECRUITER, f"edit:{backend.id}")
    closed = position_form(title=plain_text("Senior Backend Engineer"), hiring_manager=users_select(OTHER_EMPLOYEE),
                           required_skills=plain_text("Python, Go"), status=radio("closed"))
    assert "errors" not in signed.view_submission(RECRUITER, again, closed).text
    with app.deps.db.read() as session:
        stored = session.get(Position, backend.id)
    assert stored is not None and (stored.status, stored.close_reason) == ("closed", "closed")


def test_an_edit_over_someone_elses_change_is_refused_inline(app: RunningApp, signed: SignedSlackClient,
                                                             slack: FakeSlack, clock: Clock) -> None:
    seed_position(app, clock, "Backend Engineer")
    first = open_modal(signed, slack, RECRUITER, "edit Backend Engineer")
    second = open_modal(signed, slack, RECRUITER, "edit Backend Engineer")
    clock.advance(minutes=1)
    assert "errors" not in signed.view_submission(RECRUITER, first, position_form(
        title=plain_text("Platform Engineer"), status=radio("open"))).text
    body = signed.view_submission(RECRUITER, second, position_form(title=plain_text("Data Engineer"),
                                                                   status=radio("open"))).json()
    assert "Someone changed this position" in body["errors"]["title"]


# --- who sees what ---------------------------------------------------------------------------------


def test_hiring_manager_sees_only_their_positions(app: RunningApp, signed: SignedSlackClient, slack: FakeSlack,
                                                  clock: Clock) -> None:
    seed_position(app, clock, "Backend Engineer", hiring_manager_slack_id=HIRING_MANAGER)
    seed_position(app, clock, "Accountant", hiring_manager_slack_id=OTHER_EMPLOYEE)

    opened = len(slack.calls_to("views.open"))
    answer = respond_to(signed, slack, HIRING_MANAGER, "")
    assert answer["response_type"] == "ephemeral" and len(slack.calls_to("views.open")) == opened
    shown = json.dumps(answer["blocks"])
    assert "Backend Engineer" in shown and "Accountant" not in shown
    assert menu_values(answer["blocks"]) == set(), "hiring managers see their positions, they don't manage them"

    refusal = respond_to(signed, slack, HIRING_MANAGER, "new")
    assert "Only recruiters and admins" in refusal["text"]
    everything = respond_to(signed, slack, RECRUITER, "list")
    assert "Accountant" in json.dumps(everything["blocks"])


def test_employee_is_refused_politely_everywhere(app: RunningApp, signed: SignedSlackClient, slack: FakeSlack,
                                                 clock: Clock) -> None:
    position = seed_position(app, clock, "Backend Engineer", hiring_manager_slack_id=HIRING_MANAGER)
    for text in ("", "list", "edit Backend"):
        refusal = respond_to(signed, slack, EMPLOYEE, text)
        assert refusal["response_type"] == "ephemeral" and refusal["text"].startswith(":lock:"), text

    before = len(slack.calls_to("response_url"))
    signed.block_action(EMPLOYEE, "position_menu", f"reopen:{position.id}", action_type="overflow")
    assert "Only recruiters" in wait_new(slack, "response_url", before).args["text"]

    # A recruiter's form submitted by someone else (a forged or replayed payload) is refused, not stored.
    view = open_modal(signed, slack, RECRUITER)
    body = signed.view_submission(EMPLOYEE, view, position_form(title=plain_text("Designer"))).json()
    assert body["response_action"] == "update" and "Only recruiters" in json.dumps(body["view"])
    assert check_view(body["view"]) == []
    assert _count(app, Position) == 1


# --- agency mode -----------------------------------------------------------------------------------


def test_agency_close_as_won_needs_a_placed_candidate_with_an_application(
        app: RunningApp, signed: SignedSlackClient, slack: FakeSlack, clock: Clock) -> None:
    position = agency(app, clock)
    other = agency(app, clock, "Designer")
    empty = agency(app, clock, "Product Manager")
    jane, jane_application = add_candidate(app, clock, position.id or 0, "Jane Doe")
    max_, _ = add_candidate(app, clock, other.id or 0, "Max Mustermann")

    listing = respond_to(signed, slack, RECRUITER, "list")
    assert {f"{verb}:{position.id}" for verb in ("edit", "submit", "consent", "won", "lost")} <= menu_values(
        listing["blocks"])

    nobody = choose(signed, slack, RECRUITER, f"won:{empty.id}")
    assert nobody.get("submit") is None and "Nobody has applied" in json.dumps(nobody["blocks"])

    view = choose(signed, slack, RECRUITER, f"won:{position.id}")
    select_element = next(b for b in view["blocks"] if b.get("block_id") == "placed_candidate")["element"]
    assert [o["value"] for o in select_element["options"]] == [str(jane)]
    fee = {"fee_amount": number_text(18000), "fee_currency": static_select("EUR")}

    body = signed.view_submission(RECRUITER, view, {"placed_candidate": static_select(None), **fee}).json()
    assert set(body["errors"]) == {"placed_candidate"}
    # A stale or forged form naming someone who never applied here.
    forged = copy.deepcopy(view)
    next(b for b in forged["blocks"] if b.get("block_id") == "placed_candidate")["element"]["options"].append(
        {"text": {"type": "plain_text", "text": "Max"}, "value": str(max_)})
    body = signed.view_submission(RECRUITER, forged, {"placed_candidate": static_select(str(max_)), **fee}).json()
    assert "no application to this position" in body["errors"]["placed_candidate"]
    assert _count(app, Activity) == 3, "only the three position.created entries"

    clock.advance(days=20)
    ok = signed.view_submission(RECRUITER, view, {"placed_candidate": static_select(str(jane)), **fee})
    assert ok.status_code == 200 and "errors" not in ok.text
    with app.deps.db.read() as session:
        stored = session.get(Position, position.id)
        closed = session.exec(select(Activity).where(Activity.kind == "position.closed")).one()
    assert stored is not None
    assert (stored.status, stored.close_reason, stored.placed_candidate_id) == ("closed", "won", jane)
    assert (stored.fee_amount, stored.fee_currency) == (18000, "EUR")
    assert (closed.actor, closed.occurred_at, closed.application_id) == (RECRUITER, clock(), jane_application)

    listing = respond_to(signed, slack, RECRUITER, "list")
    assert f"reopen:{position.id}" in menu_values(listing["blocks"])
    assert "Jane Doe placed" in json.dumps(listing["blocks"])
    before = len(slack.calls_to("response_url"))
    signed.block_action(RECRUITER, "position_menu", f"reopen:{position.id}", action_type="overflow")
    assert "open again" in wait_new(slack, "response_url", before).args["text"]


def test_submission_to_the_client_needs_a_valid_consent(app: RunningApp, signed: SignedSlackClient,
                                                        slack: FakeSlack, clock: Clock) -> None:
    position = agency(app, clock)
    jane, application = add_candidate(app, clock, position.id or 0, "Jane Doe")

    def submit() -> dict[str, Any]:
        view = choose(signed, slack, RECRUITER, f"submit:{position.id}")
        return signed.view_submission(RECRUITER, view, {"application": static_select(str(application))}).json()

    def record_consent(decision: str, evidence: str) -> dict[str, Any]:
        view = choose(signed, slack, RECRUITER, f"consent:{position.id}")
        return signed.view_submission(RECRUITER, view, {
            "candidate": static_select(str(jane)), "consent_action": radio(decision),
            "evidence": plain_text(evidence)}).json()

    refused = submit()
    assert refused["response_action"] == "errors" and "no consent on record" in refused["errors"]["application"]

    missing_evidence = record_consent("granted", " ")
    assert set(missing_evidence["errors"]) == {"evidence"}
    recorded = record_consent("granted", "Email of 16 Nov: happy to be put forward to Globex")
    assert recorded["response_action"] == "update" and "Jane Doe" in json.dumps(recorded["view"])

    clock.advance(hours=2)
    accepted = submit()
    assert accepted["response_action"] == "update" and "submitted to *Globex*" in json.dumps(accepted["view"])
    assert check_view(accepted["view"]) == []
    assert "already submitted" in json.dumps(submit()["view"]), "a second submission records nothing new"
    with app.deps.db.read() as session:
        submitted = session.exec(select(Activity).where(Activity.kind == "client.submitted")).one()
    assert (submitted.actor, submitted.occurred_at, submitted.application_id) == (RECRUITER, clock(), application)

    clock.advance(days=3)
    record_consent("revoked", "Phone call: no longer wants to be put forward")
    refused_again = submit()
    assert "withdrew" in refused_again["errors"]["application"]
    with app.deps.db.read() as session:
        ledger = [(c.action, c.recorded_by_slack_id) for c in session.exec(select(Consent).order_by(col(Consent.id)))]
    assert ledger == [("granted", RECRUITER), ("revoked", RECRUITER)]


# --- builders as data ------------------------------------------------------------------------------

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def _valid_view(view: dict[str, Any]) -> None:
    View(**view).validate_json()
    assert check_view(view) == []


def _valid_blocks(blocks: list[dict[str, Any]]) -> None:
    for block in Block.parse_all(blocks):
        assert block is not None
        block.validate_json()
    assert check_blocks(blocks, surface="message") == []


def _long_position(i: int = 1, **fields: Any) -> Position:
    values: dict[str, Any] = dict(
        id=i, title="Principal <Staff> Engineer & Architect " * 4, location="L" * 200,
        required_skills=[f"skill-{n}-" + "s" * 40 for n in range(30)], client_company="C" * 200,
        fee_amount=999_999_999, fee_currency="CHF", hiring_manager_slack_id=HIRING_MANAGER, status="open",
        created_at=NOW, updated_at=NOW)
    values.update(fields)
    return Position(**values)


def test_builders_stay_within_slacks_limits_with_the_longest_input() -> None:
    position = _long_position()
    _valid_view(build_position_modal())
    _valid_view(build_position_modal(position))
    _valid_blocks(build_announcement(position, created_by=RECRUITER)["blocks"])
    choices = PositionCandidates(position=position, total=250, candidates=[
        CandidateChoice(application_id=n, candidate_id=n, candidate_name="N" * 200, stage="Background Check",
                        application_status="open") for n in range(1, 251)])
    _valid_view(build_won_modal(choices))
    _valid_view(build_client_consent_modal(choices))

    items = [PositionListItem(position=_long_position(n, status="closed" if n % 2 else "open",
                                                      client_company=None if n % 3 else "Globex"),
                              candidate_count=n, placed_candidate_name="P" * 200) for n in range(1, 21)]
    blocks = build_position_list(PositionPage(items=items, total=500, offset=40, can_manage=True))
    _valid_blocks(blocks)
    assert blocks[-1]["elements"][0]["value"] == "60"
    escaped = json.dumps(blocks[1])
    assert "<Staff>" not in escaped and "&lt;Staff&gt;" in escaped
