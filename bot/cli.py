"""The `talentbot` command: serve, worker, db, check, jobs, export."""

from __future__ import annotations

import logging
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.settings import Settings, SettingsError, load_settings
from bot.workspace import ConfigError, WorkspaceConfig, load_workspace_config

cli = typer.Typer(help="talentbot: a candidate relationship manager that lives in Slack.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
jobs_cli = typer.Typer(help="Scheduled jobs.", no_args_is_help=True)
export_cli = typer.Typer(help="Exports for other tools (CSV).", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(jobs_cli, name="jobs")
cli.add_typer(export_cli, name="export")
console = Console(stderr=True)
logger = logging.getLogger("talentbot")


def _configure_logging() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _fail(title: str, problems: list[tuple[str, str]]) -> typer.Exit:
    console.print(f"[bold red]{title}[/]")
    for key, message in problems:
        console.print(f"  [yellow]{key}[/]: {message}")
    return typer.Exit(code=2)


def _load() -> tuple[Settings, WorkspaceConfig]:
    try:
        settings = load_settings()
    except SettingsError as error:
        raise _fail("Settings are not usable:", error.problems) from error
    try:
        config = load_workspace_config(settings.talentbot_config)
    except ConfigError as error:
        raise _fail(f"Workspace config {error.path} is not usable:", error.problems) from error
    return settings, config


def _no_slack_tokens() -> bool:
    try:
        settings = load_settings()
    except SettingsError as error:
        raise _fail("Settings are not usable:", error.problems) from error
    return not (settings.slack_bot_token or settings.slack_app_token or settings.slack_signing_secret)


def _port_setting() -> int:
    return load_settings().port


@cli.command()
def serve(
    port: Annotated[int | None, typer.Option(help="HTTP port (default: $PORT, else 3000)")] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "0.0.0.0",
) -> None:
    """Run the bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on /slack/events.

    With no Slack token at all, run the local sandbox workspace instead (see README, "Try it without Slack").
    """
    _configure_logging()
    if _no_slack_tokens():
        from sandbox.run import run_sandbox

        run_sandbox(port or _port_setting())
        return
    settings, config = _load()
    if settings.slack_problems():
        raise _fail("Slack settings are not usable:", settings.slack_problems())

    from bot.app import build_app
    from bot.deps import build_deps
    from bot.scheduler import start_background_scheduler
    from storage.migrate import upgrade

    deps = build_deps(settings, config)
    upgrade(deps.db)
    bolt_app = build_app(deps)
    if settings.talentbot_scheduler:
        start_background_scheduler(deps)

    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        logger.info("talentbot running in Socket Mode")
        bolt_app.inbox.start()  # over HTTP the server's lifespan starts it (bot/server.py)
        SocketModeHandler(bolt_app, settings.slack_app_token).start()
        return

    import uvicorn

    from bot.server import build_asgi_app

    uvicorn.run(build_asgi_app(bolt_app, deps.db, deps=deps), host=host, port=port or settings.port,
                log_level="info", access_log=False)


@cli.command()
def worker() -> None:
    """Run only the scheduled jobs (for deployments with several web processes; see README)."""
    _configure_logging()
    settings, config = _load()
    from bot.deps import build_deps
    from bot.scheduler import run_blocking_scheduler
    from storage.migrate import upgrade

    deps = build_deps(settings, config)
    upgrade(deps.db)
    run_blocking_scheduler(deps)


@cli.command()
def check(offline: Annotated[bool, typer.Option(help="Do not contact Slack")] = False) -> None:
    """Validate settings, workspace config, database and Slack access; exit non-zero on any problem."""
    from bot.checks import check_all

    fine, problems = check_all(contact_slack=not offline)
    out = Console()
    for line in fine:
        out.print(f"[green]ok[/] {line}")
    for problem in problems:
        out.print(f"[red]problem[/] [yellow]{problem.key}[/]: {problem.message}")
    if problems:
        raise typer.Exit(code=1)


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Bring the database schema up to date (Alembic)."""
    _configure_logging()
    try:
        settings = load_settings()
    except SettingsError as error:
        raise _fail("Settings are not usable:", error.problems) from error
    from storage.db import Database
    from storage.migrate import current_revision, upgrade

    db = Database(settings.database_url)
    upgrade(db, revision)
    Console().print(f"database {db.backend} at schema {current_revision(db)}")


@jobs_cli.command("list")
def jobs_list() -> None:
    """List the scheduled jobs."""
    from bot.jobs import JOBS

    out = Console()
    for job in JOBS.values():
        out.print(f"[bold]{job.name}[/]  every {job.every}  {job.description}")


@jobs_cli.command("run")
def jobs_run(name: str) -> None:
    """Run one job once, now."""
    _configure_logging()
    from bot.jobs import JOBS

    if name not in JOBS:
        raise _fail(f"No job named {name!r}.", [("jobs", ", ".join(JOBS))])
    settings, config = _load()
    from bot.deps import build_deps
    from storage.migrate import upgrade

    deps = build_deps(settings, config)
    upgrade(deps.db)
    Console().print(f"{name}: {JOBS[name].run(deps)}")


def _day_option(option: str, value: str) -> date:
    from bot.exports import parse_day

    try:
        return parse_day(value)
    except ValueError as error:
        raise _fail("Invalid date:", [(option, str(error))]) from error


@export_cli.command("hires")
def export_hires(
    since: Annotated[str, typer.Option(help="First day of Day 1 to include, YYYY-MM-DD (UTC)")],
    until: Annotated[str | None, typer.Option(help="Last day to include, YYYY-MM-DD (UTC); default: no end")] = None,
    output: Annotated[Path | None, typer.Option(help="Write the CSV to this file instead of stdout")] = None,
) -> None:
    """Hires (Day 1 Complete) with Day 1 in the range, as CSV in hiring order."""
    first = _day_option("--since", since)
    last = _day_option("--until", until) if until is not None else None
    if last is not None and last < first:
        raise _fail("Invalid date range:", [("--until", f"{last} is before --since {first}")])
    try:
        settings = load_settings()
    except SettingsError as error:
        raise _fail("Settings are not usable:", error.problems) from error
    from sqlalchemy.exc import SQLAlchemyError

    from bot.exports import hire_rows, write_hires_csv
    from storage.db import Database

    db = Database(settings.database_url)
    try:
        # Read everything before opening the output, so that a database problem leaves no half-written file.
        with db.read() as session:
            rows = hire_rows(session, since=first, until=last)
    except SQLAlchemyError as error:
        raise _fail("Cannot read the hires:", [("DATABASE_URL", f"{type(error).__name__}: {error}"[:300])]) from error
    finally:
        db.dispose()
    if output is None:
        count = write_hires_csv(rows, sys.stdout)
    else:
        with output.open("w", newline="", encoding="utf-8") as out:
            count = write_hires_csv(rows, out)
    console.print(f"{count} hire(s) exported" + (f" to {output}" if output else ""))


@cli.command("demo-data")
def demo_data(reset: Annotated[bool, typer.Option(help="Delete everything in the sandbox database first")] = False,
              ) -> None:
    """Seed the sandbox's database (.sandbox/talentbot.db) with demo positions, candidates and referrals."""
    _configure_logging()
    from sandbox.run import seed_demo_data

    Console().print(seed_demo_data(reset=reset))


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
