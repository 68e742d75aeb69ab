"""The append-only timeline and audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage.models import Activity


def record_activity(
    session: Session,
    *,
    actor: str,
    kind: str,
    now: datetime,
    candidate_id: int | None = None,
    application_id: int | None = None,
    position_id: int | None = None,
    referral_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> Activity:
    activity = Activity(
        actor=actor,
        kind=kind,
        occurred_at=now,
        candidate_id=candidate_id,
        application_id=application_id,
        position_id=position_id,
        referral_id=referral_id,
        payload=payload or {},
    )
    session.add(activity)
    return activity
