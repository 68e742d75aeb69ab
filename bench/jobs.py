"""The reminder and SLA jobs over 100k open tasks and 1M timeline rows, against hand-written SQL.

    python -m bench.jobs [--tasks 100000] [--activities 1000000] [--backends sqlite,postgresql]
                         [--repeat 5] [--due-share 0.03] [--extra-indexes] [--profile]

For each backend a database of its own is created and filled (executemany on SQLite, COPY on PostgreSQL):
40k open applications with candidates, owners and positions; 100k open tasks (and 50k done ones) due from
ten days ago to twenty days ahead, assigned to owners, hiring managers and team channels, some snoozed,
with their markers as a run five minutes earlier left them; except `--due-share` of them (3%), which have
something due now (a third each reached their reminder, due or escalation time, a tenth were never seen by
a job); and 1M activities, among them the `sla.flagged` rows of the breaches already flagged.

Each measured run is one job end to end as the scheduler runs it, minus the Slack calls after the commit:
`bot.jobs.queue_task_reminders` (select in batches, mark, build the messages, queue them in the outbox) and
`bot.jobs.queue_sla_breaches` (select, flag new breaches on the timeline, queue the day's digests), the
latter on the first run of a day (every breach is read for the digests) and on an hourly run after it.
The baseline is hand-written SQL in one transaction doing the same selection and the same writes of
state (marker columns; `task.escalated` and `sla.flagged` rows) but building and queuing no messages; for
the reminders a second baseline also writes outbox rows, one per task and kind, built in SQL. Before every
run the database is put back as seeded, so all runs do the same work; one unmeasured run of each warms the
caches, then they alternate `--repeat` times and the medians are compared. `--extra-indexes` measures
everything again with the indexes asked of the schema (EXTRA_INDEXES).

Targets (from the issue): each job run under 2 s, and at most 2x the hand-written SQL. Results are printed
as a table and written to bench/results/jobs.json. Exit status: 0 when every target is met on the schema
as it is, 1 when one is missed, 2 on a setup error.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import platform
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from bench import RECRUITING_CHANNEL, RESULTS_DIR, WORKSPACE
from bench.seed import FIRST_NAMES, LAST_NAMES, POSITION_TITLES, POSTGRES_ADMIN_DSN, postgres_url, sqlite_url
from bot.jobs import queue_sla_breaches, queue_task_reminders
from bot.services.reminders import sla_digest_key, stage_sla_thresholds
from bot.workspace import WorkspaceConfig, parse_workspace_config
from storage.db import Database
from storage.migrate import upgrade

BACKENDS = ("sqlite", "postgresql")
JOBS = ("task_reminders", "sla_breaches")
MAX_RUN_S = 2.0
MAX_RATIO = 2.0
# Apart from bench/seed.py's database, so that the two benchmarks never overwrite each other's data.
SQLITE_PATH = RESULTS_DIR / "talentbot_jobs.db"
POSTGRES_DATABASE = "talentbot_bench_jobs"
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
PREVIOUS_TICK = NOW - timedelta(minutes=5)
TASKS_PER_APPLICATION = 2.5
DONE_TASK_SHARE = 0.5
SNOOZED_SHARE = 0.05
RECRUITERS = tuple(f"UREC{i:03d}" for i in range(1, 26))
HIRING_MANAGERS = tuple(f"UHIRE{i:03d}" for i in range(1, 41))
TEAM_CHANNELS = ("C0TEAMIT", "C0TEAMHR", "C0PAYROLL")
TASK_TITLES = ("Send the first outreach message", "Send calendar invite", "Complete phone screen notes",
               "Schedule the interviews", "Share the interview plan with the panel", "Prepare and send the offer",
               "Approve the offer", "Run the background check", "Prepare laptop and access")
FILLER_KINDS = ("note.added", "email.logged", "stage.changed", "consent.granted", "candidate.updated",
                "interview.scheduled", "scorecard.submitted", "owner.assigned")
CHUNK = 20_000
# Already JSON: serialising the same small payload 800k times would dominate the load.
FILLER_PAYLOAD = json.dumps({"note": "Followed up by phone"})
# Wide enough for the results table when the output goes to a file or a pipe (rich assumes 80 columns there).
console = Console() if sys.stdout.isatty() else Console(width=170)


# --- data ------------------------------------------------------------------------------------------


@dataclass
class Dataset:
    """Every row to insert, as dicts with aware datetimes; built once and loaded into each backend."""

    config: WorkspaceConfig
    positions: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    applications: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    # Activities other than filler: created first, so they have the low ids.
    activities: list[dict[str, Any]] = field(default_factory=list)
    filler_activities: int = 0
    seed: int = 0

    @property
    def activity_count(self) -> int:
        return len(self.activities) + self.filler_activities


def _activity(rows: list[dict[str, Any]], kind: str, at: datetime, *, candidate_id: int,
              application_id: int | None, position_id: int | None, actor: str,
              payload: dict[str, Any]) -> None:
    rows.append({"id": len(rows) + 1, "candidate_id": candidate_id, "application_id": application_id,
                 "position_id": position_id, "referral_id": None, "actor": actor, "kind": kind,
                 "payload": payload, "occurred_at": at})


def _markers_after(due: datetime, at: datetime, rng: random.Random, config: WorkspaceConfig) -> dict[str, Any]:
    """The marker columns as a job run at `at` left them (the steady state between ticks)."""
    reminders = config.reminders
    return {
        "reminded_for_due_at": due if at >= due - reminders.before_due else None,
        "overdue_notified_for_due_at": due if at >= due else None,
        "escalated_at": (due + reminders.escalate_after + timedelta(seconds=rng.randrange(300))
                         if at >= due + reminders.escalate_after else None),
    }


def build_dataset(*, tasks: int, activities: int, due_share: float, seed: int = 20261116) -> Dataset:
    rng = random.Random(seed)
    config = parse_workspace_config({**WORKSPACE, "teams": {"it": "C0TEAMIT", "hr": "C0TEAMHR"}})
    data = Dataset(config=config, seed=seed)
    slas = {stage.name: stage.sla for stage in config.pipeline.stages if stage.outcome is None and stage.sla}
    stages = sorted(slas)
    for number in range(1, 61):
        data.positions.append({
            "id": number, "title": POSITION_TITLES[number % len(POSITION_TITLES)], "hiring_manager_slack_id":
            rng.choice(HIRING_MANAGERS), "location": None, "required_skills": [], "client_company": None,
            "fee_amount": None, "fee_currency": None, "status": "open", "close_reason": None,
            "placed_candidate_id": None, "created_by_slack_id": RECRUITERS[0], "created_at": NOW - timedelta(days=400),
            "updated_at": NOW - timedelta(days=400)})

    n_applications = int(tasks / TASKS_PER_APPLICATION)
    for number in range(1, n_applications + 1):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        created = NOW - timedelta(days=rng.uniform(20, 700))
        owner = rng.choice(RECRUITERS) if rng.random() < 0.75 else None
        data.candidates.append({
            "id": number, "full_name": name, "name_key": name.lower(), "email": None, "email_normalized": None,
            "phone_e164": None, "profile_url": None, "profile_url_key": None, "location": None, "skills": [],
            "seniority": None, "source": "sourced", "talent_pool": None, "owner_slack_id": owner, "status": "active",
            "open_to_opportunities": False, "created_at": created, "updated_at": created})
        stage = rng.choice(stages)
        sla = slas[stage]
        position_id = rng.randint(1, len(data.positions))
        roll = rng.random()
        if roll < 0.55:  # within its SLA
            entered = NOW - sla * rng.uniform(0.0, 0.99)
        elif roll < 0.55 + (1 - 0.55) * (1 - due_share):  # over SLA, flagged when it happened
            entered = NOW - sla - timedelta(hours=rng.uniform(1, 60 * 24))
            _activity(data.activities, "sla.flagged", entered + sla + timedelta(minutes=rng.uniform(0, 60)),
                      candidate_id=number, application_id=number, position_id=position_id, actor="system",
                      payload={"stage": stage})
        else:  # crossed its SLA within the last hour: the job has yet to see it
            entered = NOW - sla - timedelta(minutes=rng.uniform(0, 60))
        if rng.random() < 0.2:  # a breach in an earlier stage, flagged back then: must not count for this one
            _activity(data.activities, "sla.flagged", entered - timedelta(days=rng.uniform(1, 30)),
                      candidate_id=number, application_id=number, position_id=position_id, actor="system",
                      payload={"stage": "Sourced"})
        data.applications.append({
            "id": number, "candidate_id": number, "position_id": position_id, "stage": stage,
            "stage_entered_at": entered, "status": "open", "created_at": created, "closed_at": None,
            "hired_at": None, "left_at": None, "last_activity_at": created})
        _activity(data.activities, "application.created", created, candidate_id=number, application_id=number,
                  position_id=position_id, actor=RECRUITERS[0], payload={"stage": stages[0]})

    total_tasks = int(tasks * (1 + DONE_TASK_SHARE))
    for number in range(1, total_tasks + 1):
        application = data.applications[rng.randrange(n_applications)]
        owner = data.candidates[application["candidate_id"] - 1]["owner_slack_id"]
        pick = rng.random()
        assignee = (owner or RECRUITING_CHANNEL) if pick < 0.6 else (
            rng.choice(HIRING_MANAGERS) if pick < 0.85 else rng.choice(TEAM_CHANNELS) if pick < 0.95
            else RECRUITING_CHANNEL)
        created = NOW - timedelta(days=rng.uniform(11, 60))
        row: dict[str, Any] = {
            "id": number, "candidate_id": application["candidate_id"], "application_id": application["id"],
            "interview_id": None, "kind": "stage", "title": rng.choice(TASK_TITLES),
            "group_key": f"stage:{application['id']}", "stage": application["stage"], "assignee_slack_id": assignee,
            "mandatory": rng.random() < 0.5, "snoozed_until": None, "created_by_slack_id": RECRUITERS[0],
            "created_at": created, "completed_at": None, "completed_by_slack_id": None}
        if number > tasks:  # done: must never be looked at
            due = NOW - timedelta(days=rng.uniform(0, 30))
            row.update(status="done", due_at=due, completed_at=due, completed_by_slack_id=assignee,
                       **_markers_after(due, due, rng, config))
        else:
            due = NOW + timedelta(minutes=rng.uniform(-10 * 24 * 60, 20 * 24 * 60))
            row.update(status="open", due_at=due, **_markers_after(due, PREVIOUS_TICK, rng, config))
            if rng.random() < SNOOZED_SHARE:
                # Snoozed a while ago: the markers still name the old due time.
                due = NOW + timedelta(minutes=rng.uniform(-6 * 60, 24 * 60))
                old = due - timedelta(days=1)
                row.update(due_at=due, snoozed_until=due, reminded_for_due_at=old, overdue_notified_for_due_at=old,
                           escalated_at=None)
                row.update({k: v for k, v in _markers_after(due, PREVIOUS_TICK, rng, config).items() if v})
        data.tasks.append(row)
        _activity(data.activities, "task.created", created, candidate_id=row["candidate_id"],
                  application_id=row["application_id"], position_id=None, actor=RECRUITERS[0],
                  payload={"task_id": number, "title": row["title"], "assignee": assignee})
    # `due_share` of the open tasks have something due now, as after a few missed ticks: a third each reached
    # their reminder time, their due time or their escalation time since the last run, and a tenth were never
    # seen by a job (created, or snoozed, into a time already past), which calls for two messages at once.
    reminders = config.reminders
    for row in rng.sample(data.tasks[:tasks], round(due_share * tasks)):
        kind = rng.choices(("before_due", "overdue", "escalation", "first_seen_late"), weights=(3, 3, 3, 1))[0]
        due = {"before_due": NOW + timedelta(minutes=rng.uniform(1, reminders.before_due / timedelta(minutes=1))),
               "overdue": NOW - timedelta(minutes=rng.uniform(1, 30)),
               "escalation": NOW - reminders.escalate_after - timedelta(minutes=rng.uniform(1, 30)),
               "first_seen_late": NOW - timedelta(days=rng.uniform(1.1, 10))}[kind]
        # The markers as the last run left them: just before the time that has now come.
        crossed = {"before_due": due - reminders.before_due, "overdue": due,
                   "escalation": due + reminders.escalate_after, "first_seen_late": due - reminders.before_due}[kind]
        row.update(due_at=due, **_markers_after(due, crossed - timedelta(seconds=1), rng, config))
    data.filler_activities = max(activities - len(data.activities), 0)
    return data


def filler_activities(data: Dataset) -> Iterator[dict[str, Any]]:
    """The rest of the timeline, generated as it is written (a million dicts need not sit in memory)."""
    rng = random.Random(data.seed + 1)
    first_id = len(data.activities) + 1
    n_applications = len(data.applications)
    for offset in range(data.filler_activities):
        number = rng.randrange(n_applications) + 1
        yield {"id": first_id + offset, "candidate_id": number, "application_id": number,
               "position_id": data.applications[number - 1]["position_id"], "referral_id": None,
               "actor": rng.choice(RECRUITERS), "kind": rng.choice(FILLER_KINDS),
               "payload": FILLER_PAYLOAD,
               "occurred_at": NOW - timedelta(minutes=rng.randrange(10**6))}


# --- loading ---------------------------------------------------------------------------------------


def fresh_database(backend: str) -> str:
    if backend == "sqlite":
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", ".scheduler.lock"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        return sqlite_url(SQLITE_PATH)
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True, connect_timeout=5) as admin:
        name = sql.Identifier(POSTGRES_DATABASE)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    return postgres_url(POSTGRES_DATABASE)


def _columns(table: str, row: dict[str, Any]) -> list[str]:
    """The table's columns this benchmark fills; the rest keep their database defaults."""
    return [column.name for column in SQLModel.metadata.tables[table].columns if column.name in row]


