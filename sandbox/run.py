"""`talentbot serve` without Slack tokens: the bot on SQLite behind the sandbox workspace, on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.deps import Deps
from bot.settings import Settings, load_settings
from bot.workspace import WorkspaceConfig, load_workspace_config
from sandbox.mailcatcher import MailCatcher
from sandbox.people import write_workspace_config
from sandbox.server import SandboxConfig, build_sandbox_app, new_credentials

logger = logging.getLogger(__name__)

# Never 0.0.0.0: the sandbox has no sign-in, and anyone who can reach it acts as anyone in the workspace.
HOST = "127.0.0.1"
DEFAULT_DIR = Path(".sandbox")


@dataclass
class Sandbox:
    app: Starlette
    deps: Deps
    mail: MailCatcher
    url: str
    bot: BotSlot


def sandbox_files(directory: Path = DEFAULT_DIR) -> tuple[Path, str]:
    """The sandbox's workspace file and its own SQLite database: never the production DATABASE_URL, so a
    forgotten token does not seed demo people into real data."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    return write_workspace_config(directory / "talentbot.yaml"), f"sqlite:///{directory / 'talentbot.db'}"


def sandbox_settings(port: int, smtp_url: str, directory: Path = DEFAULT_DIR) -> tuple[Settings, WorkspaceConfig,
                                                                                         SandboxConfig]:
    config_path, database_url = sandbox_files(directory)
    token, secret = new_credentials()
    base_url = f"http://{HOST}:{port}"
    settings = load_settings(slack_bot_token=token, slack_signing_secret=secret, slack_app_token=None,
                             slack_api_url=f"{base_url}/api/", database_url=database_url,
                             talentbot_config=config_path, port=port, smtp_url=smtp_url,
                             talentbot_public_url=base_url)
    return settings, load_workspace_config(config_path), SandboxConfig(base_url, token, secret)


def prepare_database(deps: Deps) -> None:
    """Bring the schema up to date and seed the demo data into an empty database."""
    from sandbox import demo
    from storage.migrate import upgrade

    upgrade(deps.db)
    if demo.is_empty(deps.db):
        summary = demo.seed(deps.db, deps.config, now=deps.clock())
        from commands.referrals import queue_referral_notifications

        # The bot's own announcements of the newest referrals, so #recruiting and the referrers' DMs are not
        # empty on the first visit; they go out when the bot is attached.
        with deps.db.transaction() as session:
            for outcome in summary.recent_referrals:
                queue_referral_notifications(session, outcome, deps)
        logger.info("sandbox: demo data seeded (%s positions, %s candidates)", summary.positions, summary.candidates)


class BotSlot:
    """The bot's ASGI app, attached once the server listens.

    Bolt asks Slack who it is (auth.test) when the app is built, and here Slack is this very server, so the
    bot can only be built after the server is up; until then Slack's endpoint answers 503.
    """

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.ready = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            if scope["type"] == "http":
                await PlainTextResponse("talentbot is starting", status_code=503)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def build_sandbox(port: int, *, directory: Path = DEFAULT_DIR, scheduler: bool = True) -> Sandbox:
    from bot.app import build_app
    from bot.deps import build_deps
    from bot.jobs import JOBS
    from bot.scheduler import start_background_scheduler
    from bot.server import build_asgi_app

    mail = MailCatcher()
    mail.start()
    settings, config, sandbox_config = sandbox_settings(port, mail.smtp_url, directory)
    deps = build_deps(settings, config)
    prepare_database(deps)
    slot = BotSlot()
    app = build_sandbox_app(slot, sandbox_config, mail=mail)

    def attach_bot() -> None:
        try:
            _wait_for_port(port)
            slot.app = build_asgi_app(build_app(deps), deps.db, deps=deps)
            if scheduler:
                start_background_scheduler(deps)
            # Notifications queued before the bot was attached go out now, not at the outbox job's first tick.
            JOBS["deliver_outbox"].run(deps)
        except Exception:
            logger.exception("sandbox: the bot did not start")
        finally:
            slot.ready.set()

    inner_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(starlette: Starlette) -> AsyncIterator[None]:
        async with inner_lifespan(starlette):
            threading.Thread(target=attach_bot, daemon=True, name="sandbox-attach-bot").start()
            yield

    app.router.lifespan_context = lifespan
    return Sandbox(app=app, deps=deps, mail=mail, url=sandbox_config.base_url, bot=slot)


def run_sandbox(port: int) -> None:
    import uvicorn

    sandbox = build_sandbox(port)
    logger.info("No Slack tokens set: running the sandbox workspace. Open %s", sandbox.url)
    try:
        uvicorn.run(sandbox.app, host=HOST, port=port, log_level="info", access_log=False)
    finally:
        sandbox.mail.stop()



def seed_demo_data(*, reset: bool, directory: Path = DEFAULT_DIR) -> str:
    """`talentbot demo-data [--reset]`: seed the sandbox database (a running sandbox sees the new rows at once)."""
    from bot.clock import utcnow
    from sandbox import demo
    from storage.db import Database
    from storage.migrate import upgrade

    config_path, database_url = sandbox_files(directory)
    config = load_workspace_config(config_path)
    db = Database(database_url)
    try:
        upgrade(db)
        if reset:
            demo.clear(db)
        elif not demo.is_empty(db):
            return f"{database_url} already has data; `talentbot demo-data --reset` replaces it."
        summary = demo.seed(db, config, now=utcnow())
    finally:
        db.dispose()
    return (f"seeded {summary.positions} positions and {summary.candidates} referred candidates "
            f"({summary.moves} stage moves) into {database_url}")
