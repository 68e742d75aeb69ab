"""The sandbox workspace's state and the Slack Web API methods the bot calls, answered as Slack answers them.

Everything here runs on the server's event loop (one thread), so the state needs no lock. `version` grows
with every change; the web page polls it and fetches again only when it moved.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from sandbox.people import (
    APP_ID,
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    CHANNELS,
    PEOPLE,
    PEOPLE_BY_ID,
    TEAM_DOMAIN,
    TEAM_ID,
)

# Slack keeps a modal's stack at three views.
MAX_VIEW_STACK = 3


class SlackError(Exception):
    """Becomes `{"ok": false, "error": ...}`, as Slack answers a refused call."""

    def __init__(self, error: str, **extra: Any):
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    # Only this user sees an ephemeral message; it never reaches the bot's history.
    ephemeral_for: str | None = None
    edited: bool = False

    def as_slack(self) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text, "user": self.user,
                                   "team": TEAM_ID}
        if self.blocks:
            message["blocks"] = copy.deepcopy(self.blocks)
        if self.user == BOT_USER_ID:
            message.update({"bot_id": BOT_ID, "app_id": APP_ID})
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        return message

    def as_page(self, replies: int) -> dict[str, Any]:
        return {"ts": self.ts, "user": self.user, "text": self.text, "blocks": self.blocks,
                "thread_ts": self.thread_ts, "ephemeral": self.ephemeral_for is not None, "edited": self.edited,
                "replies": replies}


@dataclass
class ResponseTarget:
    """Where a response_url writes: the conversation of the interaction, and the message it came from."""

    user: str
    channel: str
    message_ts: str | None
    thread_ts: str | None


def block_errors(blocks: list[Any], pointer: str = "/blocks") -> list[str]:
    """What Slack would say about malformed blocks (slack_sdk's models check the same rules: types, lengths,
    required fields), so a mistake shows up in the sandbox as `invalid_blocks` instead of in production."""
    errors = []
    for index, raw in enumerate(blocks):
        try:
            parsed = Block.parse(dict(raw))
            if parsed is not None:
                parsed.to_dict()  # to_dict() validates nested elements too; validate_json() does not
        except (SlackObjectFormationError, TypeError, ValueError, AttributeError, KeyError) as error:
            errors.append(f"{error} [json-pointer:{pointer}/{index}]")
    return errors


def _dm_id(user_id: str) -> str:
    return "D" + user_id[1:]


class Workspace:
    def __init__(self) -> None:
        self.version = 0
        self.messages: dict[str, list[Message]] = {c.id: [] for c in CHANNELS}
        for person in PEOPLE:
            self.messages[_dm_id(person.id)] = []
        self.home_views: dict[str, dict[str, Any]] = {}
        # user id → the modal stack, bottom first (at most MAX_VIEW_STACK views)
        self.modals: dict[str, list[dict[str, Any]]] = {}
        self.triggers: dict[str, str] = {}
        self.response_targets: dict[str, ResponseTarget] = {}
        self.unread: dict[str, set[str]] = {p.id: set() for p in PEOPLE}
        self._ts = itertools.count(int(time.time() * 1_000_000))
        self._ids = itertools.count(1)
        self.methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "chat.getPermalink": self.chat_get_permalink,
            "conversations.open": self.conversations_open,
            "conversations.info": self.conversations_info,
            "conversations.members": self.conversations_members,
            "users.info": self.users_info,
            "users.list": self.users_list,
            "users.lookupByEmail": self.users_lookup_by_email,
            "usergroups.list": self.usergroups_list,
            "usergroups.users.list": self.usergroups_users_list,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
            "reactions.add": self.reactions_add,
        }

    # ---------------------------------------------------------------- helpers

    def changed(self) -> None:
        self.version += 1

    def next_ts(self) -> str:
        micros = next(self._ts)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        return f"{prefix}0SB{next(self._ids):06d}"

    def new_trigger(self, user_id: str) -> str:
        trigger = f"{time.time():.0f}.{next(self._ids)}.{secrets.token_hex(8)}"
        self.triggers[trigger] = user_id
        return trigger

    def new_response_url(self, base_url: str, target: ResponseTarget) -> str:
        key = secrets.token_urlsafe(12)
        self.response_targets[key] = target
        return f"{base_url}/response_url/{key}"

    def channel_id(self, reference: Any) -> str:
        """A channel, DM or user ID as the bot passes it; posting to a user ID posts in the DM with them."""
        reference = str(reference or "")
        if reference in PEOPLE_BY_ID:
            return _dm_id(reference)
        if reference in self.messages:
            return reference
        raise SlackError("channel_not_found")

    def dm_user(self, channel: str) -> str | None:
        if channel.startswith("D"):
            return "U" + channel[1:]
        return None

    def is_member(self, user_id: str, channel: str) -> bool:
        return not channel.startswith("D") or self.dm_user(channel) == user_id

    def find(self, channel: str, ts: str) -> Message:
        for message in self.messages.get(channel, []):
            if message.ts == ts:
                return message
        raise SlackError("message_not_found")

    def replies(self, channel: str, ts: str) -> int:
        return sum(1 for m in self.messages[channel] if m.thread_ts == ts and m.ts != ts and not m.ephemeral_for)

    def add_message(self, message: Message) -> Message:
        self.messages[message.channel].append(message)
        readers = [p.id for p in PEOPLE if p.id != message.user and self.is_member(p.id, message.channel)]
        for reader in readers if message.ephemeral_for is None else [message.ephemeral_for]:
            self.unread.setdefault(reader, set()).add(message.channel)
        self.changed()
        return message

    @staticmethod
    def _content(args: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        text = str(args.get("text") or "")
        blocks = args.get("blocks") or []
        if not text and not blocks:
            raise SlackError("no_text")
        if len(blocks) > 50:
            raise SlackError("invalid_blocks", errors=["no more than 50 items allowed [json-pointer:/blocks]"])
        errors = block_errors(blocks)
        if errors:
            raise SlackError("invalid_blocks", errors=errors)
        return text, list(blocks)

    # ---------------------------------------------------------------- Web API methods

    def auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"https://{TEAM_DOMAIN}.slack.com/", "team": "Acme (sandbox)", "user": BOT_NAME,
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    def chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_id(args.get("channel"))
        text, blocks = self._content(args)
        thread_ts = args.get("thread_ts") or None
        if thread_ts:
            self.find(channel, str(thread_ts))
        message = self.add_message(Message(channel, self.next_ts(), BOT_USER_ID, text, blocks, thread_ts))
        return {"channel": channel, "ts": message.ts, "message": message.as_slack()}

    def chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_id(args.get("channel"))
        user = str(args.get("user") or "")
        if user not in PEOPLE_BY_ID:
            raise SlackError("user_not_found")
        if not self.is_member(user, channel):
            raise SlackError("user_not_in_channel")
        text, blocks = self._content(args)
        message = self.add_message(Message(channel, self.next_ts(), BOT_USER_ID, text, blocks,
                                           args.get("thread_ts") or None, ephemeral_for=user))
        return {"message_ts": message.ts}

    def chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_id(args.get("channel"))
        message = self.find(channel, str(args.get("ts") or ""))
        if message.user != BOT_USER_ID:
            raise SlackError("cant_update_message")
        text, blocks = self._content(args)
        message.text, message.blocks, message.edited = text, blocks, True
        self.changed()
        return {"channel": channel, "ts": message.ts, "text": text, "message": message.as_slack()}

    def chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_id(args.get("channel"))
        message = self.find(channel, str(args.get("ts") or ""))
        self.messages[channel].remove(message)
        self.changed()
        return {"channel": channel, "ts": message.ts}

    def chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_id(args.get("channel"))
        ts = str(args.get("message_ts") or "")
        self.find(channel, ts)
        return {"channel": channel, "permalink": f"/#{channel}/{ts}"}

    def conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if len(users) != 1 or users[0] not in PEOPLE_BY_ID:
            raise SlackError("user_not_found")
        return {"channel": {"id": _dm_id(users[0])}}

    def conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_id(args.get("channel"))
        for c in CHANNELS:
            if c.id == channel:
                return {"channel": {"id": c.id, "name": c.name, "is_channel": True, "is_private": False,
                                    "is_member": True, "topic": {"value": c.topic}}}
        return {"channel": {"id": channel, "is_im": True, "user": self.dm_user(channel)}}

    def conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_id(args.get("channel"))
        members = [p.id for p in PEOPLE if self.is_member(p.id, channel)] + [BOT_USER_ID]
        return {"members": members, "response_metadata": {"next_cursor": ""}}

    @staticmethod
    def user_json(user_id: str) -> dict[str, Any]:
        if user_id == BOT_USER_ID:
            return {"id": BOT_USER_ID, "team_id": TEAM_ID, "name": BOT_NAME, "real_name": BOT_NAME, "is_bot": True,
                    "tz": "UTC", "profile": {"real_name": BOT_NAME, "display_name": BOT_NAME, "bot_id": BOT_ID}}
        person = PEOPLE_BY_ID.get(user_id)
        if person is None:
            raise SlackError("user_not_found")
        return {"id": person.id, "team_id": TEAM_ID, "name": person.handle, "real_name": person.name,
                "is_bot": False, "deleted": False, "tz": person.tz, "tz_offset": 3600,
                "profile": {"real_name": person.name, "display_name": person.name.split()[0],
                            "email": person.email, "title": person.title}}

    def users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"user": self.user_json(str(args.get("user") or ""))}

    def users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        members = [self.user_json(p.id) for p in PEOPLE] + [self.user_json(BOT_USER_ID)]
        return {"members": members, "response_metadata": {"next_cursor": ""}}

    def users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email") or "").lower()
        for person in PEOPLE:
            if person.email == email:
                return {"user": self.user_json(person.id)}
        raise SlackError("users_not_found")

    def usergroups_list(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"usergroups": []}

    def usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        raise SlackError("no_such_subteam")

    # ---------------------------------------------------------------- views

    def _view(self, args: dict[str, Any], *, expected: str) -> dict[str, Any]:
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") != expected:
            raise SlackError("invalid_arguments", response_metadata={"messages": [f"view.type must be {expected}"]})
        if len(view.get("blocks") or []) > 100:
            raise SlackError("invalid_arguments", response_metadata={"messages": ["no more than 100 blocks"]})
        try:
            View(**view).to_dict()
        except (SlackObjectFormationError, TypeError, ValueError, AttributeError, KeyError) as error:
            raise SlackError("invalid_arguments", response_metadata={"messages": [f"{error} [json-pointer:/view]"]}
                             ) from error
        return view

    def store_view(self, view: dict[str, Any], *, user: str, view_id: str | None = None,
                     root_view_id: str | None = None, previous: dict[str, Any] | None = None) -> dict[str, Any]:
        view_id = view_id or self.new_id("V")
        stored = copy.deepcopy(view)
        stored.update({
            "id": view_id, "team_id": TEAM_ID, "app_id": APP_ID, "bot_id": BOT_ID, "user": user,
            "root_view_id": root_view_id or view_id, "previous_view_id": None,
            "hash": secrets.token_hex(8),
            "state": {"values": {}},
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "clear_on_close": bool(view.get("clear_on_close")),
            "notify_on_close": bool(view.get("notify_on_close")),
        })
        if previous is not None:
            stored["previous_view_id"] = previous.get("previous_view_id")
        return stored

    def _trigger_user(self, args: dict[str, Any]) -> str:
        user = self.triggers.pop(str(args.get("trigger_id") or ""), None)
        if user is None:
            raise SlackError("expired_trigger_id")
        return user

    def views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._view(args, expected="modal")
        user = self._trigger_user(args)
        stored = self.store_view(view, user=user)
        self.modals[user] = [stored]
        self.changed()
        return {"view": stored}

    def views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._view(args, expected="modal")
        user = self._trigger_user(args)
        stack = self.modals.get(user)
        if not stack:
            raise SlackError("not_found")
        if len(stack) >= MAX_VIEW_STACK:
            raise SlackError("push_limit_reached")
        stored = self.store_view(view, user=user, root_view_id=stack[0]["id"])
        stored["previous_view_id"] = stack[-1]["id"]
        stack.append(stored)
        self.changed()
        return {"view": stored}

    def locate_view(self, view_id: str | None = None, external_id: str | None = None
                    ) -> tuple[str, list[dict[str, Any]] | None, int]:
        """(user, stack or None for a home tab, index in the stack)."""
        for user, stack in self.modals.items():
            for index, view in enumerate(stack):
                if view["id"] == view_id or (external_id and view.get("external_id") == external_id):
                    return user, stack, index
        for user, view in self.home_views.items():
            if view["id"] == view_id or (external_id and view.get("external_id") == external_id):
                return user, None, 0
        raise SlackError("not_found")

    def views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        user, stack, index = self.locate_view(args.get("view_id"), args.get("external_id"))
        current = stack[index] if stack is not None else self.home_views[user]
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = self._view(args, expected=current["type"])
        stored = self.store_view(view, user=user, view_id=current["id"], root_view_id=current["root_view_id"],
                                   previous=current)
        if stack is not None:
            stack[index] = stored
        else:
            self.home_views[user] = stored
        self.changed()
        return {"view": stored}

    def views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._view(args, expected="home")
        user = str(args.get("user_id") or "")
        if user not in PEOPLE_BY_ID:
            raise SlackError("user_not_found")
        current = self.home_views.get(user)
        if current and args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        stored = self.store_view(view, user=user, view_id=current["id"] if current else None)
        self.home_views[user] = stored
        self.changed()
        return {"view": stored}

    def reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        self.find(self.channel_id(args.get("channel")), str(args.get("timestamp") or ""))
        return {}

    def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = self.methods.get(method)
        if handler is None:
            raise SlackError("unknown_method")
        return {"ok": True, **handler(args)}

    # ---------------------------------------------------------------- what people do in the page

    def post_as(self, user: str, channel: str, text: str, thread_ts: str | None) -> Message:
        if not self.is_member(user, channel):
            raise SlackError("not_in_channel")
        if thread_ts:
            self.find(channel, thread_ts)
        return self.add_message(Message(channel, self.next_ts(), user, text, [], thread_ts))

    def respond(self, key: str, body: dict[str, Any]) -> None:
        """A POST to a response_url: an ephemeral reply, a replacement of the original, or a deletion."""
        target = self.response_targets.get(key)
        if target is None:
            raise SlackError("expired_url")
        original = None
        if target.message_ts:
            original = next((m for m in self.messages[target.channel] if m.ts == target.message_ts), None)
        if body.get("delete_original") and original is not None:
            self.messages[target.channel].remove(original)
            self.changed()
            return
        text, blocks = str(body.get("text") or ""), list(body.get("blocks") or [])
        if block_errors(blocks):
            raise SlackError("invalid_blocks")
        if body.get("replace_original") and original is not None and body.get("response_type") != "in_channel":
            original.text, original.blocks, original.edited = text, blocks, True
            self.changed()
            return
        ephemeral = None if body.get("response_type") == "in_channel" else target.user
        self.add_message(Message(target.channel, self.next_ts(), BOT_USER_ID, text, blocks,
                                 body.get("thread_ts") or target.thread_ts, ephemeral_for=ephemeral))

    def visible(self, user: str, channel: str, *, thread_ts: str | None) -> list[dict[str, Any]]:
        """The conversation (top-level messages) or one thread, as `user` sees it."""
        shown = []
        for message in self.messages[channel]:
            if message.ephemeral_for not in (None, user):
                continue
            in_thread = message.thread_ts is not None and message.thread_ts != message.ts
            if thread_ts is None and in_thread:
                continue
            if thread_ts is not None and message.ts != thread_ts and message.thread_ts != thread_ts:
                continue
            shown.append(message.as_page(self.replies(channel, message.ts)))
        return shown

    def page_state(self, user: str, channel: str, thread_ts: str | None) -> dict[str, Any]:
        if channel in self.messages:
            self.unread.get(user, set()).discard(channel)
        conversations = [{"id": c.id, "name": c.name, "kind": "channel", "topic": c.topic} for c in CHANNELS]
        conversations.append({"id": _dm_id(user), "name": BOT_NAME, "kind": "dm", "topic": "Direct messages"})
        for c in conversations:
            c["unread"] = c["id"] in self.unread.get(user, set())
        stack = self.modals.get(user) or []
        return {
            "version": self.version,
            "conversations": conversations,
            "messages": self.visible(user, channel, thread_ts=None) if channel in self.messages else [],
            "thread": self.visible(user, channel, thread_ts=thread_ts) if thread_ts else [],
            "home": self.home_views.get(user),
            "modal": stack[-1] if stack else None,
            "modal_depth": len(stack),
        }
