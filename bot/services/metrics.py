"""The numbers recruiters ask for, computed from applications and the timeline's stage moves.

- Referral hires: applications hired in the period whose candidate's credited referral was for that position or
  for the general talent pool.
- Time to offer: the median number of days from an application's creation to its first entry into the Offer stage,
  over the applications that entered Offer in the period (`stage.moved` entries).
- Offer acceptance rate: accepted / (accepted + declined), over the decisions taken in the period on applications
  leaving Offer: a move to a later stage that does not end the application negatively (Offer Accepted, a hire) is
  an acceptance; a move to a rejected or withdrawn stage is a decline; a move back (to Interview) is neither.

Default periods: this quarter (in the asker's time zone) for referral hires, the last 90 days for the others.
Access is the caller's (bot.services.questions passes the positions a hiring manager may see).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from bot.access import Actor
from bot.nlu import Metric, MetricArgs
from bot.services.engagement import SequenceRates, sequence_rates
from bot.workspace import WorkspaceConfig
from storage import queries

OFFER_STAGE = "Offer"
DEFAULT_WINDOW = timedelta(days=90)
NEGATIVE_OUTCOMES = ("rejected", "withdrawn")
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class ReferralHire:
    candidate_name: str
    position_title: str
    referrer_slack_id: str
    hired_at: datetime


@dataclass(frozen=True)
class MetricAnswer:
    metric: Metric
    since: datetime
    before: datetime
    # The range came from the question (else the metric's default period).
    asked_range: bool
    # Limited to some positions (a hiring manager's, or the ones the question named).
    positions_limited: bool
    hires: list[ReferralHire] = field(default_factory=list)
    median_days: float | None = None
    samples: int = 0
    accepted: int = 0
    declined: int = 0
    # The Offer stage as the workspace names it; None when the pipeline has none (time to offer and acceptance
    # rate then cannot be computed).
    offer_stage: str | None = OFFER_STAGE
    # Nurture sequences: open, click and reply rates per sequence (bot.services.engagement); recruiters only.
    sequences: list[SequenceRates] = field(default_factory=list)
    sequences_hidden: bool = False

    @property
    def rate(self) -> float | None:
        decided = self.accepted + self.declined
        return self.accepted / decided if decided else None


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quarter_start(now: datetime, tz: str) -> datetime:
    """Midnight of the first day of the current quarter in the asker's zone, as UTC."""
    zone = _zone(tz)
    local = now.astimezone(zone).date()
    first = date(local.year, 3 * ((local.month - 1) // 3) + 1, 1)
    return datetime.combine(first, time(), tzinfo=zone).astimezone(now.tzinfo)


def answer_metric(session: Session, *, actor: Actor, args: MetricArgs, config: WorkspaceConfig, now: datetime,
                  tz: str = "UTC", position_ids: Sequence[int] | None = None) -> MetricAnswer:
    if args.time_range is not None:
        since, before = args.time_range.start, args.time_range.end
    elif args.metric == Metric.REFERRAL_HIRES:
        since, before = quarter_start(now, tz), now
    else:
        since, before = now - DEFAULT_WINDOW, now
    base: dict[str, Any] = dict(metric=args.metric, since=since, before=before, asked_range=args.time_range is not None,
                positions_limited=position_ids is not None)
    if args.metric == Metric.REFERRAL_HIRES:
        return MetricAnswer(**base, hires=referral_hires(session, since=since, before=before,
                                                         position_ids=position_ids))
    if args.metric == Metric.NURTURE_RATES:
        # Sequences are the recruiting team's tool and span every position: not a hiring manager's number.
        if not actor.sees_pipeline:
            return MetricAnswer(**base, sequences_hidden=True)
        return MetricAnswer(**base, sequences=sequence_rates(session, since=since, before=before))
    offer = config.pipeline.stage(OFFER_STAGE)
    if offer is None:
        return MetricAnswer(**base, offer_stage=None)
    if args.metric == Metric.TIME_TO_OFFER:
        days = days_to_offer(session, offer_stage=offer.name, since=since, before=before, position_ids=position_ids)
        return MetricAnswer(**base, offer_stage=offer.name,
                            median_days=statistics.median(days) if days else None, samples=len(days))
    accepted, declined = offer_decisions(session, config, offer_stage=offer.name, since=since, before=before,
                                         position_ids=position_ids)
    return MetricAnswer(**base, offer_stage=offer.name, accepted=accepted, declined=declined)


def referral_hires(session: Session, *, since: datetime, before: datetime,
                   position_ids: Sequence[int] | None) -> list[ReferralHire]:
    hires: dict[int, ReferralHire] = {}
    for application, name, title, referrer in queries.referral_hires_between(session, since=since, before=before,
                                                                             position_ids=position_ids):
        # Two credited referrals of one hire (one for the position, one general) are still one hire.
        hires.setdefault(application.id or 0, ReferralHire(candidate_name=name, position_title=title,
                                                           referrer_slack_id=referrer,
                                                           hired_at=application.hired_at or before))
    return list(hires.values())


def days_to_offer(session: Session, *, offer_stage: str, since: datetime, before: datetime,
                  position_ids: Sequence[int] | None) -> list[float]:
    """Days from creation to entering Offer, per application that entered it in the period (first entry)."""
    first_entry: dict[int, float] = {}
    for move, created_at in queries.stage_moves_between(session, since=since, before=before, to_stage=offer_stage,
                                                        position_ids=position_ids):
        if move.application_id is not None and move.application_id not in first_entry:
            first_entry[move.application_id] = (move.occurred_at - created_at).total_seconds() / SECONDS_PER_DAY
    return list(first_entry.values())


def offer_decisions(session: Session, config: WorkspaceConfig, *, offer_stage: str, since: datetime,
                    before: datetime, position_ids: Sequence[int] | None) -> tuple[int, int]:
    """(accepted, declined) over applications that left Offer in the period; each counts once, by its last
    decision there."""
    names = config.pipeline.names
    offer_index = config.pipeline.position_of(offer_stage)
    decision: dict[int, bool] = {}
    for move, _ in queries.stage_moves_between(session, since=since, before=before, from_stage=offer_stage,
                                               position_ids=position_ids):
        target = config.pipeline.stage(str(move.payload.get("to", "")))
        if move.application_id is None or target is None:
            continue
        if target.outcome in NEGATIVE_OUTCOMES:
            decision[move.application_id] = False
        elif names.index(target.name) > offer_index:
            decision[move.application_id] = True
    accepted = sum(decision.values())
    return accepted, len(decision) - accepted
