"""Scheduled jobs. Each runs from the scheduler or once, now, with `talentbot jobs run NAME`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.deps import Deps
from storage import queries

PROCESSED_REQUESTS_KEPT = timedelta(days=7)


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    every: timedelta
    run: Callable[[Deps], str]


def deliver_outbox(deps: Deps) -> str:
    return str(deps.outbox.deliver_due())


def purge_processed_requests(deps: Deps) -> str:
    # Slack retries within minutes; a week of event ids is far more than enough to recognise them.
    with deps.db.transaction() as session:
        removed = queries.purge_processed_requests(session, older_than=deps.clock() - PROCESSED_REQUESTS_KEPT)
    return f"removed {removed} processed-request keys"


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("deliver_outbox", "Deliver Slack notifications that are due (new, or waiting to retry)",
            timedelta(seconds=20), deliver_outbox),
        Job("purge_processed_requests", "Forget Slack event ids older than a week",
            timedelta(hours=6), purge_processed_requests),
    )
}
