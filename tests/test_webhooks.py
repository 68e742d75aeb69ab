"""The HR handoff: a signed JSON webhook per hire, retried until it gets a 2xx, never posted twice."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.access import Actor, Role
from bot.deps import build_deps
from bot.jobs import JOBS
from bot.outbox import DeliveryReport
from bot.settings import Settings
from bot.webhooks import (
    FAILING_AFTER,
    LONGEST_RETRY,
    WebhookSender,
    failing_webhooks,
    hired_payload,
    queue_hire_webhook,
    retry_webhook_now,
)
from bot.workspace import WorkspaceConfig, parse_workspace_config
from storage.db import Database
from storage.models import (
    Application,
    ApplicationStatus,
    Candidate,
    CandidateSource,
    Position,
    Referral,
    WebhookDelivery,
)
from tests.conftest import ADMIN, EMPLOYEE, HIRING_MANAGER, RECRUITER, WORKSPACE, Clock
from tests.harness.http_receiver import HttpReceiver, ReceivedRequest
from tests.harness.smtp import free_port

SECRET = "hr-webhook-secret"


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running


def hr_config(url: str) -> WorkspaceConfig:
    return parse_workspace_config({**WORKSPACE, "hr_handoff": {"webhook_url": url}})


def add_hire(db: Database, clock: Clock, *, referred: bool = True,
             email: str = "jane@example.com") -> tuple[Candidate, Application, Position]:
    now = clock()
    with db.transaction() as session:
        candidate = Candidate(full_name="Jane Doe", name_key="jane doe", email=email, email_normalized=email,
                              phone_e164="+49301234567" if referred else None,
                              source=CandidateSource.REFERRAL, created_at=now, updated_at=now)
        position = Position(title="Backend Engineer", hiring_manager_slack_id=HIRING_MANAGER, location="Berlin",
                            created_at=now, updated_at=now)
        session.add(candidate)
        session.add(position)
        session.flush()
        assert candidate.id is not None and position.id is not None
        application = Application(candidate_id=candidate.id, position_id=position.id, stage="Day 1 Complete",
                                  stage_entered_at=now, status=ApplicationStatus.HIRED, created_at=now,
                                  closed_at=now, hired_at=now)
        session.add(application)
        if referred:
            session.add(Referral(code="R-JANE1", referrer_slack_id=EMPLOYEE, candidate_id=candidate.id,
                                 position_id=position.id, relationship="Former colleague", note="private note",
                                 created_at=now - timedelta(days=60), updated_at=now))
        session.flush()
        return candidate, application, position


def queue_hire(db: Database, clock: Clock, config: WorkspaceConfig, **hire: Any) -> int:
    candidate, application, position = add_hire(db, clock, **hire)
    with db.transaction() as session:
        delivery = queue_hire_webhook(session, config=config, candidate=candidate, application=application,
                                      position=position, now=clock())
        assert delivery is not None and delivery.id is not None
        return delivery.id


def delivery(db: Database, webhook_id: int) -> WebhookDelivery:
    with db.read() as session:
        found = session.get(WebhookDelivery, webhook_id)
        assert found is not None
        return found


def verify(request: ReceivedRequest, secret: str = SECRET) -> bool:
    """The receiver's side of the documented scheme, written from the docs rather than from the sender."""
    timestamp = request.headers["x-talentbot-timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["x-talentbot-signature"], f"sha256={expected}")


def test_a_hire_is_posted_as_signed_json_by_the_job(settings: Settings, db: Database, clock: Clock,
                                                   receiver: HttpReceiver) -> None:
    config = hr_config(receiver.url("/hr/hires"))
    webhook_id = queue_hire(db, clock, config)
    deps = build_deps(settings.model_copy(update={"hr_webhook_secret": SECRET}), config, db=db, clock=clock)
    assert JOBS["deliver_webhooks"].run(deps) == "sent 1, retrying 0, failed 0, skipped 0"

    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", "/hr/hires")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-talentbot-event"] == "candidate.hired"
    assert request.headers["x-talentbot-delivery"] == str(webhook_id)
    assert request.headers["x-talentbot-timestamp"] == str(int(clock().timestamp()))
    assert verify(request) and not verify(request, secret="wrong")

    body = request.json()
    assert body["schema"] == "talentbot.hire.v1"
    assert body["candidate"] | {"id": None} == {
        "id": None, "full_name": "Jane Doe", "email": "jane@example.com", "phone": "+49301234567",
        "location": None, "profile_url": None, "source": "referral"}
    assert body["position"]["title"] == "Backend Engineer"
    assert body["position"]["hiring_manager_slack_id"] == HIRING_MANAGER
    assert (body["start_date"], body["hired_at"]) == ("2026-11-16", "2026-11-16T09:00:00+00:00")
    assert body["referral"] == {"code": "R-JANE1", "referrer_slack_id": EMPLOYEE,
                                "referred_at": "2026-09-17T09:00:00+00:00"}
    assert "private note" not in request.body.decode()

    delivered = delivery(db, webhook_id)
    assert (delivered.status, delivered.attempts, delivered.last_status_code) == ("sent", 1, 204)
    assert delivered.delivered_at == clock()
    clock.advance(hours=2)
    assert "sent 0" in JOBS["deliver_webhooks"].run(deps), "a delivered hire is never posted again"
    assert len(receiver.requests) == 1


