"""Example phrasings per intent, shown by the help answer (and when a question was not understood)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bot.nlu.model import Intent

INTENT_EXAMPLES: Mapping[Intent, tuple[str, ...]] = MappingProxyType({
    Intent.STALE: ("stale candidates this week", "who's gone quiet in Interview?", "anything stuck over 2 weeks?"),
    Intent.PIPELINE: ("who is in Interview for Backend Engineer?", "how many in Offer?"),
    Intent.SEARCH: ("candidates with SQL in Berlin", "senior Python engineers who were referred", "find Jane Doe"),
    Intent.STATUS: ("what's the status of Jane Doe?", "where is jane.doe@example.com at?"),
    Intent.MY_TASKS: ("my tasks", "what's on my plate today?"),
    Intent.OVERDUE: ("what's overdue?", "overdue tasks for @maria"),
    Intent.MY_REFERRALS: ("my referrals", "how are the people I referred doing?"),
    Intent.METRIC: ("referral hires this quarter", "time to offer for the last 90 days", "offer acceptance rate"),
    Intent.HELP: ("help", "what can you do?"),
    Intent.DRAFT: ("draft an intro email to Jane Doe for the backend role", "draft a follow-up to Jane Doe"),
})  # fmt: skip
