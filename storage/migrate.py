"""Alembic, driven from code so that `talentbot db upgrade` and `serve` need no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Objects the migrations create by hand because models cannot declare them (full-text indexes).
HAND_MADE_TABLES = ("candidate_search_fts",)
HAND_MADE_COLUMNS = ("document_tsv",)
HAND_MADE_INDEXES = ("ix_candidate_search_tsv",)


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Leave the hand-made full-text objects out of autogenerate comparisons."""
    if type_ == "table" and name and name.startswith(HAND_MADE_TABLES):
        return False
    if type_ == "column" and name in HAND_MADE_COLUMNS:
        return False
    return not (type_ == "index" and name in HAND_MADE_INDEXES)


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database"] = database
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    command.upgrade(alembic_config(database), revision)


def head_revision(database: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database)).get_current_head()


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
