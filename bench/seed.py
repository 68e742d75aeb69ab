"""Fill a fresh database with a realistic recruiting history, fast.

    python -m bench.seed --backend sqlite --candidates 100000

Rows go in through SQLAlchemy Core executemany in chunks (not the ORM one object at a time), with
explicit primary keys so that referrals, consents, applications and activities can point at their
candidates without reading ids back. The data is varied on purpose: accented and hyphenated names,
unique emails, E.164 phones for about half, profile links for some, people known from several
sources, referrals with and without positions, and a few revoked consents, so that the app's
duplicate checks and consent rules look at the same kind of rows they meet in production.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import psycopg
from psycopg import sql
from sqlalchemy import Connection, text
from sqlmodel import SQLModel

from bench import RECRUITER, REFERRERS, RESULTS_DIR
from bot.contact import name_key, normalize_profile_url
from bot.services.referrals import RELATIONSHIPS
from bot.workspace import DEFAULT_STAGES
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Candidate

POSTGRES_ADMIN_DSN = os.environ.get("TALENTBOT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
POSTGRES_DATABASE = "talentbot_bench"
SQLITE_PATH = RESULTS_DIR / "talentbot_bench.db"
# Big enough to amortise round trips, small enough to keep one statement's parameters in memory.
CHUNK = 5_000
OPEN_POSITIONS = 50
CLOSED_POSITIONS = 10
# Tables whose rows the seed numbers itself; PostgreSQL's sequences must then skip past them.
LOADED_TABLES = ("candidates", "positions", "referrals", "applications", "consents", "activities",
                 "candidate_search")
NUMBERED_TABLES = ("candidates", "positions", "referrals", "applications", "consents", "activities")

FIRST_NAMES = (
    "Jane", "John", "Ana", "José", "Zoë", "Łukasz", "Mélanie", "Søren", "Aiko", "Chloé", "Émile", "Björn",
    "Priya", "Rahul", "Fatima", "Omar", "Wei", "Mei", "Kofi", "Amara", "Olga", "Dmitri", "Sofía", "Mateo",
    "Noah", "Emma", "Liam", "Mia", "Jürgen", "Ines", "François", "Agnieszka", "Siobhán", "Seán", "Nguyễn",
    "Thảo", "Yusuf", "Elif", "Lars", "Ingrid", "Kai", "Lea", "Marie-Claire", "Jean-Luc", "Ana-Maria", "Tomás",
    "Joaquín", "Ayşe", "Håkon", "Renée", "Dalia", "Hiroshi", "Min-jun", "Ji-woo", "Arjun", "Nadia",
)
LAST_NAMES = (
    "Doe", "Smith", "Müller", "Schmidt", "García", "Fernández", "Nowak", "Kowalski", "Dubois", "Lefèvre",
    "Jensen", "Nielsen", "Tanaka", "Suzuki", "Patel", "Sharma", "Haddad", "Khan", "Wang", "Li", "Mensah",
    "Okafor", "Ivanova", "Petrov", "Rossi", "Bianchi", "O'Brien", "Murphy", "Nguyen", "Tran", "Yılmaz",
    "Demir", "Andersson", "Johansson", "Schäfer", "Weiß", "Großmann", "Van der Berg", "De Vries", "Kim",
    "Park", "Singh", "Silva", "Santos", "Costa", "Öztürk", "Ramírez", "Hernández", "López", "Brown",
    "Wilson", "Taylor", "Novák", "Dvořák", "Horváth", "Kovač", "Papadopoulos", "Cohen", "Levi", "Ali",
)
EMAIL_DOMAINS = ("gmail.com", "outlook.com", "proton.me", "yahoo.de", "web.de", "gmx.net", "icloud.com",
                 "fastmail.com", "posteo.de", "mail.example.org")
LOCATIONS = ("Berlin", "Munich", "Hamburg", "Remote (EU)", "London", "Amsterdam", "Lisbon", "Warsaw", "Vienna",
             "Zurich", "Barcelona", "Paris", "Stockholm", "Remote", "New York", "Toronto")
SKILLS = ("python", "go", "rust", "typescript", "react", "kubernetes", "postgresql", "aws", "gcp", "terraform",
          "machine learning", "data engineering", "figma", "product management", "sales", "recruiting",
          "java", "kotlin", "swift", "sql", "spark", "security", "sre", "ux research", "marketing")
SENIORITIES = ("junior", "mid", "senior", "staff", "principal", "lead", None)
TALENT_POOLS = ("backend", "frontend", "data", "design", "sales", "leadership", None, None, None)
POSITION_TITLES = ("Backend Engineer", "Frontend Engineer", "Full-Stack Engineer", "Data Engineer",
                   "Data Scientist", "ML Engineer", "Site Reliability Engineer", "Security Engineer",
                   "Product Manager", "Product Designer", "UX Researcher", "Engineering Manager",
                   "Account Executive", "Customer Success Manager", "Recruiter", "Marketing Manager")
LEVELS = ("", "Senior ", "Staff ", "Junior ", "Lead ")
OPEN_STAGES = tuple(str(stage["name"]) for stage in DEFAULT_STAGES if not stage.get("outcome"))
# (source, weight): most people are sourced or applied; about a fifth come in through referrals.
SOURCES = (("sourced", 40), ("applied", 30), ("referral", 20), ("agency", 5), ("other", 5))
NOTES = ("Strong system design; wants a hybrid role.", "Prefers Berlin or remote, notice period 3 months.",
         "Great culture add, follow up after Q1.", "Declined last year for compensation; open again now.",
         "Met at PyCon, interested in platform work.", "Referred twice; excellent references from Acme alumni.")
HISTORY_START = datetime(2023, 1, 1, tzinfo=UTC)
HISTORY_SECONDS = int((datetime(2026, 11, 1, tzinfo=UTC) - HISTORY_START).total_seconds())


@dataclass
class SeedReport:
    backend: str
    url: str
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    # Emails of seeded people, spelled as a referrer might type them: the duplicate path's input.
    known_emails: list[str] = field(default_factory=list)


@cache
def _name_key(name: str) -> str:
    # Names repeat across 100k rows (a few thousand combinations); folding each once saves a second.
    return name_key(name)


@cache
def _ascii_slug(name: str, sep: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return sep.join("".join(ch if ch.isalnum() else " " for ch in folded).split())


def _at(rng: random.Random, *, after: datetime | None = None) -> datetime:
    start = after or HISTORY_START
    span = max(int((HISTORY_START + timedelta(seconds=HISTORY_SECONDS) - start).total_seconds()), 1)
    return start + timedelta(seconds=rng.randrange(span))


def _referral_code(n: int) -> str:
    # Distinct codes without a uniqueness query: the number written in the app's code alphabet.
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    digits = []
    for _ in range(6):
        n, digit = divmod(n, len(alphabet))
        digits.append(alphabet[digit])
    return "R-" + "".join(reversed(digits))


def sqlite_url(path: Path = SQLITE_PATH) -> str:
    return f"sqlite:///{path}"


def postgres_url(database: str = POSTGRES_DATABASE) -> str:
    base, _, _ = POSTGRES_ADMIN_DSN.rpartition("/")
    return f"{base}/{database}".replace("postgresql://", "postgresql+psycopg://", 1)


def fresh_database(backend: str) -> str:
    """An empty database for `backend` (sqlite or postgresql); returns its URL."""
    if backend == "sqlite":
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        return sqlite_url()
    if backend == "postgresql":
        with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True, connect_timeout=5) as admin:
            name = sql.Identifier(POSTGRES_DATABASE)
            # FORCE: a previous run killed mid-way may still hold connections.
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
        return postgres_url()
    raise ValueError(f"unknown backend {backend!r}; use sqlite or postgresql")


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]


def _drop_secondary_indexes(connection: Connection, tables: Sequence[str]) -> list[str]:
    """Drop the plain indexes of `tables` and return the statements that recreate them as they were.

    Building an index once over loaded rows is far cheaper than updating it row by row (the GIN index
    on the search documents most of all). The definitions come from the database's own catalog, so the
    schema after seeding is exactly what the migrations made. Indexes behind primary keys and unique
    constraints stay: they also check the seed's own data.
    """
    if connection.dialect.name == "postgresql":
        rows = connection.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = ANY(:tables) AND indexname NOT IN (SELECT conname FROM pg_constraint)"),
            {"tables": list(tables)}).all()
    else:
        # SQLite's automatic indexes for UNIQUE constraints have no SQL and are left alone.
        placeholders = ", ".join(f":t{i}" for i in range(len(tables)))
        rows = connection.execute(text(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({placeholders})"), {f"t{i}": table for i, table in enumerate(tables)}).all()
    for name, _ in rows:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    return [str(definition) for _, definition in rows]


def _insert(connection: Connection, table_name: str, rows: Sequence[dict[str, Any]]) -> int:
    """executemany of the table's INSERT in chunks; SQLAlchemy converts the values as it does for the app."""
    table = SQLModel.metadata.tables[table_name]
    for chunk in _chunks(rows):
        connection.execute(table.insert(), list(chunk))
    return len(rows)


