"""The language-model fallback for questions the offline parser cannot place: tool calling over the query tools.

Only the question goes to the model, with personal details replaced by placeholders (bot.privacy: e-mail
addresses, phone numbers and URLs by pattern; the names of candidates the question mentions, found by a quick
name lookup). The model is offered one function per intent, with JSON schemas generated from the argument
dataclasses (bot.nlu) and enums for stages and metrics, and has to call one. Its arguments are checked exactly
like a "More" button's (bot.services.questions.args_from_data); the answer then comes from the database through
the same query tools, never from the model's text.

Every call goes on the audit trail as an `llm.call` activity: the question as sent, the model, the tool and the
arguments as the model sent them (still redacted). A model that is down, slow or talks nonsense costs the
asker nothing but the help answer with a note.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import openai
from sqlmodel import Session

from bot.access import Actor
from bot.contact import name_key
from bot.nlu import HelpArgs, Intent, Metric, ParsedQuestion, Vocabulary
from bot.privacy import KnownPII, Redaction, redact, restore
from bot.services.questions import InvalidArguments, args_from_data, argument_kinds
from bot.services.timeline import record_activity
from bot.settings import Settings
from bot.templates import render
from storage import queries
from storage.models import Activity

logger = logging.getLogger(__name__)

# A candidate's name in a question is two to four words ("Jane Doe", "Marie-Claire de Vries").
NAME_WORDS = range(2, 5)
MAX_NAMES = 20
# Enumerating every position title would make the schema longer than the question; past this many it is text.
MAX_POSITION_ENUM = 100
SOURCES = ("referral", "sourced", "applied", "agency", "other")
_WORD = re.compile(r"[\w'-]+")


@dataclass(frozen=True)
class ToolChoice:
    question_sent: str
    model: str
    tool: str | None = None
    # As the model sent them (placeholders not filled in): what the audit trail keeps.
    arguments: dict[str, Any] | None = None
    # The question to answer, when the choice was usable.
    parsed: ParsedQuestion | None = None
    # Why it was not: "model_unavailable", "no_tool_call", "invalid_arguments: …".
    error: str | None = None


# --- what the model is offered --------------------------------------------------------------------------


def _schema(kind: str, name: str, vocabulary: Vocabulary) -> dict[str, Any]:
    description = render("llm/argument_description.md.j2", argument=name)
    schema: dict[str, Any]
    if kind == "flag":
        schema = {"type": "boolean"}
    elif kind == "texts":
        schema = {"type": "array", "items": {"type": "string"}, "maxItems": 20}
    elif kind == "time_range":
        moment = {"type": "string", "format": "date-time"}
        schema = {"type": "object", "properties": {"start": moment, "end": moment}, "required": ["start", "end"],
                  "additionalProperties": False}
    elif kind == "days":
        schema = {"type": "number", "exclusiveMinimum": 0, "maximum": 3650}
    elif kind == "metric":
        schema = {"type": "string", "enum": [metric.value for metric in Metric]}
    elif name == "stage":
        schema = {"type": "string", "enum": list(vocabulary.stages)}
    elif name == "source":
        schema = {"type": "string", "enum": list(SOURCES)}
    elif name == "position" and 0 < len(vocabulary.positions) <= MAX_POSITION_ENUM:
        schema = {"type": "string", "enum": list(vocabulary.positions)}
    else:
        schema = {"type": "string", "maxLength": 200}
    return {**schema, "description": description} if description else schema


def tool_schemas(vocabulary: Vocabulary) -> list[dict[str, Any]]:
    """One function per intent; parameters from the intent's argument dataclass."""
    tools = []
    for intent in Intent:
        kinds = argument_kinds(intent)
        parameters = {
            "type": "object",
            "properties": {name: _schema(kind, name, vocabulary) for name, kind in kinds.items()},
            "required": [name for name, kind in kinds.items() if kind == "metric"],
            "additionalProperties": False,
        }
        tools.append({"type": "function", "function": {
            "name": str(intent), "description": render("llm/tool_description.md.j2", intent=str(intent)),
            "parameters": parameters}})
    return tools


# --- personal details -----------------------------------------------------------------------------------


def candidate_names_in(session: Session, question: str) -> list[str]:
    """Names of candidates the question mentions: every run of two to four words looked up by its folded form
    (an indexed equality, so the lookup costs a few index probes, not a scan)."""
    # "Jane Doe's card" is about Jane Doe.
    words = [word.removesuffix("'s") for word in _WORD.findall(question.replace("’", "'"))]
    keys = {name_key(" ".join(words[i:i + n])) for n in NAME_WORDS for i in range(len(words) - n + 1)}
    return queries.candidate_names_for_keys(session, sorted(keys), limit=MAX_NAMES)


