"""The inbox: Slack work stored durably before the ack and done by a thread pool right after it.

Why: an ack is Bolt's signature check plus whatever the listener does before `ack()`. Opening a modal
or storing a referral takes 15-70 ms of CPU, and on a busy two-core machine every request queued behind
it waits for that too. A listener that acks inline therefore only validates what must come back inline
and calls `Inbox.accept`, which commits one small row (`inbound_jobs`); the ack promises no more
than that the row exists. The same process then runs the job on its pool at once.

- **Group commit.** One writer thread per process inserts every job: requests that arrive while a commit
  is under way go into the next one together. On SQLite that replaces sixty-odd threads sleeping in the
  busy handler for the write lock; on PostgreSQL it is one WAL flush for many acks.
- **Idempotent.** The key (a submission's view ID, a command's trigger ID) is unique: Slack's retries and
  double clicks find it taken, are acked and do nothing.
- **Nothing committed is lost.** A job whose process died, or whose handler failed, stays pending; every
  process polls for such jobs (`RECOVERY_POLL_S`) and claims one with a conditional UPDATE, so two
  processes never run it at once. A handler that commits its own changes finishes its job in the same
  transaction (`finish`), so a crash between the two cannot run it twice.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from slack_bolt import App
from sqlalchemy import Connection, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.db import Database
from storage.models import InboundJob, InboundJobStatus

logger = logging.getLogger(__name__)

# How long the accepting process has a job to itself before the recovery poll may take it over.
CLAIM_LEASE = timedelta(seconds=60)
RECOVERY_POLL_S = 5.0
MAX_ATTEMPTS = 8
# Back-off after a failed attempt: 5 s, 10 s, 20 s, … capped at 10 minutes.
RETRY_BASE = timedelta(seconds=5)
RETRY_CAP = timedelta(minutes=10)
# Jobs inserted by one commit at most; more wait for the next.
MAX_BATCH = 256
ACCEPT_TIMEOUT_S = 2.5
# How long a new job may wait for the server to have no request in hand (see `Inbox.answering`).
DEFAULT_DEFERRAL = timedelta(seconds=1)
_table = InboundJob.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    received_at: datetime
    attempts: int = 0


Handler = Callable[[Job], None]
F = TypeVar("F", bound=Callable[..., Any])


def acks_inline(listener: F) -> F:
    """Run this listener on the request's own thread and answer Slack with its ack, as soon as it returns.

    For listeners that do only what must precede the ack (inline validation, `Inbox.accept`) and leave
    the rest to the inbox: Bolt's usual way (the listener on a pool, the request thread polling every
    10 ms for the ack) costs each such request a thread hand-off and 10-20 ms for nothing.
    """
    listener.acks_inline = True  # type: ignore[attr-defined]
    return listener


def inbox_of(app: App) -> Inbox:
    inbox = getattr(app, "inbox", None)
    if inbox is None:
        raise RuntimeError("this listener needs the inbox; build the app with bot.app.build_app")
    return inbox


def purge_finished_jobs(session: Session, *, older_than: datetime) -> int:
    """Forget jobs done before `older_than` (their keys only guard against Slack's retries, which come
    within minutes); failed ones stay for an operator to look at."""
    removed = session.execute(delete(_table).where(  # type: ignore[call-overload]
        _table.c.status == InboundJobStatus.DONE, _table.c.finished_at < older_than))
    return int(removed.rowcount or 0)


@dataclass
class _Pending:
    row: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    job_id: int | None = None
    error: BaseException | None = None


class _GroupWriter:
    """Inserts jobs on one thread, many per transaction; `insert` returns once its row is committed."""

    def __init__(self, db: Database):
        self._db = db
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        dialect = sqlite if db.backend == "sqlite" else postgresql
        self._statement = (dialect.insert(_table).on_conflict_do_nothing(index_elements=["key"])
                           .returning(_table.c.id))

    def insert(self, row: dict[str, Any]) -> int | None:
        """The new job's id, or None when a job with this key exists already."""
        self._start()
        pending = _Pending(row)
        self._queue.put(pending)
        if not pending.done.wait(ACCEPT_TIMEOUT_S):
            raise TimeoutError("the inbox did not commit within its time; not acknowledging")
        if pending.error is not None:
            raise pending.error
        return pending.job_id

    def stop(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join(timeout=10)
                self._thread = None

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            with self._db.engine.begin() as connection:
                if self._db.backend != "sqlite":
                    # The same promise as SQLite's synchronous=NORMAL (storage/db.py): an app crash loses
                    # nothing, only a crash of the database's machine may lose the last fraction of a second
                    # of jobs. The ack then does not wait for a WAL flush behind other work on the disk.
                    connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                for pending in batch:
                    pending.job_id = connection.execute(self._statement, pending.row).scalar_one_or_none()
        except Exception as error:
            logger.exception("inbox: could not store %d job(s)", len(batch))
            for pending in batch:
                pending.error = error
                pending.job_id = None
        for pending in batch:
            pending.done.set()


class Inbox:
    """Accepts jobs durably before the ack and runs them on a thread pool after it."""

    def __init__(self, db: Database, clock: Callable[[], datetime], *, threads: int = 4,
                 recovery_poll_s: float | None = RECOVERY_POLL_S):
        self._db = db
        self._clock = clock
        self._handlers: dict[str, Handler] = {}
        self._writer = _GroupWriter(db)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="inbox")
        self._recovery_poll_s = recovery_poll_s
        self._idle = threading.Condition()
        self._in_flight = 0
        self._stopping = threading.Event()
        self._poller: threading.Thread | None = None
        self._deferrals: dict[str, float] = {}
        self._quiet = threading.Condition()
        self._answering = 0

    def handle(self, kind: str, handler: Handler, *, defer_up_to: timedelta = DEFAULT_DEFERRAL) -> None:
        """Run `handler` for jobs of `kind`; while requests are being answered, a new job waits for a
        quiet moment, but no longer than `defer_up_to` after its ack."""
        self._handlers[kind] = handler
        self._deferrals[kind] = defer_up_to.total_seconds()

    # ------------------------------------------------------------------ ack-first scheduling

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around the handling of one incoming request: jobs wait while any request is being answered.

        Acks first: the jobs share this process's one GIL with the request threads, and a job that runs
        while 60 requests queue adds its milliseconds to each of their acks. Deferred for at most a
        moment (`defer_up_to`), they run in the gaps instead — or on time if the gaps never come.
        """
        with self._quiet:
            self._answering += 1
        try:
            yield
        finally:
            with self._quiet:
                self._answering -= 1
                if self._answering == 0:
                    self._quiet.notify_all()

    def _wait_for_quiet(self, job: Job, accepted: float) -> None:
        deadline = accepted + self._deferrals.get(job.kind, 0.0)
        with self._quiet:
            while self._answering > 0 and not self._stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._quiet.wait(remaining)

    # ------------------------------------------------------------------ before the ack

    def accept(self, kind: str, key: str, payload: dict[str, Any]) -> bool:
        """Commit the job and start it; False when the key was taken (a retry or a double click)."""
        if kind not in self._handlers:
            raise KeyError(f"no inbox handler for {kind!r}")
        now = self._clock()
        job_id = self._writer.insert({
            "key": key, "kind": kind, "payload": payload, "status": InboundJobStatus.PENDING, "attempts": 0,
            "received_at": now, "next_attempt_at": now, "claimed_until": now + CLAIM_LEASE,
        })
        if job_id is None:
            logger.info("inbox: %s is already there; nothing more to do", key)
            return False
        self._start_poller()
        self._submit(Job(id=job_id, kind=kind, payload=payload, received_at=now), accepted=time.monotonic())
        return True

    # ------------------------------------------------------------------ after the ack

    def finish(self, session: Session, job: Job) -> None:
        """Mark the job done inside the handler's own transaction (commits with its changes)."""
        session.exec(update(_table).where(_table.c.id == job.id).values(  # type: ignore[call-overload]
            status=InboundJobStatus.DONE, finished_at=self._clock(), claimed_until=None))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no job is queued or running in this process (tests, shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def close(self) -> None:
        self._stopping.set()
        self._writer.stop()
        self._pool.shutdown(wait=True)
        if self._poller is not None:
            self._poller.join(timeout=10)

    def recover_due(self) -> int:
        """Run the pending jobs no process is working on (crashed, or failed and due again)."""
        now = self._clock()
        with self._db.read() as session:
            ids = session.execute(select(_table.c.id).where(
                _table.c.status == InboundJobStatus.PENDING, _table.c.next_attempt_at <= now,
                or_(_table.c.claimed_until.is_(None), _table.c.claimed_until < now),
            ).order_by(_table.c.next_attempt_at).limit(100)).scalars().all()
        started = 0
        for job_id in ids:
            job = self._claim(job_id, now)
            if job is not None:
                self._submit(job)
                started += 1
        return started

    def _claim(self, job_id: int, now: datetime) -> Job | None:
        with self._db.engine.begin() as connection:
            # Conditional: of two processes that saw the job free, only the first one's UPDATE matches.
            taken = connection.execute(update(_table).where(
                _table.c.id == job_id, _table.c.status == InboundJobStatus.PENDING,
                or_(_table.c.claimed_until.is_(None), _table.c.claimed_until < now),
            ).values(claimed_until=now + CLAIM_LEASE)).rowcount
            if taken != 1:
                return None  # another process was quicker
            row = connection.execute(select(_table).where(_table.c.id == job_id)).one()
        return Job(id=row.id, kind=row.kind, payload=row.payload, received_at=row.received_at, attempts=row.attempts)

    def _submit(self, job: Job, *, accepted: float | None = None) -> None:
        """Run the job on the pool; a fresh one (`accepted`: when, monotonic) first waits for quiet."""
        with self._idle:
            self._in_flight += 1
        try:
            future = self._pool.submit(self._run, job, accepted)
        except RuntimeError:  # shutting down: the row stays pending for the next start
            self._done()
            return
        future.add_done_callback(self._done)

    def _done(self, _: Future[None] | None = None) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def _run(self, job: Job, accepted: float | None = None) -> None:
        if accepted is not None:
            self._wait_for_quiet(job, accepted)
        try:
            self._handlers[job.kind](job)
        except Exception as error:
            self._record_failure(job, error)
            return
        with self._db.engine.begin() as connection:
            self._mark_done(connection, job)

    def _mark_done(self, connection: Connection, job: Job) -> None:
        # A handler that called `finish` has marked it already; this is then a no-op.
        connection.execute(update(_table).where(
            _table.c.id == job.id, _table.c.status == InboundJobStatus.PENDING,
        ).values(status=InboundJobStatus.DONE, finished_at=self._clock(), claimed_until=None))

    def _record_failure(self, job: Job, error: Exception) -> None:
        attempts = job.attempts + 1
        now = self._clock()
        final = attempts >= MAX_ATTEMPTS
        if final:
            logger.error("inbox: %s job %s failed for good after %d attempts", job.kind, job.id, attempts,
                         exc_info=error)
        else:
            logger.warning("inbox: %s job %s failed (attempt %d); will retry: %s", job.kind, job.id, attempts, error)
        delay = min(RETRY_BASE * 2 ** (attempts - 1), RETRY_CAP)
        try:
            with self._db.engine.begin() as connection:
                connection.execute(update(_table).where(
                    and_(_table.c.id == job.id, _table.c.status == InboundJobStatus.PENDING),
                ).values(attempts=attempts, last_error=str(error)[:500], claimed_until=None,
                         next_attempt_at=now + delay,
                         status=InboundJobStatus.FAILED if final else InboundJobStatus.PENDING))
        except Exception:
            logger.exception("inbox: could not record the failure of job %s; it stays pending", job.id)

    def start(self) -> None:
        """Start the recovery poll (the server does at start-up; `accept` does too, should nobody have)."""
        self._start_poller()

    def _start_poller(self) -> None:
        if self._recovery_poll_s is None or self._poller is not None:
            return
        with self._idle:
            if self._poller is not None:
                return
            self._poller = threading.Thread(target=self._poll, name="inbox-recovery", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        assert self._recovery_poll_s is not None
        while not self._stopping.wait(self._recovery_poll_s):
            try:
                self.recover_due()
            except Exception:
                logger.exception("inbox: recovery poll failed; trying again")
