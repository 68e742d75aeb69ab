"""A fake Slack Web API on loopback that answers like Slack and refuses what Slack refuses.

Point a ``slack_sdk.WebClient`` at ``FakeSlack.base_url``. The server is a
stdlib ``ThreadingHTTPServer`` on a background thread: it starts in a few
milliseconds and needs no event loop, so it works from plain sync tests.

Every request is recorded as a ``Call``; tests assert on those records and
use ``fail_next`` / ``go_down`` to exercise the bot's delivery rules.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from . import blockkit_limits as limits

DEFAULT_SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "slack-spec" / "web-api-methods.json"

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A0TALENT"
TRIGGER_ID_RE = re.compile(r"^\d+\.\d+\.[0-9a-f]+$")

# Form bodies carry these as JSON strings; Slack decodes them server-side.
_JSON_ARGS = frozenset({"blocks", "view", "attachments", "metadata", "unfurled_attachments", "user_auth_blocks"})
# Timestamps start at a fixed epoch so tests are deterministic but still look real.
_TS_EPOCH = 1_700_000_000

Predicate = Callable[["Call"], bool]


@dataclass
class Call:
    """One request the fake received, with what it answered."""

    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None
    response: dict[str, Any]
    status: int
    headers: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    path: str = ""
    http_method: str = "POST"
    at: float = 0.0

    def __str__(self) -> str:
        args = json.dumps(self.args, default=str)
        if len(args) > 300:
            args = args[:300] + "…"
        outcome = "ok" if self.ok else f"error={self.error!r} status={self.status}"
        return f"{self.method} {outcome} args={args}"


@dataclass
class FakeUser:
    id: str
    name: str
    real_name: str
    email: str | None
    tz: str
    is_bot: bool
    display_name: str


@dataclass
class FakeChannel:
    id: str
    name: str
    is_private: bool
    members: list[str] | None
    bot_is_member: bool


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    remaining: int


class SlackError(Exception):
    """Raised inside method handlers; becomes an ``{"ok": false}`` answer."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        messages: list[str] | None = None,
        errors: list[str] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.messages = messages
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.errors is not None:
            body["errors"] = self.errors
        if self.messages is not None:
            body["response_metadata"] = {"messages": self.messages}
        return body


def _invalid_arguments(*messages: str) -> SlackError:
    return SlackError("invalid_arguments", messages=[f"[ERROR] {m}" for m in messages])


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _sdk_block_errors(blocks: list[Any], pointer: str) -> list[str]:
    # to_dict() rather than validate_json(): only to_dict() recurses into
    # nested elements (e.g. a button's text inside an actions block).
    out: list[str] = []
    for i, raw in enumerate(blocks):
        if not isinstance(raw, Mapping):
            continue
        try:
            parsed = Block.parse(dict(raw))
            if parsed is not None:
                parsed.to_dict()
        except SlackObjectFormationError as e:
            out.append(f"{e} [json-pointer:{pointer}/{i}]")
        except (TypeError, ValueError, AttributeError, KeyError) as e:
            out.append(f"malformed block: {e} [json-pointer:{pointer}/{i}]")
    return out


def _sdk_view_errors(view: Mapping[str, Any]) -> list[str]:
    try:
        View(**dict(view)).to_dict()
    except SlackObjectFormationError as e:
        return [f"{e} [json-pointer:/view]"]
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        return [f"malformed view: {e} [json-pointer:/view]"]
    return []


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


