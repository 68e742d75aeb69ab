"""Signed JSON webhooks to other systems: the hand-off of a new hire to the HR system on Day 1 Complete.

A delivery is queued in the transaction that decides it (`queue_webhook`) and posted after the commit by
the `deliver_webhooks` job (`WebhookSender.deliver_due`). It is retried until the receiver answers with a
2xx — it never gives up, since a hire the HR system never hears of is worse than a late one — with back-off
capped at an hour; deliveries still failing after FAILING_AFTER attempts are logged at ERROR and listed by
`failing_webhooks` for the admins.

Every attempt is a `POST` with the JSON body and these headers:

    Content-Type: application/json
    X-Talentbot-Event: candidate.hired
    X-Talentbot-Delivery: 42                 (the same on every retry: receivers de-duplicate with it)
    X-Talentbot-Timestamp: 1795338000        (Unix seconds when this attempt was signed)
    X-Talentbot-Signature: sha256=<hex>

where `<hex>` is HMAC-SHA256 keyed with HR_WEBHOOK_SECRET over the bytes `{timestamp}.{body}`: the
timestamp header's digits, a dot, and the raw request body exactly as received. A receiver recomputes it,
compares in constant time (`hmac.compare_digest`) and refuses timestamps more than a few minutes old, so
that a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlmodel import Session

from bot.access import AccessDenied, Actor
from bot.outbox import DeliveryReport, backoff
from bot.workspace import WorkspaceConfig
from storage import queries
from storage.db import Database
from storage.models import Application, Candidate, OutboxStatus, Position, Referral, WebhookDelivery

logger = logging.getLogger(__name__)

EVENT_HIRED = "candidate.hired"
HIRE_SCHEMA = "talentbot.hire.v1"
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
# From this many failed attempts on (about eight minutes of trying) a delivery is the admins' business.
FAILING_AFTER = 5
HTTP_TIMEOUT = 10.0
# One HTTP attempt (connect, write, read: each up to HTTP_TIMEOUT) fits well inside the claim.
CLAIM_FOR = timedelta(minutes=2)
USER_AGENT = "talentbot-webhooks/1"


def queue_webhook(session: Session, *, event: str, url: str, payload: dict[str, Any], dedupe_key: str,
                  now: datetime) -> WebhookDelivery:
    """Queue a delivery in the caller's transaction. The same dedupe_key queued twice is one delivery."""
    existing = queries.webhook_by_dedupe_key(session, dedupe_key)
    if existing is not None:
        return existing
    delivery = WebhookDelivery(event=event, url=url, payload=payload, dedupe_key=dedupe_key, next_attempt_at=now,
                               created_at=now)
    session.add(delivery)
    session.flush()
    return delivery


def hired_payload(candidate: Candidate, application: Application, position: Position,
                  referral: Referral | None = None) -> dict[str, Any]:
    """The hire as the HR system receives it. Adding keys keeps v1; renaming or removing one makes v2."""
    hired_at = application.hired_at
    return {
        "schema": HIRE_SCHEMA,
        "application_id": application.id,
        "candidate": {
            "id": candidate.id,
            "full_name": candidate.full_name,
            "email": candidate.email,
            "phone": candidate.phone_e164,
            "location": candidate.location,
            "profile_url": candidate.profile_url,
            "source": candidate.source,
        },
        "position": {
            "id": position.id,
            "title": position.title,
            "location": position.location,
            "hiring_manager_slack_id": position.hiring_manager_slack_id,
            "client_company": position.client_company,
        },
        "start_date": hired_at.date().isoformat() if hired_at else None,
        "hired_at": hired_at.isoformat() if hired_at else None,
        # The referral holding the credit; the free-text note stays in talentbot.
        "referral": {
            "code": referral.code,
            "referrer_slack_id": referral.referrer_slack_id,
            "referred_at": referral.created_at.isoformat() if referral.created_at else None,
        } if referral else None,
    }


def queue_hire_webhook(session: Session, *, config: WorkspaceConfig, candidate: Candidate, application: Application,
                       position: Position, now: datetime) -> WebhookDelivery | None:
    """Hand a new hire to the HR system; nothing happens when hr_handoff.webhook_url is not configured."""
    url = config.hr_handoff.webhook_url
    if url is None:
        return None
    if application.hired_at is None:
        raise ValueError(f"application {application.id} has no hired_at; set it before handing the hire to HR")
    assert candidate.id is not None
    payload = hired_payload(candidate, application, position, _credited_referral(session, candidate.id, position.id))
    return queue_webhook(session, event=EVENT_HIRED, url=url, payload=payload, dedupe_key=f"hire:{application.id}",
                         now=now)


