"""The inbox: jobs committed before the ack, run once after it, kept when they fail, recovered after a crash."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.inbox import CLAIM_LEASE, Inbox, Job, purge_finished_jobs
from storage.db import Database
from storage.models import InboundJob, InboundJobStatus
from tests.conftest import Clock


@pytest.fixture
def inbox(db: Database, clock: Clock) -> Iterator[Inbox]:
    box = Inbox(db, clock, threads=2, recovery_poll_s=None)
    yield box
    box.close()


def _jobs(db: Database) -> list[InboundJob]:
    with db.read() as session:
        return list(session.exec(select(InboundJob).order_by(InboundJob.id)))


def test_a_job_is_stored_once_per_key_and_run_once(inbox: Inbox, db: Database, clock: Clock) -> None:
    ran: list[dict[str, str]] = []
    inbox.handle("greet", lambda job: ran.append(job.payload))

    assert inbox.accept("greet", "view:V1", {"name": "Jane"}) is True
    assert inbox.accept("greet", "view:V1", {"name": "Jane"}) is False  # Slack's retry, a double click
    assert inbox.wait_idle(5)

    assert ran == [{"name": "Jane"}]
    [job] = _jobs(db)
    assert (job.key, job.status, job.received_at, job.finished_at) == ("view:V1", "done", clock(), clock())


def test_concurrent_accepts_share_commits_and_each_key_wins_once(inbox: Inbox, db: Database) -> None:
    inbox.handle("noop", lambda job: None)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def accept(n: int) -> None:
        accepted = inbox.accept("noop", f"k{n % 20}", {"n": n})
        with lock:
            outcomes.append(accepted)

    threads = [threading.Thread(target=accept, args=(n,)) for n in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert inbox.wait_idle(5)
    assert outcomes.count(True) == 20
    assert sorted(job.key for job in _jobs(db)) == sorted(f"k{n}" for n in range(20))
    assert {job.status for job in _jobs(db)} == {InboundJobStatus.DONE}


def test_a_failed_job_stays_pending_and_is_retried_later(inbox: Inbox, db: Database, clock: Clock) -> None:
    attempts: list[int] = []

    def flaky(job: Job) -> None:
        attempts.append(job.attempts)
        if len(attempts) == 1:
            raise ConnectionError("Slack is down")

    inbox.handle("flaky", flaky)
    inbox.accept("flaky", "command:1", {})
    assert inbox.wait_idle(5)
    [job] = _jobs(db)
    assert (job.status, job.attempts, job.last_error) == ("pending", 1, "Slack is down")
    assert job.next_attempt_at > clock()

    assert inbox.recover_due() == 0  # not due yet
    clock.advance(minutes=1)
    assert inbox.recover_due() == 1
    assert inbox.wait_idle(5)
    assert attempts == [0, 1]
    assert _jobs(db)[0].status == "done"


def test_work_left_by_a_crashed_process_is_recovered_by_exactly_one(db: Database, clock: Clock) -> None:
    # What a process that died after its commit (and before running the job) leaves behind.
    with db.transaction() as session:
        session.add(InboundJob(key="view:V9", kind="store", payload={"n": 9}, received_at=clock(),
                               next_attempt_at=clock(), claimed_until=clock() + CLAIM_LEASE))
    ran: list[int] = []
    boxes = [Inbox(db, clock, threads=1, recovery_poll_s=None) for _ in range(2)]
    try:
        for box in boxes:
            box.handle("store", lambda job: ran.append(job.payload["n"]))
        assert [box.recover_due() for box in boxes] == [0, 0]  # still its process's to run
        clock.advance(seconds=CLAIM_LEASE.total_seconds() + 1)
        assert sum(box.recover_due() for box in boxes) == 1
        for box in boxes:
            assert box.wait_idle(5)
    finally:
        for box in boxes:
            box.close()
    assert ran == [9]
    assert _jobs(db)[0].status == "done"


def test_jobs_wait_while_requests_are_answered_but_not_past_their_deferral(inbox: Inbox) -> None:
    ran_at: dict[str, float] = {}
    inbox.handle("patient", lambda job: ran_at.setdefault("patient", time.monotonic()),
                 defer_up_to=timedelta(seconds=30))

    with inbox.answering():
        inbox.accept("patient", "p", {})
        time.sleep(0.3)
        assert "patient" not in ran_at  # a request is in hand: acks first
        left = time.monotonic()
    assert inbox.wait_idle(5)
    assert ran_at["patient"] >= left

    inbox.handle("quick", lambda job: ran_at.setdefault("quick", time.monotonic()), defer_up_to=timedelta(seconds=0.2))
    with inbox.answering():
        accepted = time.monotonic()
        inbox.accept("quick", "q", {})
        assert inbox.wait_idle(5)  # ran although the request was still in hand: its deferral was over
    assert 0.15 <= ran_at["quick"] - accepted < 5


def test_finished_jobs_are_forgotten_after_a_week_and_failed_ones_kept(inbox: Inbox, db: Database,
                                                                      clock: Clock) -> None:
    inbox.handle("noop", lambda job: None)
    inbox.accept("noop", "done-one", {})
    assert inbox.wait_idle(5)
    with db.transaction() as session:
        session.add(InboundJob(key="failed-one", kind="noop", status=InboundJobStatus.FAILED, attempts=8,
                               received_at=clock(), next_attempt_at=clock()))
    with db.transaction() as session:
        assert purge_finished_jobs(session, older_than=clock() - timedelta(days=7)) == 0
    with db.transaction() as session:
        assert purge_finished_jobs(session, older_than=clock() + timedelta(seconds=1)) == 1
    assert [job.key for job in _jobs(db)] == ["failed-one"]
