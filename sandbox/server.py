"""The sandbox's HTTP face: the web page, its small JSON API, the Slack Web API the bot calls, and the bot.

One Starlette app on 127.0.0.1 serves all of it:
    /                      the page (server-rendered shell, vanilla JS renders Block Kit)
    /sandbox/...           what the page calls: state polling and what a person does
    /api/<method>          the Slack Web API (SLACK_API_URL points here)
    /response_url/<key>    response_urls handed to the bot in interactions
    /slack/events, /healthz the bot itself, unchanged
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from sandbox.delivery import Deliverer, answer_json, channel_name, interaction
from sandbox.mailcatcher import MailCatcher
from sandbox.people import BOT_NAME, BOT_USER_ID, CHANNELS, PEOPLE, PEOPLE_BY_ID, TEAM_DOMAIN, TEAM_ID
from sandbox.workspace import Message, ResponseTarget, SlackError, Workspace

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
# Form bodies carry these as JSON strings; Slack decodes them server-side.
JSON_ARGS = frozenset({"blocks", "view", "attachments", "metadata"})
MENTION = re.compile(r"<@" + BOT_USER_ID + r">")
SLACKBOT = "USLACKBOT"


@dataclass
class SandboxConfig:
    base_url: str
    bot_token: str
    signing_secret: str


def new_credentials() -> tuple[str, str]:
    """A bot token and a signing secret for one run; the bot and the sandbox share nothing else."""
    return f"xoxb-sandbox-{secrets.token_hex(12)}", secrets.token_hex(32)


async def _slack_args(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        args = json.loads(raw or b"{}")
    else:
        args = {key: values[-1] for key, values in parse_qs(raw.decode()).items()}
        for key in JSON_ARGS & args.keys():
            with contextlib.suppress(ValueError):
                args[key] = json.loads(args[key])
    args.update({key: value for key, value in request.query_params.items() if key not in args})
    return args


def build_sandbox_app(bot_asgi: ASGIApp, config: SandboxConfig, *, mail: MailCatcher | None = None,
                      workspace: Workspace | None = None) -> Starlette:
    ws = workspace or Workspace()
    deliver = Deliverer(f"{config.base_url}/slack/events", config.signing_secret)
    templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))

    def slackbot_says(user: str, channel: str, text: str, thread_ts: str | None = None) -> None:
        ws.add_message(Message(channel, ws.next_ts(), SLACKBOT, text, [], thread_ts, ephemeral_for=user))

    def show_answer(user: str, channel: str, answer: dict[str, Any], thread_ts: str | None) -> None:
        """What the bot put in its ack (a slash command's text, say) appears as Slack shows it: only to them."""
        if answer.get("text") or answer.get("blocks"):
            ws.add_message(Message(channel, ws.next_ts(), BOT_USER_ID, str(answer.get("text") or ""),
                                   list(answer.get("blocks") or []), thread_ts,
                                   ephemeral_for=None if answer.get("response_type") == "in_channel" else user))

    def failed(user: str, channel: str, what: str, status: int) -> None:
        slackbot_says(user, channel, f"{what} failed with the error \"dispatch_failed\" (HTTP {status}).")

    # ------------------------------------------------------------------ the Slack Web API

    async def web_api(request: Request) -> Response:
        method = request.path_params["method"]
        args = await _slack_args(request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip() or args.get("token")
        if token != config.bot_token:
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        try:
            return JSONResponse(ws.call(method, args))
        except SlackError as error:
            # Slack would refuse it too; the console says why, as Slack's API tester would.
            logger.warning("sandbox: %s refused: %s %s", method, error.error, error.extra or "")
            return JSONResponse({"ok": False, "error": error.error, **error.extra})

    async def response_url(request: Request) -> Response:
        try:
            ws.respond(request.path_params["key"], json.loads(await request.body() or b"{}"))
        except SlackError as error:
            return JSONResponse({"ok": False, "error": error.error}, status_code=404)
        return JSONResponse({"ok": True})

    # ------------------------------------------------------------------ the page

    async def index(_: Request) -> Response:
        people = [{"id": p.id, "name": p.name, "role": p.role, "title": p.title} for p in PEOPLE]
        page = templates.get_template("index.html").render(
            people=people, bot={"id": BOT_USER_ID, "name": BOT_NAME}, team=TEAM_DOMAIN,
            # "</" escaped: the JSON sits inside a <script> element.
            boot=json.dumps({"people": people, "bot": {"id": BOT_USER_ID, "name": BOT_NAME},
                             "channels": [{"id": c.id, "name": c.name} for c in CHANNELS]}).replace("</", "<\\/"))
        return HTMLResponse(page)

    async def state(request: Request) -> Response:
        user = request.query_params.get("user", "")
        if user not in PEOPLE_BY_ID:
            return JSONResponse({"error": "unknown user"}, status_code=400)
        channel = request.query_params.get("channel") or ""
        if channel == "dm":
            channel = "D" + user[1:]
        body = ws.page_state(user, channel, request.query_params.get("thread") or None)
        body["outbox"] = [email.as_page() for email in (mail.snapshot() if mail else [])]
        return JSONResponse(body)

    async def _person(request: Request) -> tuple[str, dict[str, Any]]:
        body = await request.json()
        user = str(body.get("user") or "")
        if user not in PEOPLE_BY_ID:
            raise SlackError("user_not_found")
        return user, body

    async def post_message(request: Request) -> Response:
        user, body = await _person(request)
        channel = ws.channel_id(body.get("channel"))
        text = str(body.get("text") or "").strip()
        thread_ts = body.get("thread_ts") or None
        if not text:
            return JSONResponse({"ok": False, "error": "no_text"})
        # The composer writes @talentbot; Slack sends mentions to apps as <@U…>.
        text = re.sub(r"@" + BOT_NAME + r"\b", f"<@{BOT_USER_ID}>", text)
        message = ws.post_as(user, channel, text, thread_ts)
        event: dict[str, Any] = {"user": user, "text": text, "ts": message.ts, "channel": channel,
                                 "event_ts": message.ts, "team": TEAM_ID}
        if thread_ts:
            event["thread_ts"] = thread_ts
        if channel.startswith("D"):
            response = await deliver.event({"type": "message", "channel_type": "im", **event})
        elif MENTION.search(text):
            response = await deliver.event({"type": "app_mention", **event})
        else:
            return JSONResponse({"ok": True, "ts": message.ts})
        return JSONResponse({"ok": response.status_code == 200, "ts": message.ts})

    async def command(request: Request) -> Response:
        user, body = await _person(request)
        channel = ws.channel_id(body.get("channel"))
        name = "/" + str(body.get("command") or "").lstrip("/")
        fields = {
            "token": "sandbox-verification-token", "team_id": TEAM_ID, "team_domain": TEAM_DOMAIN,
            "channel_id": channel, "channel_name": channel_name(channel), "user_id": user,
            "user_name": PEOPLE_BY_ID[user].handle, "command": name, "text": str(body.get("text") or ""),
            "api_app_id": "A0SBTALENT", "is_enterprise_install": "false",
            "response_url": ws.new_response_url(config.base_url, ResponseTarget(user, channel, None, None)),
            "trigger_id": ws.new_trigger(user),
        }
        response = await deliver.form(fields)
        if response.status_code != 200:
            failed(user, channel, name, response.status_code)
        else:
            show_answer(user, channel, answer_json(response), None)
        return JSONResponse({"ok": response.status_code == 200})

    async def action(request: Request) -> Response:
        """A click, a selection or a date in a message, the App Home or a modal: a block_actions payload."""
        user, body = await _person(request)
        act = dict(body["action"])
        act["action_ts"] = ws.next_ts()
        payload = interaction("block_actions", user, trigger_id=ws.new_trigger(user), actions=[act])
        if body.get("view_id"):
            owner, stack, index = ws.locate_view(body["view_id"])
            view = dict(stack[index] if stack is not None else ws.home_views[owner])
            view["state"] = {"values": body.get("values") or {}}
            if stack is not None:
                stack[index]["state"] = view["state"]
            payload.update({"container": {"type": "view", "view_id": view["id"]}, "view": view,
                            "state": view["state"]})
            channel = "D" + user[1:]
        else:
            channel = ws.channel_id(body.get("channel"))
            message = ws.find(channel, str(body.get("ts")))
            target = ResponseTarget(user, channel, message.ts, message.thread_ts)
            container: dict[str, Any] = {"type": "message", "message_ts": message.ts, "channel_id": channel,
                                         "is_ephemeral": message.ephemeral_for is not None}
            if message.thread_ts:
                container["thread_ts"] = message.thread_ts
            payload.update({"container": container, "channel": {"id": channel, "name": channel_name(channel)},
                            "state": {"values": body.get("values") or {}},
                            "response_url": ws.new_response_url(config.base_url, target)})
            if message.ephemeral_for is None:
                payload["message"] = message.as_slack()
        response = await deliver.payload(payload)
        if response.status_code != 200:
            failed(user, channel, "The button", response.status_code)
        return JSONResponse({"ok": response.status_code == 200})

    async def options(request: Request) -> Response:
        """An external select asks the bot for its options as the person types (block_suggestion)."""
        user, body = await _person(request)
        payload = interaction("block_suggestion", user, action_id=body["action_id"], block_id=body["block_id"],
                              value=str(body.get("value") or ""), action_ts=ws.next_ts())
        if body.get("view_id"):
            _, stack, index = ws.locate_view(body["view_id"])
            view = dict(stack[index]) if stack is not None else dict(ws.home_views[user])
            view["state"] = {"values": body.get("values") or {}}
            payload.update({"container": {"type": "view", "view_id": view["id"]}, "view": view})
        response = await deliver.payload(payload)
        answer = answer_json(response) if response.status_code == 200 else {}
        return JSONResponse({"options": answer.get("options"), "option_groups": answer.get("option_groups")})

    async def submit(request: Request) -> Response:
        user, body = await _person(request)
        stack = ws.modals.get(user) or []
        if not stack or stack[-1]["id"] != body.get("view_id"):
            return JSONResponse({"ok": False, "error": "not_found"})
        view = stack[-1]
        view["state"] = {"values": body.get("values") or {}}
        payload = interaction("view_submission", user, trigger_id=ws.new_trigger(user), view=view,
                              response_urls=[])
        response = await deliver.payload(payload)
        if response.status_code != 200:
            return JSONResponse({"ok": False, "error": "We had some trouble connecting. Try again?"})
        answer = answer_json(response)
        kind = answer.get("response_action")
        if kind == "errors":
            return JSONResponse({"ok": False, "errors": answer.get("errors") or {}})
        if kind == "update":
            ws.modals[user][-1] = ws.store_view(answer["view"], user=user, view_id=view["id"],
                                                  root_view_id=view["root_view_id"], previous=view)
        elif kind == "push":
            pushed = ws.store_view(answer["view"], user=user, root_view_id=view["root_view_id"])
            pushed["previous_view_id"] = view["id"]
            ws.modals[user].append(pushed)
        elif kind == "clear":
            ws.modals.pop(user, None)
        elif ws.modals.get(user) and ws.modals[user][-1]["id"] == view["id"]:
            ws.modals[user].pop()
        ws.changed()
        return JSONResponse({"ok": True})

    async def close(request: Request) -> Response:
        user, _ = await _person(request)
        stack = ws.modals.get(user) or []
        if not stack:
            return JSONResponse({"ok": True})
        view = stack.pop()
        if view.get("clear_on_close"):
            stack.clear()
        ws.changed()
        if view.get("notify_on_close"):
            await deliver.payload(interaction("view_closed", user, view=view, is_cleared=not stack))
        return JSONResponse({"ok": True})

    async def open_home(request: Request) -> Response:
        user, _ = await _person(request)
        event = {"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home",
                 "event_ts": ws.next_ts()}
        if user in ws.home_views:
            event["view"] = ws.home_views[user]
        response = await deliver.event(event)
        return JSONResponse({"ok": response.status_code == 200})

    async def shortcut(request: Request) -> Response:
        """A message shortcut from a message's menu (the manifest's "Add to timeline")."""
        user, body = await _person(request)
        channel = ws.channel_id(body.get("channel"))
        message = ws.find(channel, str(body.get("ts")))
        target = ResponseTarget(user, channel, message.ts, message.thread_ts)
        payload = interaction("message_action", user, callback_id=body["callback_id"],
                              trigger_id=ws.new_trigger(user), action_ts=ws.next_ts(),
                              channel={"id": channel, "name": channel_name(channel)}, message_ts=message.ts,
                              message=message.as_slack(), response_url=ws.new_response_url(config.base_url, target))
        response = await deliver.payload(payload)
        return JSONResponse({"ok": response.status_code == 200})

    def guarded(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except SlackError as error:
                return JSONResponse({"ok": False, "error": error.error}, status_code=400)
        return run

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await deliver.close()

    page_routes = [("/sandbox/message", post_message), ("/sandbox/command", command), ("/sandbox/action", action),
                   ("/sandbox/options", options), ("/sandbox/submit", submit), ("/sandbox/close", close),
                   ("/sandbox/home", open_home), ("/sandbox/shortcut", shortcut)]
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/sandbox/state", state),
            *(Route(path, guarded(handler), methods=["POST"]) for path, handler in page_routes),
            Route("/api/{method:str}", web_api, methods=["GET", "POST"]),
            Route("/response_url/{key:str}", response_url, methods=["POST"]),
            Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
            Mount("/", app=bot_asgi),
        ],
        lifespan=lifespan,
    )
    app.state.workspace = ws
    return app