def _db_value(value: Any, backend: str) -> Any:
    if isinstance(value, datetime):
        naive = value.astimezone(UTC).replace(tzinfo=None)
        # The format SQLAlchemy stores in SQLite (isoformat is several times faster than strftime for a million
        # rows), so that text comparisons order the same way.
        return naive.isoformat(" ", "microseconds") if backend == "sqlite" else naive
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _chunked(rows: Iterator[dict[str, Any]] | Sequence[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _load(db: Database, table: str, rows: Iterator[dict[str, Any]] | Sequence[dict[str, Any]]) -> int:
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    rows = itertools.chain([first], rows)
    columns = _columns(table, first)
    count = 0
    if db.backend == "postgresql":
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with cursor.copy(statement) as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row([_db_value(row[c], "postgresql") for c in columns])
                    count += 1
            raw.commit()
        finally:
            raw.close()
        return count
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        # For the load only: a page cache big enough for the random inserts into five timeline indexes (the
        # default 2 MB makes loading a million rows take minutes), and no foreign-key lookups for rows that
        # reference each other by construction.
        cursor.execute("PRAGMA cache_size = -1000000")
        cursor.execute("PRAGMA foreign_keys = OFF")
        cursor.execute("BEGIN")
        for chunk in _chunked(rows):
            cursor.executemany(insert, [tuple(_db_value(row[c], "sqlite") for c in columns) for row in chunk])
            count += len(chunk)
        cursor.execute("COMMIT")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA cache_size = -2000")
    finally:
        raw.close()
    return count


def seed(backend: str, data: Dataset) -> tuple[str, dict[str, int], float]:
    started = time.perf_counter()
    url = fresh_database(backend)
    db = Database(url)
    try:
        upgrade(db)
        counts = {
            "positions": _load(db, "positions", data.positions),
            "candidates": _load(db, "candidates", data.candidates),
            "applications": _load(db, "applications", data.applications),
            "tasks": _load(db, "tasks", data.tasks),
            "activities": _load(db, "activities", data.activities) + _load(db, "activities", filler_activities(data)),
        }
        with db.engine.connect() as connection:
            if backend == "postgresql":
                for table in counts:
                    connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                            f"(SELECT coalesce(max(id), 1) FROM {table}))"))
                connection.commit()
                connection.execute(text("ANALYZE"))
            connection.commit()
    finally:
        db.dispose()
    return url, counts, time.perf_counter() - started


