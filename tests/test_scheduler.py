"""Scheduled jobs run in exactly one process per database: the holder of the scheduler lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import yaml

from bot.deps import Deps
from bot.jobs import Job
from bot.runner_lock import FileLock, PostgresAdvisoryLock, scheduler_lock_for
from bot.scheduler import JobScheduler
from tests.conftest import WORKSPACE
from tests.harness import FakeSlack

ROOT = Path(__file__).resolve().parents[1]
FAST = timedelta(seconds=0.05)


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


class Counting:
    """A job that counts its runs, standing in for the real ones."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, deps: Deps) -> str:
        self.runs += 1
        return f"run {self.runs}"

    def job(self) -> Job:
        return Job("count", "counts", FAST, self)


@pytest.fixture
def schedulers(deps: Deps) -> Iterator[list[tuple[JobScheduler, Counting]]]:
    started: list[tuple[JobScheduler, Counting]] = []
    for _ in range(2):
        counter = Counting()
        scheduler = JobScheduler(deps, lock=scheduler_lock_for(deps.db.url), jobs=[counter.job()],
                                 elect_every=timedelta(seconds=0.1))
        scheduler.start()
        started.append((scheduler, counter))
    yield started
    for scheduler, _ in started:
        scheduler.shutdown()


def test_only_the_lock_holder_runs_jobs_and_another_takes_over(schedulers: list[tuple[JobScheduler, Counting]]
                                                               ) -> None:
    _wait_until(lambda: sum(counter.runs for _, counter in schedulers) >= 10)
    time.sleep(0.3)
    (leader, leader_count), (follower, follower_count) = sorted(schedulers, key=lambda s: -s[1].runs)
    assert leader.leading and leader_count.runs >= 10
    assert not follower.leading and follower_count.runs == 0

    leader.shutdown()  # as when its process ends: the lock goes with it
    stopped_at = leader_count.runs
    _wait_until(lambda: follower_count.runs >= 5)
    assert follower.leading and leader_count.runs == stopped_at


_HOLDER = """
import sys, time
from bot.runner_lock import scheduler_lock_for
lock = scheduler_lock_for(sys.argv[1])
print("held" if lock.try_acquire() else "refused", flush=True)
time.sleep(600)
"""


def test_a_killed_leader_hands_over(database_url: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, database_url], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        lock = scheduler_lock_for(database_url)
        assert isinstance(lock, FileLock if database_url.startswith("sqlite") else PostgresAdvisoryLock)
        assert not lock.try_acquire() and not lock.is_held()
        os.kill(holder.pid, signal.SIGKILL)  # no clean-up code runs: the OS and PostgreSQL drop the lock
        holder.wait(timeout=10)
        _wait_until(lock.try_acquire)
        assert lock.is_held()
        lock.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


# A connection-held lock exists on PostgreSQL only.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_leader_whose_database_connection_dies_stops_running_jobs(deps: Deps) -> None:
    counter = Counting()
    leader = JobScheduler(deps, jobs=[counter.job()])
    other = JobScheduler(deps, jobs=[Counting().job()])
    try:
        assert leader.elect() and not other.elect()
        assert leader.run(counter.job()) == "run 1"
        dsn = deps.db.url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True) as admin:
            # The database restarts, or the network drops the leader's connection.
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks "
                          "WHERE locktype = 'advisory' AND granted AND database = "
                          "(SELECT oid FROM pg_database WHERE datname = current_database())")
        assert leader.run(counter.job()) is None and not leader.leading and counter.runs == 1
        _wait_until(other.elect)
        assert not leader.elect(), "the old leader gets in line behind the new one"
    finally:
        leader.shutdown()
        other.shutdown()


def test_jobs_run_works_whoever_holds_the_lock(tmp_path: Path, slack: FakeSlack) -> None:
    """`talentbot jobs run` is an operator's explicit request; the jobs are safe to overlap."""
    config = tmp_path / "talentbot.yaml"
    config.write_text(yaml.safe_dump(WORKSPACE))
    database = tmp_path / "bot.db"
    lock = scheduler_lock_for(f"sqlite:///{database}")
    assert lock.try_acquire()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "TALENTBOT_"))}
    env = {**base, "TALENTBOT_CONFIG": str(config), "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s",
           "SLACK_API_URL": slack.base_url, "DATABASE_URL": f"sqlite:///{database}"}
    try:
        ran = subprocess.run([sys.executable, "-m", "bot.cli", "jobs", "run", "task_reminders"], env=env,
                             cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert ran.returncode == 0, ran.stderr
        assert "task_reminders: queued 0 reminders; sent 0" in ran.stdout
    finally:
        lock.release()
    assert Path(f"{database}.scheduler.lock").exists()
