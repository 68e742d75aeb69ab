"""Admin actions: retrying notifications that Slack refused for good, and emails the mail server refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.mail import retry_failed_email
from bot.outbox import retry_failed
from commands.admin_views import ACTION_RETRY_EMAIL
from commands.home import publish_home
from commands.home_views import ACTION_RETRY_DELIVERY


def register(app: App, deps: Deps) -> None:
    def retry(body: dict[str, Any], action: dict[str, Any], client: WebClient, *,
              requeue: Callable[..., bool], deliver: Callable[[list[int]], object]) -> None:
        actor = deps.roles.actor(body["user"]["id"])
        row_id = int(action["value"])
        with deps.db.transaction() as session:
            retried = requeue(session, actor=actor, row_id=row_id, now=deps.clock())
        if retried:
            deliver([row_id])
        publish_home(deps, client, actor.user_id)

    @app.action(ACTION_RETRY_DELIVERY)
    def retry_delivery(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        retry(body, action, client, deliver=deps.outbox.deliver,
              requeue=lambda session, actor, row_id, now: retry_failed(session, actor=actor, outbox_id=row_id, now=now))

    @app.action(ACTION_RETRY_EMAIL)
    def retry_email(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        retry(body, action, client, deliver=deps.mailer.deliver,
              requeue=lambda session, actor, row_id, now: retry_failed_email(session, actor=actor, email_id=row_id,
                                                                             now=now))