# --- the hand-written SQL --------------------------------------------------------------------------


def _params(backend: str, config: WorkspaceConfig) -> dict[str, Any]:
    reminders = config.reminders
    values = {"now": NOW, "remind_until": NOW + reminders.before_due, "escalate_until": NOW - reminders.escalate_after}
    return {key: _db_value(value, backend) for key, value in values.items()}


def _distinct(backend: str, left: str, right: str) -> str:
    return f"{left} IS NOT {right}" if backend == "sqlite" else f"{left} IS DISTINCT FROM {right}"


def _pending_tasks_where(backend: str) -> str:
    return (
        "t.status = 'open' AND t.due_at <= :remind_until AND t.escalated_at IS NULL AND ("
        f"{_distinct(backend, 't.reminded_for_due_at', 't.due_at')} "
        f"OR (t.due_at <= :now AND {_distinct(backend, 't.overdue_notified_for_due_at', 't.due_at')}) "
        "OR t.due_at <= :escalate_until)"
    )


def _due_tasks_select(backend: str) -> str:
    """The tasks with something due, who gets what, and the message kinds they call for."""
    return (
        "SELECT t.id, t.title, t.due_at, t.assignee_slack_id, t.candidate_id, t.application_id, c.full_name, "
        "c.owner_slack_id, "
        f"(t.due_at > :now AND {_distinct(backend, 't.reminded_for_due_at', 't.due_at')}) AS before_due, "
        f"(t.due_at <= :now AND {_distinct(backend, 't.overdue_notified_for_due_at', 't.due_at')}) AS overdue, "
        "(t.due_at <= :escalate_until) AS escalation "
        f"FROM tasks t LEFT JOIN candidates c ON c.id = t.candidate_id WHERE {_pending_tasks_where(backend)}"
    )


