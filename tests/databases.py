"""A fresh, migrated database per test, on SQLite and on PostgreSQL.

Each backend is migrated once per run into a template (a file for SQLite, a template database for
PostgreSQL); every test then gets a copy, which is far faster than migrating per test.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from storage.db import Database
from storage.migrate import upgrade

POSTGRES_ADMIN_DSN = os.environ.get("TALENTBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
RUN_ID = uuid.uuid4().hex[:8]


def postgres_available() -> str | None:
    """None when reachable, else the reason."""
    try:
        with psycopg.connect(POSTGRES_ADMIN_DSN, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        return f"PostgreSQL at {POSTGRES_ADMIN_DSN} is unreachable: {error}"
    return None


def _dsn_for(database: str) -> str:
    base, _, _ = POSTGRES_ADMIN_DSN.rpartition("/")
    return f"{base}/{database}"


def _sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+psycopg://", 1)


class PostgresFactory:
    def __init__(self) -> None:
        self.template = f"talentbot_tpl_{RUN_ID}"
        self.created: list[str] = []
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.template)))
        self.created.append(self.template)
        db = Database(_sqlalchemy_url(_dsn_for(self.template)))
        upgrade(db)
        db.dispose()

    def _admin(self, statement: sql.Composable) -> None:
        with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as connection:
            connection.execute(statement)

    def new_database_url(self) -> str:
        name = f"talentbot_t_{RUN_ID}_{len(self.created)}"
        self._admin(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                     sql.Identifier(self.template)))
        self.created.append(name)
        return _sqlalchemy_url(_dsn_for(name))

    def drop(self, url: str) -> None:
        name = url.rpartition("/")[2]
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def drop_all(self) -> None:
        for name in reversed(self.created):
            self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class SqliteFactory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.template = directory / "template.db"
        db = Database(f"sqlite:///{self.template}")
        upgrade(db)
        # Closing the last connection checkpoints the WAL into the file, so the file alone is the copy.
        db.dispose()
        self.count = 0

    def new_database_url(self) -> str:
        self.count += 1
        path = self.directory / f"test-{self.count}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
