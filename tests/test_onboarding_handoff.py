"""The handoff end to end below Slack: Offer Accepted mails the new hire; Day 1 Complete signs them over to HR."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import pytest
from sqlmodel import select

from bot.access import SYSTEM
from bot.deps import Deps, build_deps
from bot.jobs import JOBS
from bot.services.pipeline import move_stage
from bot.services.positions import create_position
from bot.services.referrals import ReferralDraft, submit_referral, validate_referral
from bot.services.tasks import complete_task
from bot.settings import Settings
from bot.workspace import parse_workspace_config
from commands.notifications import queue_stage_move
from storage.models import Application, Task
from tests.conftest import HIRING_MANAGER, RECRUITER, WORKSPACE, Clock
from tests.harness import FakeSlack
from tests.harness.http_receiver import HttpReceiver
from tests.harness.smtp import SmtpServer

SECRET = "hr-secret"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def hr() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def handoff_deps(settings: Settings, db, clock: Clock, smtp: SmtpServer, hr: HttpReceiver) -> Deps:  # type: ignore[no-untyped-def]
    config = parse_workspace_config({**WORKSPACE, "onboarding": {"handbook_url": "https://acme.test/handbook"},
                                     "hr_handoff": {"webhook_url": hr.url("/hires")}})
    settings = settings.model_copy(update={"smtp_url": smtp.url(), "hr_webhook_secret": SECRET,
                                           "smtp_from": "Acme Talent <talent@acme.test>"})
    return build_deps(settings, config, db=db, clock=clock)


def _move(deps: Deps, application_id: int, stage: str) -> None:
    actor = deps.roles.actor(RECRUITER)
    with deps.db.transaction() as session:
        for task in session.exec(select(Task).where(Task.application_id == application_id, Task.status == "open")):
            if task.group_key and task.group_key.startswith("stage:"):
                complete_task(session, actor=actor, task_id=task.id or 0, now=deps.clock())
        queue_stage_move(session, move_stage(session, actor=actor, application_id=application_id, to_stage=stage,
                                             config=deps.config, now=deps.clock()), deps)


def test_offer_accepted_mails_the_new_hire_and_day_one_reaches_hr(handoff_deps: Deps, slack: FakeSlack,
                                                                  smtp: SmtpServer, hr: HttpReceiver,
                                                                  clock: Clock) -> None:
    deps = handoff_deps
    with deps.db.transaction() as session:
        position = create_position(session, actor=SYSTEM, title="Backend Engineer", now=clock(),
                                   hiring_manager_slack_id=HIRING_MANAGER)
        draft = ReferralDraft(candidate_name="Jane Doe", email="jane@example.com", position=str(position.id),
                              relationship="Friend", note="Great", consent_confirmed=True)
        submit_referral(session, actor=deps.roles.actor("UEMPLOY01"), config=deps.config, now=clock(),
                        referral=validate_referral(draft, default_region="DE"))
        application_id = session.exec(select(Application)).one().id or 0

    _move(deps, application_id, "Offer Accepted")
    assert "sent 1" in JOBS["deliver_email"].run(deps)
    welcome = smtp.wait_for(1)[0]
    assert welcome.message["To"] == "jane@example.com"
    assert "https://acme.test/handbook" in welcome.part("plain")
    assert "Backend Engineer" in welcome.part("html")

    _move(deps, application_id, "Day 1 Complete")
    assert "sent 1" in JOBS["deliver_webhooks"].run(deps)
    request = hr.wait_for(1)[0]
    timestamp = request.headers["x-talentbot-timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-talentbot-signature"] == f"sha256={expected}"
    assert request.json()["candidate"]["email"] == "jane@example.com"
    assert request.json()["position"]["title"] == "Backend Engineer"

    # Running the jobs again sends nothing twice.
    assert "sent 0" in JOBS["deliver_email"].run(deps) and "sent 0" in JOBS["deliver_webhooks"].run(deps)
    assert len(smtp.received) == 1 and len(hr.requests) == 1
