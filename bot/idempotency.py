"""Slack delivers an event again when it thinks we missed it; each event_id is handled once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse
from sqlalchemy.exc import IntegrityError

from bot.deps import Deps
from storage.models import ProcessedRequest

logger = logging.getLogger(__name__)


def delivery_key(body: dict[str, Any]) -> str | None:
    if body.get("type") == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    return None


def claim_delivery(deps: Deps, key: str) -> bool:
    """Record the key; False when it was already there (this delivery is a repeat)."""
    try:
        with deps.db.transaction() as session:
            if session.get(ProcessedRequest, key) is not None:
                return False
            session.add(ProcessedRequest(key=key, processed_at=deps.clock()))
    except IntegrityError:
        return False
    return True


def skip_repeated_deliveries(deps: Deps) -> Callable[..., Any]:
    def middleware(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        key = delivery_key(body)
        if key is not None and not claim_delivery(deps, key):
            logger.info("ignoring repeated Slack delivery %s", key)
            return BoltResponse(status=200, body="")
        next()
        return None

    return middleware