class _History:
    """Builds every row in memory first: generating is cheap, and inserting in bulk needs whole lists."""

    def __init__(self, rng: random.Random, candidates: int):
        self.rng = rng
        self.n_candidates = candidates
        self.candidates: list[dict[str, Any]] = []
        self.positions: list[dict[str, Any]] = []
        self.referrals: list[dict[str, Any]] = []
        self.applications: list[dict[str, Any]] = []
        self.consents: list[dict[str, Any]] = []
        self.activities: list[dict[str, Any]] = []
        self.known_emails: list[str] = []
        self.search_documents: list[dict[str, Any]] = []
        self._titles: dict[int, list[str]] = {}
        self._notes: dict[int, list[str]] = {}

    def build(self) -> None:
        self._positions()
        self._candidates()
        for candidate in self.candidates:
            self._history_of(candidate)
        self._search_documents()

    def _search_documents(self) -> None:
        """The app keeps one search document per candidate (FTS5 / tsvector); seeded people need theirs."""
        try:
            from bot.services.search_index import compose_document
        except ImportError:  # an app without full-text search has nothing to fill
            return
        if "candidate_search" not in SQLModel.metadata.tables:
            return
        for row in self.candidates:
            # compose_document only reads attributes; a real ORM Candidate costs ~1 ms each to construct.
            candidate = cast(Candidate, SimpleNamespace(**row))
            document = compose_document(candidate, titles=self._titles.get(row["id"], []),
                                        notes=self._notes.get(row["id"], []))
            self.search_documents.append({"candidate_id": row["id"], "document": document,
                                          "updated_at": row["updated_at"]})

    def _activity(self, kind: str, at: datetime, *, actor: str, candidate_id: int | None = None,
                  application_id: int | None = None, position_id: int | None = None,
                  referral_id: int | None = None, payload: dict[str, Any] | None = None) -> None:
        self.activities.append({
            "id": len(self.activities) + 1, "candidate_id": candidate_id, "application_id": application_id,
            "position_id": position_id, "referral_id": referral_id, "actor": actor, "kind": kind,
            "payload": payload or {}, "occurred_at": at,
        })

    def _positions(self) -> None:
        rng = self.rng
        titles = [level + title for title in POSITION_TITLES for level in LEVELS]
        rng.shuffle(titles)
        for number in range(1, OPEN_POSITIONS + CLOSED_POSITIONS + 1):
            is_open = number <= OPEN_POSITIONS
            created = _at(rng)
            self.positions.append({
                "id": number, "title": titles[number % len(titles)],
                "hiring_manager_slack_id": f"UHIRE{rng.randrange(1, 30):03d}" if rng.random() < 0.8 else None,
                "location": rng.choice(LOCATIONS), "required_skills": rng.sample(SKILLS, rng.randint(1, 4)),
                "client_company": None, "fee_amount": None, "fee_currency": None,
                "status": "open" if is_open else "closed", "close_reason": None if is_open else "filled",
                "placed_candidate_id": None, "created_by_slack_id": RECRUITER,
                "created_at": created, "updated_at": created,
            })

    def _candidates(self) -> None:
        rng = self.rng
        sources = [source for source, _ in SOURCES]
        # Cumulative weights once, instead of random.choices summing them again for every row.
        cum_sources = list(itertools.accumulate(weight for _, weight in SOURCES))
        cum_status = list(itertools.accumulate((85, 12, 3)))
        for number in range(1, self.n_candidates + 1):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            middle = f" {rng.choice('ABCDEFGHJKLMNPRSTW')}." if rng.random() < 0.1 else ""
            full_name = f"{first}{middle} {last}"
            email = email_key = None
            if rng.random() < 0.95:
                # The number keeps emails unique; real people's addresses are unique for the same reason.
                email_key = f"{_ascii_slug(first, '')}.{_ascii_slug(last, '')}.{number}@{rng.choice(EMAIL_DOMAINS)}"
                email = email_key
            phone = None
            if rng.random() < 0.5:
                # German mobile ranges (015x, 017x) with the row number as subscriber: valid and unique.
                phone = f"+49{rng.choice(('151', '157', '176'))}{number:08d}"
            profile_url = profile_key = None
            if rng.random() < 0.3:
                slug = _ascii_slug(f"{first} {last}", "-")
                raw = (f"https://www.linkedin.com/in/{slug}-{number:x}/" if rng.random() < 0.7
                       else f"https://github.com/{slug.replace('-', '')}{number}")
                profile_url, profile_key = normalize_profile_url(raw)
            created = _at(rng)
            status = rng.choices(("active", "archived", "hired"), cum_weights=cum_status)[0]
            self.candidates.append({
                "id": number, "full_name": full_name, "name_key": _name_key(full_name), "email": email,
                "email_normalized": email_key, "phone_e164": phone, "profile_url": profile_url,
                "profile_url_key": profile_key,
                "location": rng.choice(LOCATIONS) if rng.random() < 0.7 else None,
                "skills": rng.sample(SKILLS, rng.randint(0, 5)), "seniority": rng.choice(SENIORITIES),
                "source": rng.choices(sources, cum_weights=cum_sources)[0], "talent_pool": rng.choice(TALENT_POOLS),
                "owner_slack_id": RECRUITER if rng.random() < 0.4 else None, "status": status,
                "open_to_opportunities": rng.random() < 0.3, "created_at": created,
                "updated_at": _at(rng, after=created),
            })
            if email is not None and status == "active":
                self.known_emails.append(email)

    def _history_of(self, candidate: dict[str, Any]) -> None:
        rng = self.rng
        cid: int = candidate["id"]
        created: datetime = candidate["created_at"]
        self._activity("candidate.created", created, actor=RECRUITER, candidate_id=cid,
                       payload={"source": candidate["source"]})
        position_id: int | None = None
        if candidate["source"] == "referral":
            # A few people were referred twice; the first referral keeps the credit (the default policy).
            for attempt in range(2 if rng.random() < 0.05 else 1):
                position_id = rng.randint(1, OPEN_POSITIONS + CLOSED_POSITIONS) if rng.random() < 0.6 else None
                self._referral(cid, position_id, created + timedelta(hours=attempt), attributed=attempt == 0)
            if rng.random() < 0.03:
                revoked = _at(rng, after=created)
                self._consent(cid, "revoked", revoked, "candidate asked not to be contacted", by=RECRUITER)
        elif candidate["source"] == "applied" and rng.random() < 0.3:
            self._consent(cid, "granted", created, "accepted the privacy notice when applying", by=None,
                          kind="data_retention")
        if position_id is None and rng.random() < 0.08:
            position_id = rng.randint(1, OPEN_POSITIONS + CLOSED_POSITIONS)
        if position_id is not None:
            self._application(cid, position_id, created)
        if rng.random() < 0.15:
            text = rng.choice(NOTES)
            self._notes.setdefault(cid, []).append(text)
            self._activity("note.added", _at(rng, after=created), actor=RECRUITER, candidate_id=cid,
                           payload={"text": text})

    def _referral(self, cid: int, position_id: int | None, at: datetime, *, attributed: bool) -> None:
        rng = self.rng
        number = len(self.referrals) + 1
        referrer = rng.choice(REFERRERS)
        relationship = rng.choice(RELATIONSHIPS)
        status = rng.choices(("submitted", "in_process", "hired", "not_hired", "closed"), weights=(50, 25, 3, 17, 5))[0]
        self.referrals.append({
            "id": number, "code": _referral_code(number), "referrer_slack_id": referrer, "candidate_id": cid,
            "position_id": position_id, "relationship": relationship,
            "note": "Worked together for two years; strong on reliability and mentoring.",
            "status": status, "attributed": attributed, "candidate_was_known": not attributed,
            "submission_key": f"VSEED{number:08d}", "payout_status": "none",
            "payout_amount": 1000 if attributed else None, "payout_currency": "EUR" if attributed else None,
            "payout_due_at": None, "payout_decided_by_slack_id": None, "payout_decided_at": None,
            "created_at": at, "updated_at": at,
        })
        self._activity("referral.submitted", at, actor=referrer, candidate_id=cid, position_id=position_id,
                       referral_id=number, payload={"code": _referral_code(number), "attributed": attributed,
                                                    "relationship": relationship})
        self._consent(cid, "granted", at, f"confirmed by referrer <@{referrer}> in the /refer form", by=referrer,
                      referral_id=number)

    def _consent(self, cid: int, action: str, at: datetime, evidence: str, *, by: str | None,
                 kind: str = "contact", referral_id: int | None = None) -> None:
        self.consents.append({
            "id": len(self.consents) + 1, "candidate_id": cid, "kind": kind, "action": action, "recorded_at": at,
            "evidence": evidence, "recorded_by_slack_id": by,
            "expires_at": at + timedelta(days=365) if action == "granted" else None,
        })
        self._activity(f"consent.{action}", at, actor=by or "system", candidate_id=cid, referral_id=referral_id,
                       payload={"kind": kind})

    def _application(self, cid: int, position_id: int, at: datetime) -> None:
        number = len(self.applications) + 1
        stage = self.rng.choice(OPEN_STAGES)
        title = self.positions[position_id - 1]["title"]
        self._titles.setdefault(cid, []).append(title)
        self.applications.append({
            "id": number, "candidate_id": cid, "position_id": position_id, "stage": stage,
            "stage_entered_at": at, "status": "open", "created_at": at, "closed_at": None,
        })
        self._activity("application.created", at, actor=RECRUITER, candidate_id=cid, application_id=number,
                       position_id=position_id, payload={"stage": stage})