def _outbox_rows_select(backend: str, source: str) -> str:
    """The outbox rows for the due tasks in `source`, built in SQL: the assignee's message, and the escalation
    (to the owner, else the recruiting channel). Same shape and about the same size as the job's payloads."""
    obj, arr = ("json_object", "json_array") if backend == "sqlite" else ("json_build_object", "json_build_array")

    def payload(channel: str, text: str, actions: bool) -> str:
        blocks = f"{obj}('type', 'section', 'block_id', 'task:' || id, 'text', {obj}('type', 'mrkdwn', 'text', {text}))"
        if actions:
            button = ("{obj}('type', 'button', 'text', {obj}('type', 'plain_text', 'text', '{label}', 'emoji', true), "
                      "'action_id', '{action}', 'value', '' || id{style})")
            blocks += (f", {obj}('type', 'actions', 'block_id', 'task-actions:' || id, 'elements', {arr}("
                       + button.format(obj=obj, label="Done", action="task_done", style=", 'style', 'primary'") + ", "
                       + button.format(obj=obj, label="Snooze", action="task_snooze", style="") + "))")
        return f"{obj}('channel', {channel}, 'text', {text}, 'blocks', {arr}({blocks}))"

    name = "coalesce(' for ' || full_name, '')"
    assignee_text = (f"CASE WHEN overdue THEN ':red_circle: *' || title || '*' || {name} || ' is overdue.' "
                     f"ELSE ':alarm_clock: Reminder: *' || title || '*' || {name} || ' is due soon.' END")
    escalation_text = (f"':rotating_light: Escalation: *' || title || '*' || {name} || ', assigned to <@' || "
                       "assignee_slack_id || '>, is overdue.'")
    target = ESCALATION_TARGET
    key = "'reminder:' || id || ':{kind}:' || due_at"
    return (
        f"SELECT 'chat.postMessage', {payload('assignee_slack_id', assignee_text, True)}, "
        f"{key.format(kind='assignee')}, 'pending', 0, :now, :now FROM {source} WHERE before_due OR overdue "
        f"UNION ALL SELECT 'chat.postMessage', {payload(target, escalation_text, False)}, "
        f"{key.format(kind='escalation')}, 'pending', 0, :now, :now FROM {source} WHERE escalation"
    )


