"""Admin actions: retrying notifications that Slack refused for good."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.outbox import retry_failed
from commands.home import publish_home
from commands.home_views import ACTION_RETRY_DELIVERY


def register(app: App, deps: Deps) -> None:
    @app.action(ACTION_RETRY_DELIVERY)
    def retry_delivery(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        outbox_id = int(action["value"])
        with deps.db.transaction() as session:
            retried = retry_failed(session, actor=actor, outbox_id=outbox_id, now=deps.clock())
        if retried:
            deps.outbox.deliver([outbox_id])
        publish_home(deps, client, actor.user_id)
