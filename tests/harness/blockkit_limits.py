"""Slack's documented Block Kit limits, checked the way Slack's API checks them.

slack_sdk's model validators cover only some of these limits (and accept
things Slack rejects, e.g. a bare string as section text), so the fake Slack
server runs these checks as well. Every function here is pure: it takes
plain JSON-shaped data and returns a list of ``Violation`` (empty = valid).

Messages are reported by the fake in Slack's own format:
``"<message> [json-pointer:/blocks/0/text/text]"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Surface = Literal["message", "modal", "home"]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000

MAX_BLOCK_ID = 255
MAX_ACTION_ID = 255

MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_SECTION_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_IMAGE_URL = 3000
MAX_ALT_TEXT = 2000

MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000

MAX_SELECT_OPTIONS = 100
MAX_OPTION_GROUPS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTION_DESCRIPTION = 75
MAX_CHECKBOX_OPTIONS = 10
MAX_RADIO_OPTIONS = 10
MIN_OVERFLOW_OPTIONS = 1
MAX_OVERFLOW_OPTIONS = 5

MAX_INPUT_LABEL = 2000
MAX_INPUT_HINT = 2000
MAX_PLACEHOLDER = 150
MAX_PLAIN_TEXT_INPUT_LENGTH = 3000

MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30

MAX_VIEW_TITLE = 24
MAX_VIEW_SUBMIT = 24
MAX_VIEW_CLOSE = 24
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255
MAX_EXTERNAL_ID = 255

# Block types Slack accepts on the surfaces a bot builds; anything else is
# refused by Slack as an invalid block, so the fake refuses it too.
KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
        "call",
    }
)

SELECT_TYPES = frozenset(
    {
        "static_select",
        "multi_static_select",
        "external_select",
        "multi_external_select",
        "users_select",
        "multi_users_select",
        "conversations_select",
        "multi_conversations_select",
        "channels_select",
        "multi_channels_select",
    }
)
TEXT_INPUT_TYPES = frozenset(
    {"plain_text_input", "email_text_input", "url_text_input", "number_input", "rich_text_input"}
)
PICKER_TYPES = frozenset({"datepicker", "timepicker", "datetimepicker"})
INPUT_ELEMENT_TYPES = SELECT_TYPES | TEXT_INPUT_TYPES | PICKER_TYPES | {"checkboxes", "radio_buttons", "file_input"}
INTERACTIVE_ELEMENT_TYPES = (INPUT_ELEMENT_TYPES | {"button", "overflow", "workflow_button"}) - {"file_input"}

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^\d{2}:\d{2}$")


@dataclass(frozen=True)
class Violation:
    """One refusal reason, located by a JSON pointer into the request argument."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.message} [json-pointer:{self.pointer}]"


def _too_long(value: str, limit: int) -> str:
    return f"must be less than {limit + 1} characters (got {len(value)})"


def check_text_object(
    obj: Any,
    pointer: str,
    *,
    max_length: int | None = None,
    plain_only: bool = False,
    allow_empty: bool = False,
) -> list[Violation]:
    """A composition text object: {"type": "plain_text"|"mrkdwn", "text": str}."""
    if not isinstance(obj, Mapping):
        # Slack has no string shorthand for text objects; slack_sdk accepts one.
        return [Violation(pointer, "must be a text object, not a plain string")]
    kind = obj.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    out: list[Violation] = []
    if kind not in allowed:
        out.append(Violation(f"{pointer}/type", f"must be one of {list(allowed)} (got {kind!r})"))
    text = obj.get("text")
    if not isinstance(text, str):
        out.append(Violation(f"{pointer}/text", "must be a string"))
        return out
    if not text and not allow_empty:
        out.append(Violation(f"{pointer}/text", "must be more than 0 characters"))
    if max_length is not None and len(text) > max_length:
        out.append(Violation(f"{pointer}/text", _too_long(text, max_length)))
    if kind == "mrkdwn" and "emoji" in obj:
        out.append(Violation(f"{pointer}/emoji", "emoji is only allowed on plain_text"))
    return out


def _check_str(
    container: Mapping[str, Any], key: str, pointer: str, limit: int, *, required: bool = False
) -> list[Violation]:
    if key not in container or container[key] is None:
        return [Violation(f"{pointer}/{key}", "missing required field")] if required else []
    value = container[key]
    if not isinstance(value, str):
        return [Violation(f"{pointer}/{key}", "must be a string")]
    if not value:
        return [Violation(f"{pointer}/{key}", "must be more than 0 characters")]
    if len(value) > limit:
        return [Violation(f"{pointer}/{key}", _too_long(value, limit))]
    return []


