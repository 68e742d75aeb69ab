"""The parser's vocabulary and its results: plain frozen dataclasses, so callers can compare and hash them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

# The stages of the default workspace (bot/workspace.py); repeated here so the parser stays importable on its own.
DEFAULT_STAGES: tuple[str, ...] = (
    "Sourced",
    "Outreach",
    "Phone Screen",
    "Interview",
    "Offer",
    "Offer Accepted",
    "Background Check",
    "Onboarding Prep",
    "Day 1 Complete",
    "Rejected",
    "Withdrawn",
)

# `owner` when the asker said "my candidates" / "for me": the parser does not know who is asking, the caller does.
ASKER = "@me"


class Intent(StrEnum):
    STALE = "stale"
    PIPELINE = "pipeline"
    SEARCH = "search"
    STATUS = "status"
    MY_TASKS = "my_tasks"
    OVERDUE = "overdue"
    MY_REFERRALS = "my_referrals"
    METRIC = "metric"
    HELP = "help"
    # Not a question: "draft an intro email to Jane Doe" asks for an outreach draft (commands/outreach.py).
    DRAFT = "draft"


class Metric(StrEnum):
    REFERRAL_HIRES = "referral_hires"
    TIME_TO_OFFER = "time_to_offer"
    OFFER_ACCEPTANCE_RATE = "offer_acceptance_rate"
    # Open, click and reply rates per nurture sequence (issue 5).
    NURTURE_RATES = "nurture_rates"


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What the workspace knows about, from its configuration and database; matched case- and typo-tolerantly.

    Each entry is returned exactly as spelled here, so callers can use it as a database key."""

    stages: tuple[str, ...] = DEFAULT_STAGES
    positions: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    pools: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TimeRange:
    """[start, end) in UTC; `end` is `now` for ranges that run up to the present."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class StaleArgs:
    stage: str | None = None
    position: str | None = None
    owner: str | None = None
    time_range: TimeRange | None = None
    # "stuck over 2 weeks": only candidates without activity for at least this long.
    older_than: timedelta | None = None


@dataclass(frozen=True, slots=True)
class PipelineArgs:
    stage: str | None = None
    position: str | None = None
    owner: str | None = None
    time_range: TimeRange | None = None
    count_only: bool = False


@dataclass(frozen=True, slots=True)
class SearchArgs:
    # All listed skills are wanted ("SQL and Python"); locations are alternatives ("Berlin or Munich").
    skills: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    seniority: str | None = None
    stage: str | None = None
    position: str | None = None
    # One of the candidate sources the database stores: referral, sourced, applied, agency.
    source: str | None = None
    pool: str | None = None
    owner: str | None = None
    # Whatever is left once everything recognised is removed, usually a name ("find Jane Doe").
    text: str | None = None


@dataclass(frozen=True, slots=True)
class StatusArgs:
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class TasksArgs:
    time_range: TimeRange | None = None


@dataclass(frozen=True, slots=True)
class OverdueArgs:
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class ReferralsArgs:
    time_range: TimeRange | None = None


@dataclass(frozen=True, slots=True)
class MetricArgs:
    metric: Metric
    time_range: TimeRange | None = None
    position: str | None = None


@dataclass(frozen=True, slots=True)
class HelpArgs:
    pass


@dataclass(frozen=True, slots=True)
class DraftArgs:
    name: str | None = None
    email: str | None = None
    position: str | None = None
    # "intro" or "follow_up" (the outreach templates under prompts/outreach/).
    purpose: str | None = None


Arguments = (
    StaleArgs | PipelineArgs | SearchArgs | StatusArgs | TasksArgs | OverdueArgs | ReferralsArgs | MetricArgs | HelpArgs
    | DraftArgs
)


@dataclass(frozen=True, slots=True)
class ParsedQuestion:
    intent: Intent
    args: Arguments
    # False when nothing matched: the caller answers "I didn't get that" and shows INTENT_EXAMPLES.
    understood: bool
    # A heuristic in [0, 1]: how strongly the winning intent beat the others; useful for logging and thresholds.
    confidence: float
    # The question after Slack markup and emoji were removed, for logs.
    text: str = field(default="", compare=False)
