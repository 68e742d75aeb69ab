"""Builds the Bolt app: wiring only. Rules live in bot/services, Slack surfaces in commands/."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.listener.custom_listener import CustomListener

import commands
from bot.deps import Deps
from bot.idempotency import skip_repeated_deliveries
from commands.errors import answer_error

logger = logging.getLogger(__name__)


class AckedListener(CustomListener):
    """A listener whose failures after the ack are answered here instead of by Bolt's runner.

    slack_bolt 1.30's thread runner resets the ack when a listener raises after acknowledging; if its
    10 ms poll has not seen the ack yet, Slack gets a 404 and "didn't call ack()" even though we did.
    """

    def run_ack_function(self, *, request: BoltRequest, response: BoltResponse) -> BoltResponse | None:
        try:
            return super().run_ack_function(request=request, response=response)
        except Exception as error:
            if request.context.ack is None or request.context.ack.response is None:
                raise  # not acknowledged yet: Bolt answers Slack with a 500, as it should
            answer_error(error, request.body, request.context.client)
            return None


class TalentBotApp(App):
    def _register_listener(self, *args: Any, **kwargs: Any) -> Any:
        registered = super()._register_listener(*args, **kwargs)
        self._listeners[-1].__class__ = AckedListener
        return registered


def build_app(deps: Deps) -> App:
    settings = deps.settings
    app = TalentBotApp(
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
