"""`talentbot check`: everything that would stop the bot, each named by the key that causes it."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError

from bot.mail import SmtpUrlError, close_smtp, open_smtp, parse_smtp_url, tls_context
from bot.settings import Settings, SettingsError, load_settings
from bot.slack import build_web_client
from bot.workspace import ConfigError, WorkspaceConfig, load_workspace_config
from storage.db import Database
from storage.migrate import current_revision, head_revision


@dataclass(frozen=True)
class Problem:
    key: str
    message: str


def check_all(*, contact_slack: bool = True) -> tuple[list[str], list[Problem]]:
    """Return (what is fine, what is wrong)."""
    fine: list[str] = []
    problems: list[Problem] = []
    try:
        settings = load_settings()
    except SettingsError as error:
        return fine, [Problem(key, message) for key, message in error.problems]

    problems += [Problem(key, message) for key, message in settings.slack_problems()]
    config = _check_config(settings, fine, problems)
    _check_database(settings, fine, problems)
    # --offline means no network at all, so it also keeps the SMTP server out of it.
    _check_smtp(settings, fine, problems, connect=contact_slack)
    _check_hr_webhook(settings, config, fine, problems)
    if contact_slack and not settings.slack_problems():
        _check_slack(settings, config, fine, problems)
    return fine, problems


def _check_config(settings: Settings, fine: list[str], problems: list[Problem]) -> WorkspaceConfig | None:
    try:
        config = load_workspace_config(settings.talentbot_config)
    except ConfigError as error:
        problems += [Problem(f"{settings.talentbot_config}: {key}", message) for key, message in error.problems]
        return None
    fine.append(f"workspace config {settings.talentbot_config}: {len(config.pipeline.stages)} stages")
    return config


def _check_database(settings: Settings, fine: list[str], problems: list[Problem]) -> None:
    db = Database(settings.database_url)
    try:
        current, head = current_revision(db), head_revision(db)
    except SQLAlchemyError as error:
        problems.append(Problem("DATABASE_URL", f"cannot connect: {error.__class__.__name__}: {error}"[:300]))
        return
    finally:
        db.dispose()
    if current != head:
        problems.append(Problem("DATABASE_URL", f"schema is at {current or 'nothing'}, code expects {head}: "
                                                "run `talentbot db upgrade`"))
    else:
        fine.append(f"database {db.backend}: schema {current}")


def _check_slack(settings: Settings, config: WorkspaceConfig | None, fine: list[str],
                 problems: list[Problem]) -> None:
    client = build_web_client(settings, timeout=5)
    client.retry_handlers = []
    try:
        identity = client.auth_test()
        fine.append(f"Slack: signed in as {identity.get('user')} in {identity.get('team')}")
        if config is not None:
            client.conversations_info(channel=config.recruiting_channel)
            fine.append(f"Slack: recruiting channel {config.recruiting_channel} found")
    except SlackApiError as error:
        code = error.response.get("error")
        key = "recruiting_channel" if code in {"channel_not_found", "not_in_channel"} else "SLACK_BOT_TOKEN"
        problems.append(Problem(key, f"Slack answered {code}"))
    except (SlackClientError, OSError) as error:
        problems.append(Problem("SLACK_API_URL", f"cannot reach {settings.slack_api_url}: {error}"[:300]))


def _check_smtp(settings: Settings, fine: list[str], problems: list[Problem], *, connect: bool) -> None:
    if not settings.smtp_url:
        # Not an error: a team may run without email; the emails wait in the queue until SMTP_URL is set.
        fine.append("email: SMTP_URL is not set, so emails stay queued until it is")
        return
    try:
        target = parse_smtp_url(settings.smtp_url)
    except SmtpUrlError as error:
        problems.append(Problem("SMTP_URL", str(error)))
        return
    if settings.smtp_ca_file is not None and not settings.smtp_ca_file.is_file():
        problems.append(Problem("SMTP_CA_FILE", f"{settings.smtp_ca_file} is not a file"))
        return
    if not connect:
        fine.append(f"email: SMTP server {target.describe()} (not contacted: --offline)")
        return
    try:
        close_smtp(open_smtp(target, context=tls_context(settings.smtp_ca_file), timeout=5))
    except (smtplib.SMTPException, OSError) as error:
        problems.append(Problem("SMTP_URL", f"cannot use {target.describe()}: {type(error).__name__}: {error}"[:300]))
        return
    fine.append(f"email: SMTP server {target.describe()} accepted the connection")


def _check_hr_webhook(settings: Settings, config: WorkspaceConfig | None, fine: list[str],
                      problems: list[Problem]) -> None:
    if config is None or config.hr_handoff.webhook_url is None:
        return
    if not settings.hr_webhook_secret:
        problems.append(Problem("HR_WEBHOOK_SECRET", "is not set but hr_handoff.webhook_url is; "
                                                     "new hires wait unsent until it is"))
    else:
        fine.append(f"HR handoff: new hires are posted, signed, to {config.hr_handoff.webhook_url}")