OUTBOX_COLUMNS = "(method, payload, dedupe_key, status, attempts, next_attempt_at, created_at)"
ESCALATION_TARGET = ("CASE WHEN owner_slack_id IS NOT NULL AND owner_slack_id <> assignee_slack_id THEN owner_slack_id "
                     f"ELSE '{RECRUITING_CHANNEL}' END")


def _escalations_insert(backend: str, source: str) -> str:
    """The `task.escalated` timeline rows the job writes for each escalation, built in SQL."""
    obj = "json_object" if backend == "sqlite" else "json_build_object"
    return (
        "INSERT INTO activities (candidate_id, application_id, position_id, actor, kind, payload, occurred_at) "
        f"SELECT candidate_id, application_id, NULL, 'system', 'task.escalated', {obj}('task_id', id, 'title', "
        f"title, 'to', {ESCALATION_TARGET}, 'assignee', assignee_slack_id, 'due_at', due_at), :now "
        f"FROM {source} WHERE escalation"
    )
MARKS = ("reminded_for_due_at = {d}, overdue_notified_for_due_at = CASE WHEN {d} <= :now THEN {d} "
         "ELSE {t}overdue_notified_for_due_at END, escalated_at = CASE WHEN {d} <= :escalate_until THEN :now "
         "ELSE {t}escalated_at END")


def handwritten_reminders(connection: Connection, backend: str, config: WorkspaceConfig, *,
                          queue_messages: bool) -> int:
    """Select what is due with who gets it, and mark it (and with `queue_messages`, write the outbox rows too),
    in SQL; returns the number of tasks."""
    params = _params(backend, config)
    if backend == "postgresql":
        queue = (f", queued AS (INSERT INTO outbox {OUTBOX_COLUMNS} {_outbox_rows_select(backend, 'due')} "
                 "ON CONFLICT (dedupe_key) DO NOTHING)") if queue_messages else ""
        rows = connection.execute(text(
            f"WITH due AS ({_due_tasks_select(backend)} FOR UPDATE OF t), "
            f"escalated AS ({_escalations_insert(backend, 'due')}){queue} "
            f"UPDATE tasks SET {MARKS.format(d='due.due_at', t='tasks.')} FROM due WHERE tasks.id = due.id "
            "RETURNING due.id, due.title, due.due_at, due.assignee_slack_id, due.full_name, due.owner_slack_id, "
            "due.before_due, due.overdue, due.escalation"), params).all()
        return len(rows)
    # SQLite has no writing CTEs, and its RETURNING cannot name another table's columns: select, then write
    # from what was selected (passed back as one JSON parameter), so that the selection runs once.
    rows = connection.execute(text(_due_tasks_select(backend)), params).all()
    selected = json.dumps([dict(row._mapping) for row in rows])
    fields = ("id", "title", "due_at", "assignee_slack_id", "candidate_id", "application_id", "full_name",
              "owner_slack_id", "before_due", "overdue", "escalation")
    source = f"(SELECT {', '.join(f'json_extract(value, {chr(39)}$.{f}{chr(39)}) AS {f}' for f in fields)} " \
             "FROM json_each(:selected))"
    connection.execute(text(_escalations_insert(backend, source)), {**params, "selected": selected})
    if queue_messages:
        connection.execute(text(f"INSERT INTO outbox {OUTBOX_COLUMNS} {_outbox_rows_select(backend, source)} "
                                "ON CONFLICT (dedupe_key) DO NOTHING"), {**params, "selected": selected})
    connection.execute(text(f"UPDATE tasks SET {MARKS.format(d='due_at', t='')} WHERE id IN "
                            "(SELECT json_extract(value, '$.id') FROM json_each(:selected))"),
                       {**params, "selected": selected})
    return len(rows)


