"""The HTTP face of the bot: Slack's single endpoint and a health check, served by uvicorn."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from storage.db import Database

logger = logging.getLogger(__name__)


def build_asgi_app(bolt_app: App, db: Database) -> Starlette:
    async def slack_events(request: Request) -> Response:
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

    return Starlette(routes=[
        Route("/slack/events", slack_events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ])


def _ping(db: Database) -> None:
    with db.read() as session:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