def _check_count(items: Any, pointer: str, *, max_items: int, min_items: int = 0) -> list[Violation]:
    if not isinstance(items, list):
        return [Violation(pointer, "must be an array")]
    if len(items) > max_items:
        return [Violation(pointer, f"must provide an array of {max_items} items or fewer (got {len(items)})")]
    if len(items) < min_items:
        return [Violation(pointer, f"must provide an array of at least {min_items} items")]
    return []


def check_confirm(obj: Any, pointer: str) -> list[Violation]:
    if not isinstance(obj, Mapping):
        return [Violation(pointer, "must be a confirmation dialog object")]
    out = check_text_object(obj.get("title"), f"{pointer}/title", max_length=MAX_CONFIRM_TITLE, plain_only=True)
    out += check_text_object(obj.get("text"), f"{pointer}/text", max_length=MAX_CONFIRM_TEXT)
    out += check_text_object(obj.get("confirm"), f"{pointer}/confirm", max_length=MAX_CONFIRM_BUTTON, plain_only=True)
    out += check_text_object(obj.get("deny"), f"{pointer}/deny", max_length=MAX_CONFIRM_BUTTON, plain_only=True)
    return out


def check_option(obj: Any, pointer: str, *, plain_only: bool = True) -> list[Violation]:
    if not isinstance(obj, Mapping):
        return [Violation(pointer, "must be an option object")]
    out = check_text_object(obj.get("text"), f"{pointer}/text", max_length=MAX_OPTION_TEXT, plain_only=plain_only)
    out += _check_str(obj, "value", pointer, MAX_OPTION_VALUE, required=True)
    if obj.get("description") is not None:
        out += check_text_object(
            obj["description"],
            f"{pointer}/description",
            max_length=MAX_OPTION_DESCRIPTION,
            plain_only=plain_only,
        )
    out += _check_str(obj, "url", pointer, MAX_URL)
    return out


def _option_values(options: Iterable[Any]) -> set[str]:
    return {str(o.get("value")) for o in options if isinstance(o, Mapping)}


def _check_options(
    element: Mapping[str, Any], pointer: str, *, max_items: int, min_items: int = 1, plain_only: bool = True
) -> tuple[list[Violation], set[str]]:
    options = element.get("options")
    out = _check_count(options, f"{pointer}/options", max_items=max_items, min_items=min_items)
    if out or not isinstance(options, list):
        return out, set()
    for i, option in enumerate(options):
        out += check_option(option, f"{pointer}/options/{i}", plain_only=plain_only)
    return out, _option_values(options)


