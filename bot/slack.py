"""The Slack Web API client, with Slack's retry rules built in."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.settings import Settings

# Errors that will not go away by asking again: the message itself, or its address, is wrong.
PERMANENT_ERRORS = frozenset({
    "channel_not_found", "user_not_found", "not_in_channel", "is_archived", "invalid_blocks",
    "invalid_blocks_format", "msg_too_long", "no_text", "invalid_arguments", "message_not_found",
    "cant_update_message", "edit_window_closed", "account_inactive", "invalid_auth", "not_authed",
    "token_revoked", "missing_scope", "restricted_action", "cannot_dm_bot", "user_disabled",
    "unknown_method", "too_many_attachments",
})


def build_web_client(settings: Settings, *, timeout: int = 10) -> WebClient:
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=timeout)
    # 429s wait for Retry-After; 5xx and dropped connections are tried again before giving up.
    client.retry_handlers = [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
    ]
    return client
