"""What Slack handlers and jobs need, built once at start-up and handed to every `register`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient

from bot.access import RoleDirectory
from bot.clock import utcnow
from bot.mail import Mailer
from bot.outbox import OutboxSender
from bot.settings import Settings
from bot.slack import build_web_client
from bot.webhooks import WebhookSender
from bot.workspace import SLACK_USERGROUP_HANDLE, WorkspaceConfig
from storage.db import Database


@dataclass
class Deps:
    settings: Settings
    config: WorkspaceConfig
    db: Database
    slack: WebClient
    roles: RoleDirectory
    outbox: OutboxSender
    mailer: Mailer
    webhooks: WebhookSender
    clock: Callable[[], datetime] = field(default=utcnow)


def usergroup_resolver(client: WebClient) -> Callable[[str], Iterable[str]]:
    def resolve(reference: str) -> Iterable[str]:
        group_id = reference
        if SLACK_USERGROUP_HANDLE.match(reference):
            groups = client.usergroups_list()["usergroups"]
            matches = [g["id"] for g in groups if g.get("handle") == reference.removeprefix("@")]
            if not matches:
                raise LookupError(f"no Slack user group with handle {reference}")
            group_id = matches[0]
        return list(client.usergroups_users_list(usergroup=group_id)["users"])

    return resolve


def build_deps(settings: Settings, config: WorkspaceConfig, *, db: Database | None = None,
               clock: Callable[[], datetime] = utcnow) -> Deps:
    db = db or Database(settings.database_url)
    client = build_web_client(settings)
    return Deps(
        settings=settings,
        config=config,
        db=db,
        slack=client,
        roles=RoleDirectory(config.roles, usergroup_resolver(client)),
        outbox=OutboxSender(db, client, clock),
        mailer=Mailer(db, settings, clock),
        webhooks=WebhookSender(db, settings.hr_webhook_secret, clock),
        clock=clock,
    )
