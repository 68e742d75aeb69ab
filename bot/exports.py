"""Exports for other tools: `talentbot export hires --since DATE` writes the hires as CSV.

Dates are whole UTC days, both ends included: `--since 2026-01-01 --until 2026-01-31` is January.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import TextIO

from sqlmodel import Session

from storage import queries
from storage.models import Referral

# A spreadsheet runs a cell that starts with one of these as a formula; names and titles are typed by
# people, so such cells get a leading apostrophe (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class HireRow:
    candidate_name: str
    email: str
    phone: str
    position: str
    client_company: str
    hiring_manager_slack_id: str
    hired_at: str
    source: str
    referrer_slack_id: str
    referral_code: str


HIRE_COLUMNS = tuple(field.name for field in fields(HireRow))


def parse_day(value: str) -> date:
    """YYYY-MM-DD; ValueError with a message fit for the person who typed it."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-01-01") from None


def hire_rows(session: Session, *, since: date, until: date | None = None) -> list[HireRow]:
    """Hired applications with Day 1 in [since, until] (UTC days), in hiring order."""
    start = datetime.combine(since, time.min, tzinfo=UTC)
    before = datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC) if until else None
    hires = queries.hires_between(session, since=start, before=before)
    credited = _credited_referrals(session, [candidate.id for _, candidate, _ in hires if candidate.id is not None])
    rows = []
    for application, candidate, position in hires:
        assert candidate.id is not None and application.hired_at is not None
        referral = credited.get((candidate.id, position.id)) or credited.get((candidate.id, None))
        rows.append(HireRow(
            candidate_name=_cell(candidate.full_name), email=_cell(candidate.email),
            # E.164 (+4915…) by construction, so never a formula; an apostrophe would spoil it for importers.
            phone=candidate.phone_e164 or "", position=_cell(position.title),
            client_company=_cell(position.client_company),
            hiring_manager_slack_id=position.hiring_manager_slack_id or "",
            hired_at=application.hired_at.date().isoformat(), source=_cell(candidate.source),
            referrer_slack_id=referral.referrer_slack_id if referral else "",
            referral_code=referral.code if referral else "",
        ))
    return rows


def _credited_referrals(session: Session, candidate_ids: Sequence[int]) -> dict[tuple[int, int | None], Referral]:
    """(candidate, position) → the credited referral; (candidate, None) → the person's first credited one."""
    credited: dict[tuple[int, int | None], Referral] = {}
    for referral in queries.attributed_referrals_for(session, candidate_ids):
        credited.setdefault((referral.candidate_id, referral.position_id), referral)
        credited.setdefault((referral.candidate_id, None), referral)
    return credited


def _cell(value: str | None) -> str:
    text = value or ""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_hires_csv(rows: Iterable[HireRow], out: TextIO) -> int:
    """A header row, then one row per hire; returns the number of hires written."""
    writer = csv.writer(out)  # RFC 4180: CRLF line ends, quotes where needed
    writer.writerow(HIRE_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(astuple(row))
        count += 1
    return count

