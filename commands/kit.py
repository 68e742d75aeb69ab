"""Small Block Kit builders that keep every piece within Slack's limits.

Limits (api.slack.com/reference/block-kit): 50 blocks per message, 100 per modal or Home tab;
section text 3000 characters; plain_text labels and button texts 75; option texts 75, values 150.
"""

from __future__ import annotations

from typing import Any

Block = dict[str, Any]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_CONTEXT_TEXT = 3000
MAX_BUTTON_TEXT = 75
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_HEADER_TEXT = 150
MAX_TITLE = 24
MAX_MESSAGE_TEXT = 40_000


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plain(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def section(text: str, *, accessory: dict[str, Any] | None = None, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, MAX_HEADER_TEXT)}


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text, MAX_CONTEXT_TEXT)]}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str | None = None, *, style: str | None = None,
           url: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, MAX_BUTTON_TEXT), "action_id": action_id}
    if value is not None:
        element["value"] = value
    if style:
        element["style"] = style
    if url:
        element["url"] = url
    return element


def actions(*elements: dict[str, Any], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, MAX_OPTION_TEXT), "value": value[:MAX_OPTION_VALUE]}


def modal(*, title: str, blocks: list[Block], callback_id: str | None = None, submit: str | None = None,
          close: str = "Close", private_metadata: str = "") -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "title": plain(title, MAX_TITLE),
        "close": plain(close, MAX_TITLE),
        "blocks": fit_blocks(blocks, MAX_VIEW_BLOCKS),
    }
    if submit:
        view["submit"] = plain(submit, MAX_TITLE)
    if callback_id:
        view["callback_id"] = callback_id
    if private_metadata:
        view["private_metadata"] = private_metadata
    return view


def fit_blocks(blocks: list[Block], limit: int) -> list[Block]:
    """Cut a list that would exceed Slack's block limit, saying so instead of failing the call."""
    if len(blocks) <= limit:
        return blocks
    return [*blocks[: limit - 1], context("…more than fits here; narrow the list to see the rest.")]


def message(text: str, blocks: list[Block]) -> dict[str, Any]:
    """A message payload: `text` is the notification and screen-reader fallback for the blocks."""
    return {"text": truncate(text, MAX_MESSAGE_TEXT), "blocks": fit_blocks(blocks, MAX_MESSAGE_BLOCKS)}
