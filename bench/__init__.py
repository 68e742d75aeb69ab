"""Benchmarks for talentbot; see bench/README.md. Run everything with `bench/run`.

The constants below are shared by the load generator and the processes it starts, so that the
requests it signs are the ones the servers verify and the users it names exist in the fake Slack.
"""

from __future__ import annotations

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
# Git-ignored (see .gitignore): databases, logs, profiles and the JSON results live here.
RESULTS_DIR = BENCH_DIR / "results"

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-test"
RECRUITING_CHANNEL = "C0RECRUIT"
ADMIN = "UADMIN01"
RECRUITER = "URECRUIT1"
# Referrers of the submissions: the app DMs each of them, so the fake Slack must know them all.
REFERRERS = tuple(f"UBENCH{i:03d}" for i in range(1, 51))

WORKSPACE = {
    "company_name": "Acme",
    "recruiting_channel": RECRUITING_CHANNEL,
    "default_phone_region": "DE",
    "roles": {"admins": [ADMIN], "recruiters": [RECRUITER]},
}
