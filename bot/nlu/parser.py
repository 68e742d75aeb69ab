"""parse_question: a recruiter's Slack message → intent and typed arguments, offline and deterministic."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.nlu.entities import Entities, extract
from bot.nlu.intents import Classification, classify
from bot.nlu.model import (
    Arguments,
    DraftArgs,
    HelpArgs,
    Intent,
    MetricArgs,
    OverdueArgs,
    ParsedQuestion,
    PipelineArgs,
    ReferralsArgs,
    SearchArgs,
    StaleArgs,
    StatusArgs,
    TasksArgs,
    Vocabulary,
)
from bot.nlu.spelling import correct_cue_words
from bot.nlu.text import Message, normalize
from bot.nlu.vocab import index_for

# Questions are short; a pasted wall of text is cut so parsing stays bounded (the phrase search is per word).
MAX_QUESTION_LENGTH = 500

# "hasn't been touched in the last 2 weeks" asks for an age, not for activity within a window.
_NO_ACTIVITY = re.compile(
    r"(?:\bnot|n'?t|\bno|\bwithout)\s+(?:\w+\s+){0,2}?(?:touch|activity|update|mov|contact|heard)"
)

# Words around a name or free-text search term that are not part of it ("what's the status of Jane Doe?").
# The words of a draft request around the name ("draft an intro email to Jane Doe").
_DRAFT_WORDS = frozenset({
    "draft", "write", "compose", "prepare", "pen", "email", "e-mail", "mail", "message", "note", "intro",
    "introduction", "introductory", "follow", "follow-up", "followup", "outreach", "short", "quick", "friendly",
    "personal", "first", "new", "another", "reach", "out", "emails", "messages", "notes",
})
_FOLLOW_UP = re.compile(r"\bfollow[ -]?up\b|\bchase\b|\bcheck[ -]?in\b|\bnudge\b")
_FILLER = frozenset({
    "a", "an", "the", "of", "for", "on", "in", "at", "to", "with", "about", "and", "or", "is", "are", "was", "were",
    "be", "been", "being", "has", "have", "had", "do", "does", "did", "can", "could", "would", "will", "should",
    "please", "pls", "plz", "thanks", "thx", "me", "i", "we", "us", "our", "you", "your", "it", "its", "this", "that",
    "there", "here", "what", "what's", "whats", "which", "who", "who's", "whos", "whom", "where", "where's", "wheres",
    "how", "how's", "hows", "when", "why", "any", "anyone", "anybody", "someone", "somebody", "some", "all", "show",
    "list", "give", "get", "tell", "let", "know", "see", "check", "hey", "hi", "hello", "bot", "talentbot", "ok",
    "okay", "so", "just", "now", "currently", "right", "still", "stage", "step", "process", "status", "update",
    "updates", "news", "latest", "progress", "happening", "going", "doing", "stand", "standing", "find", "search",
    "searching", "look", "looking", "up", "lookup", "candidate", "candidates", "people", "person", "folks", "profile",
    "profiles", "engineer", "engineers", "developer", "developers", "dev", "devs", "named", "called", "knows",
    "knowing", "experience", "experienced", "skill", "skills", "speaks", "having", "from", "based", "located", "near",
    "around", "role", "position", "job", "like", "also", "too", "them", "they", "their", "him", "her", "his", "she",
    "he", "anything", "everything", "everyone", "regarding", "info", "information", "details", "card", "record",
    "whereabouts", "moment", "pipeline", "these", "those", "one", "else", "my", "mine", "getting", "faring",
})  # fmt: skip


def parse_question(
    text: str, *, vocabulary: Vocabulary, now: datetime, tz: str, bot_user_id: str | None = None
) -> ParsedQuestion:
    """Parse one question. `now` must be timezone-aware; `tz` is the asker's IANA zone (unknown zones mean UTC)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    message = normalize(text[:MAX_QUESTION_LENGTH], bot_user_id=bot_user_id)
    entities = extract(message, index_for(vocabulary), now=now, zone=_zone(tz))
    cue_text, misspelled_cues = correct_cue_words(message)
    verdict = classify(cue_text, entities)
    # A misspelled "serach" is a cue, not part of the name being searched for.
    entities = replace(entities, leftover=tuple(i for i in entities.leftover if i not in misspelled_cues))
    args = _arguments(verdict, entities, message) if verdict.understood else HelpArgs()
    return ParsedQuestion(verdict.intent, args, verdict.understood, verdict.confidence, message.clean)


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        # A Slack profile with an odd zone should not make the bot fail; day boundaries are then UTC ones.
        return ZoneInfo("UTC")


def _arguments(verdict: Classification, e: Entities, message: Message) -> Arguments:
    time = e.time.range if e.time else None
    match verdict.intent:
        case Intent.STALE:
            older_than = e.older_than
            if older_than is None and e.time and e.time.rolling and _NO_ACTIVITY.search(message.lower):
                older_than, time = e.time.rolling, None
            return StaleArgs(e.stage, e.position, e.owner, time, older_than)
        case Intent.PIPELINE:
            return PipelineArgs(e.stage, e.position, e.owner, time, verdict.count_only)
        case Intent.SEARCH:
            return SearchArgs(
                skills=e.skills,
                locations=e.locations,
                seniority=e.seniority,
                stage=e.stage,
                position=e.position,
                source=e.source,
                pool=e.pool,
                owner=e.owner,
                text=_free_text(message, e),
            )
        case Intent.STATUS:
            return StatusArgs(name=None if e.email else _free_text(message, e), email=e.email)
        case Intent.MY_TASKS:
            return TasksArgs(time)
        case Intent.OVERDUE:
            return OverdueArgs(e.owner)
        case Intent.MY_REFERRALS:
            return ReferralsArgs(time)
        case Intent.METRIC if verdict.metric is not None:
            return MetricArgs(verdict.metric, time, e.position)
        case Intent.DRAFT:
            purpose = "follow_up" if _FOLLOW_UP.search(message.lower) else "intro"
            name = None if e.email else _free_text(message, e, extra_filler=_DRAFT_WORDS)
            return DraftArgs(name=name, email=e.email, position=e.position, purpose=purpose)
    return HelpArgs()


def _free_text(message: Message, e: Entities, *, extra_filler: frozenset[str] = frozenset()) -> str | None:
    """The longest run of unclaimed, non-filler words, as typed: usually a person's name."""
    runs: list[list[int]] = [[]]
    for i in range(len(message.tokens)):
        token = message.tokens[i]
        if i in e.leftover and not token.is_email and token.lower not in _FILLER and token.lower not in extra_filler:
            runs[-1].append(i)
        elif runs[-1]:
            runs.append([])
    longest = max(reversed(runs), key=len)
    if not longest:
        return None
    first, last = message.tokens[longest[0]], message.tokens[longest[-1]]
    found = message.clean[first.start : last.end]
    return found.removesuffix("'s").strip() or None
