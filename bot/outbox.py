"""Outbound Slack messages that must not be lost.

A change and the notification about it are written in one transaction (`queue_slack_call`); the call to
Slack happens after the commit (`OutboxSender.deliver`). If Slack fails, the row stays pending and the
`deliver_outbox` job tries again with back-off; a permanent failure is kept, logged and shown to admins.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from bot.access import AccessDenied, Actor
from bot.slack import PERMANENT_ERRORS
from storage import queries
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=15)
LONGEST_RETRY = timedelta(hours=1)
# Long enough for a Slack call with its own retries (Retry-After included) to finish.
CLAIM_FOR = timedelta(minutes=2)
RECORD_ATTEMPTS = 5
SUPPORTED_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral", "views.publish"})


def queue_slack_call(session: Session, *, method: str, payload: dict[str, Any], dedupe_key: str,
                     now: datetime) -> OutboxMessage:
    """Queue a Web API call in the caller's transaction. The same dedupe_key queued twice is one message."""
    if method not in SUPPORTED_METHODS:
        raise ValueError(f"{method} is not an outbox method")
    existing = session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)).first()
    if existing is not None:
        return existing
    message = OutboxMessage(method=method, payload=payload, dedupe_key=dedupe_key, next_attempt_at=now,
                            created_at=now)
    session.add(message)
    session.flush()
    return message


def queue_slack_calls(session: Session, calls: Sequence[dict[str, Any]], *, now: datetime) -> list[int]:
    """`queue_slack_call` for many calls ({method, payload, dedupe_key}) in one statement: a job may queue
    thousands. Keys already queued insert nothing; returns the ids of the calls' pending rows, to deliver."""
    for call in calls:
        if call["method"] not in SUPPORTED_METHODS:
            raise ValueError(f"{call['method']} is not an outbox method")
    return queries.insert_outbox_messages(session, calls, now=now)


def backoff(attempts: int, *, first: timedelta = FIRST_RETRY, longest: timedelta = LONGEST_RETRY) -> timedelta:
    """Doubling waits after each failed attempt, capped; the mail and webhook queues pass their own bounds."""
    return min(first * (2 ** max(attempts - 1, 0)), longest)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    # Due rows left queued because their channel is not configured yet (SMTP_URL, HR_WEBHOOK_SECRET unset).
    waiting: int = 0
    waiting_for: str = ""

    def __str__(self) -> str:
        text = f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}, skipped {self.skipped}"
        return text + (f", waiting {self.waiting} for {self.waiting_for}" if self.waiting else "")


class OutboxSender:
    def __init__(self, db: Database, client: WebClient, clock: Callable[[], datetime]):
        self._db = db
        self._client = client
        self._clock = clock

    def deliver(self, outbox_ids: Iterable[int]) -> DeliveryReport:
        report = DeliveryReport()
        for outbox_id in outbox_ids:
            self._deliver_one(outbox_id, report)
        return report

    def deliver_due(self, *, limit: int = 200) -> DeliveryReport:
        with self._db.read() as session:
            ids = queries.due_outbox_ids(session, now=self._clock(), limit=limit)
        return self.deliver(ids)

    def _deliver_one(self, outbox_id: int, report: DeliveryReport) -> None:
        now = self._clock()
        with self._db.transaction() as session:
            if not queries.claim_outbox_message(session, outbox_id, now=now, until=now + CLAIM_FOR):
                report.skipped += 1
                return
            message = session.get(OutboxMessage, outbox_id)
            assert message is not None
            method, payload = message.method, dict(message.payload)

        try:
            response = self._client.api_call(method, json=payload)
            outcome: tuple[str, str | None, dict[str, Any]] = ("sent", None, dict(response.data))  # type: ignore[arg-type]
        except SlackApiError as error:
            code = str(error.response.get("error", "unknown_error"))
            outcome = ("failed" if code in PERMANENT_ERRORS else "retry", code, {})
        except (SlackClientError, OSError) as error:
            outcome = ("retry", f"{type(error).__name__}: {error}"[:500], {})

        self._record_with_retries(outbox_id, *outcome, report=report)

    def _record_with_retries(self, outbox_id: int, verdict: str, error: str | None, data: dict[str, Any], *,
                             report: DeliveryReport) -> None:
        # The message has left: failing to write that down would send it again once the claim expires, so a
        # database that is briefly locked or unreachable is worth waiting for.
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                self._record(outbox_id, verdict, error, data, report=report)
                return
            except OperationalError:
                if attempt == RECORD_ATTEMPTS:
                    logger.exception("could not record the outcome of outbox message %s", outbox_id)
                    raise
                time.sleep(0.2 * attempt)

    def _record(self, outbox_id: int, verdict: str, error: str | None, data: dict[str, Any], *,
                report: DeliveryReport) -> None:
        now = self._clock()
        with self._db.transaction() as session:
            message = session.get(OutboxMessage, outbox_id)
            assert message is not None
            message.attempts += 1
            message.claimed_until = None
            if verdict == "sent":
                message.status = OutboxStatus.SENT
                message.sent_at = now
                message.last_error = None
                message.result_channel = data.get("channel")
                message.result_ts = data.get("ts") or data.get("message_ts")
                report.sent += 1
                return
            message.last_error = error
            if verdict == "failed" or message.attempts >= MAX_ATTEMPTS:
                message.status = OutboxStatus.FAILED
                report.failed += 1
                logger.error("Slack %s for outbox message %s failed for good after %s attempt(s): %s",
                             message.method, outbox_id, message.attempts, error)
                return
            message.next_attempt_at = now + backoff(message.attempts)
            report.retrying += 1
            logger.warning("Slack %s for outbox message %s failed (%s); retrying at %s",
                           message.method, outbox_id, error, message.next_attempt_at.isoformat())


def retry_failed(session: Session, *, actor: Actor, outbox_id: int, now: datetime) -> bool:
    """An admin's "try again" on a message that failed for good."""
    if not actor.is_admin:
        raise AccessDenied("Only admins can retry undelivered notifications.")
    message = session.get(OutboxMessage, outbox_id)
    if message is None or message.status != OutboxStatus.FAILED:
        return False
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = now
    return True