@cache
def build_history(candidates: int, rng_seed: int = 20261116) -> _History:
    """The rows to insert; deterministic for a given seed, and built once per process for all backends."""
    history = _History(random.Random(rng_seed), candidates)
    history.build()
    return history


def seed(url: str, *, candidates: int) -> SeedReport:
    """Migrate the (empty) database at `url` and fill it."""
    started = time.perf_counter()
    db = Database(url)
    try:
        upgrade(db)
        history = build_history(candidates)
        report = SeedReport(backend=db.backend, url=url)
        with db.engine.begin() as connection:
            indexes = _drop_secondary_indexes(connection, LOADED_TABLES)
            report.counts["candidates"] = _insert(connection, "candidates", history.candidates)
            report.counts["positions"] = _insert(connection, "positions", history.positions)
            report.counts["referrals"] = _insert(connection, "referrals", history.referrals)
            report.counts["applications"] = _insert(connection, "applications", history.applications)
            report.counts["consents"] = _insert(connection, "consents", history.consents)
            report.counts["activities"] = _insert(connection, "activities", history.activities)
            if history.search_documents:
                report.counts["search documents"] = _insert(connection, "candidate_search", history.search_documents)
            for definition in indexes:
                connection.exec_driver_sql(definition)
            if db.backend == "postgresql":
                for table in NUMBERED_TABLES:
                    # Explicit ids leave the serial sequences at 1; the app's first insert would collide.
                    connection.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"))
        if db.backend == "postgresql":
            # Autovacuum would analyse these tables soon after a bulk load anyway; doing it now makes
            # every run start from the same plans. (SQLite gets no ANALYZE: the app never runs one.)
            with db.engine.connect() as connection:
                connection.execute(text("ANALYZE"))
                connection.commit()
        # Every 10th person, with the case a referrer might type: the duplicate path must fold it.
        report.known_emails = [
            email[0].upper() + email[1:] if i % 2 else email for i, email in enumerate(history.known_emails[::10])
        ]
        report.seconds = time.perf_counter() - started
        return report
    finally:
        # For SQLite, closing the last connection checkpoints the WAL, so the app starts from a clean file.
        db.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--candidates", type=int, default=100_000)
    args = parser.parse_args(argv)
    report = seed(fresh_database(args.backend), candidates=args.candidates)
    counts = ", ".join(f"{count} {table}" for table, count in report.counts.items())
    print(f"{report.backend}: {counts} in {report.seconds:.1f} s ({report.url})")


if __name__ == "__main__":
    main()
