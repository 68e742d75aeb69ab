"""Full-text index over candidate_search: FTS5 on SQLite, a tsvector GIN index on PostgreSQL.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    # An external-content FTS5 table: the text lives once, in candidate_search; triggers keep the index in step.
    """CREATE VIRTUAL TABLE candidate_search_fts USING fts5(
           document, content='candidate_search', content_rowid='candidate_id',
           tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER candidate_search_ai AFTER INSERT ON candidate_search BEGIN
           INSERT INTO candidate_search_fts(rowid, document) VALUES (new.candidate_id, new.document);
       END""",
    """CREATE TRIGGER candidate_search_ad AFTER DELETE ON candidate_search BEGIN
           INSERT INTO candidate_search_fts(candidate_search_fts, rowid, document)
           VALUES ('delete', old.candidate_id, old.document);
       END""",
    """CREATE TRIGGER candidate_search_au AFTER UPDATE ON candidate_search BEGIN
           INSERT INTO candidate_search_fts(candidate_search_fts, rowid, document)
           VALUES ('delete', old.candidate_id, old.document);
           INSERT INTO candidate_search_fts(rowid, document) VALUES (new.candidate_id, new.document);
       END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS candidate_search_au",
    "DROP TRIGGER IF EXISTS candidate_search_ad",
    "DROP TRIGGER IF EXISTS candidate_search_ai",
    "DROP TABLE IF EXISTS candidate_search_fts",
]
POSTGRES_UP = [
    # 'simple' keeps names and skills as written (no English stemming of "Go" or "Rust").
    """ALTER TABLE candidate_search ADD COLUMN document_tsv tsvector
           GENERATED ALWAYS AS (to_tsvector('simple', document)) STORED""",
    "CREATE INDEX ix_candidate_search_tsv ON candidate_search USING GIN (document_tsv)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_candidate_search_tsv",
    "ALTER TABLE candidate_search DROP COLUMN IF EXISTS document_tsv",
]


def _run(statements: dict[str, list[str]]) -> None:
    for statement in statements.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def upgrade() -> None:
    _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP})


def downgrade() -> None:
    _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN})
