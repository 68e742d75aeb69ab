"""Builds the Bolt app: wiring only. Rules live in bot/services, Slack surfaces in commands/."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App

import commands
from bot.deps import Deps
from bot.idempotency import skip_repeated_deliveries

logger = logging.getLogger(__name__)


def build_app(deps: Deps) -> App:
    settings = deps.settings
    app = App(
        client=deps.slack,
        # Signature verification is always on in HTTP mode; Socket Mode has no HTTP requests to sign.
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=not settings.socket_mode,
        # Ack first, then the rest of the listener runs in this pool (Slack's 3-second rule).
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(max_workers=settings.talentbot_listener_threads,
                                             thread_name_prefix="listener"),
        logger=logging.getLogger("slack_bolt"),
    )
    app.middleware(skip_repeated_deliveries(deps))
    commands.register_all(app, deps)
    return app
