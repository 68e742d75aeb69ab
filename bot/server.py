"""The HTTP face of the bot: Slack's single endpoint and a health check, served by uvicorn."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.deps import Deps
from storage.db import Database

logger = logging.getLogger(__name__)


def build_asgi_app(bolt_app: App, db: Database, *, deps: Deps | None = None) -> Starlette:
    inbox = getattr(bolt_app, "inbox", None)
    answering = inbox.answering if inbox is not None else nullcontext

    async def slack_events(request: Request) -> Response:
        # While a request is in hand, the inbox's jobs wait (briefly): acks first.
        with answering():
            body = await request.body()
            # Bolt's own Starlette handler dispatches on the event loop; the listeners block (database,
            # Slack calls), so dispatch runs on the thread pool to keep concurrent acks flowing.
            bolt_response = await run_in_threadpool(bolt_app.dispatch, to_bolt_request(request, body))
            return to_starlette_response(bolt_response)

    async def healthz(_: Request) -> Response:
        try:
            await run_in_threadpool(_ping, db)
        except Exception as error:
            logger.warning("health check: database unreachable: %s", error)
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True, "database": db.backend})

    routes = [
        Route("/slack/events", slack_events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    if deps is not None:
        # Pages the bot serves to people outside Slack (email tracking, unsubscribe): commands/__init__.py.
        import commands

        routes += commands.http_routes(deps)
    return Starlette(routes=routes, lifespan=_inbox_lifespan(bolt_app))


def _inbox_lifespan(bolt_app: App) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """The inbox (bot/inbox.py) polls for work left over from a crash while the server runs, and on
    shutdown finishes the jobs it has started before the process exits."""

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        inbox = getattr(bolt_app, "inbox", None)
        if inbox is not None:
            inbox.start()
        try:
            yield
        finally:
            if inbox is not None:
                await run_in_threadpool(inbox.close)

    return lifespan


def _ping(db: Database) -> None:
    with db.read() as session:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