class FakeSlack:
    """Fake Slack Web API server. See module docstring.

    ``go_down()`` really closes the listening socket (clients get
    "connection refused"); ``come_back()`` rebinds the same port.
    """

    def __init__(
        self,
        tokens: tuple[str, ...] = ("xoxb-test",),
        spec_path: str | Path | None = None,
        *,
        team_id: str = "T0001",
        team: str = "Acme",
        domain: str = "acme",
    ) -> None:
        self.tokens = tuple(tokens)
        self.team_id = team_id
        self.team = team
        self.domain = domain
        spec_file = Path(spec_path) if spec_path is not None else DEFAULT_SPEC_PATH
        self.spec: dict[str, dict[str, Any]] = json.loads(spec_file.read_text(encoding="utf-8"))

        # One re-entrant lock guards all state; the condition lets wait_for
        # sleep until a handler thread records a new call.
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._failures: dict[str, list[_Failure]] = {}

        self._users: dict[str, FakeUser] = {}
        self._channels: dict[str, FakeChannel] = {}
        self._usergroups: dict[str, dict[str, Any]] = {}
        self._group_dms: dict[str, list[str]] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._reactions: set[tuple[str, str, str]] = set()
        self._views: dict[str, dict[str, Any]] = {}
        self._external_ids: dict[str, str] = {}
        self._opened: list[str] = []
        self._home: dict[str, str] = {}
        self._issued_triggers: set[str] = set()
        self._used_triggers: set[str] = set()
        self._expired_triggers: set[str] = set()

        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._response_url_counter = itertools.count(1)

        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._down = False

        self.add_user(BOT_USER_ID, name="talentbot", real_name="TalentBot", is_bot=True)
        self._handlers: dict[str, Callable[[dict[str, Any], list[str]], dict[str, Any]]] = {
            "auth.test": self._api_auth_test,
            "chat.postMessage": self._api_chat_post_message,
            "chat.postEphemeral": self._api_chat_post_ephemeral,
            "chat.update": self._api_chat_update,
            "chat.scheduleMessage": self._api_chat_schedule_message,
            "chat.getPermalink": self._api_chat_get_permalink,
            "conversations.open": self._api_conversations_open,
            "conversations.info": self._api_conversations_info,
            "conversations.members": self._api_conversations_members,
            "users.info": self._api_users_info,
            "users.lookupByEmail": self._api_users_lookup_by_email,
            "users.list": self._api_users_list,
            "usergroups.list": self._api_usergroups_list,
            "usergroups.users.list": self._api_usergroups_users_list,
            "views.open": self._api_views_open,
            "views.push": self._api_views_push,
            "views.update": self._api_views_update,
            "views.publish": self._api_views_publish,
            "reactions.add": self._api_reactions_add,
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Start serving (idempotent) and return ``base_url``."""
        with self._lock:
            if self._server is None:
                self._serve(port=self._port or 0)
                self._down = False
            return self.base_url

    def stop(self) -> None:
        with self._lock:
            self._shutdown_server()
            self._down = False

    def go_down(self) -> None:
        """Close the listening socket so every call fails with connection refused."""
        with self._lock:
            if self._server is None:
                raise RuntimeError("FakeSlack is not running")
            self._shutdown_server()
            self._down = True

    def come_back(self) -> None:
        """Reopen the same port after ``go_down()``."""
        with self._lock:
            if not self._down:
                return
            self._serve(port=self._port or 0)
            self._down = False

    def __enter__(self) -> FakeSlack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self, port: int) -> None:
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        server = _QuietServer(("127.0.0.1", port), handler)
        self._server = server
        self._port = server.server_address[1]
        # A short poll interval keeps stop()/go_down() fast (shutdown waits one poll).
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.005}, name="fake-slack", daemon=True
        )
        self._thread.start()

    def _shutdown_server(self) -> None:
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=2)

    @property
    def root_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeSlack has not been started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/api/"

    # ------------------------------------------------------------------ seeding

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "Europe/Berlin",
        is_bot: bool = False,
        *,
        display_name: str | None = None,
    ) -> FakeUser:
        name = name or user_id.lower()
        user = FakeUser(
            id=user_id,
            name=name,
            real_name=real_name if real_name is not None else name,
            email=email,
            tz=tz,
            is_bot=is_bot,
            display_name=display_name if display_name is not None else name,
        )
        with self._lock:
            self._users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        members: list[str] | None = None,
        bot_is_member: bool = True,
    ) -> FakeChannel:
        """``members=None`` means every registered user is a member."""
        channel = FakeChannel(
            channel_id, name, is_private, list(members) if members is not None else None, bot_is_member
        )
        with self._lock:
            self._channels[channel_id] = channel
        return channel

    def add_usergroup(self, group_id: str, handle: str, user_ids: list[str], *, name: str | None = None) -> None:
        with self._lock:
            self._usergroups[group_id] = {
                "id": group_id,
                "handle": handle,
                "name": name or handle,
                "users": list(user_ids),
            }

    def get_user(self, user_id: str) -> FakeUser | None:
        with self._lock:
            return self._users.get(user_id)

    def get_channel(self, channel_id: str) -> FakeChannel | None:
        with self._lock:
            return self._channels.get(channel_id)

    def new_trigger_id(self) -> str:
        """A trigger id views.open/push will accept once, like Slack's."""
        n = next(self._id_counter)
        trigger = f"{1000 + n}.{9_876_543_210 + n}.{uuid.uuid4().hex}"
        with self._lock:
            self._issued_triggers.add(trigger)
        return trigger

    def expired_trigger(self, trigger_id: str) -> None:
        """Make views.open/push with this trigger answer expired_trigger_id."""
        with self._lock:
            self._expired_triggers.add(trigger_id)

    def response_url(self) -> str:
        """A fresh response_url on this server; POSTs to it are recorded as method "response_url"."""
        return f"{self.root_url}/response_url/{next(self._response_url_counter)}"

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        method: str,
        *,
        times: int = 1,
        error: str = "internal_error",
        status: int = 200,
        retry_after: int | None = None,
    ) -> None:
        """Fail the next ``times`` calls to ``method`` ("*" = any method).

        status 429 answers ``{"ok": false, "error": "ratelimited"}`` with a
        Retry-After header; other statuses answer that status with ``error``.
        """
        if status == 429:
            error = "ratelimited"
            retry_after = 1 if retry_after is None else retry_after
        with self._lock:
            self._failures.setdefault(method, []).append(_Failure(error, status, retry_after, times))

    def _take_failure(self, method: str) -> _Failure | None:
        for key in (method, "*"):
            queue = self._failures.get(key)
            if queue:
                failure = queue[0]
                failure.remaining -= 1
                if failure.remaining <= 0:
                    queue.pop(0)
                return failure
        return None

    # ------------------------------------------------------------------ inspection

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def clear(self) -> None:
        """Forget recorded calls and pending failures; seeded data and views stay."""
        with self._lock:
            self._calls.clear()
            self._failures.clear()

    def wait_for(self, method: str, predicate: Predicate = lambda call: True, timeout: float = 5.0) -> Call:
        """Block until a successful matching call is recorded (including ones already recorded)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self._calls:
                    if call.method == method and call.ok and predicate(call):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no successful {method} call matched within {timeout}s; recorded calls:\n"
                        + self._describe_calls()
                    )
                self._cond.wait(remaining)

    def assert_no_call(self, method: str, predicate: Predicate | None = None, within: float = 0.3) -> None:
        """Wait ``within`` seconds, then fail if any call (ok or refused) to ``method`` matched."""
        time.sleep(within)
        matching = [c for c in self.calls_to(method) if predicate is None or predicate(c)]
        if matching:
            raise AssertionError(
                f"expected no {method} call but got {len(matching)}:\n" + "\n".join(f"  {c}" for c in matching)
            )

    def _describe_calls(self) -> str:
        if not self._calls:
            return "  (none)"
        return "\n".join(f"  {c}" for c in self._calls)

    def messages_in(self, channel_or_user_id: str) -> list[Call]:
        """Successful chat.postMessage calls to a channel; a user id and its DM channel are the same."""
        target = self._dm_channel_for(channel_or_user_id)
        return [c for c in self.calls_to("chat.postMessage") if c.ok and c.response.get("channel") == target]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        with self._lock:
            view_id = self._home.get(user_id)
            return _copy(self._views[view_id]) if view_id else None

    def opened_views(self) -> list[dict[str, Any]]:
        """Views opened by views.open/views.push, oldest first, as they are now (after updates)."""
        with self._lock:
            return [_copy(self._views[v]) for v in self._opened]

    def view(self, view_id: str) -> dict[str, Any]:
        with self._lock:
            if view_id not in self._views:
                raise KeyError(f"no view {view_id!r}; known: {sorted(self._views)}")
            return _copy(self._views[view_id])

    def message(self, channel_or_user_id: str, ts: str) -> dict[str, Any] | None:
        """The current state of a message the bot posted (after chat.update)."""
        with self._lock:
            msg = self._messages.get((self._dm_channel_for(channel_or_user_id), ts))
            return _copy(msg) if msg else None

    # ------------------------------------------------------------------ request handling

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        url = urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        headers = {k: v for k, v in req.headers.items()}
        warnings: list[str] = []
        args = self._parse_args(raw, req.headers.get("Content-Type") or "", url.query, warnings)

        if url.path.startswith("/response_url/"):
            method = "response_url"
        elif url.path.startswith("/api/"):
            method = url.path[len("/api/") :]
        else:
            method = url.path

        status, body, extra_headers, call_ok = self._dispatch(method, url.path, args, headers, warnings)
        call = Call(
            method=method,
            args=args,
            ok=call_ok,
            error=None if call_ok else body.get("error"),
            response=body,
            status=status,
            headers=headers,
            warnings=warnings,
            path=url.path,
            http_method=req.command,
            at=time.monotonic(),
        )
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

        payload = json.dumps(body).encode("utf-8")
        req.send_response(status)
        req.send_header("Content-Type", "application/json; charset=utf-8")
        req.send_header("Content-Length", str(len(payload)))
        req.send_header("X-Slack-Req-Id", uuid.uuid4().hex)
        for k, v in extra_headers.items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(payload)

    @staticmethod
    def _parse_args(raw: bytes, content_type: str, query: str, warnings: list[str]) -> dict[str, Any]:
        args: dict[str, Any] = {}
        for k, vs in parse_qs(query, keep_blank_values=True).items():
            args[k] = vs[-1]
        ctype = content_type.split(";")[0].strip().lower()
        text = raw.decode("utf-8", errors="replace")
        if ctype == "application/json":
            try:
                body = json.loads(text) if text else {}
            except json.JSONDecodeError:
                warnings.append("body is not valid JSON")
                body = {}
            if isinstance(body, dict):
                args.update(body)
            else:
                warnings.append("JSON body is not an object")
        elif ctype in ("application/x-www-form-urlencoded", "") and text:
            for k, vs in parse_qs(text, keep_blank_values=True).items():
                args[k] = vs[-1]
        elif text:
            warnings.append(f"unsupported content type {ctype!r}; body ignored")
        for key in _JSON_ARGS & args.keys():
            value = args[key]
            if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
                try:
                    args[key] = json.loads(value)
                except json.JSONDecodeError:
                    warnings.append(f"{key} is not valid JSON")
        return args

    def _dispatch(
        self,
        method: str,
        path: str,
        args: dict[str, Any],
        headers: dict[str, str],
        warnings: list[str],
    ) -> tuple[int, dict[str, Any], dict[str, str], bool]:
        """Returns (status, body, extra headers, ok)."""
        with self._lock:
            if method != "response_url" and (not path.startswith("/api/") or method not in self.spec):
                return 404, {"ok": False, "error": "unknown_method"}, {}, False

            failure = self._take_failure(method)
            if failure is not None:
                extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                return failure.status, {"ok": False, "error": failure.error}, extra, False

            if method == "response_url":
                # response_url needs no token: the URL itself is the credential.
                return 200, {"ok": True}, {}, True

            try:
                self._check_auth(args, headers)
                spec = self.spec[method]
                if spec.get("deprecated"):
                    warnings.append(f"{method} is deprecated")
                for name in spec.get("required", []):
                    if name != "token" and _is_blank(args.get(name)):
                        raise _invalid_arguments(f"missing required field: {name}")
                known = set(spec.get("required", [])) | set(spec.get("optional", [])) | {"token"}
                for name in sorted(args.keys() - known):
                    warnings.append(f"unexpected argument {name!r} for {method} (Slack ignores it)")
                handler = self._handlers.get(method)
                result = handler(args, warnings) if handler is not None else {}
            except SlackError as e:
                return e.status, e.body(), {}, False
            except Exception as e:
                # A harness bug must show up in the recorded call, not as a silently dropped connection.
                warnings.append(f"fake Slack crashed: {e!r}\n{traceback.format_exc()}")
                return 500, {"ok": False, "error": "fatal_error"}, {}, False
            return 200, {"ok": True, **result}, {}, True

    def _check_auth(self, args: dict[str, Any], headers: dict[str, str]) -> None:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        body_token = args.pop("token", None)
        token: str | None = None
        if auth:
            token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""
        elif isinstance(body_token, str) and body_token:
            token = body_token
        if token is None:
            raise SlackError("not_authed")
        if token not in self.tokens:
            raise SlackError("invalid_auth")

    # ------------------------------------------------------------------ helpers for handlers

    def _next_ts(self) -> str:
        micros = next(self._ts_counter) * 100
        return f"{_TS_EPOCH + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._id_counter):010d}"

    def _dm_channel_for(self, channel_or_user_id: str) -> str:
        if channel_or_user_id[:1] in ("U", "W"):
            return "D" + channel_or_user_id
        return channel_or_user_id

    def _resolve_channel(self, channel: Any) -> str:
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        if channel.startswith("#"):
            channel = channel[1:]
        if channel in self._channels or channel in self._group_dms:
            return channel
        by_name = next((c.id for c in self._channels.values() if c.name == channel), None)
        if by_name:
            return by_name
        if channel[:1] in ("U", "W") and channel in self._users:
            return "D" + channel
        if channel.startswith("D") and channel[1:] in self._users:
            return channel
        raise SlackError("channel_not_found")

    def _channel_members(self, channel_id: str) -> list[str]:
        if channel_id in self._group_dms:
            return [*self._group_dms[channel_id], BOT_USER_ID]
        if channel_id.startswith("D") and channel_id not in self._channels:
            return [channel_id[1:], BOT_USER_ID]
        ch = self._channels[channel_id]
        members = list(ch.members) if ch.members is not None else [u for u in self._users if u != BOT_USER_ID]
        if ch.bot_is_member and BOT_USER_ID not in members:
            members.append(BOT_USER_ID)
        return members

    def _check_message_content(self, method: str, args: dict[str, Any], warnings: list[str]) -> None:
        blocks = args.get("blocks")
        if isinstance(blocks, str) and blocks:
            raise SlackError("invalid_blocks_format")
        if blocks is not None and not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        text = args.get("text")
        has_blocks = bool(blocks)
        if _is_blank(text) and not has_blocks and _is_blank(args.get("attachments")):
            raise SlackError("no_text")
        if limits.check_message_text(text):
            raise SlackError("msg_too_long")
        if has_blocks and _is_blank(text):
            warnings.append("blocks without a top-level text fallback (notifications show nothing)")
        if blocks is not None:
            errors = [str(v) for v in limits.check_blocks(blocks, surface="message")]
            errors += _sdk_block_errors(blocks, "/blocks")
            if errors:
                errors = _dedupe(errors)
                raise SlackError("invalid_blocks", errors=errors, messages=[f"[ERROR] {e}" for e in errors])

    def _check_view(self, view: Any, expected_type: str) -> dict[str, Any]:
        if isinstance(view, str):
            raise _invalid_arguments("view must be a JSON object [json-pointer:/view]")
        errors = [str(v) for v in limits.check_view(view, expected_type=expected_type)]  # type: ignore[arg-type]
        if isinstance(view, Mapping):
            errors += _sdk_view_errors(view)
            if isinstance(view.get("blocks"), list):
                errors += _sdk_block_errors(view["blocks"], "/view/blocks")
        if errors:
            raise _invalid_arguments(*_dedupe(errors))
        return dict(view)

    def _check_trigger(self, args: dict[str, Any]) -> str | None:
        trigger = args.get("trigger_id")
        if _is_blank(trigger):
            if not _is_blank(args.get("interactivity_pointer")):
                return None
            raise _invalid_arguments("missing required field: trigger_id")
        if trigger in self._expired_triggers:
            raise SlackError("expired_trigger_id")
        if trigger in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        if trigger not in self._issued_triggers and not (isinstance(trigger, str) and TRIGGER_ID_RE.match(trigger)):
            raise SlackError("invalid_trigger_id")
        return str(trigger)

    def _store_view(
        self,
        view: dict[str, Any],
        *,
        view_id: str | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> dict[str, Any]:
        view_id = view_id or self._new_id("V")
        old = self._views.get(view_id, {})
        stored: dict[str, Any] = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": old.get("state", {"values": {}}),
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": old.get("previous_view_id", previous_view_id),
            "root_view_id": old.get("root_view_id", root_view_id or view_id),
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": BOT_ID,
        }
        if stored["external_id"]:
            owner = self._external_ids.get(stored["external_id"])
            if owner is not None and owner != view_id:
                raise SlackError("duplicate_external_id")
            self._external_ids[stored["external_id"]] = view_id
        self._views[view_id] = stored
        return _copy(stored)

    def _user_json(self, user: FakeUser) -> dict[str, Any]:
        try:
            now = datetime.now(ZoneInfo(user.tz))
            delta = now.utcoffset()
            offset = int(delta.total_seconds()) if delta is not None else 0
            label = now.tzname() or user.tz
        except (ZoneInfoNotFoundError, ValueError):
            offset, label = 0, user.tz
        profile: dict[str, Any] = {
            "real_name": user.real_name,
            "real_name_normalized": user.real_name,
            "display_name": user.display_name,
            "display_name_normalized": user.display_name,
            "team": self.team_id,
        }
        if user.email is not None:
            profile["email"] = user.email
        if user.is_bot:
            profile["bot_id"] = BOT_ID if user.id == BOT_USER_ID else f"B{user.id[1:]}"
        return {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "deleted": False,
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": label,
            "tz_offset": offset,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "profile": profile,
        }

    def _channel_json(self, channel_id: str) -> dict[str, Any]:
        if channel_id in self._channels:
            ch = self._channels[channel_id]
            return {
                "id": ch.id,
                "name": ch.name,
                "is_channel": not ch.is_private,
                "is_group": ch.is_private,
                "is_im": False,
                "is_mpim": False,
                "is_private": ch.is_private,
                "is_archived": False,
                "is_general": False,
                "is_member": ch.bot_is_member,
                "context_team_id": self.team_id,
            }
        if channel_id in self._group_dms:
            return {"id": channel_id, "is_mpim": True, "is_im": False, "is_private": True, "is_member": True}
        return {"id": channel_id, "is_im": True, "is_private": True, "user": channel_id[1:], "is_open": True}

    def _message_json(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": self.team_id,
            "text": args.get("text") or "",
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if not _is_blank(args.get(key)):
                msg[key] = args[key]
        return msg

    def _paginate(self, items: list[Any], args: dict[str, Any]) -> tuple[list[Any], str]:
        try:
            limit = int(args.get("limit") or 0)
            start = int(str(args.get("cursor") or "offset:0").split(":")[-1])
        except ValueError as e:
            raise SlackError("invalid_cursor") from e
        if limit <= 0:
            return items[start:], ""
        page = items[start : start + limit]
        next_cursor = f"offset:{start + limit}" if start + limit < len(items) else ""
        return page, next_cursor

    # ------------------------------------------------------------------ method handlers
    # Each returns the body fields besides "ok": true, or raises SlackError; see _handlers.

    def _api_auth_test(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        return {
            "url": f"https://{self.domain}.slack.com/",
            "team": self.team,
            "user": "talentbot",
            "team_id": self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _api_chat_post_message(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        ch = self._channels.get(channel)
        if ch is not None and not ch.bot_is_member:
            raise SlackError("not_in_channel")
        self._check_message_content("chat.postMessage", args, warnings)
        ts = self._next_ts()
        message = self._message_json(args, ts)
        self._messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": _copy(message)}

    def _api_chat_post_ephemeral(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        user = args.get("user")
        if user not in self._users or user not in self._channel_members(channel):
            raise SlackError("user_not_in_channel")
        self._check_message_content("chat.postEphemeral", args, warnings)
        return {"message_ts": self._next_ts()}

    def _api_chat_update(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        ts = str(args.get("ts"))
        existing = self._messages.get((channel, ts))
        if existing is None:
            raise SlackError("message_not_found")
        self._check_message_content("chat.update", args, warnings)
        updated = {
            **existing,
            **self._message_json(args, ts),
            "edited": {"user": BOT_USER_ID, "ts": self._next_ts()},
        }
        self._messages[(channel, ts)] = updated
        return {"channel": channel, "ts": ts, "text": updated["text"], "message": _copy(updated)}

    def _api_chat_schedule_message(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        try:
            post_at = int(float(args["post_at"]))
        except (TypeError, ValueError) as e:
            raise SlackError("invalid_time") from e
        if post_at < time.time():
            raise SlackError("time_in_past")
        self._check_message_content("chat.scheduleMessage", args, warnings)
        return {
            "channel": channel,
            "scheduled_message_id": self._new_id("Q"),
            "post_at": post_at,
            "message": self._message_json(args, ""),
        }

    def _api_chat_get_permalink(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        ts = str(args["message_ts"])
        return {
            "channel": channel,
            "permalink": f"https://{self.domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _api_conversations_open(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        if not _is_blank(args.get("channel")):
            channel = self._resolve_channel(args["channel"])
            return {"channel": self._channel_json(channel), "no_op": True, "already_open": True}
        users_arg = args.get("users")
        if _is_blank(users_arg):
            raise SlackError("users_list_not_supplied")
        users = (
            users_arg if isinstance(users_arg, list) else [u.strip() for u in str(users_arg).split(",") if u.strip()]
        )
        for u in users:
            if u not in self._users:
                raise SlackError("user_not_found")
        if len(users) > 8:
            raise SlackError("too_many_users")
        if len(users) == 1:
            return {"channel": {"id": "D" + users[0]}, "no_op": False, "already_open": False}
        group_id = "G" + "".join(sorted(u.lstrip("UW") for u in users))[:20]
        self._group_dms[group_id] = list(users)
        return {"channel": {"id": group_id}, "no_op": False, "already_open": False}

    def _api_conversations_info(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        return {"channel": self._channel_json(channel)}

    def _api_conversations_members(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        page, cursor = self._paginate(self._channel_members(channel), args)
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    def _api_users_info(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        user = self._users.get(str(args.get("user")))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": self._user_json(user)}

    def _api_users_lookup_by_email(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        email = str(args.get("email")).strip().lower()
        for user in self._users.values():
            if user.email is not None and user.email.lower() == email:
                return {"user": self._user_json(user)}
        raise SlackError("users_not_found")

    def _api_users_list(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        members = [self._user_json(u) for u in self._users.values()]
        page, cursor = self._paginate(members, args)
        return {"members": page, "cache_ts": int(time.time()), "response_metadata": {"next_cursor": cursor}}

    def _api_usergroups_list(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        include_users = str(args.get("include_users", "")).lower() in ("1", "true")
        groups = []
        for g in self._usergroups.values():
            item: dict[str, Any] = {
                "id": g["id"],
                "team_id": self.team_id,
                "is_usergroup": True,
                "name": g["name"],
                "handle": g["handle"],
                "description": "",
                "date_delete": 0,
                "user_count": len(g["users"]),
            }
            if include_users:
                item["users"] = list(g["users"])
            groups.append(item)
        return {"usergroups": groups}

    def _api_usergroups_users_list(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        group = self._usergroups.get(str(args.get("usergroup")))
        if group is None:
            raise SlackError("no_such_subteam")
        return {"users": list(group["users"])}

    def _api_views_open(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        view = self._check_view(args.get("view"), "modal")
        trigger = self._check_trigger(args)
        stored = self._store_view(view)
        if trigger is not None:
            self._used_triggers.add(trigger)
        self._opened.append(stored["id"])
        return {"view": stored}

    def _api_views_push(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        view = self._check_view(args.get("view"), "modal")
        trigger = self._check_trigger(args)
        # The fake keeps one modal stack: a push lands on the most recently opened one.
        previous = self._opened[-1] if self._opened else None
        root = self._views[previous]["root_view_id"] if previous else None
        stored = self._store_view(view, root_view_id=root, previous_view_id=previous)
        if trigger is not None:
            self._used_triggers.add(trigger)
        self._opened.append(stored["id"])
        return {"view": stored}

    def _api_views_update(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        view = self._check_view(args.get("view"), "modal")
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if _is_blank(view_id) and _is_blank(external_id):
            raise _invalid_arguments("must provide view_id or external_id")
        if _is_blank(view_id):
            view_id = self._external_ids.get(str(external_id))
        if view_id not in self._views:
            raise SlackError("not_found")
        current = self._views[str(view_id)]
        if not _is_blank(args.get("hash")) and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        return {"view": self._store_view(view, view_id=str(view_id))}

    def _api_views_publish(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        user_id = str(args.get("user_id"))
        if user_id not in self._users:
            raise _invalid_arguments(f"invalid user_id {user_id!r} [json-pointer:/user_id]")
        view = self._check_view(args.get("view"), "home")
        existing = self._home.get(user_id)
        if existing and not _is_blank(args.get("hash")) and args["hash"] != self._views[existing]["hash"]:
            raise SlackError("hash_conflict")
        stored = self._store_view(view, view_id=existing)
        self._home[user_id] = stored["id"]
        return {"view": stored}

    def _api_reactions_add(self, args: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        # Lenient on unknown timestamps: the bot may react to human messages the fake never saw.
        channel = self._resolve_channel(args.get("channel"))
        key = (channel, str(args.get("timestamp")), str(args.get("name")).strip(":"))
        if key in self._reactions:
            raise SlackError("already_reacted")
        self._reactions.add(key)
        return {}


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    # Deep copy through JSON: callers get Slack-shaped data they cannot use to mutate fake state.
    return json.loads(json.dumps(value))


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or hang up mid-answer are part of the tests, not harness bugs.
        pass


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack
    # HTTP/1.0 closes the connection after each answer, so go_down() leaves no
    # keep-alive connection that could still be served.
    protocol_version = "HTTP/1.0"

    def do_POST(self) -> None:
        self.fake._handle(self)

    def do_GET(self) -> None:
        self.fake._handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def iter_blocks(view_or_message: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Blocks of a recorded view or message (handy in assertions)."""
    yield from view_or_message.get("blocks") or []
