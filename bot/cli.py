"""The `talentbot` command: serve, worker, db, check, jobs."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer
from rich.console import Console

from bot.settings import Settings, SettingsError, load_settings
from bot.workspace import ConfigError, WorkspaceConfig, load_workspace_config

cli = typer.Typer(help="talentbot: a candidate relationship manager that lives in Slack.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
jobs_cli = typer.Typer(help="Scheduled jobs.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(jobs_cli, name="jobs")
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


@cli.command()
def serve(
    port: Annotated[int | None, typer.Option(help="HTTP port (default: $PORT, else 3000)")] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "0.0.0.0",
) -> None:
    """Run the bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on /slack/events."""
    _configure_logging()
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
        SocketModeHandler(bolt_app, settings.slack_app_token).start()
        return

    import uvicorn

    from bot.server import build_asgi_app

    uvicorn.run(build_asgi_app(bolt_app, deps.db), host=host, port=port or settings.port,
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


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
