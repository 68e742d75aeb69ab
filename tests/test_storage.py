"""Storage: migrations match the models on both backends; the ledgers are append-only; SQLite is set up
for concurrent use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel, select

from storage.db import Database
from storage.migrate import current_revision, head_revision, include_object
from storage.models import Activity, AppendOnlyViolation, Candidate, Consent

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def test_migrations_produce_exactly_the_models(db: Database) -> None:
    assert current_revision(db) == head_revision(db)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": include_object})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_consents_and_activities_are_append_only(db: Database) -> None:
    with db.transaction() as session:
        candidate = Candidate(full_name="Jane", name_key="jane", created_at=NOW, updated_at=NOW)
        session.add(candidate)
        session.flush()
        session.add(Consent(candidate_id=candidate.id or 0, kind="contact", action="granted", recorded_at=NOW,
                            evidence="test"))
        session.add(Activity(actor="system", kind="test", occurred_at=NOW, candidate_id=candidate.id))

    for model in (Consent, Activity):
        with pytest.raises(AppendOnlyViolation), db.transaction() as session:
            row = session.exec(select(model)).one()
            row.kind = "changed"
            session.flush()
        with pytest.raises(AppendOnlyViolation), db.transaction() as session:
            session.delete(session.exec(select(model)).one())
            session.flush()


def test_times_come_back_aware_and_naive_ones_are_refused(db: Database) -> None:
    with db.transaction() as session:
        session.add(Candidate(full_name="Jane", name_key="jane", created_at=NOW, updated_at=NOW))
    with db.read() as session:
        assert session.exec(select(Candidate)).one().created_at == NOW
    with pytest.raises(Exception, match="naive datetime"), db.transaction() as session:
        session.add(Candidate(full_name="Max", name_key="max", created_at=datetime(2026, 1, 1), updated_at=NOW))
        session.flush()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_factory) -> None:  # type: ignore[no-untyped-def]
    db = Database(sqlite_factory.new_database_url())
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    db.dispose()