def test_the_hire_payload_schema_is_stable() -> None:
    candidate = Candidate(id=1, full_name="Jane", name_key="jane")
    position = Position(id=2, title="Engineer")
    payload = hired_payload(candidate, Application(id=3, candidate_id=1, position_id=2, stage="Day 1 Complete"),
                            position)
    assert set(payload) == {"schema", "application_id", "candidate", "position", "start_date", "hired_at",
                            "referral"}
    assert set(payload["candidate"]) == {"id", "full_name", "email", "phone", "location", "profile_url", "source"}
    assert set(payload["position"]) == {"id", "title", "location", "hiring_manager_slack_id", "client_company"}
    assert payload["referral"] is None and payload["hired_at"] is None


def test_nothing_is_queued_without_a_webhook_url(db: Database, clock: Clock, config: WorkspaceConfig) -> None:
    candidate, application, position = add_hire(db, clock)
    with db.transaction() as session:
        assert queue_hire_webhook(session, config=config, candidate=candidate, application=application,
                                  position=position, now=clock()) is None
    with db.read() as session:
        assert session.exec(select(WebhookDelivery)).all() == []


def test_the_same_hire_queued_twice_is_posted_once(db: Database, clock: Clock, receiver: HttpReceiver) -> None:
    config = hr_config(receiver.url())
    candidate, application, position = add_hire(db, clock)
    ids: set[int] = set()
    for _ in range(2):
        with db.transaction() as session:
            queued = queue_hire_webhook(session, config=config, candidate=candidate, application=application,
                                        position=position, now=clock())
            assert queued is not None and queued.id is not None
            ids.add(queued.id)
    sender = WebhookSender(db, SECRET, clock)
    assert len(ids) == 1 and sender.deliver(ids).sent == 1
    assert sender.deliver(ids).skipped == 1 and len(receiver.requests) == 1


def test_errors_and_time_outs_are_retried_until_a_2xx(db: Database, clock: Clock, receiver: HttpReceiver) -> None:
    webhook_id = queue_hire(db, clock, hr_config(receiver.url()))
    sender = WebhookSender(db, SECRET, clock, timeout=0.3)
    receiver.fail_next(500, times=2)
    receiver.hang_next(2.0)

    assert sender.deliver_due().retrying == 1
    assert delivery(db, webhook_id).last_status_code == 500
    assert sender.deliver_due().sent == 0, "nothing is due before the back-off has passed"
    waits = []
    for expected_error in ("HTTP 500", "ReadTimeout"):
        waits.append(delivery(db, webhook_id).next_attempt_at - clock())
        clock.advance(seconds=waits[-1].total_seconds())
        assert sender.deliver_due().retrying == 1
        assert expected_error in (delivery(db, webhook_id).last_error or "")
    clock.advance(seconds=(delivery(db, webhook_id).next_attempt_at - clock()).total_seconds())
    assert sender.deliver_due().sent == 1

    assert waits == [timedelta(seconds=30), timedelta(seconds=60)]
    requests = receiver.requests
    assert len(requests) == 4 and all(verify(request) for request in requests)
    assert {request.headers["x-talentbot-delivery"] for request in requests} == {str(webhook_id)}
    assert len({request.body for request in requests}) == 1, "every attempt posts the same bytes"
    assert (delivery(db, webhook_id).status, delivery(db, webhook_id).attempts) == ("sent", 4)


