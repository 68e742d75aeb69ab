"""The scheduler lock: of all processes on one database, only the holder runs the scheduled jobs.

Each lock dies with its holder, so no lease needs to expire and nobody has to clean up after a crash:

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) held on a connection of its own for the
  life of the process. PostgreSQL releases it when that connection ends, whether the process exited,
  was killed or lost the network.
- SQLite: an exclusive `flock` on `<database file>.scheduler.lock`. The kernel releases it when the process
  ends. (SQLite is one machine's database, so every process that uses it sees the same file.)

Taking the lock never blocks: a process that does not get it tries again later (see bot.scheduler).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import IO, Protocol

import psycopg
from sqlalchemy.engine import make_url

from storage.db import is_sqlite, normalize_database_url

logger = logging.getLogger(__name__)

# Advisory lock keys share one 64-bit space per database; derive ours from a name nobody else uses.
SCHEDULER_LOCK_KEY = int.from_bytes(hashlib.blake2b(b"talentbot:scheduler", digest_size=8).digest(), "big",
                                    signed=True)


class LeaderLock(Protocol):
    description: str

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True when this process holds it afterwards. Never blocks."""
        ...

    def is_held(self) -> bool:
        """Whether this process still holds the lock (checked, not remembered)."""
        ...

    def release(self) -> None: ...


class PostgresAdvisoryLock:
    def __init__(self, database_url: str, *, key: int = SCHEDULER_LOCK_KEY):
        url = make_url(normalize_database_url(database_url)).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._key = key
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._held = False
        # The scheduler's election and its jobs run on different threads.
        self._mutex = threading.Lock()
        self.description = f"PostgreSQL advisory lock {key} on {url.render_as_string(hide_password=True)}"

    def try_acquire(self) -> bool:
        with self._mutex:
            if self._alive():
                if not self._held:
                    row = self._execute("SELECT pg_try_advisory_lock(%s)", self._key)
                    self._held = bool(row and row[0])
                return self._held
            try:
                self._connection = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10,
                                                   application_name="talentbot-scheduler")
            except psycopg.Error as error:
                logger.warning("cannot reach PostgreSQL for the scheduler lock: %s", error)
                return False
            row = self._execute("SELECT pg_try_advisory_lock(%s)", self._key)
            self._held = bool(row and row[0])
            return self._held

    def is_held(self) -> bool:
        with self._mutex:
            return self._held and self._alive()

    def release(self) -> None:
        with self._mutex:
            if self._connection is not None:
                # Closing the connection is what releases a session lock; no unlock call is needed.
                self._connection.close()
            self._connection, self._held = None, False

    def _alive(self) -> bool:
        if self._connection is None or self._connection.closed:
            self._connection, self._held = None, False
            return False
        if self._execute("SELECT 1") is None:
            if self._held:
                logger.warning("lost the scheduler lock: its PostgreSQL connection ended")
            self._connection, self._held = None, False
            return False
        return True

    def _execute(self, query: str, *params: object) -> tuple[object, ...] | None:
        assert self._connection is not None
        try:
            return self._connection.execute(query, params or None).fetchone()  # type: ignore[arg-type]
        except psycopg.Error:
            self._connection.close()
            return None


class FileLock:
    def __init__(self, path: Path):
        self.path = path
        self._file: IO[bytes] | None = None
        self._mutex = threading.Lock()
        self.description = f"file lock {path}"

    def try_acquire(self) -> bool:
        with self._mutex:
            if self._file is not None:
                return True
            handle = self.path.open("ab")
            try:
                # flock (unlike fcntl's record locks) belongs to this open file, so even a second lock object
                # in the same process is refused, and the kernel drops it when the process ends.
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return False
            handle.truncate(0)
            handle.write(f"{os.getpid()}\n".encode())
            handle.flush()
            self._file = handle
            return True

    def is_held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        with self._mutex:
            if self._file is not None:
                self._file.close()
                self._file = None


class ProcessLock:
    """An in-memory SQLite database exists in one process only, so that process is always the leader."""

    description = "in-process (in-memory database)"

    def try_acquire(self) -> bool:
        return True

    def is_held(self) -> bool:
        return True

    def release(self) -> None:
        pass


def scheduler_lock_for(database_url: str) -> LeaderLock:
    if not is_sqlite(database_url):
        return PostgresAdvisoryLock(database_url)
    database = make_url(normalize_database_url(database_url)).database
    if not database or database == ":memory:":
        return ProcessLock()
    return FileLock(Path(f"{Path(database).resolve()}.scheduler.lock"))
