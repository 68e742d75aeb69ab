"""Everything a question mentions, found in one pass; each token is claimed by at most one entity.

The order matters: ages and time phrases first (so "2 weeks" is not read twice), the candidate source before stages
("sourced from LinkedIn" is a source, not the Sourced stage), then stages, positions, skills, locations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.nlu.calendar_words import MONTHS, WEEKDAYS
from bot.nlu.durations import find_older_than
from bot.nlu.model import ASKER
from bot.nlu.text import Message
from bot.nlu.timeranges import FoundTime, find_time_range
from bot.nlu.vocab import VocabIndex

# Values as the database stores them (storage.models.CandidateSource).
_SOURCES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:ref+er+ed|ref+er+als?)\b"), "referral"),
    (re.compile(r"\b(?:inbound|applied|applicants?|applications?)\b"), "applied"),
    (re.compile(r"\b(?:(?:from|via|through) (?:an? |the )?(?:recruiting |recruitment )?)?agenc(?:y|ies)\b"), "agency"),
    (re.compile(r"\b(?:sourced (?:from|via|on|through|by)(?: (?:linkedin|github|xing))?|outbound)\b"), "sourced"),
)
_SENIORITY: dict[str, str] = {
    "intern": "intern", "interns": "intern", "junior": "junior", "juniors": "junior", "jr": "junior",
    "entrylevel": "junior", "graduate": "junior", "grad": "junior", "mid": "mid", "midlevel": "mid",
    "intermediate": "mid", "senior": "senior", "seniors": "senior", "sr": "senior", "staff": "staff",
    "principal": "principal", "lead": "lead", "leads": "lead",
}  # fmt: skip
# These are also ordinary words ("our staff", "any leads?"); they only mean seniority before a role noun.
_SENIORITY_NEEDS_ROLE = frozenset({"staff", "principal", "lead", "leads"})
_ROLE_NOUNS = frozenset(
    {"engineer", "developer", "dev", "designer", "analyst", "manager", "scientist", "architect", "candidat", "people",
     "profil", "folk", "person", "hire", "programmer", "level"}
)  # fmt: skip
# Not "from": "candidates from Google" names a former employer more often than a place.
_LOCATION_LEAD_INS = frozenset({"in", "near", "around", "based", "located"})
_NOT_PLACES = frozenset(MONTHS) | frozenset(WEEKDAYS) | {"i", "q1", "q2", "q3", "q4", "the", "slack"}
_POOL_NAME_STOPS = frozenset({"the", "a", "our", "from", "in", "of", "candidate", "candidates", "search", "find"})
_SELF = re.compile(r"\b(?:my|mine)\b|\b(?:for|to|with|by) me\b|\bi own\b")


@dataclass(frozen=True, slots=True)
class Entities:
    stage: str | None = None
    position: str | None = None
    skills: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    pool: str | None = None
    seniority: str | None = None
    source: str | None = None
    owner: str | None = None
    email: str | None = None
    time: FoundTime | None = None
    older_than: timedelta | None = None
    # Tokens nobody claimed: what a name or free-text search is made of.
    leftover: tuple[int, ...] = ()


class _Claims:
    def __init__(self, message: Message):
        self.message = message
        self.taken: set[int] = set()

    def span(self, start: int, end: int) -> None:
        self.taken.update(self.message.tokens_in(start, end))

    def tokens(self, start: int, end: int) -> None:
        self.taken.update(range(start, end))


def extract(message: Message, index: VocabIndex, *, now: datetime, zone: ZoneInfo) -> Entities:
    claims = _Claims(message)
    lower = message.lower
    older = find_older_than(lower)
    if older:
        claims.span(*older[1])
        start, end = older[1]
        lower = lower[:start] + " " * (end - start) + lower[end:]
    time = find_time_range(lower, now=now, zone=zone)
    if time:
        claims.span(*time.span)
    source = _source(lower, claims)
    pool = _pool(message, index, claims)
    stages = index.stages.find(message.tokens, claims.taken)
    for match in stages[:1]:
        claims.tokens(match.start, match.end)
    positions = index.positions.find(message.tokens, claims.taken)
    for match in positions[:1]:
        claims.tokens(match.start, match.end)
    skills = index.skills.find(message.tokens, claims.taken)
    for match in skills:
        claims.tokens(match.start, match.end)
    known_places = index.locations.find(message.tokens, claims.taken)
    for match in known_places:
        claims.tokens(match.start, match.end)
    locations = [m.value for m in known_places] + _capitalised_places(message, claims)
    seniority = _seniority(message, claims)
    return Entities(
        stage=stages[0].value if stages else None,
        position=positions[0].value if positions else None,
        skills=tuple(dict.fromkeys(m.value for m in skills)),
        locations=tuple(dict.fromkeys(locations)),
        pool=pool,
        seniority=seniority,
        source=source,
        owner=message.mentions[0] if message.mentions else ASKER if _SELF.search(message.lower) else None,
        email=message.emails[0] if message.emails else None,
        time=time,
        older_than=older[0] if older else None,
        leftover=tuple(i for i in range(len(message.tokens)) if i not in claims.taken),
    )


def _source(lower: str, claims: _Claims) -> str | None:
    for pattern, value in _SOURCES:
        matches = list(pattern.finditer(lower))
        for match in matches:  # "inbound applicants": both words are the source
            claims.span(*match.span())
        if matches:
            return value
    return None


def _pool(message: Message, index: VocabIndex, claims: _Claims) -> str | None:
    pool_words = [i for i, t in enumerate(message.tokens) if t.key == "pool"]
    claims.taken.update(pool_words)
    claims.taken.update(i - 1 for i in pool_words if i > 0 and message.tokens[i - 1].lower == "talent")
    known = index.pools.find(message.tokens, claims.taken)
    if known:
        claims.tokens(known[0].start, known[0].end)
        return known[0].value
    if not pool_words:
        return None
    # An unknown pool is still a pool: "the ML talent pool" → "ML", as typed.
    end = pool_words[0]
    if end > 0 and message.tokens[end - 1].lower == "talent":
        end -= 1
    start = end
    while start > 0 and end - start < 3 and start - 1 not in claims.taken:
        if message.tokens[start - 1].lower in _POOL_NAME_STOPS:
            break
        start -= 1
    if start == end:
        return None
    claims.tokens(start, end)
    return message.clean[message.tokens[start].start : message.tokens[end - 1].end]


def _seniority(message: Message, claims: _Claims) -> str | None:
    tokens = message.tokens
    for i, token in enumerate(tokens):
        word = token.lower.replace("-", "")
        if i in claims.taken or word not in _SENIORITY:
            continue
        if word in _SENIORITY_NEEDS_ROLE and not _before_role(message, i + 1, claims):
            continue
        claims.taken.add(i)
        # "mid level", "entry level": the second word belongs to the seniority too.
        if i + 1 < len(tokens) and tokens[i + 1].lower == "level":
            claims.taken.add(i + 1)
        return _SENIORITY[word]
    for i in range(len(tokens) - 1):
        if tokens[i].lower == "entry" and tokens[i + 1].lower == "level" and i not in claims.taken:
            claims.tokens(i, i + 2)
            return "junior"
    return None


def _before_role(message: Message, i: int, claims: _Claims) -> bool:
    # Claimed already means a position or skill follows: "lead backend engineers", "staff Python developers".
    return i < len(message.tokens) and (message.tokens[i].key in _ROLE_NOUNS or i in claims.taken)


def _capitalised_places(message: Message, claims: _Claims) -> list[str]:
    """ "in Lisbon", "near São Paulo": an unknown place is still a place when it is capitalised after "in"/"near"."""
    tokens = message.tokens
    places: list[str] = []
    for i, token in enumerate(tokens[:-1]):
        if token.lower not in _LOCATION_LEAD_INS or i in claims.taken:
            continue
        words: list[int] = []
        j = i + 1
        while j < len(tokens) and len(words) < 3 and j not in claims.taken:
            candidate = tokens[j]
            if not candidate.text[0].isupper() or candidate.lower in _NOT_PLACES or candidate.is_email:
                break
            words.append(j)
            j += 1
        if words:
            claims.taken.update(words)
            claims.taken.add(i)
            places.append(" ".join(tokens[k].text for k in words))
    return places
