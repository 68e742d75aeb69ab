"""APScheduler running the jobs in the background of a process."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.deps import Deps
from bot.jobs import JOBS, Job

logger = logging.getLogger(__name__)


def _run_logged(job: Job, deps: Deps) -> None:
    summary = job.run(deps)
    logger.info("job %s: %s", job.name, summary)


def add_jobs(scheduler: BackgroundScheduler, deps: Deps) -> None:
    for job in JOBS.values():
        scheduler.add_job(
            _run_logged, IntervalTrigger(seconds=job.every.total_seconds()), args=(job, deps), id=job.name,
            # A run that was missed (the process was busy or asleep) happens once, not once per missed tick.
            coalesce=True, max_instances=1, misfire_grace_time=None, replace_existing=True,
        )


def start_background_scheduler(deps: Deps) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    add_jobs(scheduler, deps)
    scheduler.start()
    return scheduler


def run_blocking_scheduler(deps: Deps) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    add_jobs(scheduler, deps)
    scheduler.start()
