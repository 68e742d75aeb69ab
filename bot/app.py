"""Builds the Bolt app: wiring only. Rules live in bot/services, Slack surfaces in commands/."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.listener import Listener
from slack_bolt.listener.custom_listener import CustomListener
from slack_bolt.listener.thread_runner import ThreadListenerRunner
from slack_bolt.logger.messages import warning_did_not_call_ack

import commands
from bot.deps import Deps
from bot.idempotency import skip_repeated_deliveries
from bot.inbox import Inbox
from commands.errors import answer_error

logger = logging.getLogger(__name__)
# Threads that run the inbox's jobs. Few: a job is mostly a database transaction, and SQLite takes one
# writer at a time (sixteen threads queued on its lock until some gave up after the busy timeout).
INBOX_THREADS = 4

class AckedListener(CustomListener):
    """A listener whose failures after the ack are answered here instead of by Bolt's runner.

    slack_bolt 1.30's thread runner resets the ack when a listener raises after acknowledging; if its
    10 ms poll has not seen the ack yet, Slack gets a 404 and "didn't call ack()" even though we did.
    """

    acks_inline = False

    def run_ack_function(self, *, request: BoltRequest, response: BoltResponse) -> BoltResponse | None:
        try:
            return super().run_ack_function(request=request, response=response)
        except Exception as error:
            if request.context.ack is None or request.context.ack.response is None:
                raise  # not acknowledged yet: Bolt answers Slack with a 500, as it should
            answer_error(error, request.body, request.context.client)
            return None


class PerListenerRunner(ThreadListenerRunner):
    """Bolt's runner, except that listeners marked `acks_inline` (bot/inbox.py) run synchronously, on the
    request's own thread, and Slack gets their ack as soon as they return."""

    def run(self, request: BoltRequest, response: BoltResponse, listener_name: str, listener: Listener,
            starting_time: float | None = None) -> BoltResponse | None:
        if not getattr(listener, "acks_inline", False):
            return super().run(request, response, listener_name, listener, starting_time)
        ack = request.context.ack
        self.listener_start_handler.handle(request=request, response=response)
        try:
            listener.run_ack_function(request=request, response=response)
        except Exception as error:
            # Not acknowledged (AckedListener answers failures after the ack): a 500, like Bolt's runner.
            failed = BoltResponse(status=500, body="")
            self.listener_error_handler.handle(error=error, request=request, response=failed)
            return failed
        finally:
            self.listener_completion_handler.handle(request=request, response=response)
        if ack.response is None:
            self.logger.warning(warning_did_not_call_ack(listener_name))
        return ack.response


class TalentBotApp(App):
    def __init__(self, *args: Any, inbox: Inbox | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._listener_runner.__class__ = PerListenerRunner
        self.inbox = inbox

    def _register_listener(self, *args: Any, **kwargs: Any) -> Any:
        registered = super()._register_listener(*args, **kwargs)
        listener = self._listeners[-1]
        listener.__class__ = AckedListener
        listener.acks_inline = getattr(listener.ack_function, "acks_inline", False)  # type: ignore[attr-defined]
        return registered


def build_app(deps: Deps) -> TalentBotApp:
    settings = deps.settings
    app = TalentBotApp(
        client=deps.slack,
        # Signature verification is always on in HTTP mode; Socket Mode has no HTTP requests to sign.
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=not settings.socket_mode,
        # Ack first, then the rest of the listener runs in this pool (Slack's 3-second rule); listeners
        # marked `acks_inline` hand their slow work to the inbox instead.
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(max_workers=settings.talentbot_listener_threads,
                                             thread_name_prefix="listener"),
        logger=logging.getLogger("slack_bolt"),
        inbox=Inbox(deps.db, deps.clock, threads=INBOX_THREADS),
    )
    app.middleware(skip_repeated_deliveries(deps))
    commands.register_all(app, deps)
    return app
