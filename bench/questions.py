"""Questions at scale: "stale candidates this week" and a skill search over 1M candidates, against hand-written SQL.

    python -m bench.questions [--backends sqlite,postgresql] [--scale 1.0] [--iterations 200] [--warmup 20]
                              [--regenerate] [--generate-only] [--proposed-indexes]

The generator writes 1M candidates, 1.5M applications (a tenth of them open), 10M timeline rows and the search
documents (`--scale` shrinks all of it for a quick look). SQLite is loaded with executemany in large
transactions (synchronous=OFF, secondary indexes and full-text triggers dropped, then rebuilt once, the FTS5
index with 'rebuild'); PostgreSQL with COPY (secondary indexes and the GIN index created after the load). Both
are ANALYZEd. The databases stay under bench/results/ (SQLite) and in `talentbot_questions_bench` (PostgreSQL)
and are reused when their recorded scale matches; `--regenerate` builds them again.

Measured, end to end from the parsed question to the rendered Block Kit message, the way the Slack handler runs
it (a read session, bot.services.questions.answer_question, commands.question_views.build_answer):

- stale: "stale candidates this week" asked by a recruiter (the count up to 1000, the first page of 10 and each
  one's last timeline entry);
- search: "candidates with SQL in Berlin" (the count up to 1000, the first page of 20 and their open
  applications).

The baseline is the best SQL I could write by hand for the same result, sent through the raw DB-API connection
with nothing around it. App and baseline alternate, and their results are compared (the same ids in the same
order), so the ratio is of equal work. Targets (from the issue): p50 under 100 ms and at most 2x the baseline.
`--proposed-indexes` adds the indexes this benchmark suggests and measures again. Results are printed and
written to bench/results/questions.json. Exit status: 0 when the targets are met, 1 when one is missed,
2 on a setup error.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate, pairwise
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from bench import RESULTS_DIR, WORKSPACE
from bench.seed import (
    FIRST_NAMES,
    LAST_NAMES,
    LEVELS,
    LOCATIONS,
    POSITION_TITLES,
    POSTGRES_ADMIN_DSN,
    SENIORITIES,
    SKILLS,
    TALENT_POOLS,
    postgres_url,
    sqlite_url,
)
from bot.access import Actor, Role
from bot.contact import name_key
from bot.nlu import Intent, ParsedQuestion, SearchArgs, StaleArgs, TimeRange
from bot.services.questions import SEARCH_COUNT_CAP, STALE_COUNT_CAP, Answer, SearchAnswer, StaleAnswer, answer_question
from bot.services.search_index import compose_document
from bot.services.timeline import NOT_A_TOUCH
from bot.workspace import WorkspaceConfig, parse_workspace_config
from commands.question_views import build_answer
from storage.db import Database
from storage.migrate import upgrade

BACKENDS = ("sqlite", "postgresql")
SQLITE_PATH = RESULTS_DIR / "questions_bench.db"
POSTGRES_DATABASE = "talentbot_questions_bench"
MAX_P50_MS = 100.0
MAX_RATIO = 2.0

CANDIDATES = 1_000_000
APPLICATIONS_PER_CANDIDATE = 1.5
ACTIVITIES_PER_CANDIDATE = 10
POSITIONS = 200
OPEN_SHARE = 0.10
# Open applications someone works on are touched every few days; a tenth are forgotten for weeks or months.
ACTIVE_TOUCH_MEAN_DAYS = 4.0
FORGOTTEN_SHARE = 0.10
HISTORY = timedelta(days=3 * 365)
CHUNK = 20_000
SEED = 20261119

# Thursday afternoon in Berlin: "this week" began on Monday 16 November 00:00 CET.
NOW = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
TZ = "Europe/Berlin"
THIS_WEEK = TimeRange(datetime(2026, 11, 15, 23, 0, tzinfo=UTC), NOW)
STALE_QUESTION = ParsedQuestion(Intent.STALE, StaleArgs(time_range=THIS_WEEK), True, 1.0,
                                "stale candidates this week")
SEARCH_QUESTION = ParsedQuestion(Intent.SEARCH, SearchArgs(skills=("sql",), locations=("Berlin",)), True, 1.0,
                                 "candidates with SQL in Berlin")
RECRUITER = Actor("UREC001", frozenset({Role.RECRUITER, Role.EMPLOYEE}))
RECRUITERS = tuple(f"UREC{i:03d}" for i in range(1, 21))
MANAGERS = tuple(f"UHIRE{i:03d}" for i in range(1, 41))
# Where an open application stands (default pipeline, open stages only).
OPEN_STAGE_WEIGHTS = {"Sourced": 25, "Outreach": 15, "Phone Screen": 15, "Interview": 20, "Offer": 5,
                      "Offer Accepted": 5, "Background Check": 5, "Onboarding Prep": 10}
PATH = tuple(OPEN_STAGE_WEIGHTS)
STAGE_WEIGHTS = list(accumulate(OPEN_STAGE_WEIGHTS.values()))
OUTCOMES = ("Rejected", "Withdrawn", "Day 1 Complete")
OUTCOME_WEIGHTS = list(accumulate((75, 15, 10)))
SOURCES = ("sourced", "applied", "referral", "agency", "other")
SOURCE_WEIGHTS = list(accumulate((40, 30, 20, 5, 5)))
NOTES = ("Strong {skill} background, wants to lead a team", "Prefers remote work, open to Berlin trips",
         "Great conversation; follow up after the holidays", "Salary expectations above the band",
         "Knows {skill} and {skill2} well; ask about the migration project", "Not looking right now, maybe in spring",
         "Met at a meetup about {skill}", "Sent the take-home exercise")
FILLER_KINDS = ("note.added", "task.created", "task.completed", "email.logged", "consent.granted",
                "candidate.owner_assigned")


# --- the data ---------------------------------------------------------------------------------------


@dataclass
class Chunk:
    candidates: list[tuple[Any, ...]] = field(default_factory=list)
    applications: list[tuple[Any, ...]] = field(default_factory=list)
    activities: list[tuple[Any, ...]] = field(default_factory=list)
    documents: list[tuple[Any, ...]] = field(default_factory=list)


CANDIDATE_COLUMNS = ("id", "full_name", "name_key", "email", "email_normalized", "location", "skills", "seniority",
                     "source", "talent_pool", "owner_slack_id", "status", "open_to_opportunities", "created_at",
                     "updated_at")
APPLICATION_COLUMNS = ("id", "candidate_id", "position_id", "stage", "stage_entered_at", "status",
                       "last_activity_at", "created_at", "closed_at", "hired_at")
ACTIVITY_COLUMNS = ("id", "candidate_id", "application_id", "position_id", "actor", "kind", "payload",
                    "occurred_at")
DOCUMENT_COLUMNS = ("candidate_id", "document", "updated_at")
POSITION_COLUMNS = ("id", "title", "hiring_manager_slack_id", "location", "required_skills", "status",
                    "created_by_slack_id", "created_at", "updated_at")


def positions(rng: random.Random) -> list[tuple[Any, ...]]:
    titles = [level + title for title in POSITION_TITLES for level in LEVELS]
    rows = []
    for number in range(1, POSITIONS + 1):
        created = NOW - timedelta(days=rng.randrange(30, 1000))
        rows.append((number, titles[(number - 1) % len(titles)], rng.choice(MANAGERS), rng.choice(LOCATIONS),
                     json.dumps(rng.sample(SKILLS, 3)), "open" if number <= POSITIONS * 3 // 4 else "closed",
                     RECRUITERS[0], created, created))
    return rows


@cache
def _name_key(name: str) -> str:
    return name_key(name)


class Generator:
    """Rows per chunk of candidates, deterministic for a seed; ids are assigned here, in insertion order."""

    def __init__(self, *, candidates: int, seed: int = SEED):
        self.rng = random.Random(seed)
        self.n = candidates
        self.position_rows = positions(self.rng)
        self.titles = {row[0]: row[1] for row in self.position_rows}
        self.application_id = 0
        self.activity_id = 0
        # The newest timeline entry of the candidate being generated.
        self.latest = NOW

    def chunks(self) -> Iterator[Chunk]:
        for start in range(1, self.n + 1, CHUNK):
            chunk = Chunk()
            for number in range(start, min(start + CHUNK, self.n + 1)):
                self._candidate(number, chunk)
            yield chunk

    def _activity(self, chunk: Chunk, cid: int, kind: str, at: datetime, payload: str, *,
                  application_id: int | None = None, position_id: int | None = None,
                  actor: str = "UREC001") -> None:
        self.activity_id += 1
        self.latest = max(self.latest, at)
        chunk.activities.append((self.activity_id, cid, application_id, position_id, actor, kind, payload, at))

    def _positions_for(self) -> list[int]:
        # How many applications: mean 1.5 (20% none, 35% one, 25% two, 12% three, 8% four), distinct positions.
        roll = self.rng.random()
        count = 0 if roll < 0.20 else 1 if roll < 0.55 else 2 if roll < 0.80 else 3 if roll < 0.92 else 4
        chosen: list[int] = []
        while len(chosen) < count:
            position_id = self.rng.randint(1, POSITIONS)
            if position_id not in chosen:
                chosen.append(position_id)
        return chosen

    def _candidate(self, cid: int, chunk: Chunk) -> None:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        created = NOW - HISTORY * rng.random()
        skills = rng.sample(SKILLS, rng.randint(0, 5))
        location = rng.choice(LOCATIONS) if rng.random() < 0.7 else None
        seniority = rng.choice(SENIORITIES)
        pool = rng.choice(TALENT_POOLS)
        source = rng.choices(SOURCES, cum_weights=SOURCE_WEIGHTS)[0]
        owner = rng.choice(RECRUITERS) if rng.random() < 0.6 else None

        apps = [(position_id, rng.random() < OPEN_SHARE) for position_id in self._positions_for()]
        has_open = any(is_open for _, is_open in apps)
        if has_open:
            forgotten = rng.random() < FORGOTTEN_SHARE
            age = rng.uniform(10, 180) if forgotten else rng.expovariate(1 / ACTIVE_TOUCH_MEAN_DAYS)
            end = NOW - timedelta(days=age)
        else:
            end = created + (NOW - created) * rng.random()
        # An open application started before its last touch; the candidate is older than all their applications.
        starts = [end - timedelta(days=rng.uniform(0, 150)) if is_open else created + (end - created) * rng.random()
                  for _, is_open in apps]
        created = min([created, *starts]) - timedelta(hours=1)

        self.latest = created
        self._activity(chunk, cid, "candidate.created", created, f'{{"source": "{source}"}}')
        rows = [self._application(chunk, cid, position_id, is_open, started, end)
                for (position_id, is_open), started in zip(apps, starts, strict=True)]
        used = 1 + sum(moves for _, moves in rows)
        notes: list[str] = []
        budget = max(0, rng.randint(2, 16) - used)
        times = sorted(created + (end - created) * rng.random() for _ in range(budget))
        if times and has_open:
            times[-1] = end
        for at in times:
            kind = rng.choice(FILLER_KINDS)
            if kind == "note.added":
                note = rng.choice(NOTES).format(skill=rng.choice(SKILLS), skill2=rng.choice(SKILLS))
                notes.append(note)
                self._activity(chunk, cid, kind, at, f'{{"text": "{note}"}}')
            else:
                self._activity(chunk, cid, kind, at, "{}")
        # Every entry on the timeline touches each open application (bot.services.timeline).
        for row, _ in rows:
            chunk.applications.append((*row[:6], self.latest, *row[7:]) if row[5] == "open" else row)

        chunk.candidates.append((cid, name, _name_key(name), f"c{cid}@example.org", f"c{cid}@example.org", location,
                                 json.dumps(skills), seniority, source, pool, owner, "active", False, created, end))
        # compose_document reads these attributes only; a model instance per row would double the generation time.
        candidate: Any = SimpleNamespace(full_name=name, skills=skills, location=location, seniority=seniority,
                                         talent_pool=pool)
        titles = [self.titles[position_id] for position_id, _ in apps]
        chunk.documents.append((cid, compose_document(candidate, titles=titles, notes=notes), end))

    def _application(self, chunk: Chunk, cid: int, position_id: int, is_open: bool, started: datetime,
                     end: datetime) -> tuple[tuple[Any, ...], int]:
        """The application's row and how many timeline entries it wrote."""
        rng = self.rng
        self.application_id += 1
        aid = self.application_id
        title = self.titles[position_id]
        # Payloads are written as text: json.dumps for ten million rows costs minutes.
        self._activity(chunk, cid, "application.created", started, f'{{"stage": "{PATH[0]}", "position": "{title}"}}',
                       application_id=aid, position_id=position_id)
        if is_open:
            stage = rng.choices(PATH, cum_weights=STAGE_WEIGHTS)[0]
            path = list(PATH[:PATH.index(stage) + 1])
            status, closed, hired = "open", None, None
        else:
            outcome = rng.choices(OUTCOMES, cum_weights=OUTCOME_WEIGHTS)[0]
            reached = PATH[:rng.randint(1, 5)] if outcome != "Day 1 Complete" else PATH
            path = [*reached, outcome]
            stage = outcome
            status = {"Rejected": "rejected", "Withdrawn": "withdrawn", "Day 1 Complete": "hired"}[outcome]
            closed = started + (NOW - started) * rng.random() * 0.2
            hired = closed if status == "hired" else None
        # At most three moves are written (a long path skips some); enough for time to offer and acceptance.
        moves = list(pairwise(path))[-3:]
        finish = closed if closed is not None else end
        entered = started
        for (before, after), at in zip(moves, sorted(started + (finish - started) * rng.random() for _ in moves),
                                       strict=True):
            self._activity(chunk, cid, "stage.moved", at,
                           f'{{"from": "{before}", "to": "{after}", "position": "{title}"}}', application_id=aid,
                           position_id=position_id)
            entered = at
        return (aid, cid, position_id, stage, entered, status, closed or entered, started, closed, hired), \
            1 + len(moves)


