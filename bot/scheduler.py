"""APScheduler running the jobs in the background of a process, in one process per database at a time.

Every process may start a scheduler (`talentbot serve` with TALENTBOT_SCHEDULER on, or `talentbot worker`);
only the holder of the scheduler lock (bot.runner_lock) runs jobs. The others try to take the lock every
minute, so when the leader dies (and its lock with it) another process takes over within a minute.

Correctness never depends on this: each job computes what is due from `now` and the database, and its
messages carry dedupe keys, so an overlap (an operator's `talentbot jobs run`, a leader that lost its lock
mid-run) repeats nothing. The lock only avoids doing the work twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.deps import Deps
from bot.jobs import JOBS, Job
from bot.runner_lock import LeaderLock, scheduler_lock_for

logger = logging.getLogger(__name__)

ELECT_EVERY = timedelta(minutes=1)


class JobScheduler:
    def __init__(self, deps: Deps, *, lock: LeaderLock | None = None, jobs: Iterable[Job] | None = None,
                 elect_every: timedelta = ELECT_EVERY, blocking: bool = False):
        self.deps = deps
        self.lock = lock or scheduler_lock_for(deps.db.url)
        self.jobs = list(JOBS.values() if jobs is None else jobs)
        self.elect_every = elect_every
        self.leading = False
        self._announced = False
        self._scheduler: BaseScheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")

    def elect(self) -> bool:
        """Keep or take the lock; True when this process is the one that runs jobs."""
        leading = self.lock.is_held() or self.lock.try_acquire()
        if leading != self.leading or not self._announced:
            logger.info("%s (%s)", "running the scheduled jobs" if leading else
                        "another process runs the scheduled jobs; standing by", self.lock.description)
            self._announced = True
        self.leading = leading
        return leading

    def run(self, job: Job) -> str | None:
        """Run `job` if this process leads; None when it does not."""
        if not self.lock.is_held():
            if self.leading:
                logger.warning("lost the scheduler lock; %s and later jobs wait for the next election", job.name)
            self.leading = False
            return None
        summary = job.run(self.deps)
        logger.info("job %s: %s", job.name, summary)
        return summary

    def add_jobs(self) -> None:
        self._scheduler.add_job(self.elect, IntervalTrigger(seconds=self.elect_every.total_seconds()), id="elect",
                                next_run_time=datetime.now(UTC), coalesce=True, max_instances=1,
                                misfire_grace_time=None, replace_existing=True)
        for job in self.jobs:
            self._scheduler.add_job(
                self.run, IntervalTrigger(seconds=job.every.total_seconds()), args=(job,), id=job.name,
                # A run that was missed (the process was busy or asleep) happens once, not once per missed tick;
                # the jobs would be right without this too, since they compute what is due from `now`.
                coalesce=True, max_instances=1, misfire_grace_time=None, replace_existing=True,
            )

    def start(self) -> None:
        self.add_jobs()
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        self.lock.release()
        self.leading = False


def start_background_scheduler(deps: Deps) -> JobScheduler:
    scheduler = JobScheduler(deps)
    scheduler.start()
    return scheduler


def run_blocking_scheduler(deps: Deps) -> None:
    scheduler = JobScheduler(deps, blocking=True)
    try:
        scheduler.start()
    finally:
        scheduler.lock.release()