def _filled(value: Any, redaction: Redaction) -> Any:
    if isinstance(value, str):
        return restore(value, redaction).text
    if isinstance(value, list):
        return [_filled(item, redaction) for item in value]
    if isinstance(value, dict):
        return {key: _filled(item, redaction) for key, item in value.items()}
    return value


# --- the call -------------------------------------------------------------------------------------------


def _today(now: datetime, tz: str) -> str:
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).strftime("%A %Y-%m-%d %H:%M %z")


def openai_client(*, base_url: str, api_key: str, timeout_seconds: float, max_retries: int) -> openai.OpenAI:
    """The one way talentbot reaches a language model: any OpenAI-compatible server, with timeouts and retries."""
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_seconds, max_retries=max_retries)


class ToolRouter:
    """Asks an OpenAI-compatible server which query tool answers a question."""

    def __init__(self, *, base_url: str, api_key: str, model: str, timeout_seconds: float, max_retries: int):
        self.model = model
        self._client = openai_client(base_url=base_url, api_key=api_key, timeout_seconds=timeout_seconds,
                                     max_retries=max_retries)

    @classmethod
    def from_settings(cls, settings: Settings) -> ToolRouter | None:
        """None unless OPENAI_BASE_URL, OPENAI_API_KEY and TALENTBOT_LLM_MODEL are all set."""
        if not settings.llm_configured:
            return None
        return cls(base_url=settings.openai_base_url, api_key=settings.openai_api_key,
                   model=settings.talentbot_llm_model, timeout_seconds=settings.talentbot_llm_timeout_seconds,
                   max_retries=settings.talentbot_llm_max_retries)

    def choose(self, question: str, *, known_names: Sequence[str], vocabulary: Vocabulary, now: datetime,
               tz: str, phone_region: str | None = None) -> ToolChoice:
        """`phone_region` reads phone numbers typed without a country code (the workspace's default region)."""
        known = KnownPII(other_people_names=tuple(known_names), phone_region=phone_region or "US")
        redaction = redact(question, known)
        sent = redaction.text
        messages: list[Any] = [
            {"role": "system", "content": render("llm/system.md.j2", today=_today(now, tz), tz=tz)},
            {"role": "user", "content": sent},
        ]
        tools: list[Any] = tool_schemas(vocabulary)
        try:
            completion = self._client.chat.completions.create(model=self.model, messages=messages, tools=tools,
                                                              tool_choice="auto", temperature=0)
        except openai.OpenAIError as error:
            logger.warning("the language model could not be asked: %s", error)
            return ToolChoice(question_sent=sent, model=self.model, error="model_unavailable")
        calls = completion.choices[0].message.tool_calls if completion.choices else None
        call = calls[0] if calls else None
        function = getattr(call, "function", None)
        if function is None:
            return ToolChoice(question_sent=sent, model=self.model, error="no_tool_call")
        return self._checked(function.name, function.arguments, redaction, vocabulary)

    def _checked(self, tool: str, raw: str | None, redaction: Redaction, vocabulary: Vocabulary) -> ToolChoice:
        sent = redaction.text
        try:
            data = json.loads(raw or "{}")
        except json.JSONDecodeError:
            return ToolChoice(question_sent=sent, model=self.model, tool=tool, arguments={"unparsed": raw},
                              error="invalid_arguments: not JSON")
        if not isinstance(data, dict):
            return ToolChoice(question_sent=sent, model=self.model, tool=tool, arguments={"unparsed": raw},
                              error="invalid_arguments: not an object")
        try:
            intent = Intent(tool)
            args = args_from_data(intent, _filled(data, redaction), stages=vocabulary.stages)
        except (ValueError, InvalidArguments) as error:
            return ToolChoice(question_sent=sent, model=self.model, tool=tool, arguments=data,
                              error=f"invalid_arguments: {error}"[:300])
        # A model choosing help has not understood the question either; the answer says so.
        understood = not isinstance(args, HelpArgs)
        return ToolChoice(question_sent=sent, model=self.model, tool=tool, arguments=data,
                          parsed=ParsedQuestion(intent, args, understood, 1.0 if understood else 0.0, sent))


def record_llm_call(session: Session, *, actor: Actor, choice: ToolChoice, now: datetime) -> Activity:
    """The audit trail entry; it is about no candidate, so it touches no application."""
    return record_activity(session, actor=actor.user_id, kind="llm.call", now=now, payload={
        "question_sent": choice.question_sent, "model": choice.model, "tool": choice.tool,
        "arguments": choice.arguments, "error": choice.error})