# --- loading ----------------------------------------------------------------------------------------


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # The format SQLAlchemy writes, so that comparisons with its parameters order the same way.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return value


def _pg_value(value: Any) -> Any:
    return value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) else value


def _secondary_indexes(db: Database, tables: Sequence[str]) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes on `tables` other than primary keys and unique constraints."""
    with db.engine.connect() as connection:
        if db.backend == "sqlite":
            rows = connection.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
                f"({', '.join(repr(t) for t in tables)})")).all()
        else:
            rows = connection.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename IN "
                f"({', '.join(repr(t) for t in tables)}) AND indexdef NOT LIKE 'CREATE UNIQUE%'")).all()
    return [(str(name), str(statement)) for name, statement in rows]


TABLES = ("candidates", "applications", "activities", "candidate_search")


def load(backend: str, url: str, generator: Generator) -> dict[str, int]:
    db = Database(url)
    try:
        upgrade(db)
        indexes = _secondary_indexes(db, TABLES)
        if backend == "sqlite":
            return _load_sqlite(db, generator, indexes)
        return _load_postgres(db, generator, indexes)
    finally:
        db.dispose()


def _load_sqlite(db: Database, generator: Generator, indexes: list[tuple[str, str]]) -> dict[str, int]:
    counts = dict.fromkeys(("positions", "candidates", "applications", "activities"), 0)
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        triggers = cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                  "AND tbl_name = 'candidate_search'").fetchall()
        # For the load only: nothing to lose in a file made from scratch, and a big page cache.
        for pragma in ("synchronous = OFF", "cache_size = -2000000", "foreign_keys = OFF"):
            cursor.execute(f"PRAGMA {pragma}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        for name, _ in triggers:
            cursor.execute(f"DROP TRIGGER {name}")

        def insert(table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
            statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            cursor.executemany(statement, [tuple(_sqlite_value(v) for v in row) for row in rows])

        cursor.execute("BEGIN")
        insert("positions", POSITION_COLUMNS, generator.position_rows)
        counts["positions"] = len(generator.position_rows)
        for chunk in generator.chunks():
            insert("candidates", CANDIDATE_COLUMNS, chunk.candidates)
            insert("applications", APPLICATION_COLUMNS, chunk.applications)
            insert("activities", ACTIVITY_COLUMNS, chunk.activities)
            insert("candidate_search", DOCUMENT_COLUMNS, chunk.documents)
            counts["candidates"] += len(chunk.candidates)
            counts["applications"] += len(chunk.applications)
            counts["activities"] += len(chunk.activities)
            _progress(counts)
        cursor.execute("COMMIT")
        print("\n  indexes, full-text index, ANALYZE…", flush=True)
        for _, statement in indexes:
            cursor.execute(statement)
        cursor.execute("INSERT INTO candidate_search_fts(candidate_search_fts) VALUES ('rebuild')")
        for _, statement in triggers:
            cursor.execute(statement)
        cursor.execute("ANALYZE")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.commit()
    finally:
        raw.close()
    return counts


def _load_postgres(db: Database, generator: Generator, indexes: list[tuple[str, str]]) -> dict[str, int]:
    counts = dict.fromkeys(("positions", "candidates", "applications", "activities"), 0)
    raw = db.engine.raw_connection()
    try:
        cursor: Any = raw.cursor()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        # Foreign keys are checked row by row during COPY; the generator's ids are consistent by construction.
        cursor.execute("SET session_replication_role = replica")

        def copy(table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as stream:
                for row in rows:
                    stream.write_row([_pg_value(v) for v in row])

        copy("positions", POSITION_COLUMNS, generator.position_rows)
        counts["positions"] = len(generator.position_rows)
        for chunk in generator.chunks():
            copy("candidates", CANDIDATE_COLUMNS, chunk.candidates)
            copy("applications", APPLICATION_COLUMNS, chunk.applications)
            copy("activities", ACTIVITY_COLUMNS, chunk.activities)
            copy("candidate_search", DOCUMENT_COLUMNS, chunk.documents)
            counts["candidates"] += len(chunk.candidates)
            counts["applications"] += len(chunk.applications)
            counts["activities"] += len(chunk.activities)
            _progress(counts)
        cursor.execute("SET session_replication_role = DEFAULT")
        raw.commit()
        print("\n  indexes, sequences, ANALYZE…", flush=True)
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _, statement in indexes:
            cursor.execute(statement)
        for table in ("positions", "candidates", "applications", "activities"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT coalesce(max(id), 1) FROM {table}))")
        raw.commit()
        # VACUUM as well as ANALYZE: autovacuum would have set the visibility map of a table this old, and
        # without it no index-only scan is possible.
        driver: Any = raw.driver_connection
        driver.autocommit = True
        driver.execute("VACUUM (ANALYZE)")
    finally:
        raw.close()
    return counts


def _progress(counts: dict[str, int]) -> None:
    print(f"\r  {counts['candidates']:>9,} candidates, {counts['applications']:>9,} applications, "
          f"{counts['activities']:>10,} activities", end="", flush=True)


PROPOSED_INDEXES = {
    # Stale narrowed to a stage (or counted exactly): each stage's cutoff is a range in (stage, last_activity_at),
    # answered from the index alone.
    "ix_applications_status_stage_last_activity":
        "CREATE INDEX IF NOT EXISTS ix_applications_status_stage_last_activity "
        "ON applications (status, stage, last_activity_at)",
    # Search by place: statistics (and a path) for lower(location), which the planners now guess at.
    "ix_candidates_location_lower": "CREATE INDEX IF NOT EXISTS ix_candidates_location_lower "
                                    "ON candidates (lower(location))",
}


def _meta_path(backend: str) -> Path:
    return RESULTS_DIR / f"questions_bench.{backend}.json"


def prepare(backend: str, *, scale: float, regenerate: bool) -> tuple[str, dict[str, Any]]:
    """The database for `backend`, generated now or reused from an earlier run at the same scale."""
    url = sqlite_url(SQLITE_PATH) if backend == "sqlite" else postgres_url(POSTGRES_DATABASE)
    meta_file = _meta_path(backend)
    if not regenerate and meta_file.exists() and _database_exists(backend):
        meta = json.loads(meta_file.read_text())
        if meta.get("scale") == scale and meta.get("seed") == SEED:
            print(f"{backend}: reusing the database generated {meta['generated_at']} ({url})")
            return url, meta
    print(f"{backend}: generating at scale {scale} …", flush=True)
    _fresh(backend)
    started = time.perf_counter()
    counts = load(backend, url, Generator(candidates=max(1, round(CANDIDATES * scale))))
    meta = {"scale": scale, "seed": SEED, "counts": counts, "seconds": round(time.perf_counter() - started, 1),
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds")}
    meta_file.write_text(json.dumps(meta, indent=2))
    print(f"{backend}: {counts} in {meta['seconds']} s")
    return url, meta


def _database_exists(backend: str) -> bool:
    if backend == "sqlite":
        return SQLITE_PATH.exists()
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True, connect_timeout=5) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (POSTGRES_DATABASE,)).fetchone() \
            is not None


def _fresh(backend: str) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    _meta_path(backend).unlink(missing_ok=True)
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        return
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True, connect_timeout=5) as admin:
        name = sql.Identifier(POSTGRES_DATABASE)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))


# --- the app path and the hand-written SQL ----------------------------------------------------------


def app_answer(db: Database, config: WorkspaceConfig, question: ParsedQuestion) -> tuple[Answer, dict[str, Any]]:
    """What the Slack handler does between parsing and posting."""
    with db.read() as session:
        answer = answer_question(session, actor=RECRUITER, question=question, config=config, now=NOW, tz=TZ)
    return answer, build_answer(answer, now=NOW, tz=TZ)


def _stale_cutoffs(config: WorkspaceConfig) -> list[tuple[str, datetime]]:
    # "this week" ends now, so each stage's cutoff is now minus its SLA.
    return [(stage.name, NOW - stage.sla) for stage in config.pipeline.stages
            if stage.outcome is None and stage.sla is not None]


class Handwritten:
    """The same results through the raw DB-API connection: one statement per part, parameters bound, in a read
    transaction that ends with the answer (as any reader's does; a transaction left open would hold back
    PostgreSQL's vacuum and SQLite's checkpoints)."""

    def __init__(self, db: Database, config: WorkspaceConfig):
        self.backend = db.backend
        self.raw: Any = db.engine.raw_connection()
        self.mark = "?" if self.backend == "sqlite" else "%s"
        cutoffs = _stale_cutoffs(config)
        self.names = [name for name, _ in cutoffs]
        # Written as stored: naive UTC text on SQLite, naive timestamps on PostgreSQL.
        convert = _sqlite_value if self.backend == "sqlite" else _pg_value
        self.now = convert(NOW)
        self.cutoffs = [(name, convert(cutoff)) for name, cutoff in cutoffs]
        self.all_stages = config.pipeline.names
        self.default_cutoff = convert(NOW - timedelta(days=7))

    def close(self) -> None:
        self.raw.close()

    def begin(self) -> None:
        # psycopg opens the transaction with the first statement; SQLite's connections here run in autocommit
        # mode (storage/db.py issues BEGIN itself), so the snapshot has to be asked for, as the app does.
        if self.backend == "sqlite":
            self.raw.cursor().execute("BEGIN")

    def _rows(self, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        cursor = self.raw.cursor()
        cursor.execute(statement.replace("?", self.mark), list(params))
        rows = cursor.fetchall()
        cursor.close()
        return list(rows)

    def _stale_where(self) -> tuple[str, list[Any]]:
        # Per stage: last touched at or before its cutoff (never touched: created then). The bench data has no
        # untouched applications, but the result must be the one the app defines.
        touched = "(a.last_activity_at <= ? OR (a.last_activity_at IS NULL AND a.created_at <= ?))"
        stages = " OR ".join(f"(a.stage = ? AND {touched})" for _ in self.cutoffs)
        unknown = f"(a.stage NOT IN ({', '.join('?' * len(self.all_stages))}) AND {touched})"
        where = (f"a.status = 'open' AND ({stages} OR {unknown}) "
                 "AND (a.stale_snoozed_until IS NULL OR a.stale_snoozed_until <= ?)")
        params: list[Any] = []
        for name, cutoff in self.cutoffs:
            params += [name, cutoff, cutoff]
        params += [*self.all_stages, self.default_cutoff, self.default_cutoff, self.now]
        return where, params

    def stale(self) -> list[int]:
        self.begin()
        where, params = self._stale_where()
        total = self._rows(f"SELECT count(*) FROM (SELECT a.id FROM applications a WHERE {where} "
                           f"ORDER BY a.last_activity_at LIMIT {STALE_COUNT_CAP}) AS capped", params)[0][0]
        page = self._rows(
            "SELECT a.id, a.candidate_id, a.stage, a.last_activity_at, c.full_name, c.owner_slack_id, p.title "
            "FROM applications a JOIN candidates c ON c.id = a.candidate_id JOIN positions p ON p.id = a.position_id "
            f"WHERE {where} ORDER BY a.last_activity_at, a.id LIMIT 10", params)
        ignored = sorted(NOT_A_TOUCH)
        latest = " UNION ALL ".join(
            "SELECT * FROM (SELECT candidate_id, kind, occurred_at FROM activities WHERE candidate_id = ? "
            f"AND kind NOT IN ({', '.join('?' * len(ignored))}) ORDER BY occurred_at DESC, id DESC LIMIT 1) AS x{i}"
            for i in range(len(page)))
        params = [value for row in page for value in (row[1], *ignored)]
        if page:
            self._rows(latest, params)
        self.raw.rollback()
        return [total, *(row[0] for row in page)]

    def search(self) -> list[int]:
        self.begin()
        columns = "c.id, c.full_name, c.location, c.seniority, c.skills, c.source, c.talent_pool, c.owner_slack_id"
        person = "lower(c.location) IN ('berlin') AND c.status <> 'erased'"
        if self.backend == "sqlite":
            where = (f"candidate_search_fts f JOIN candidates c ON c.id = f.rowid "
                     f"WHERE candidate_search_fts MATCH '\"sql\" AND \"Berlin\"' AND {person}")
            order = "f.rowid"
        else:
            # Driven by the GIN index, one primary-key probe per match; OFFSET 0 keeps the planner from turning it
            # into a hash join over every candidate (it cannot estimate the tsquery or lower(location)).
            where = (f"candidate_search s CROSS JOIN LATERAL (SELECT {columns} FROM candidates c "
                     f"WHERE c.id = s.candidate_id AND {person} OFFSET 0) AS c WHERE s.document_tsv @@ "
                     "(phraseto_tsquery('simple', 'sql') && phraseto_tsquery('simple', 'Berlin'))")
            order = "s.candidate_id"
        total = self._rows(f"SELECT count(*) FROM (SELECT c.id FROM {where} LIMIT {SEARCH_COUNT_CAP}) AS capped", [])
        page = self._rows(f"SELECT {columns} FROM {where} ORDER BY {order} DESC LIMIT 20", [])
        ids = [row[0] for row in page]
        if ids:
            self._rows("SELECT a.candidate_id, a.stage, p.title FROM applications a JOIN positions p "
                       f"ON p.id = a.position_id WHERE a.candidate_id IN ({', '.join('?' * len(ids))}) "
                       "AND a.status = 'open' ORDER BY a.created_at, a.id", ids)
        self.raw.rollback()
        return [total[0][0], *ids]


def result_ids(answer: Answer) -> list[int]:
    if isinstance(answer, StaleAnswer):
        return [answer.total, *(item.application_id for item in answer.items)]
    assert isinstance(answer, SearchAnswer)
    return [answer.total, *(item.candidate_id for item in answer.items)]


# --- measuring --------------------------------------------------------------------------------------


@dataclass
class Measurement:
    backend: str
    question: str
    indexes: str
    app_p50_ms: float
    app_p99_ms: float
    sql_p50_ms: float
    sql_p99_ms: float
    rows: int
    blocks: int

    @property
    def ratio(self) -> float:
        return self.app_p50_ms / self.sql_p50_ms if self.sql_p50_ms else math.inf

    @property
    def met(self) -> bool:
        return self.app_p50_ms < MAX_P50_MS and self.ratio <= MAX_RATIO


def _percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return (time.perf_counter() - started) * 1000, result


def measure(backend: str, url: str, *, iterations: int, warmup: int, indexes: str) -> list[Measurement]:
    config = parse_workspace_config(WORKSPACE)
    db = Database(url)
    handwritten = Handwritten(db, config)
    results = []
    try:
        for label, question, baseline in (("stale candidates this week", STALE_QUESTION, handwritten.stale),
                                          ("candidates with SQL in Berlin", SEARCH_QUESTION, handwritten.search)):
            answer, payload = app_answer(db, config, question)
            expected = baseline()
            if result_ids(answer) != expected:
                raise SystemExit(f"{backend}/{label}: the app and the hand-written SQL disagree:\n"
                                 f"  app {result_ids(answer)}\n  sql {expected}")
            for _ in range(warmup):
                app_answer(db, config, question)
                baseline()
            app_ms: list[float] = []
            sql_ms: list[float] = []
            for _ in range(iterations):
                app_ms.append(_timed(lambda q=question: app_answer(db, config, q))[0])  # type: ignore[misc]
                sql_ms.append(_timed(baseline)[0])
            results.append(Measurement(
                backend=backend, question=label, indexes=indexes, app_p50_ms=statistics.median(app_ms),
                app_p99_ms=_percentile(app_ms, 0.99), sql_p50_ms=statistics.median(sql_ms),
                sql_p99_ms=_percentile(sql_ms, 0.99), rows=expected[0], blocks=len(payload["blocks"])))
    finally:
        handwritten.close()
        db.dispose()
    return results


def add_proposed_indexes(url: str) -> None:
    db = Database(url)
    try:
        with db.engine.begin() as connection:
            for statement in PROPOSED_INDEXES.values():
                connection.execute(text(statement))
            connection.execute(text("ANALYZE"))
    finally:
        db.dispose()


def drop_proposed_indexes(url: str) -> None:
    db = Database(url)
    try:
        with db.engine.begin() as connection:
            for name in PROPOSED_INDEXES:
                connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
            connection.execute(text("ANALYZE"))
    finally:
        db.dispose()


def print_table(results: list[Measurement], meta: dict[str, dict[str, Any]]) -> None:
    table = Table(title=f"Questions, end to end (parsed → blocks) vs hand-written SQL — {platform.platform()}")
    for column in ("backend", "question", "indexes", "rows", "blocks", "app p50 ms", "app p99 ms", "SQL p50 ms",
                   "SQL p99 ms", "ratio p50", "target"):
        table.add_column(column, justify="right" if column not in ("backend", "question", "indexes") else "left")
    for r in results:
        table.add_row(r.backend, r.question, r.indexes, f"{r.rows:,}", str(r.blocks), f"{r.app_p50_ms:.1f}",
                      f"{r.app_p99_ms:.1f}", f"{r.sql_p50_ms:.1f}", f"{r.sql_p99_ms:.1f}", f"{r.ratio:.2f}x",
                      "[green]met[/]" if r.met else "[red]missed[/]")
    console = Console(width=200)
    console.print(table)
    for backend, info in meta.items():
        console.print(f"{backend}: {info['counts']} (generated in {info['seconds']} s)")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1M candidates")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--regenerate", action="store_true", help="build the databases again")
    parser.add_argument("--generate-only", action="store_true", help="build or check the databases, measure nothing")
    parser.add_argument("--proposed-indexes", action="store_true",
                        help="also measure with the indexes this benchmark proposes (added, then dropped again)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := set(backends) - set(BACKENDS):
        print(f"unknown backend(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    results: list[Measurement] = []
    meta: dict[str, dict[str, Any]] = {}
    try:
        for backend in backends:
            url, meta[backend] = prepare(backend, scale=args.scale, regenerate=args.regenerate)
            if args.generate_only:
                continue
            drop_proposed_indexes(url)
            results += measure(backend, url, iterations=args.iterations, warmup=args.warmup, indexes="schema")
            if args.proposed_indexes:
                add_proposed_indexes(url)
                results += measure(backend, url, iterations=args.iterations, warmup=args.warmup,
                                   indexes="+proposed")
                drop_proposed_indexes(url)
    except (psycopg.OperationalError, OSError) as error:
        print(f"setup failed: {error}", file=sys.stderr)
        return 2
    if args.generate_only:
        return 0
    print_table(results, meta)
    (RESULTS_DIR / "questions.json").write_text(json.dumps(
        {"now": NOW.isoformat(), "targets": {"p50_ms": MAX_P50_MS, "ratio": MAX_RATIO}, "databases": meta,
         "results": [asdict(r) | {"ratio": r.ratio, "met": r.met} for r in results]}, indent=2))
    return 0 if all(r.met for r in results if r.indexes == "schema") else 1


if __name__ == "__main__":
    sys.exit(main())