def handwritten_sla(connection: Connection, backend: str, config: WorkspaceConfig) -> int:
    """Select the applications over their stage's SLA that the job needs, with owner and names, and flag the new
    breaches, in SQL: the breaches not flagged yet, and each owner's 20 longest over with their count."""
    params: dict[str, Any] = {"now": _db_value(NOW, backend)}
    conditions, offsets = [], []
    for i, (stage, before) in enumerate(stage_sla_thresholds(config, now=NOW).items()):
        params[f"stage{i}"], params[f"before{i}"] = stage, _db_value(before, backend)
        conditions.append(f"(a.stage = :stage{i} AND a.stage_entered_at < :before{i})")
        offsets.append(f"WHEN :stage{i} THEN {before.timestamp()}")
    unflagged = "(f.last_flagged_at IS NULL OR f.last_flagged_at < a.stage_entered_at)"
    epoch = ("CAST(strftime('%s', a.stage_entered_at) AS INTEGER)" if backend == "sqlite"
             else "EXTRACT(EPOCH FROM a.stage_entered_at)")
    over = (
        "SELECT a.id, a.candidate_id, a.position_id, a.stage, a.stage_entered_at, c.full_name, c.owner_slack_id, "
        f"p.title, f.last_flagged_at, {unflagged} AS unflagged, row_number() OVER (PARTITION BY "
        f"coalesce(c.owner_slack_id, '') ORDER BY {epoch} - CASE a.stage {' '.join(offsets)} END, a.id) AS rank, "
        "count(*) OVER (PARTITION BY coalesce(c.owner_slack_id, '')) AS owner_total "
        "FROM applications a JOIN candidates c ON c.id = a.candidate_id "
        "JOIN positions p ON p.id = a.position_id LEFT JOIN (SELECT application_id, max(occurred_at) AS "
        "last_flagged_at FROM activities WHERE kind = 'sla.flagged' GROUP BY application_id) f "
        f"ON f.application_id = a.id WHERE a.status = 'open' AND ({' OR '.join(conditions)})")
    needed = f"SELECT * FROM ({over}) o WHERE unflagged OR rank <= 20"
    flag = ("INSERT INTO activities (candidate_id, application_id, position_id, actor, kind, payload, occurred_at) "
            "SELECT candidate_id, id, position_id, 'system', 'sla.flagged', {json}('stage', stage, "
            "'stage_entered_at', stage_entered_at), :now FROM needed WHERE unflagged")
    if backend == "postgresql":
        rows = connection.execute(text(
            f"WITH needed AS ({needed}), flagged AS ({flag.format(json='json_build_object')}) SELECT * FROM needed"),
            params).all()
    else:
        rows = connection.execute(text(needed), params).all()
        connection.execute(text(
            "INSERT INTO activities (candidate_id, application_id, position_id, actor, kind, payload, occurred_at) "
            "VALUES (:candidate_id, :id, :position_id, 'system', 'sla.flagged', json_object('stage', :stage, "
            "'stage_entered_at', :stage_entered_at), :now)"),
            [{**row._mapping, "now": params["now"]} for row in rows if row.unflagged])
    return len(rows)


# --- measuring -------------------------------------------------------------------------------------

# What the schema owner is asked for (see bench/README.md); `--extra-indexes` measures with them as well.
EXTRA_INDEXES = (
    # Open tasks not yet escalated, by due time: the reminder scan skips the escalated ones it cannot act on.
    "CREATE INDEX ix_tasks_status_escalated_due ON tasks (status, escalated_at, due_at)",
    # The last SLA flag per application from the index alone, without visiting a million timeline rows.
    "CREATE INDEX ix_activities_kind_application ON activities (kind, application_id, occurred_at)",
)


@dataclass
class Measurement:
    backend: str
    schema: str
    job: str
    job_s: list[float] = field(default_factory=list)
    sql_s: list[float] = field(default_factory=list)
    # The same selection and marking plus the same outbox rows, written by SQL (reminders only).
    sql_writes_s: list[float] = field(default_factory=list)
    handled: int = 0
    messages: int = 0
    left_pending: int = 0
    profile: list[tuple[str, float, float]] = field(default_factory=list)

    @property
    def job_median_s(self) -> float:
        return statistics.median(self.job_s)

    @property
    def sql_median_s(self) -> float:
        return statistics.median(self.sql_s)

    @property
    def ratio(self) -> float:
        return self.job_median_s / self.sql_median_s

    @property
    def writes_ratio(self) -> float | None:
        return self.job_median_s / statistics.median(self.sql_writes_s) if self.sql_writes_s else None

    @property
    def passed(self) -> bool:
        return self.job_median_s < MAX_RUN_S and self.ratio <= MAX_RATIO