def test_a_receiver_that_keeps_failing_is_shown_to_admins_and_still_retried(
        db: Database, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}/hr"
    webhook_id = queue_hire(db, clock, hr_config(unreachable))
    sender = WebhookSender(db, SECRET, clock, timeout=1)
    with caplog.at_level(logging.WARNING, logger="bot.webhooks"):
        for attempt in range(1, 11):
            assert sender.deliver_due().retrying == 1
            with db.read() as session:
                shown = [w.id for w in failing_webhooks(session)]
            assert shown == ([webhook_id] if attempt >= FAILING_AFTER else [])
            clock.advance(hours=2)
    failing = delivery(db, webhook_id)
    assert (failing.status, failing.attempts) == ("pending", 10), "a hire is never given up on"
    assert failing.next_attempt_at - (clock() - timedelta(hours=2)) == LONGEST_RETRY
    assert "ConnectError" in (failing.last_error or "") and failing.last_status_code is None
    assert [r.levelname for r in caplog.records].count("ERROR") == 10 - FAILING_AFTER + 1

    # The HR system comes back (at a new address: a test cannot reliably reopen the closed port).
    with HttpReceiver() as receiver:
        with db.transaction() as session:
            row = session.get(WebhookDelivery, webhook_id)
            assert row is not None
            row.url = receiver.url("/hr")
            assert retry_webhook_now(session, actor=Actor(ADMIN, frozenset({Role.ADMIN})), webhook_id=webhook_id,
                                     now=clock())
        assert sender.deliver_due().sent == 1 and len(receiver.requests) == 1
    with db.read() as session:
        assert failing_webhooks(session) == []


def test_only_admins_retry_webhooks_now(db: Database, clock: Clock) -> None:
    from bot.access import AccessDenied

    webhook_id = queue_hire(db, clock, hr_config("https://hr.example.com/hook"))
    with pytest.raises(AccessDenied), db.transaction() as session:
        retry_webhook_now(session, actor=Actor(RECRUITER, frozenset({Role.RECRUITER})), webhook_id=webhook_id,
                          now=clock())


def test_without_a_secret_nothing_is_posted_unsigned(db: Database, clock: Clock, receiver: HttpReceiver) -> None:
    webhook_id = queue_hire(db, clock, hr_config(receiver.url()))
    report = WebhookSender(db, None, clock).deliver_due()
    assert str(report) == "sent 0, retrying 0, failed 0, skipped 0, waiting 1 for HR_WEBHOOK_SECRET"
    assert receiver.requests == [] and delivery(db, webhook_id).attempts == 0


def test_two_senders_at_once_post_each_hire_once(db: Database, clock: Clock, receiver: HttpReceiver,
                                                 database_url: str) -> None:
    config = hr_config(receiver.url())
    ids = [queue_hire(db, clock, config, referred=False, email=f"hire{n}@example.com") for n in range(6)]
    databases = [Database(database_url) for _ in range(2)]
    start = threading.Barrier(2)
    reports: list[DeliveryReport] = []

    def deliver(sender: WebhookSender) -> None:
        start.wait()
        reports.append(sender.deliver(ids))

    threads = [threading.Thread(target=deliver, args=(WebhookSender(d, SECRET, clock),)) for d in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for database in databases:
        database.dispose()
    assert sum(r.sent for r in reports) == len(ids) and sum(r.skipped for r in reports) == len(ids)
    assert sorted(int(r.headers["x-talentbot-delivery"]) for r in receiver.requests) == sorted(ids)
