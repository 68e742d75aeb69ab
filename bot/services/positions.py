"""Positions (the openings candidates apply to)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.access import Actor
from bot.services.timeline import record_activity
from storage.models import Position, PositionStatus


def create_position(session: Session, *, actor: Actor, title: str, now: datetime,
                    hiring_manager_slack_id: str | None = None, location: str | None = None,
                    required_skills: list[str] | None = None) -> Position:
    actor.require_pipeline_access()
    position = Position(title=title.strip(), hiring_manager_slack_id=hiring_manager_slack_id, location=location,
                        required_skills=required_skills or [], status=PositionStatus.OPEN,
                        created_by_slack_id=actor.user_id, created_at=now, updated_at=now)
    session.add(position)
    session.flush()
    record_activity(session, actor=actor.user_id, kind="position.created", now=now, position_id=position.id,
                    payload={"title": position.title})
    return position
