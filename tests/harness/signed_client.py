"""Sends Slack-signed requests (slash commands, interactions, events) to the app under test.

Payload shapes follow what Slack actually sends, so the bot's Bolt listeners
see the same fields in tests as in production. ``AppServer`` runs an ASGI app
(the bot, or a stub) under uvicorn on a free loopback port.
"""

from __future__ import annotations

import copy
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

import httpx
import uvicorn
from slack_sdk.signature import SignatureVerifier

if TYPE_CHECKING:
    from .fake_slack import FakeSlack

API_APP_ID = "A0TALENT"
BOT_USER_ID = "UBOT"
# Slack still sends the legacy verification token in payloads; Bolt ignores it.
VERIFICATION_TOKEN = "legacy-verification-token"
TIMEOUT_SECONDS = 10.0

_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"


# ---------------------------------------------------------------------- state value builders
# Each returns the dict Slack puts at view.state.values[block_id][action_id].


def _option(value: str, text: str | None) -> dict[str, Any]:
    return {
        "text": {"type": "plain_text", "text": text if text is not None else value, "emoji": True},
        "value": value,
    }


def plain_text(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def email_text(value: str | None) -> dict[str, Any]:
    return {"type": "email_text_input", "value": value}


def url_text(value: str | None) -> dict[str, Any]:
    return {"type": "url_text_input", "value": value}


def number_text(value: int | float | str | None) -> dict[str, Any]:
    # Slack sends number_input values as strings, never as JSON numbers.
    return {"type": "number_input", "value": None if value is None else str(value)}


def static_select(value: str | None, text: str | None = None) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": None if value is None else _option(value, text)}


def multi_static_select(*values: str | tuple[str, str]) -> dict[str, Any]:
    return {"type": "multi_static_select", "selected_options": [_option_from(v) for v in values]}


def users_select(user_id: str | None) -> dict[str, Any]:
    return {"type": "users_select", "selected_user": user_id}


def multi_users_select(*user_ids: str) -> dict[str, Any]:
    return {"type": "multi_users_select", "selected_users": list(user_ids)}


def conversations_select(channel_id: str | None) -> dict[str, Any]:
    return {"type": "conversations_select", "selected_conversation": channel_id}


def checkboxes(*values: str | tuple[str, str]) -> dict[str, Any]:
    """Values are option values, or (value, text) pairs."""
    return {"type": "checkboxes", "selected_options": [_option_from(v) for v in values]}


def radio(value: str | None, text: str | None = None) -> dict[str, Any]:
    return {"type": "radio_buttons", "selected_option": None if value is None else _option(value, text)}


def datepicker(date: str | None) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": date}


def timepicker(hh_mm: str | None) -> dict[str, Any]:
    return {"type": "timepicker", "selected_time": hh_mm}


def _option_from(v: str | tuple[str, str]) -> dict[str, Any]:
    return _option(v[0], v[1]) if isinstance(v, tuple) else _option(v, None)


# ---------------------------------------------------------------------- view helpers


def _find_block(view: Mapping[str, Any], block_id: str) -> Mapping[str, Any] | None:
    for block in view.get("blocks") or []:
        if isinstance(block, Mapping) and block.get("block_id") == block_id:
            return block
    return None


def _block_element(block: Mapping[str, Any]) -> Mapping[str, Any] | None:
    element = block.get("element") or block.get("accessory")
    return element if isinstance(element, Mapping) else None


def _element_options(element: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    if "options" in element:
        return list(element["options"])
    if "option_groups" in element:
        return [o for g in element["option_groups"] for o in g.get("options", [])]
    return None


def _is_value_object(v: Any) -> bool:
    return isinstance(v, Mapping) and isinstance(v.get("type"), str)


def build_state_values(view: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Turn ``values`` into Slack's ``state.values``.

    ``values`` maps block_id -> {action_id: value_object}, or block_id ->
    value_object when the block's single element has an action_id in the
    view. Selected options get the option text the view really shows, and
    an option value the view does not offer raises ValueError, because
    Slack could never send it.
    """
    out: dict[str, dict[str, Any]] = {}
    for block_id, entry in values.items():
        block = _find_block(view, block_id)
        if block is None and view.get("blocks"):
            raise ValueError(f"block {block_id!r} is not in the view; Slack only sends state for its blocks")
        if _is_value_object(entry):
            element = _block_element(block) if block else None
            if element is None or not element.get("action_id"):
                raise ValueError(
                    f"block {block_id!r} has no element with an action_id in the view; "
                    "pass {action_id: value} explicitly"
                )
            entry = {element["action_id"]: entry}
        actions: dict[str, Any] = {}
        for action_id, value in dict(entry).items():
            value = copy.deepcopy(value)
            element = _block_element(block) if block else None
            if element is not None and element.get("action_id") == action_id:
                if element.get("type") != value.get("type"):
                    raise ValueError(
                        f"block {block_id!r} holds a {element.get('type')!r} element, not {value.get('type')!r}"
                    )
                _fill_option_texts(value, element, block_id)
            actions[action_id] = value
        out[block_id] = actions
    return out


def _fill_option_texts(value: dict[str, Any], element: Mapping[str, Any], block_id: str) -> None:
    options = _element_options(element)
    if options is None:
        return
    by_value = {o.get("value"): o for o in options if isinstance(o, Mapping)}
    selected = [value["selected_option"]] if value.get("selected_option") else []
    selected += value.get("selected_options") or []
    for opt in selected:
        if opt["value"] not in by_value:
            raise ValueError(
                f"option {opt['value']!r} is not offered by block {block_id!r}; "
                f"offered: {sorted(str(v) for v in by_value)}"
            )
        real = by_value[opt["value"]]
        opt["text"] = copy.deepcopy(real.get("text"))
        if real.get("description") is not None:
            opt["description"] = copy.deepcopy(real["description"])


# ---------------------------------------------------------------------- the client


class SignedSlackClient:
    """Posts Slack-signed requests to ``{base_url}{path}`` (default /slack/events)."""

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        *,
        team_id: str = "T0001",
        team_domain: str = "acme",
        fake_slack: FakeSlack | None = None,
        path: str = "/slack/events",
        settle: Callable[[], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + path
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.team_domain = team_domain
        self.fake_slack = fake_slack
        self._verifier = SignatureVerifier(signing_secret)
        # Loading the CA bundle costs ~0.1 s per client; plain-http test servers never need it.
        self._http = httpx.Client(timeout=TIMEOUT_SECONDS, verify=self.base_url.startswith("https://"))
        self._counter = itertools.count(1)
        # Called after every request: the app's work after the ack (bot/inbox.py) is then done when a
        # request returns, so a test reads its effects without sleeping.
        self._settle = settle

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SignedSlackClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ low level

    def sign(self, body: str, timestamp: int) -> str:
        signature = self._verifier.generate_signature(timestamp=str(timestamp), body=body)
        if signature is None:  # only when the verifier has no secret
            raise ValueError("cannot sign without a signing secret")
        return signature

    def raw(
        self,
        body: str,
        *,
        content_type: str,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Post ``body`` as is; the signature is valid for ``timestamp`` unless given."""
        ts = int(time.time()) if timestamp is None else timestamp
        sent_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature if signature is not None else self.sign(body, ts),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        sent_headers.update(headers or {})
        response = self._http.post(self.url, content=body.encode("utf-8"), headers=sent_headers)
        if self._settle is not None:
            self._settle()
        return response

    def _post_form(self, fields: Mapping[str, Any]) -> httpx.Response:
        return self.raw(urlencode(fields), content_type=_FORM)

    def _post_payload(self, payload: Mapping[str, Any]) -> httpx.Response:
        return self._post_form({"payload": json.dumps(payload)})

    # ------------------------------------------------------------------ ids and shapes

    def trigger_id(self) -> str:
        if self.fake_slack is not None:
            return self.fake_slack.new_trigger_id()
        n = next(self._counter)
        return f"{12345 + n}.{98765 + n}.{uuid.uuid4().hex}"

    def response_url(self) -> str:
        if self.fake_slack is not None:
            return self.fake_slack.response_url()
        n = next(self._counter)
        return f"https://hooks.slack.com/actions/{self.team_id}/{n}/{uuid.uuid4().hex[:24]}"

    def _username(self, user_id: str) -> str:
        if self.fake_slack is not None:
            user = self.fake_slack.get_user(user_id)
            if user is not None:
                return user.name
        return user_id.lower()

    def _user(self, user_id: str) -> dict[str, Any]:
        name = self._username(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _team(self) -> dict[str, Any]:
        return {"id": self.team_id, "domain": self.team_domain}

    def _channel(self, channel_id: str) -> dict[str, Any]:
        name = channel_id.lower()
        channel = self.fake_slack.get_channel(channel_id) if self.fake_slack is not None else None
        if channel is not None:
            name = channel.name
        elif channel_id.startswith("D"):
            name = "directmessage"
        return {"id": channel_id, "name": name}

    @staticmethod
    def _action_ts() -> str:
        return f"{time.time():.6f}"

    def _interaction_base(self, kind: str, user_id: str) -> dict[str, Any]:
        return {
            "type": kind,
            "token": VERIFICATION_TOKEN,
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": API_APP_ID,
            "is_enterprise_install": False,
            "enterprise": None,
        }

    # ------------------------------------------------------------------ slash commands

    def slash_command(
        self,
        user_id: str,
        command: str,
        text: str = "",
        channel_id: str = "C0RECRUIT",
        user_name: str | None = None,
    ) -> httpx.Response:
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": self._channel(channel_id)["name"],
            "user_id": user_id,
            "user_name": user_name if user_name is not None else self._username(user_id),
            "command": command,
            "text": text,
            "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.response_url(),
            "trigger_id": self.trigger_id(),
        }
        return self._post_form(fields)

    # ------------------------------------------------------------------ views

    def view_submission(self, user_id: str, view: Mapping[str, Any], values: Mapping[str, Any]) -> httpx.Response:
        """Submit ``view`` (as returned by views.open) with ``values``; see build_state_values."""
        submitted = copy.deepcopy(dict(view))
        submitted["state"] = {"values": build_state_values(view, values)}
        payload = self._interaction_base("view_submission", user_id)
        payload.update({"trigger_id": self.trigger_id(), "view": submitted, "response_urls": []})
        return self._post_payload(payload)

    def view_closed(self, user_id: str, view: Mapping[str, Any]) -> httpx.Response:
        payload = self._interaction_base("view_closed", user_id)
        payload.update({"view": copy.deepcopy(dict(view)), "is_cleared": False})
        return self._post_payload(payload)

    # ------------------------------------------------------------------ block actions

    def block_action(
        self,
        user_id: str,
        action_id: str,
        value: str | None = None,
        *,
        block_id: str = "b",
        action_type: str = "button",
        selected_option: Mapping[str, Any] | None = None,
        message: Mapping[str, Any] | None = None,
        channel_id: str | None = None,
        view: Mapping[str, Any] | None = None,
        container: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """A block_actions payload from a message (pass message + channel_id) or a view (pass view)."""
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": action_type,
            "action_ts": self._action_ts(),
        }
        if action_type == "button":
            action["text"] = {"type": "plain_text", "text": action_id, "emoji": True}
            if value is not None:
                action["value"] = value
        elif selected_option is not None:
            action["selected_option"] = dict(selected_option)
        elif action_type in ("static_select", "external_select", "overflow", "radio_buttons"):
            action["selected_option"] = None if value is None else _option(value, None)
        elif action_type == "users_select":
            action["selected_user"] = value
        elif action_type == "conversations_select":
            action["selected_conversation"] = value
        elif action_type == "channels_select":
            action["selected_channel"] = value
        elif action_type == "datepicker":
            action["selected_date"] = value
        elif action_type == "timepicker":
            action["selected_time"] = value
        elif action_type == "checkboxes":
            action["selected_options"] = [] if value is None else [_option(value, None)]
        elif value is not None:
            action["value"] = value

        payload = self._interaction_base("block_actions", user_id)
        payload["trigger_id"] = self.trigger_id()
        payload["actions"] = [action]
        if view is not None:
            payload["container"] = dict(container or {"type": "view", "view_id": view.get("id")})
            payload["view"] = copy.deepcopy(dict(view))
            payload["state"] = copy.deepcopy(view.get("state") or {"values": {}})
        else:
            msg = dict(message) if message is not None else {"type": "message", "ts": "1700000000.000100"}
            channel = channel_id or "C0RECRUIT"
            payload["container"] = dict(
                container
                or {
                    "type": "message",
                    "message_ts": msg.get("ts"),
                    "channel_id": channel,
                    "is_ephemeral": False,
                }
            )
            payload["channel"] = self._channel(channel)
            payload["message"] = msg
            payload["state"] = {"values": {}}
            payload["response_url"] = self.response_url()
        return self._post_payload(payload)

    # ------------------------------------------------------------------ shortcuts

    def message_shortcut(
        self, user_id: str, callback_id: str, message: Mapping[str, Any], channel_id: str
    ) -> httpx.Response:
        payload = self._interaction_base("message_action", user_id)
        payload.update(
            {
                "callback_id": callback_id,
                "trigger_id": self.trigger_id(),
                "action_ts": self._action_ts(),
                "channel": self._channel(channel_id),
                "message_ts": message.get("ts"),
                "message": dict(message),
                "response_url": self.response_url(),
            }
        )
        return self._post_payload(payload)

    def global_shortcut(self, user_id: str, callback_id: str) -> httpx.Response:
        payload = self._interaction_base("shortcut", user_id)
        payload.update({"callback_id": callback_id, "trigger_id": self.trigger_id(), "action_ts": self._action_ts()})
        return self._post_payload(payload)

    # ------------------------------------------------------------------ Events API

    def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> httpx.Response:
        """An event_callback envelope; pass the same event_id with retry_num to simulate a Slack retry."""
        now = int(time.time())
        body = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "api_app_id": API_APP_ID,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{uuid.uuid4().hex}",
        }
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self.raw(json.dumps(body), content_type=_JSON, headers=headers)

    def url_verification(self, challenge: str) -> httpx.Response:
        body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return self.raw(json.dumps(body), content_type=_JSON)


# ---------------------------------------------------------------------- running an ASGI app


class AppServer:
    """Serve an ASGI app with uvicorn on a free 127.0.0.1 port in a background thread.

    ``with AppServer(app) as server: server.base_url``. Binding the socket
    ourselves (port 0) avoids racing other tests for a "free" port.
    """

    def __init__(
        self, app: Any, *, lifespan: Literal["auto", "on", "off"] = "auto", startup_timeout: float = 10.0
    ) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._startup_timeout = startup_timeout

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="app-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("app server thread exited during startup")
            if time.monotonic() > deadline:
                raise RuntimeError("app server did not start in time")
            time.sleep(0.005)
        return self.base_url

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> AppServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
