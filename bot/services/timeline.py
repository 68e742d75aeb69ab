"""The append-only timeline and audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col

from bot.services.search_index import REINDEX_KINDS, mark_for_reindex
from storage.models import Activity, Application, ApplicationStatus

# Entries about the stale list itself: recording that someone nudged the owner or snoozed the reminder is
# not work on the candidate, so it must not restart the clock that made the application stale (a 7-day
# snooze would otherwise hide it for as long as the stage's SLA).
NOT_A_TOUCH = frozenset({"stale.nudged", "stale.snoozed"})


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
    if candidate_id is not None:
        if kind not in NOT_A_TOUCH:
            _touch_open_applications(session, candidate_id, now)
        if kind in REINDEX_KINDS:
            mark_for_reindex(session, candidate_id, now=now)
    return activity


def _touch_open_applications(session: Session, candidate_id: int, now: datetime) -> None:
    # Anything on a candidate's timeline counts as a touch for every open application of theirs.
    session.exec(  # type: ignore[call-overload]
        update(Application)
        .where(col(Application.candidate_id) == candidate_id, col(Application.status) == ApplicationStatus.OPEN)
        .where(or_(col(Application.last_activity_at).is_(None), col(Application.last_activity_at) < now))
        .values(last_activity_at=now)
        .execution_options(synchronize_session=False)
    )
