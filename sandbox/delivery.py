"""Slack-signed requests to the bot's `/slack/events`, in the shapes Slack sends them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx

from sandbox.people import APP_ID, BOT_USER_ID, CHANNELS, PEOPLE_BY_ID, TEAM_DOMAIN, TEAM_ID

# Slack still sends the legacy verification token; Bolt ignores it.
VERIFICATION_TOKEN = "sandbox-verification-token"


def sign(secret: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def channel_name(channel_id: str) -> str:
    names = {c.id: c.name for c in CHANNELS}
    return names.get(channel_id, "directmessage")


def user_json(user_id: str) -> dict[str, Any]:
    person = PEOPLE_BY_ID[user_id]
    return {"id": user_id, "username": person.handle, "name": person.handle, "team_id": TEAM_ID}


def interaction(kind: str, user_id: str, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": kind, "token": VERIFICATION_TOKEN, "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": user_json(user_id), "api_app_id": APP_ID, "is_enterprise_install": False, "enterprise": None,
    }
    payload.update(fields)
    return payload


def event_envelope(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "token": VERIFICATION_TOKEN, "team_id": TEAM_ID, "api_app_id": APP_ID, "event": event,
        "type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}", "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True,
                            "is_enterprise_install": False}],
        "is_ext_shared_channel": False, "event_context": f"4-{uuid.uuid4().hex}",
    }


class Deliverer:
    """Posts to the bot like Slack: signed, with Slack's content types, and reads the bot's answer."""

    def __init__(self, events_url: str, signing_secret: str):
        self.events_url = events_url
        self.signing_secret = signing_secret
        # Slack waits 3 seconds for an ack; the sandbox is more patient, so a slow first start still works.
        self._client = httpx.AsyncClient(timeout=30)

    async def close(self) -> None:
        await self._client.aclose()

    async def _post(self, body: str, content_type: str) -> httpx.Response:
        timestamp = str(int(time.time()))
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp,
                   "X-Slack-Signature": sign(self.signing_secret, timestamp, body)}
        return await self._client.post(self.events_url, content=body.encode(), headers=headers)

    async def form(self, fields: dict[str, Any]) -> httpx.Response:
        return await self._post(urlencode(fields), "application/x-www-form-urlencoded")

    async def payload(self, payload: dict[str, Any]) -> httpx.Response:
        return await self.form({"payload": json.dumps(payload)})

    async def event(self, event: dict[str, Any]) -> httpx.Response:
        return await self._post(json.dumps(event_envelope(event)), "application/json")


def answer_json(response: httpx.Response) -> dict[str, Any]:
    """The bot's ack body: JSON when it said something, nothing when it only acknowledged."""
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {"text": response.text}
    return body if isinstance(body, dict) else {}