def _credited_referral(session: Session, candidate_id: int, position_id: int | None) -> Referral | None:
    referrals = queries.attributed_referrals(session, candidate_id)
    # A referral for this very position wins over one for another position of the same person.
    return next((r for r in referrals if r.position_id == position_id), referrals[0] if referrals else None)


def failing_webhooks(session: Session, *, min_attempts: int = FAILING_AFTER, limit: int = 20
                     ) -> Sequence[WebhookDelivery]:
    """Deliveries still without a 2xx after `min_attempts` tries, longest-waiting first (admins' App Home)."""
    return queries.pending_webhooks_with_attempts(session, min_attempts=min_attempts, limit=limit)


def retry_webhook_now(session: Session, *, actor: Actor, webhook_id: int, now: datetime) -> bool:
    """An admin's "try again now" (the receiver is fixed): skip the rest of the back-off."""
    if not actor.is_admin:
        raise AccessDenied("Only admins can retry webhooks.")
    delivery = session.get(WebhookDelivery, webhook_id)
    if delivery is None or delivery.status != OutboxStatus.PENDING:
        return False
    delivery.next_attempt_at = now
    return True


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def encode_body(payload: dict[str, Any]) -> bytes:
    # Compact and key-sorted: the same payload is the same bytes on every attempt.
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


class WebhookSender:
    def __init__(self, db: Database, secret: str | None, clock: Callable[[], datetime], *,
                 timeout: float = HTTP_TIMEOUT):
        self._db = db
        self._secret = secret
        self._clock = clock
        self._timeout = timeout
        self._warned_unsigned = False

    def deliver(self, webhook_ids: Iterable[int]) -> DeliveryReport:
        webhook_ids = list(webhook_ids)
        report = DeliveryReport()
        if not webhook_ids:
            return report
        if not self._secret:
            # Unsigned hires would be accepted by nobody careful; they wait for the secret instead.
            if not self._warned_unsigned:
                self._warned_unsigned = True
                logger.warning("HR_WEBHOOK_SECRET is not set; %s webhook(s) stay queued until it is", len(webhook_ids))
            report.waiting, report.waiting_for = len(webhook_ids), "HR_WEBHOOK_SECRET"
            return report
        with httpx.Client(timeout=self._timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}) as client:
            for webhook_id in webhook_ids:
                self._deliver_one(client, self._secret, webhook_id, report)
        return report

    def deliver_due(self, *, limit: int = 100) -> DeliveryReport:
        with self._db.read() as session:
            ids = queries.due_delivery_ids(session, WebhookDelivery, now=self._clock(), limit=limit)
        return self.deliver(ids)

    def _deliver_one(self, client: httpx.Client, secret: str, webhook_id: int, report: DeliveryReport) -> None:
        now = self._clock()
        with self._db.transaction() as session:
            if not queries.claim_delivery(session, WebhookDelivery, webhook_id, now=now, until=now + CLAIM_FOR):
                report.skipped += 1
                return
            delivery = session.get(WebhookDelivery, webhook_id)
            assert delivery is not None
            event, url, body = delivery.event, delivery.url, encode_body(delivery.payload)

        timestamp = int(now.timestamp())
        headers = {"Content-Type": "application/json", "X-Talentbot-Event": event,
                   "X-Talentbot-Delivery": str(webhook_id), "X-Talentbot-Timestamp": str(timestamp),
                   "X-Talentbot-Signature": sign(secret, timestamp, body)}
        try:
            response = client.post(url, content=body, headers=headers)
        except httpx.HTTPError as failure:
            self._record(webhook_id, None, f"{type(failure).__name__}: {failure}"[:500], report=report)
            return
        error = None if response.is_success else f"HTTP {response.status_code}: {response.text[:200]}"
        self._record(webhook_id, response.status_code, error, report=report)

    def _record(self, webhook_id: int, status_code: int | None, error: str | None, *,
                report: DeliveryReport) -> None:
        now = self._clock()
        with self._db.transaction() as session:
            delivery = session.get(WebhookDelivery, webhook_id)
            assert delivery is not None
            delivery.attempts += 1
            delivery.claimed_until = None
            delivery.last_status_code = status_code
            delivery.last_error = error
            if error is None:
                delivery.status = OutboxStatus.SENT
                delivery.delivered_at = now
                report.sent += 1
                return
            delivery.next_attempt_at = now + backoff(delivery.attempts, first=FIRST_RETRY, longest=LONGEST_RETRY)
            report.retrying += 1
            log = logger.error if delivery.attempts >= FAILING_AFTER else logger.warning
            log("Webhook %s (%s to %s) failed %s time(s): %s; retrying at %s", webhook_id, delivery.event,
                delivery.url, delivery.attempts, error, delivery.next_attempt_at.isoformat())
