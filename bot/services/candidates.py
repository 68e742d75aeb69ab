"""Candidates as recruiters see them: ownership and the summary behind "Open candidate"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.access import AccessDenied, Actor
from bot.services.timeline import record_activity
from storage import queries
from storage.models import Activity, Candidate, ConsentAction, ConsentKind, Position, Referral


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class OwnerChange:
    candidate_id: int
    candidate_name: str
    owner_slack_id: str
    previous_owner_slack_id: str | None
    changed: bool


def assign_owner(session: Session, *, actor: Actor, candidate_id: int, owner_slack_id: str, now: datetime,
                 take_over: bool = False) -> OwnerChange:
    """Make someone the candidate's owner. Repeating it changes nothing (a double click is harmless);
    taking a candidate from another owner needs `take_over`, so two recruiters don't silently race."""
    actor.require_pipeline_access()
    # Locked, so that two clicks at the same moment see each other's result (PostgreSQL; SQLite
    # transactions already run one writer at a time).
    candidate = session.get(Candidate, candidate_id, with_for_update=True)
    if candidate is None:
        raise NotFound("That candidate no longer exists.")
    previous = candidate.owner_slack_id
    if previous == owner_slack_id:
        return OwnerChange(candidate_id, candidate.full_name, owner_slack_id, previous, changed=False)
    if previous is not None and not take_over:
        raise AccessDenied(f"{candidate.full_name} is already owned by <@{previous}>.")
    candidate.owner_slack_id = owner_slack_id
    candidate.updated_at = now
    record_activity(session, actor=actor.user_id, kind="candidate.owner_assigned", now=now,
                    candidate_id=candidate.id, payload={"owner": owner_slack_id, "previous": previous})
    return OwnerChange(candidate_id, candidate.full_name, owner_slack_id, previous, changed=True)


@dataclass(frozen=True)
class ConsentState:
    kind: str
    action: str | None
    recorded_at: datetime | None
    expires_at: datetime | None

    def is_valid(self, now: datetime) -> bool:
        return self.action == ConsentAction.GRANTED and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class CandidateSummary:
    candidate: Candidate
    referrals: list[tuple[Referral, Position | None]]
    consents: list[ConsentState]
    timeline: list[Activity]


def candidate_summary(session: Session, *, actor: Actor, candidate_id: int,
                      timeline_limit: int = 10) -> CandidateSummary:
    actor.require_pipeline_access()
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound("That candidate no longer exists.")
    referrals = [
        (referral, session.get(Position, referral.position_id) if referral.position_id else None)
        for referral in queries.referrals_for_candidate(session, candidate_id)
    ]
    consents = []
    for kind in ConsentKind:
        latest = queries.latest_consent(session, candidate_id=candidate_id, kind=kind)
        consents.append(ConsentState(kind=kind, action=latest.action if latest else None,
                                     recorded_at=latest.recorded_at if latest else None,
                                     expires_at=latest.expires_at if latest else None))
    return CandidateSummary(candidate=candidate, referrals=referrals, consents=consents,
                            timeline=list(queries.timeline(session, candidate_id, limit=timeline_limit)))
