"""The search document: the text full-text search looks at, one row per candidate in `candidate_search`.

A document holds the candidate's name, skills, location, seniority, talent pool, the titles of the positions
they applied to and the texts of notes on their timeline — never contact details. Migration 0002 puts the
full-text index on top (FTS5 triggers on SQLite, a generated tsvector column on PostgreSQL), so writing the
row is all it takes.

The timeline marks a candidate when an activity changes searchable text (`REINDEX_KINDS`); the document is
rebuilt once per candidate just before the transaction commits, from what the transaction finally wrote. That
keeps the hook cheap (a referral records four activities about one person) and correct when a service changes
a field after recording the activity.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from storage import queries
from storage.models import Candidate, CandidateSearchDocument, CandidateStatus

logger = logging.getLogger(__name__)

REINDEX_KINDS = frozenset({
    "candidate.created", "candidate.details_added", "candidate.updated", "note.added", "application.created",
    # An erased person must not stay findable by the text they were erased from.
    "candidate.erased",
})
# A long-followed candidate can collect many notes; the newest matter less than keeping the row small.
MAX_NOTES = 50
MAX_DOCUMENT_CHARS = 20_000
_PENDING = "search_index.pending"


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def build_document(session: Session, candidate_id: int) -> str | None:
    """The candidate's searchable text, or None when there is nothing to find them by (unknown or erased)."""
    candidate = session.get(Candidate, candidate_id)
    if candidate is None or candidate.status == CandidateStatus.ERASED:
        return None
    return compose_document(
        candidate, titles=queries.position_titles_of_candidate(session, candidate_id),
        notes=queries.note_texts_of_candidate(session, candidate_id, limit=MAX_NOTES))


def compose_document(candidate: Candidate, *, titles: Iterable[str], notes: Iterable[str]) -> str:
    """One line per field. The name is repeated without accents when it has any: PostgreSQL's 'simple'
    configuration keeps "Zoë" as written, and people type "Zoe" (SQLite's tokenizer folds accents itself)."""
    name = candidate.full_name
    lines = [name] + ([_fold(name)] if _fold(name) != name else [])
    lines += [", ".join(candidate.skills or [])]
    lines += [value for value in (candidate.location, candidate.seniority, candidate.talent_pool) if value]
    lines += list(titles)
    lines += list(notes)
    return "\n".join(line for line in lines if line)[:MAX_DOCUMENT_CHARS]


def reindex_candidate(session: Session, candidate_id: int, *, now: datetime) -> None:
    """Write the candidate's document (or remove it when there is none any more)."""
    document = build_document(session, candidate_id)
    row = session.get(CandidateSearchDocument, candidate_id)
    if document is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(CandidateSearchDocument(candidate_id=candidate_id, document=document, updated_at=now))
    elif row.document != document:
        row.document = document
        row.updated_at = now


def reindex_all(session: Session, *, now: datetime, batch: int = 1000, after_id: int = 0) -> int:
    """Rebuild every candidate's document (for data that predates the index); returns how many were written."""
    written = 0
    while ids := queries.candidate_ids_after(session, after_id, limit=batch):
        for candidate_id in ids:
            reindex_candidate(session, candidate_id, now=now)
        session.flush()
        written += len(ids)
        after_id = ids[-1]
    return written


def mark_for_reindex(session: Session, candidate_id: int, *, now: datetime) -> None:
    """Rebuild this candidate's document when the session commits (see the module docstring)."""
    pending: dict[int, datetime] = session.info.setdefault(_PENDING, {})
    pending[candidate_id] = max(now, pending.get(candidate_id, now))


@event.listens_for(OrmSession, "before_commit")
def _reindex_marked(session: Any) -> None:
    pending: dict[int, datetime] = session.info.pop(_PENDING, {})
    for candidate_id, now in pending.items():
        reindex_candidate(session, candidate_id, now=now)


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_marked(session: Any, _previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)
