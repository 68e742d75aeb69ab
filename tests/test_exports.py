"""`talentbot export hires`: the hires of a period as CSV, through the function and the real command."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.exports import HIRE_COLUMNS, hire_rows, parse_day, write_hires_csv
from storage.db import Database
from storage.models import Application, ApplicationStatus, Candidate, CandidateSource, Position, Referral
from tests.conftest import EMPLOYEE, HIRING_MANAGER, OTHER_EMPLOYEE

ROOT = Path(__file__).resolve().parents[1]
CREATED = datetime(2025, 10, 1, tzinfo=UTC)


def add_application(db: Database, *, name: str, hired_at: datetime | None, status: str = ApplicationStatus.HIRED,
                    title: str = "Backend Engineer", client_company: str | None = None, phone: str | None = None,
                    referrals: tuple[tuple[str, str, bool], ...] = ()) -> None:
    """One candidate with one application; referrals are (referrer, code, attributed)."""
    key = name.lower().replace(" ", ".").strip("=+-@")
    with db.transaction() as session:
        candidate = Candidate(full_name=name, name_key=key, email=f"{key}@example.com",
                              email_normalized=f"{key}@example.com", phone_e164=phone,
                              source=CandidateSource.REFERRAL if referrals else CandidateSource.SOURCED,
                              created_at=CREATED, updated_at=CREATED)
        position = Position(title=title, hiring_manager_slack_id=HIRING_MANAGER, client_company=client_company,
                            created_at=CREATED, updated_at=CREATED)
        session.add(candidate)
        session.add(position)
        session.flush()
        assert candidate.id is not None and position.id is not None
        session.add(Application(candidate_id=candidate.id, position_id=position.id, stage="Day 1 Complete",
                                stage_entered_at=CREATED, status=status, created_at=CREATED, hired_at=hired_at))
        for n, (referrer, code, attributed) in enumerate(referrals):
            session.add(Referral(code=code, referrer_slack_id=referrer, candidate_id=candidate.id,
                                 position_id=position.id, relationship="Friend", note="", attributed=attributed,
                                 created_at=CREATED.replace(day=1 + n), updated_at=CREATED))


@pytest.fixture
def hires(db: Database) -> Database:
    add_application(db, name="Late January", hired_at=datetime(2026, 1, 31, 23, 30, tzinfo=UTC))
    add_application(db, name="Jane Doe", hired_at=datetime(2026, 1, 5, 9, tzinfo=UTC), phone="+49301234567",
                    client_company="Globex", referrals=((OTHER_EMPLOYEE, "R-OTTO", False), (EMPLOYEE, "R-EMMA", True)))
    add_application(db, name="=HYPERLINK(\"http://evil.example\")", hired_at=datetime(2026, 1, 10, tzinfo=UTC),
                    title="@Ops, \"SRE\"")
    add_application(db, name="First of February", hired_at=datetime(2026, 2, 1, tzinfo=UTC))
    add_application(db, name="Last Year", hired_at=datetime(2025, 12, 31, 23, 59, tzinfo=UTC))
    add_application(db, name="Still Open", hired_at=None, status=ApplicationStatus.OPEN)
    add_application(db, name="Rejected Later", hired_at=datetime(2026, 1, 7, tzinfo=UTC),
                    status=ApplicationStatus.REJECTED)
    return db


JANUARY = [
    ["Jane Doe", "jane.doe@example.com", "+49301234567", "Backend Engineer", "Globex", HIRING_MANAGER, "2026-01-05",
     "referral", EMPLOYEE, "R-EMMA"],
    ["'=HYPERLINK(\"http://evil.example\")", "hyperlink(\"http://evil.example\")@example.com", "", "'@Ops, \"SRE\"",
     "", HIRING_MANAGER, "2026-01-10", "sourced", "", ""],
    ["Late January", "late.january@example.com", "", "Backend Engineer", "", HIRING_MANAGER, "2026-01-31", "sourced",
     "", ""],
]


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_hires_of_a_period_in_hiring_order_with_the_credited_referral(hires: Database) -> None:
    with hires.read() as session:
        rows = hire_rows(session, since=date(2026, 1, 1), until=date(2026, 1, 31))
    out = io.StringIO(newline="")
    assert write_hires_csv(rows, out) == 3
    assert out.getvalue().startswith(",".join(HIRE_COLUMNS) + "\r\n")
    assert read_csv(out.getvalue()) == [list(HIRE_COLUMNS), *JANUARY]


def test_without_until_the_period_runs_to_now(hires: Database) -> None:
    with hires.read() as session:
        names = [row.candidate_name for row in hire_rows(session, since=date(2026, 1, 6))]
    assert names == ["'=HYPERLINK(\"http://evil.example\")", "Late January", "First of February"]


def test_dates_are_read_strictly() -> None:
    assert parse_day(" 2026-01-01 ") == date(2026, 1, 1)
    for bad in ("2026-13-01", "01/02/2026", "yesterday", ""):
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            parse_day(bad)


def talentbot(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "TALENTBOT_"))}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env={**env, "DATABASE_URL": database_url},
                          cwd=cwd, capture_output=True, text=True, timeout=60)


def test_the_command_writes_csv_to_stdout_or_a_file(hires: Database, database_url: str, tmp_path: Path) -> None:
    printed = talentbot("export", "hires", "--since", "2026-01-01", "--until", "2026-01-31",
                        database_url=database_url, cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert read_csv(printed.stdout) == [list(HIRE_COLUMNS), *JANUARY]
    assert "3 hire(s) exported" in printed.stderr

    target = tmp_path / "hires.csv"
    written = talentbot("export", "hires", "--since", "2026-02-01", "--output", str(target),
                        database_url=database_url, cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert written.stdout == ""
    assert read_csv(target.read_text(encoding="utf-8")) == [
        list(HIRE_COLUMNS),
        ["First of February", "first.of.february@example.com", "", "Backend Engineer", "", HIRING_MANAGER,
         "2026-02-01", "sourced", "", ""]]


@pytest.mark.parametrize(("args", "option"), [
    (["--since", "2026-13-01"], "--since"),
    (["--since", "2026-02-01", "--until", "Jan 31"], "--until"),
    (["--since", "2026-02-01", "--until", "2026-01-31"], "--until"),
])
def test_a_bad_date_is_named_and_exits_2(tmp_path: Path, args: list[str], option: str) -> None:
    # Dates are checked before the database is opened, so none is needed here.
    result = talentbot("export", "hires", *args, database_url=f"sqlite:///{tmp_path / 'unused.db'}", cwd=tmp_path)
    assert result.returncode == 2
    assert option in result.stderr and result.stdout == ""