def check_element(element: Any, pointer: str) -> list[Violation]:
    """An interactive or input element (button, selects, inputs, pickers, ...)."""
    if not isinstance(element, Mapping):
        return [Violation(pointer, "must be an element object")]
    kind = element.get("type")
    out: list[Violation] = []
    if kind == "image":
        out += _check_str(element, "image_url", pointer, MAX_IMAGE_URL)
        out += _check_str(element, "alt_text", pointer, MAX_ALT_TEXT, required=True)
        if "image_url" not in element and "slack_file" not in element:
            out.append(Violation(f"{pointer}/image_url", "missing required field"))
        return out
    if kind not in INTERACTIVE_ELEMENT_TYPES and kind != "file_input":
        return [Violation(f"{pointer}/type", f"unsupported element type {kind!r}")]

    out += _check_str(element, "action_id", pointer, MAX_ACTION_ID)
    if element.get("confirm") is not None:
        out += check_confirm(element["confirm"], f"{pointer}/confirm")
    if element.get("placeholder") is not None:
        out += check_text_object(
            element["placeholder"], f"{pointer}/placeholder", max_length=MAX_PLACEHOLDER, plain_only=True
        )

    if kind == "button":
        out += check_text_object(element.get("text"), f"{pointer}/text", max_length=MAX_BUTTON_TEXT, plain_only=True)
        out += _check_str(element, "value", pointer, MAX_BUTTON_VALUE)
        out += _check_str(element, "url", pointer, MAX_URL)
        style = element.get("style")
        if style is not None and style not in ("primary", "danger"):
            out.append(Violation(f"{pointer}/style", f"must be 'primary' or 'danger' (got {style!r})"))
    elif kind in ("static_select", "multi_static_select"):
        if "options" in element and "option_groups" in element:
            out.append(Violation(pointer, "must provide options or option_groups, not both"))
        if "option_groups" in element:
            groups = element["option_groups"]
            out += _check_count(groups, f"{pointer}/option_groups", max_items=MAX_OPTION_GROUPS, min_items=1)
            values: set[str] = set()
            if isinstance(groups, list):
                for g, group in enumerate(groups):
                    gp = f"{pointer}/option_groups/{g}"
                    if not isinstance(group, Mapping):
                        out.append(Violation(gp, "must be an option group object"))
                        continue
                    out += check_text_object(
                        group.get("label"), f"{gp}/label", max_length=MAX_OPTION_TEXT, plain_only=True
                    )
                    errs, vals = _check_options(group, gp, max_items=MAX_SELECT_OPTIONS)
                    out += errs
                    values |= vals
        else:
            errs, values = _check_options(element, pointer, max_items=MAX_SELECT_OPTIONS)
            out += errs
        out += _check_initial_options(element, pointer, values)
    elif kind == "checkboxes":
        errs, values = _check_options(element, pointer, max_items=MAX_CHECKBOX_OPTIONS, plain_only=False)
        out += errs + _check_initial_options(element, pointer, values)
    elif kind == "radio_buttons":
        errs, values = _check_options(element, pointer, max_items=MAX_RADIO_OPTIONS, plain_only=False)
        out += errs + _check_initial_options(element, pointer, values)
    elif kind == "overflow":
        errs, _ = _check_options(element, pointer, max_items=MAX_OVERFLOW_OPTIONS, min_items=MIN_OVERFLOW_OPTIONS)
        out += errs
    elif kind == "plain_text_input":
        for key in ("max_length", "min_length"):
            n = element.get(key)
            if n is None:
                continue
            if not isinstance(n, int) or isinstance(n, bool) or n < 0 or n > MAX_PLAIN_TEXT_INPUT_LENGTH:
                out.append(
                    Violation(f"{pointer}/{key}", f"must be an integer between 0 and {MAX_PLAIN_TEXT_INPUT_LENGTH}")
                )
        lo, hi = element.get("min_length"), element.get("max_length")
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            out.append(Violation(f"{pointer}/min_length", "must not exceed max_length"))
        initial = element.get("initial_value")
        if isinstance(initial, str) and isinstance(hi, int) and len(initial) > hi:
            out.append(Violation(f"{pointer}/initial_value", _too_long(initial, hi)))
    elif kind == "datepicker":
        initial = element.get("initial_date")
        if initial is not None and not (isinstance(initial, str) and _DATE_RE.match(initial)):
            out.append(Violation(f"{pointer}/initial_date", "must be in YYYY-MM-DD format"))
    elif kind == "timepicker":
        initial = element.get("initial_time")
        if initial is not None and not (isinstance(initial, str) and _TIME_RE.match(initial)):
            out.append(Violation(f"{pointer}/initial_time", "must be in HH:mm format"))
    return out


def _check_initial_options(element: Mapping[str, Any], pointer: str, values: set[str]) -> list[Violation]:
    # Slack refuses an initial option that is not one of the element's options.
    out: list[Violation] = []
    initial: list[Any] = []
    if element.get("initial_option") is not None:
        initial = [("initial_option", element["initial_option"])]
    elif isinstance(element.get("initial_options"), list):
        initial = [(f"initial_options/{i}", o) for i, o in enumerate(element["initial_options"])]
    for key, option in initial:
        value = option.get("value") if isinstance(option, Mapping) else None
        if values and value not in values:
            out.append(Violation(f"{pointer}/{key}", f"initial option {value!r} is not one of the options"))
    return out


def check_block(block: Any, pointer: str) -> list[Violation]:
    if not isinstance(block, Mapping):
        return [Violation(pointer, "must be a block object")]
    kind = block.get("type")
    if kind not in KNOWN_BLOCK_TYPES:
        return [Violation(f"{pointer}/type", f"unsupported block type {kind!r}")]
    out = _check_str(block, "block_id", pointer, MAX_BLOCK_ID)

    if kind == "section":
        if block.get("text") is None and block.get("fields") is None:
            out.append(Violation(pointer, "must provide text or fields"))
        if block.get("text") is not None:
            out += check_text_object(block["text"], f"{pointer}/text", max_length=MAX_SECTION_TEXT)
        if block.get("fields") is not None:
            fields = block["fields"]
            errs = _check_count(fields, f"{pointer}/fields", max_items=MAX_SECTION_FIELDS, min_items=1)
            out += errs
            if not errs:
                for i, field in enumerate(fields):
                    out += check_text_object(field, f"{pointer}/fields/{i}", max_length=MAX_SECTION_FIELD_TEXT)
        if block.get("accessory") is not None:
            out += check_element(block["accessory"], f"{pointer}/accessory")
    elif kind == "header":
        out += check_text_object(block.get("text"), f"{pointer}/text", max_length=MAX_HEADER_TEXT, plain_only=True)
    elif kind == "context":
        elements = block.get("elements")
        errs = _check_count(elements, f"{pointer}/elements", max_items=MAX_CONTEXT_ELEMENTS, min_items=1)
        out += errs
        if not errs and isinstance(elements, list):
            for i, el in enumerate(elements):
                ep = f"{pointer}/elements/{i}"
                if isinstance(el, Mapping) and el.get("type") == "image":
                    out += check_element(el, ep)
                else:
                    out += check_text_object(el, ep)
    elif kind == "actions":
        elements = block.get("elements")
        errs = _check_count(elements, f"{pointer}/elements", max_items=MAX_ACTIONS_ELEMENTS, min_items=1)
        out += errs
        if not errs and isinstance(elements, list):
            for i, el in enumerate(elements):
                out += check_element(el, f"{pointer}/elements/{i}")
    elif kind == "input":
        out += check_text_object(block.get("label"), f"{pointer}/label", max_length=MAX_INPUT_LABEL, plain_only=True)
        if block.get("hint") is not None:
            out += check_text_object(block["hint"], f"{pointer}/hint", max_length=MAX_INPUT_HINT, plain_only=True)
        element = block.get("element")
        if element is None:
            out.append(Violation(f"{pointer}/element", "missing required field"))
        else:
            out += check_element(element, f"{pointer}/element")
            if isinstance(element, Mapping) and element.get("type") not in INPUT_ELEMENT_TYPES:
                out.append(Violation(f"{pointer}/element/type", f"{element.get('type')!r} is not an input element"))
    elif kind == "image":
        out += _check_str(block, "image_url", pointer, MAX_IMAGE_URL)
        out += _check_str(block, "alt_text", pointer, MAX_ALT_TEXT, required=True)
        if block.get("title") is not None:
            out += check_text_object(block["title"], f"{pointer}/title", max_length=MAX_ALT_TEXT, plain_only=True)
    return out