class Restorer:
    """Puts the rows a run changes back as seeded, so that every run (job or SQL) does the same work."""

    def __init__(self, db: Database, backend: str, config: WorkspaceConfig):
        self.db, self.backend, self.config = db, backend, config
        with db.engine.connect() as connection:
            self.max_activity_id = connection.execute(text("SELECT max(id) FROM activities")).scalar_one()
            self.tasks = [dict(row._mapping) for row in connection.execute(text(
                "SELECT t.id, t.reminded_for_due_at, t.overdue_notified_for_due_at, t.escalated_at FROM tasks t "
                f"WHERE {_pending_tasks_where(backend)}"), _params(backend, config))]

    def restore(self, *, digests_sent: bool = False) -> None:
        with self.db.engine.begin() as connection:
            connection.execute(text(
                "UPDATE tasks SET reminded_for_due_at = :reminded_for_due_at, "
                "overdue_notified_for_due_at = :overdue_notified_for_due_at, escalated_at = :escalated_at "
                "WHERE id = :id"), self.tasks)
            connection.execute(text("DELETE FROM outbox"))
            connection.execute(text("DELETE FROM activities WHERE id > :id"), {"id": self.max_activity_id})
            if digests_sent:  # as on every run after the first of the day
                connection.execute(text(
                    f"INSERT INTO outbox {OUTBOX_COLUMNS} VALUES ('chat.postMessage', '{{}}', :key, 'sent', 1, "
                    ":now, :now)"), [{"key": sla_digest_key(recipient, NOW.date()), "now": _db_value(NOW, self.backend)}
                                     for recipient in (*RECRUITERS, self.config.recruiting_channel)])
        if self.backend == "postgresql":
            # Without this, the dead rows each restore leaves behind would make later runs slower than earlier ones.
            with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE tasks, outbox, activities"))

    def pending_tasks(self) -> int:
        with self.db.engine.connect() as connection:
            return connection.execute(text(f"SELECT count(*) FROM tasks t WHERE {_pending_tasks_where(self.backend)}"),
                                      _params(self.backend, self.config)).scalar_one()

    def new_flags(self) -> int:
        with self.db.engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM activities WHERE id > :id AND kind = 'sla.flagged'"),
                                      {"id": self.max_activity_id}).scalar_one()


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def _profile(run: Callable[[], Any], top: int = 15) -> list[tuple[str, float, float]]:
    profiler = cProfile.Profile()
    profiler.runcall(run)
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    return [(f"{Path(file).name}:{line} {name}", round(cumulative, 3), round(own, 3))
            for (file, line, name), (_, _, own, cumulative, _) in rows[:top]]


@dataclass(frozen=True)
class Scenario:
    job: str
    run_job: Callable[[], int]
    run_sql: Callable[[], int]
    run_sql_writes: Callable[[], int] | None
    digests_sent: bool


def _scenarios(db: Database, backend: str, config: WorkspaceConfig) -> list[Scenario]:
    def in_transaction(run: Callable[[Connection], int]) -> Callable[[], int]:
        def timed() -> int:
            with db.engine.begin() as connection:
                return run(connection)
        return timed

    return [
        Scenario("task_reminders", lambda: len(queue_task_reminders(db, config, now=NOW)),
                 in_transaction(lambda c: handwritten_reminders(c, backend, config, queue_messages=False)),
                 in_transaction(lambda c: handwritten_reminders(c, backend, config, queue_messages=True)), False),
        Scenario("sla_breaches (digest run)", lambda: len(queue_sla_breaches(db, config, now=NOW)[1]),
                 in_transaction(lambda c: handwritten_sla(c, backend, config)), None, False),
        Scenario("sla_breaches (hourly)", lambda: len(queue_sla_breaches(db, config, now=NOW)[1]),
                 in_transaction(lambda c: handwritten_sla(c, backend, config)), None, True),
    ]


def measure(db: Database, backend: str, schema: str, config: WorkspaceConfig, *, repeat: int,
            profile: bool) -> list[Measurement]:
    restorer = Restorer(db, backend, config)
    results = []
    for scenario in _scenarios(db, backend, config):
        m = Measurement(backend, schema, scenario.job)
        pending_before = restorer.pending_tasks()
        runs = [(scenario.run_job, m.job_s), (scenario.run_sql, m.sql_s)]
        if scenario.run_sql_writes is not None:
            runs.append((scenario.run_sql_writes, m.sql_writes_s))
        for run, _ in runs:  # warm the caches, unmeasured
            restorer.restore(digests_sent=scenario.digests_sent)
            run()
        for _ in range(repeat):
            for run, times in runs:
                restorer.restore(digests_sent=scenario.digests_sent)
                seconds, count = _timed(run)
                times.append(seconds)
                if run is scenario.run_job:
                    m.messages = count
                    m.handled = (pending_before - restorer.pending_tasks() if scenario.job == "task_reminders"
                                 else restorer.new_flags())
                    m.left_pending = restorer.pending_tasks() if scenario.job == "task_reminders" else 0
        if profile:
            restorer.restore(digests_sent=scenario.digests_sent)
            m.profile = _profile(scenario.run_job)
        restorer.restore()
        results.append(m)
        console.print(f"{backend} ({schema}) {m.job}: job {m.job_median_s * 1000:.0f} ms, "
                      f"SQL {m.sql_median_s * 1000:.0f} ms")
    return results


