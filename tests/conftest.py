"""Fixtures: a database per test on both backends, the fake Slack, and the real app over HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.deps import Deps, build_deps
from bot.settings import Settings
from bot.workspace import WorkspaceConfig, parse_workspace_config
from storage.db import Database
from tests.databases import PostgresFactory, SqliteFactory, postgres_available
from tests.harness import FakeSlack, SignedSlackClient
from tests.harness.running_app import RunningApp, serve_app

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
RECRUITING_CHANNEL = "C0RECRUIT"
ADMIN = "UADMIN01"
RECRUITER = "URECRUIT1"
GROUP_RECRUITER = "URECRUIT2"
EMPLOYEE = "UEMPLOY01"
OTHER_EMPLOYEE = "UEMPLOY02"
HIRING_MANAGER = "UHIRING01"

WORKSPACE: dict[str, Any] = {
    "company_name": "Acme",
    "recruiting_channel": RECRUITING_CHANNEL,
    "default_phone_region": "DE",
    "roles": {"admins": [ADMIN], "recruiters": [RECRUITER, "@recruiting"]},
}


class Clock:
    """A clock the test moves by hand; the app reads it wherever it would read the wall clock."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="session")
def sqlite_factory(tmp_path_factory: pytest.TempPathFactory) -> SqliteFactory:
    return SqliteFactory(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgres_factory() -> Iterator[PostgresFactory]:
    reason = postgres_available()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} — CI must test PostgreSQL; refusing to skip", pytrace=False)
        pytest.skip(reason)
    factory = PostgresFactory()
    yield factory
    factory.drop_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, sqlite_factory: SqliteFactory) -> Iterator[str]:
    factory = sqlite_factory if request.param == "sqlite" else request.getfixturevalue("postgres_factory")
    url = factory.new_database_url()
    yield url
    factory.drop(url)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def config() -> WorkspaceConfig:
    return parse_workspace_config(WORKSPACE)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 16, 9, 0, tzinfo=UTC))


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(tokens=(BOT_TOKEN,))
    for user_id, name in [(ADMIN, "ada"), (RECRUITER, "rita"), (GROUP_RECRUITER, "gus"), (EMPLOYEE, "emma"),
                          (OTHER_EMPLOYEE, "otto"), (HIRING_MANAGER, "hank")]:
        fake.add_user(user_id, name=name, real_name=name.title(), email=f"{name}@acme.test")
    fake.add_channel(RECRUITING_CHANNEL, "recruiting")
    fake.add_usergroup("S0RECRUIT", "recruiting", [GROUP_RECRUITER])
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(slack: FakeSlack, database_url: str, tmp_path: Path) -> Settings:
    return Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.base_url,
                    database_url=database_url, talentbot_config=tmp_path / "talentbot.yaml",
                    talentbot_scheduler=False)


@pytest.fixture
def deps(settings: Settings, config: WorkspaceConfig, db: Database, clock: Clock) -> Deps:
    return build_deps(settings, config, db=db, clock=clock)


@pytest.fixture
def app(deps: Deps) -> Iterator[RunningApp]:
    with serve_app(deps) as running:
        yield running


@pytest.fixture
def signed(app: RunningApp, slack: FakeSlack) -> SignedSlackClient:
    return SignedSlackClient(app.url, SIGNING_SECRET, fake_slack=slack, settle=app.settle)
