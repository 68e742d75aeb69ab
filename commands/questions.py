"""Questions in plain words: @talentbot mentions and DMs, answered in the thread where they were asked.

parse (bot.nlu, offline; the language model only for what it cannot place) → query tool (bot.services.questions)
→ Block Kit (commands/question_views.py) → chat.postMessage in the thread. The answer is posted straight after
the ack: it reports no change to the database, so it needs no outbox. The buttons on a stale answer (Nudge owner,
Snooze 7 days) do change it, and the nudge DM goes through the outbox in the same transaction.

"Draft follow-up" (action id `draft_followup`) and "@talentbot draft an intro email to …" (Intent.DRAFT) belong to
the AI-drafting feature, commands/outreach.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.access import AccessDenied, Actor
from bot.deps import Deps
from bot.llm import ToolRouter, candidate_names_in, record_llm_call
from bot.nlu import DraftArgs, ParsedQuestion, Vocabulary, parse_question
from bot.outbox import queue_slack_call
from bot.services.candidates import NotFound
from bot.services.outreach import DraftRefused
from bot.services.questions import (
    HelpAnswer,
    answer_question,
    build_vocabulary,
    candidate_card,
    nudge_owner,
    snooze_stale,
)
from bot.templates import render
from commands.errors import explain_refusal
from commands.outreach import DraftDesk
from commands.question_views import (
    ACTION_MORE,
    ACTION_NUDGE,
    ACTION_SNOOZE,
    ACTION_STATUS_PICK,
    build_answer,
    build_card,
    build_nudge_dm,
    decode_page_request,
    nudge_confirmation,
    snooze_confirmation,
)

logger = logging.getLogger(__name__)

# Time zones change when people travel, not between two questions.
TIME_ZONE_TTL = 3600.0
# New positions and skills should be understood within a minute of being added.
VOCABULARY_TTL = 60.0
DEFAULT_TZ = "UTC"

T = TypeVar("T")


class Expiring(Generic[T]):
    """A value per key, recomputed once it is older than `ttl` seconds; safe across listener threads."""

    def __init__(self, ttl: float):
        self._ttl = ttl
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, T]] = {}

    def get(self, key: str, compute: Callable[[], T]) -> T:
        with self._lock:
            cached = self._values.get(key)
        if cached is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        value = compute()
        with self._lock:
            self._values[key] = (time.monotonic(), value)
        return value


def is_question_dm(event: dict[str, Any]) -> bool:
    """A person's own new message in a DM with the bot: not the bot's, not an edit, a join or a file share."""
    return (event.get("channel_type") == "im" and not event.get("subtype") and not event.get("bot_id")
            and bool(event.get("user")) and bool((event.get("text") or "").strip()))


def thread_of(event: dict[str, Any]) -> str:
    return str(event.get("thread_ts") or event["ts"])


class QuestionDesk:
    """Everything a question needs besides the request: caches and the language model, made on first use (so
    registering the listeners needs nothing but `deps`)."""

    def __init__(self, deps: Deps):
        self.deps = deps
        self._time_zones: Expiring[str] = Expiring(TIME_ZONE_TTL)
        self._vocabulary: Expiring[Vocabulary] = Expiring(VOCABULARY_TTL)
        self._router: ToolRouter | None = None
        self._router_made = False
        self._lock = threading.Lock()

    def time_zone(self, client: WebClient, user_id: str) -> str:
        def look_up() -> str:
            try:
                return str(client.users_info(user=user_id)["user"].get("tz") or DEFAULT_TZ)
            except SlackApiError as error:
                logger.warning("users.info failed for %s (%s); reading times in UTC", user_id,
                               error.response.get("error"))
                return DEFAULT_TZ
        return self._time_zones.get(user_id, look_up)

    def vocabulary(self) -> Vocabulary:
        def build() -> Vocabulary:
            with self.deps.db.read() as session:
                return build_vocabulary(session, self.deps.config)
        return self._vocabulary.get("vocabulary", build)

    def router(self) -> ToolRouter | None:
        with self._lock:
            if not self._router_made:
                self._router = ToolRouter.from_settings(self.deps.settings)
                self._router_made = True
            return self._router

    def understand(self, text: str, *, actor: Actor, tz: str, now: datetime,
                   bot_user_id: str | None) -> tuple[ParsedQuestion, str | None]:
        """The parsed question, and a note for the help answer when the language model was asked in vain."""
        vocabulary = self.vocabulary()
        parsed = parse_question(text, vocabulary=vocabulary, now=now, tz=tz, bot_user_id=bot_user_id)
        router = self.router() if not parsed.understood and parsed.text else None
        if router is None:
            return parsed, None
        with self.deps.db.read() as session:
            names = candidate_names_in(session, parsed.text)
        choice = router.choose(parsed.text, known_names=names, vocabulary=vocabulary, now=now, tz=tz,
                               phone_region=self.deps.config.default_phone_region)
        with self.deps.db.transaction() as session:
            record_llm_call(session, actor=actor, choice=choice, now=now)
        if choice.parsed is not None:
            return choice.parsed, None
        note = render("questions/llm_note.md.j2", unavailable=choice.error == "model_unavailable")
        return parsed, note

    def answer(self, client: WebClient, *, actor: Actor, question: ParsedQuestion, channel: str, thread_ts: str,
               tz: str, now: datetime, note: str | None = None, offset: int = 0) -> bool:
        """Post the answer in the thread (True), or tell only the asker why not (False)."""
        try:
            with self.deps.db.read() as session:
                answer = answer_question(session, actor=actor, question=question, config=self.deps.config,
                                         now=now, tz=tz, offset=offset)
        except (AccessDenied, NotFound) as refusal:
            tell_privately(client, channel=channel, user_id=actor.user_id, thread_ts=thread_ts,
                           text=explain_refusal(refusal) or str(refusal))
            return False
        if isinstance(answer, HelpAnswer) and note:
            answer = replace(answer, note=note)
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, unfurl_links=False,
                                **build_answer(answer, now=now, tz=tz))
        return True


def tell_privately(client: WebClient, *, channel: str, user_id: str, thread_ts: str, text: str) -> None:
    # In a DM the thread is private already; in a channel only the asker should read why they were refused.
    if channel.startswith("D"):
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
    else:
        client.chat_postEphemeral(channel=channel, user=user_id, thread_ts=thread_ts, text=text)


def _clicked_thread(body: dict[str, Any]) -> tuple[str, str]:
    clicked = body.get("message") or {}
    channel = body.get("container", {}).get("channel_id") or body.get("channel", {}).get("id")
    return str(channel), str(clicked.get("thread_ts") or clicked.get("ts") or body["container"]["message_ts"])


def register(app: App, deps: Deps) -> None:
    desk = QuestionDesk(deps)
    drafts = DraftDesk(deps)

    def on_question(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not event.get("user") or event.get("bot_id"):
            return
        now = deps.clock()
        actor = deps.roles.actor(event["user"])
        tz = desk.time_zone(client, actor.user_id)
        question, note = desk.understand(event.get("text") or "", actor=actor, tz=tz, now=now,
                                         bot_user_id=context.bot_user_id)
        if isinstance(question.args, DraftArgs):
            try:
                drafts.draft_from_question(client, actor=actor, args=question.args, channel=event["channel"],
                                           thread_ts=thread_of(event))
            except (AccessDenied, NotFound, DraftRefused) as refusal:
                tell_privately(client, channel=event["channel"], user_id=actor.user_id, thread_ts=thread_of(event),
                               text=explain_refusal(refusal) or str(refusal))
            return
        desk.answer(client, actor=actor, question=question, channel=event["channel"], thread_ts=thread_of(event),
                    tz=tz, now=now, note=note)

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        on_question(event, client, context)

    @app.event("message", matchers=[lambda event: is_question_dm(event)])
    def on_direct_message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        on_question(event, client, context)

    # message.im is subscribed for questions, so edits, deletions and joins in DMs arrive too. They need no answer,
    # but an unhandled event is a 404 to Slack, which retries it and counts it against the app. (A feature that
    # wants such messages registers its listener before this module's in commands/__init__.py.)
    @app.event("message")
    def ignore_other_messages() -> None:
        return None

    @app.action(ACTION_MORE)
    def more(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        intent, args, offset = decode_page_request(action["value"], stages=deps.config.pipeline.names)
        now = deps.clock()
        actor = deps.roles.actor(body["user"]["id"])
        channel, thread_ts = _clicked_thread(body)
        tz = desk.time_zone(client, actor.user_id)
        posted = desk.answer(client, actor=actor, question=ParsedQuestion(intent, args, True, 1.0), channel=channel,
                             thread_ts=thread_ts, tz=tz, now=now, offset=offset)
        clicked = body.get("message")
        if posted and clicked:
            # The page is below now; without the button, the message cannot post the same page again.
            kept = [block for block in clicked.get("blocks", []) if block.get("block_id") != "question-more"]
            client.chat_update(channel=channel, ts=clicked["ts"], text=clicked.get("text", ""), blocks=kept)

    @app.action(ACTION_STATUS_PICK)
    def pick_candidate(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        now = deps.clock()
        actor = deps.roles.actor(body["user"]["id"])
        channel, thread_ts = _clicked_thread(body)
        tz = desk.time_zone(client, actor.user_id)
        with deps.db.read() as session:
            card = candidate_card(session, actor=actor, candidate_id=int(action["value"]), now=now)
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, **build_card(card, now=now, tz=tz))

    @app.action(ACTION_NUDGE)
    def nudge(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        now = deps.clock()
        actor = deps.roles.actor(body["user"]["id"])
        outbox_ids: list[int] = []
        with deps.db.transaction() as session:
            outcome = nudge_owner(session, actor=actor, application_id=int(action["value"]), now=now)
            if not outcome.repeated:
                dm = queue_slack_call(
                    session, method="chat.postMessage", now=now,
                    dedupe_key=f"stale-nudge:{outcome.application_id}:{now.isoformat()}",
                    payload={"channel": outcome.owner_slack_id, **build_nudge_dm(outcome, nudger=actor.user_id)})
                outbox_ids.append(dm.id or 0)
        deps.outbox.deliver(outbox_ids)
        respond(text=nudge_confirmation(outcome), response_type="ephemeral", replace_original=False)

    @app.action(ACTION_SNOOZE)
    def snooze(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        now = deps.clock()
        actor = deps.roles.actor(body["user"]["id"])
        with deps.db.transaction() as session:
            outcome = snooze_stale(session, actor=actor, application_id=int(action["value"]), now=now)
        tz = desk.time_zone(client, actor.user_id)
        respond(text=snooze_confirmation(outcome, now=now, tz=tz), response_type="ephemeral", replace_original=False)