def measure_backend(backend: str, url: str, data: Dataset, *, repeat: int, profile: bool,
                    extra_indexes: bool) -> list[Measurement]:
    db = Database(url)
    try:
        results = measure(db, backend, "as is", data.config, repeat=repeat, profile=profile)
        if extra_indexes:
            with db.engine.begin() as connection:
                for statement in EXTRA_INDEXES:
                    connection.execute(text(statement))
            if backend == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(text("ANALYZE tasks, activities"))
            results += measure(db, backend, "+ indexes", data.config, repeat=repeat, profile=profile)
    finally:
        db.dispose()
    return results


# --- report ----------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def print_table(results: list[Measurement]) -> None:
    table = Table(title=f"Scheduled jobs at {NOW:%Y-%m-%d %H:%M} UTC (medians; targets: job < {MAX_RUN_S:g} s "
                        f"and ≤ {MAX_RATIO:g}× the hand-written SQL)")
    for column in ("backend", "schema", "job", "handled", "messages", "job run", "SQL", "ratio",
                   "SQL incl. outbox", "ratio", f"< {MAX_RUN_S:g} s", f"≤ {MAX_RATIO:g}×"):
        table.add_column(column, justify="left" if column in ("backend", "schema", "job") else "right")
    for m in results:
        writes = m.writes_ratio
        table.add_row(m.backend, m.schema, m.job, f"{m.handled} {'tasks' if m.job == 'task_reminders' else 'flags'}",
                      str(m.messages), _ms(m.job_median_s), _ms(m.sql_median_s), f"{m.ratio:.2f}×",
                      _ms(statistics.median(m.sql_writes_s)) if m.sql_writes_s else "–",
                      f"{writes:.2f}×" if writes is not None else "–",
                      "[green]PASS[/]" if m.job_median_s < MAX_RUN_S else "[red]FAIL[/]",
                      "[green]PASS[/]" if m.ratio <= MAX_RATIO else "[red]FAIL[/]")
    console.print(table)
    for m in results:
        if m.left_pending:
            console.print(f"[red]{m.backend} {m.job}: {m.left_pending} tasks still pending after the job run[/]")
        if m.profile:
            console.print(f"[bold]{m.backend} ({m.schema}) {m.job}[/]: own s, cumulative s")
            for name, cumulative, own in m.profile:
                console.print(f"  {own:7.3f} {cumulative:7.3f}  {name}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000, help="open tasks (half as many done ones are added)")
    parser.add_argument("--activities", type=int, default=1_000_000, help="timeline rows")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5, help="measured runs of each, job and SQL, alternating")
    parser.add_argument("--due-share", type=float, default=0.03,
                        help="share of open tasks (and of breaches) not yet handled by an earlier run")
    parser.add_argument("--extra-indexes", action="store_true",
                        help="measure again after creating the indexes asked of the schema (EXTRA_INDEXES)")
    parser.add_argument("--profile", action="store_true", help="profile one more job run and print the top calls")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "jobs.json")
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not args.backends or set(args.backends) - set(BACKENDS):
        parser.error(f"choose backends from {', '.join(BACKENDS)}")
    if args.tasks < 10 or args.activities < 0 or args.repeat < 1 or not 0 <= args.due_share <= 1:
        parser.error("--tasks ≥ 10, --activities ≥ 0, --repeat ≥ 1, 0 ≤ --due-share ≤ 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    data = build_dataset(tasks=args.tasks, activities=args.activities, due_share=args.due_share)
    console.print(f"built {len(data.tasks)} tasks, {len(data.applications)} applications, "
                  f"{data.activity_count} activities in {time.perf_counter() - started:.1f} s")
    seeds, results = [], []
    try:
        for backend in args.backends:
            url, counts, seconds = seed(backend, data)
            console.print(f"{backend}: seeded {counts} in {seconds:.1f} s")
            seeds.append({"backend": backend, "seconds": round(seconds, 1), "counts": counts})
            results += measure_backend(backend, url, data, repeat=args.repeat, profile=args.profile,
                                       extra_indexes=args.extra_indexes)
    except (psycopg.OperationalError, OSError) as error:
        console.print(f"[red]benchmark could not run:[/] {error}")
        return 2
    print_table(results)
    elapsed = time.perf_counter() - started
    document = {
        "started_at": started_at.isoformat(), "elapsed_s": round(elapsed, 1), "now": NOW.isoformat(),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": [round(v, 2) for v in load_before],
                    "load_average_after": [round(v, 2) for v in os.getloadavg()]},
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "targets": {"max_run_s": MAX_RUN_S, "max_ratio": MAX_RATIO},
        "extra_indexes": list(EXTRA_INDEXES),
        "seeds": seeds,
        "results": [{**asdict(m), "job_median_s": round(m.job_median_s, 4), "sql_median_s": round(m.sql_median_s, 4),
                     "ratio": round(m.ratio, 3), "writes_ratio": m.writes_ratio and round(m.writes_ratio, 3),
                     "pass": m.passed} for m in results],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, default=str) + "\n")
    console.print(f"took {elapsed:.0f} s; results in {args.output}")
    return 0 if all(m.passed for m in results if m.schema == "as is") else 1


if __name__ == "__main__":
    sys.exit(main())