def check_blocks(blocks: Any, *, surface: Surface = "message", pointer: str = "/blocks") -> list[Violation]:
    """All limits for a ``blocks`` array on the given surface."""
    limit = MAX_MESSAGE_BLOCKS if surface == "message" else MAX_VIEW_BLOCKS
    out = _check_count(blocks, pointer, max_items=limit)
    if not isinstance(blocks, list):
        return out
    for i, block in enumerate(blocks):
        out += check_block(block, f"{pointer}/{i}")
    return out


def check_message_text(text: Any) -> list[Violation]:
    """Slack answers msg_too_long for these; they are not invalid_blocks."""
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        return [Violation("/text", _too_long(text, MAX_MESSAGE_TEXT))]
    return []


def _contains_input_block(blocks: Sequence[Any]) -> bool:
    return any(isinstance(b, Mapping) and b.get("type") == "input" for b in blocks)


def check_view(view: Any, *, expected_type: Literal["modal", "home"] | None = None) -> list[Violation]:
    """All limits for a ``view`` argument (views.open/push/update/publish)."""
    if not isinstance(view, Mapping):
        return [Violation("/view", "must be a view object")]
    kind = view.get("type")
    out: list[Violation] = []
    if kind not in ("modal", "home"):
        out.append(Violation("/view/type", f"must be 'modal' or 'home' (got {kind!r})"))
    elif expected_type is not None and kind != expected_type:
        out.append(Violation("/view/type", f"must be {expected_type!r} for this method (got {kind!r})"))

    if kind == "modal" or view.get("title") is not None:
        out += check_text_object(view.get("title"), "/view/title", max_length=MAX_VIEW_TITLE, plain_only=True)
    if view.get("submit") is not None:
        out += check_text_object(view["submit"], "/view/submit", max_length=MAX_VIEW_SUBMIT, plain_only=True)
    if view.get("close") is not None:
        out += check_text_object(view["close"], "/view/close", max_length=MAX_VIEW_CLOSE, plain_only=True)

    metadata = view.get("private_metadata")
    if metadata is not None:
        if not isinstance(metadata, str):
            out.append(Violation("/view/private_metadata", "must be a string"))
        elif len(metadata) > MAX_PRIVATE_METADATA:
            out.append(Violation("/view/private_metadata", _too_long(metadata, MAX_PRIVATE_METADATA)))
    for key, limit in (("callback_id", MAX_CALLBACK_ID), ("external_id", MAX_EXTERNAL_ID)):
        value = view.get(key)
        if isinstance(value, str) and len(value) > limit:
            out.append(Violation(f"/view/{key}", _too_long(value, limit)))

    surface: Surface = "home" if kind == "home" else "modal"
    blocks = view.get("blocks")
    if blocks is None:
        out.append(Violation("/view/blocks", "missing required field"))
        return out
    out += check_blocks(blocks, surface=surface, pointer="/view/blocks")
    if kind == "modal" and isinstance(blocks, list) and _contains_input_block(blocks) and view.get("submit") is None:
        # Slack: a modal with input blocks must define a submit button.
        out.append(Violation("/view/submit", "is required when the view contains input blocks"))
    return out
