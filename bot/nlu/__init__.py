"""Understanding recruiters' questions: a deterministic, offline parser from Slack text to intent and arguments.

parse_question("stale in Interview for the backend role", vocabulary=..., now=..., tz="Europe/Berlin") gives
Intent.STALE with StaleArgs(stage="Interview", position="Backend Engineer"); INTENT_EXAMPLES feeds the help answer.
"""

from bot.nlu.examples import INTENT_EXAMPLES
from bot.nlu.model import (
    ASKER,
    DEFAULT_STAGES,
    Arguments,
    DraftArgs,
    HelpArgs,
    Intent,
    Metric,
    MetricArgs,
    OverdueArgs,
    ParsedQuestion,
    PipelineArgs,
    ReferralsArgs,
    SearchArgs,
    StaleArgs,
    StatusArgs,
    TasksArgs,
    TimeRange,
    Vocabulary,
)
from bot.nlu.parser import parse_question

__all__ = [
    "ASKER",
    "DEFAULT_STAGES",
    "INTENT_EXAMPLES",
    "Arguments",
    "DraftArgs",
    "HelpArgs",
    "Intent",
    "Metric",
    "MetricArgs",
    "OverdueArgs",
    "ParsedQuestion",
    "PipelineArgs",
    "ReferralsArgs",
    "SearchArgs",
    "StaleArgs",
    "StatusArgs",
    "TasksArgs",
    "TimeRange",
    "Vocabulary",
    "parse_question",
]
