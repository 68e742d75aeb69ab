"""The App Home tab per role, end to end: app_home_opened and the tab's buttons, read back from the fake Slack."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from bot.access import Actor, Role
from bot.services.pipeline import move_stage
from bot.services.referrals import ReferralDraft, submit_referral, validate_referral
from bot.workspace import WorkspaceConfig, parse_workspace_config
from commands.candidate_views import move_value
from storage.models import Application, OutboxMessage, Task
from tests.conftest import (
    ADMIN,
    EMPLOYEE,
    HIRING_MANAGER,
    OTHER_EMPLOYEE,
    RECRUITER,
    WORKSPACE,
    Clock,
)
from tests.harness import FakeSlack, SignedSlackClient
from tests.harness.running_app import RunningApp
from tests.test_candidate_service import add_candidate, add_position, apply

IT = "UIT00001"
AS_RECRUITER = Actor(RECRUITER, frozenset({Role.RECRUITER}))


@pytest.fixture
def config() -> WorkspaceConfig:
    return parse_workspace_config({**WORKSPACE, "teams": {"it": IT, "hr": IT, "payroll": IT}})


@pytest.fixture(autouse=True)
def it_team(slack: FakeSlack) -> None:
    slack.add_user(IT, name="ivan")


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _publish_count(slack: FakeSlack, user: str) -> int:
    return sum(1 for c in slack.calls_to("views.publish") if c.ok and c.args["user_id"] == user)


def _open_home(signed: SignedSlackClient, slack: FakeSlack, user: str) -> dict[str, Any]:
    before = _publish_count(slack, user)
    signed.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"})
    return _next_publish(slack, user, before)


def _next_publish(slack: FakeSlack, user: str, before: int) -> dict[str, Any]:
    slack.wait_for("views.publish", lambda c: _publish_count(slack, user) > before)
    view = slack.home_view(user)
    assert view is not None
    return view


def _texts(home: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in home["blocks"] if b.get("type") == "section"]


def _stage_counts(home: dict[str, Any]) -> dict[str, int]:
    counts = {}
    for text in _texts(home):
        if match := re.match(r"^\*([^*]+)\* · (\d+)", text):
            counts[match.group(1)] = int(match.group(2))
    return counts


def test_recruiter_board_counts_filter_and_move_from_the_home_tab(app: RunningApp, signed: SignedSlackClient,
                                                                  slack: FakeSlack, clock: Clock) -> None:
    now = clock()
    with app.deps.db.transaction() as session:
        backend = add_position(session, "Backend Engineer", now=now)
        design = add_position(session, "Designer", now=now)
        for n in range(3):
            apply(session, add_candidate(session, f"Sourced {n}", now=now), backend, entered=now - timedelta(days=n))
        apply(session, add_candidate(session, "Designer One", now=now), design, entered=now)
        stale = apply(session, add_candidate(session, "Stuck Person", now=now), design, stage="Interview",
                      entered=now - timedelta(days=15))
        apply(session, add_candidate(session, "Gone", now=now), design, stage="Rejected", entered=now,
              status="rejected")

    home = _open_home(signed, slack, RECRUITER)
    counts = _stage_counts(home)
    assert (counts["Sourced"], counts["Interview"], counts["Offer"]) == (4, 1, 0)
    assert "Rejected" not in counts, "ended applications are not on the board"
    assert "1 over their stage's time limit" in _dump(home) and "Stuck Person" in _dump(home)
    assert "Undelivered" not in _dump(home)

    before = _publish_count(slack, RECRUITER)
    signed.block_action(RECRUITER, "home_board_position", str(backend.id), action_type="static_select", view=home)
    filtered = _next_publish(slack, RECRUITER, before)
    assert (_stage_counts(filtered)["Sourced"], _stage_counts(filtered)["Interview"]) == (3, 0)
    assert "Stuck Person" not in _dump(filtered)
    # The filter stays for the next redraw (e.g. after Refresh).
    before = _publish_count(slack, RECRUITER)
    signed.block_action(RECRUITER, "home_refresh", "refresh", view=filtered)
    assert _stage_counts(_next_publish(slack, RECRUITER, before))["Sourced"] == 3
    before = _publish_count(slack, RECRUITER)
    signed.block_action(RECRUITER, "home_board_position", "all", action_type="static_select", view=filtered)
    unfiltered = _next_publish(slack, RECRUITER, before)

    before = _publish_count(slack, RECRUITER)
    signed.block_action(RECRUITER, "home_move_stage", move_value(stale.id or 0, "Rejected"),
                        action_type="static_select", view=unfiltered)
    after_move = _next_publish(slack, RECRUITER, before)
    assert "Stuck Person" not in _dump(after_move) and _stage_counts(after_move)["Interview"] == 0
    with app.deps.db.read() as session:
        moved = session.get(Application, stale.id)
    assert moved is not None and (moved.stage, moved.status) == ("Rejected", "rejected")


def test_a_refused_move_on_the_home_tab_explains_itself(app: RunningApp, signed: SignedSlackClient,
                                                        slack: FakeSlack, clock: Clock) -> None:
    now = clock()
    with app.deps.db.transaction() as session:
        position = add_position(session, "Backend", now=now)
        application = apply(session, add_candidate(session, "Jane Doe", now=now), position, entered=now)
        move_stage(session, actor=AS_RECRUITER, application_id=application.id or 0, to_stage="Phone Screen",
                   config=app.deps.config, now=now - timedelta(days=9))
    home = _open_home(signed, slack, RECRUITER)
    before = _publish_count(slack, RECRUITER)
    signed.block_action(RECRUITER, "home_move_stage", move_value(application.id or 0, "Offer"),
                        action_type="static_select", view=home)
    refusal = slack.wait_for("views.open").args["view"]
    assert "Send calendar invite" in _dump(refusal)
    _next_publish(slack, RECRUITER, before)
    with app.deps.db.read() as session:
        assert session.get(Application, application.id).stage == "Phone Screen"  # type: ignore[union-attr]


def test_hiring_manager_sees_onboarding_progress_after_a_step_is_done(app: RunningApp, signed: SignedSlackClient,
                                                                      slack: FakeSlack, clock: Clock) -> None:
    now = clock()
    with app.deps.db.transaction() as session:
        position = add_position(session, "Backend Engineer", manager=HIRING_MANAGER, now=now)
        add_position(session, "Someone else's", manager=OTHER_EMPLOYEE, now=now)
        hire = apply(session, add_candidate(session, "Jane Doe", now=now), position, stage="Offer", entered=now)
        apply(session, add_candidate(session, "John Roe", now=now), position, entered=now)
        move_stage(session, actor=AS_RECRUITER, application_id=hire.id or 0, to_stage="Offer Accepted",
                   config=app.deps.config, now=now)

    home = _open_home(signed, slack, HIRING_MANAGER)
    text = _dump(home)
    assert "Your positions" in text and "Backend Engineer" in text and "Someone else's" not in text
    assert "Sourced 1 · Offer Accepted 1" in text
    assert "0 of 4 steps done" in text and "Prepare laptop and access" in text
    assert "Pipeline" not in text and "Stale" not in text, "hiring managers get no recruiter board"
    my_task = next(b for b in home["blocks"] if b.get("accessory", {}).get("action_id") == "task_done"
                   and "First-week agenda" in b["text"]["text"])

    clock.advance(hours=2)
    before = _publish_count(slack, HIRING_MANAGER)
    signed.block_action(HIRING_MANAGER, "task_done", my_task["accessory"]["value"], view=home)
    updated = _dump(_next_publish(slack, HIRING_MANAGER, before))
    assert "1 of 4 steps done" in updated

    # IT (an employee with tasks, nothing else) marks its step done on its own tab; the manager's tab shows it
    # the next time it opens.
    it_home = _open_home(signed, slack, IT)
    assert "My tasks" in _dump(it_home) and "Pipeline" not in _dump(it_home)
    laptop = next(b["accessory"]["value"] for b in it_home["blocks"]
                  if b.get("accessory", {}).get("action_id") == "task_done" and "laptop" in b["text"]["text"])
    before = _publish_count(slack, IT)
    signed.block_action(IT, "task_done", laptop, view=it_home)
    _next_publish(slack, IT, before)
    assert "2 of 4 steps done" in _dump(_open_home(signed, slack, HIRING_MANAGER))
    with app.deps.db.read() as session:
        assert session.get(Task, int(laptop)).completed_by_slack_id == IT  # type: ignore[union-attr]


def test_employees_see_only_their_own_referrals(app: RunningApp, signed: SignedSlackClient, slack: FakeSlack,
                                                clock: Clock) -> None:
    with app.deps.db.transaction() as session:
        for referrer, name, email in [(EMPLOYEE, "Mine Person", "mine@example.com"),
                                      (OTHER_EMPLOYEE, "Theirs Person", "theirs@example.com")]:
            draft = ReferralDraft(candidate_name=name, email=email, position="general", relationship="Friend",
                                  note="Great", consent_confirmed=True)
            submit_referral(session, actor=Actor(referrer, frozenset({Role.EMPLOYEE})),
                            referral=validate_referral(draft, default_region="DE"), config=app.deps.config,
                            now=clock())
    home = _dump(_open_home(signed, slack, EMPLOYEE))
    assert "Mine Person" in home and "Theirs Person" not in home
    for recruiter_only in ("Pipeline", "Stale", "Your positions", "My tasks", "Undelivered"):
        assert recruiter_only not in home, recruiter_only


def test_the_tab_stays_within_100_blocks_with_300_candidates(app: RunningApp, signed: SignedSlackClient,
                                                             slack: FakeSlack, clock: Clock) -> None:
    now = clock()
    stages = [s.name for s in app.deps.config.pipeline.stages if s.outcome is None]
    admin = Actor(ADMIN, frozenset({Role.ADMIN}))
    with app.deps.db.transaction() as session:
        positions = [add_position(session, f"Position {n} " + "with a long title " * 4, now=now,
                                  manager=ADMIN if n % 2 else HIRING_MANAGER) for n in range(30)]
        applications = []
        for n in range(300):
            candidate = add_candidate(session, f"Candidate {n} " + "Longname" * 8, now=now)
            applications.append(apply(session, candidate, positions[n % 30], stage=stages[n % len(stages)],
                                      entered=now - timedelta(days=n % 40)))
        # Six new hires into the admin's own positions: more onboarding checklists than a page shows.
        hires = [a for a in applications if a.position_id in {p.id for p in positions if p.hiring_manager_slack_id
                                                              == ADMIN} and a.stage != "Offer Accepted"][:6]
        for application in hires:
            move_stage(session, actor=admin, application_id=application.id or 0, to_stage="Offer Accepted",
                       config=app.deps.config, now=now)
        for n in range(40):
            session.add(Task(title=f"Admin task {n}", assignee_slack_id=ADMIN, due_at=now + timedelta(hours=n),
                             created_at=now))
            session.add(OutboxMessage(method="chat.postMessage", payload={"channel": "CGONE"}, dedupe_key=f"x{n}",
                                      status="failed", attempts=10, last_error="channel_not_found", next_attempt_at=now,
                                      created_at=now))
        for n in range(12):
            draft = ReferralDraft(candidate_name=f"Referred {n}", email=f"r{n}@example.com", position="general",
                                  relationship="Friend", note="Great", consent_confirmed=True)
            submit_referral(session, actor=admin, referral=validate_referral(draft, default_region="DE"),
                            config=app.deps.config, now=now)

    for user in (ADMIN, RECRUITER, HIRING_MANAGER, EMPLOYEE):
        home = _open_home(signed, slack, user)
        assert len(home["blocks"]) <= 100, (user, len(home["blocks"]))
    admin_home = slack.home_view(ADMIN)
    assert admin_home is not None
    admin_text = _dump(admin_home)
    for section_title in ("Pipeline", "Stale", "Your positions", "Onboarding", "My tasks", "Your referrals",
                          "Undelivered notifications (40)"):
        assert section_title in admin_text, section_title
    assert "more than fits here" not in admin_text, "every section fits; long lists page instead"
    assert "6 new hires getting set up" in admin_text and "page:checklists" in admin_text
    assert sum(_stage_counts(admin_home).get(stage, 0) for stage in stages) == 300

    more = next(e for b in admin_home["blocks"] if b.get("block_id") == "page:stale" for e in b["elements"]
                if e["text"]["text"] == "More")
    before = _publish_count(slack, ADMIN)
    signed.block_action(ADMIN, "home_page", more["value"], view=admin_home)
    second = _next_publish(slack, ADMIN, before)
    assert "Previous" in _dump(second) and len(second["blocks"]) <= 100
    assert _stale_names(second) != _stale_names(admin_home)


def _stale_names(home: dict[str, Any]) -> list[str]:
    return [b["text"]["text"].split("*")[1] for b in home["blocks"] if b.get("block_id", "").startswith("stale:")]
