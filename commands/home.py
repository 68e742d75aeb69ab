"""The App Home tab, published when someone opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.services.referrals import my_referrals
from commands.home_views import MAX_PROBLEMS_SHOWN, build_home
from commands.referral_views import STATUS_PAGE_SIZE
from storage import queries
from storage.models import OutboxStatus


def publish_home(deps: Deps, client: WebClient, user_id: str) -> None:
    actor = deps.roles.actor(user_id)
    with deps.db.read() as session:
        referrals = my_referrals(session, actor=actor, limit=STATUS_PAGE_SIZE)
        failed = queries.failed_outbox_messages(session, limit=MAX_PROBLEMS_SHOWN) if actor.is_admin else None
        failed_total = queries.count_outbox(session, OutboxStatus.FAILED) if actor.is_admin else 0
    client.views_publish(user_id=user_id, view=build_home(referrals=referrals, failed_deliveries=failed,
                                                          failed_total=failed_total))


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            publish_home(deps, client, event["user"])

    @app.action("home_refresh")
    def refresh(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        publish_home(deps, client, body["user"]["id"])
