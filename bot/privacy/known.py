"""Deny-list recognizer built from what the CRM already knows about a candidate.

Names and employers: the words of the text that can start a known name ("jane", "doe",
"acme") are found with one set intersection, and only there are the name's matchers
tried (see `variants`). E-mails, URLs and phones are literal values, matched by
comparison (see `literals`). Nothing is compiled per candidate.

Recognizers are cached per `KnownPII`, so the next note about the same candidate costs
only the scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache

from presidio_analyzer import LocalRecognizer, RecognizerResult

from bot.privacy.literals import KnownPhone, find_emails, find_phones, find_urls, url_core
from bot.privacy.placeholders import CANDIDATE_FIRST_NAME, CANDIDATE_LAST_NAME, CANDIDATE_NAME
from bot.privacy.textnorm import email_key, fold_accents, name_key, phone_key, url_key
from bot.privacy.variants import Matcher, PersonVariants, Variant, employer_variants, person_variants

TARGET_KEY = "known_pii_target"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class KnownPII:
    """What the CRM knows about the people in a text. Lists are accepted and stored as tuples.

    `candidate_names` are aliases of one person (the first is what restore writes back);
    each entry of `other_people_names` (referrer, recruiter...) is a different person.
    """

    candidate_names: Sequence[str] = ()
    other_people_names: Sequence[str] = ()
    emails: Sequence[str] = ()
    phones: Sequence[str] = ()
    urls: Sequence[str] = ()
    employers: Sequence[str] = ()
    phone_region: str = "US"  # for stored numbers written without a country code

    def __post_init__(self) -> None:
        # Tuples make the value hashable, which is what lets recognizers be cached.
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "phone_region":
                object.__setattr__(self, f.name, tuple(v.strip() for v in value if v and v.strip()))


@dataclass(frozen=True)
class Target:
    """One thing the CRM knows, and how its placeholder is chosen.

    `kind` is CANDIDATE_NAME / CANDIDATE_FIRST_NAME / CANDIDATE_LAST_NAME, PERSON,
    PERSON_FIRST_NAME, PERSON_LAST_NAME, EMAIL, PHONE, URL or EMPLOYER. `key` identifies
    the value (a person, a phone number in any format); `canonical` is what restore writes.
    """

    kind: str
    entity_type: str
    key: str
    canonical: str


_CANDIDATE_KINDS = {"full": CANDIDATE_NAME, "first": CANDIDATE_FIRST_NAME, "last": CANDIDATE_LAST_NAME}
_PERSON_KINDS = {"full": "PERSON", "first": "PERSON_FIRST_NAME", "last": "PERSON_LAST_NAME"}


def _people(known: KnownPII) -> list[tuple[int, PersonVariants]]:
    """(index, variants): 0 is the candidate, 1.. the other people in their given order."""
    people: list[tuple[int, PersonVariants]] = []
    cand = person_variants(tuple(known.candidate_names))
    if cand:
        people.append((0, cand))
    seen = {name_key(n) for n in known.candidate_names}
    for index, name in enumerate(known.other_people_names, start=1):
        person = person_variants((name,))
        if person and name_key(name) not in seen:
            seen.add(name_key(name))
            people.append((index, person))
    return people


def _word_targets(known: KnownPII) -> Iterator[tuple[Target, Sequence[Variant]]]:
    """Name and employer targets in priority order: where two match at the same word, the
    earlier wins (a full name before a first name, "Jane Street" before "Jane")."""
    people = _people(known)

    def person(index: int, part: str, canonical: str) -> Target:
        kind = _CANDIDATE_KINDS[part] if index == 0 else _PERSON_KINDS[part]
        return Target(kind, "PERSON", f"person:{index}", canonical)

    for index, p in people:
        if p.full:
            yield person(index, "full", p.canonical_full), p.full
    for index, employer in enumerate(dict.fromkeys(known.employers), start=1):
        yield Target("EMPLOYER", "ORGANIZATION", f"employer:{index}", employer), employer_variants(employer)
    for index, p in people:
        if p.last:
            yield person(index, "last", p.canonical_last), p.last
    for index, p in people:
        if p.first:
            yield person(index, "first", p.canonical_first), p.first


class KnownPIIRecognizer(LocalRecognizer):
    """presidio recognizer for one candidate's known values: case-, accent- and format-tolerant."""

    ENTITIES = ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "URL", "ORGANIZATION"]

    def __init__(self, known: KnownPII):
        # word -> [(target, matcher)] in priority order; a target lists its longer variants
        # first ("Jane Quinn Doe" before "Jane").
        self.by_word: dict[str, list[tuple[Target, Matcher]]] = {}
        for target, variants in _word_targets(known):
            for matcher, words in variants:
                for word in words:
                    self.by_word.setdefault(word, []).append((target, matcher))

        self.words = frozenset(self.by_word)

        emails = tuple(dict.fromkeys(known.emails))
        self.emails = tuple(fold_accents(e).lower() for e in emails)
        self.email_targets = [Target("EMAIL", "EMAIL_ADDRESS", f"EMAIL:{email_key(e)}", e) for e in emails]
        urls = tuple(dict.fromkeys(known.urls))
        self.urls = tuple(url_core(u) for u in urls)
        self.url_targets = [Target("URL", "URL", f"URL:{url_key(u)}", u) for u in urls]
        phones = [(p, KnownPhone.parse(p, known.phone_region)) for p in dict.fromkeys(known.phones)]
        self.phones = tuple(parsed for _, parsed in phones if parsed)
        self.phone_targets = [
            Target("PHONE", "PHONE_NUMBER", f"PHONE:{phone_key(p, known.phone_region)}", p)
            for p, parsed in phones
            if parsed
        ]
        self.canonical_by_key = {
            t.key: t.canonical for t in [*self.email_targets, *self.url_targets, *self.phone_targets]
        }
        super().__init__(supported_entities=self.ENTITIES, name="KnownPIIRecognizer")

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        # `entities` is ignored, as presidio's PatternRecognizer does: AnalyzerEngine passes the
        # registry's entity list, which doesn't include an ad-hoc recognizer's own entities.
        return [self._result(target, start, end) for target, start, end in self.matches(text)]

    def matches(self, text: str) -> Iterator[tuple[Target, int, int]]:
        """Known values in `text`; names inside a matched e-mail or URL are not reported."""
        # Folding keeps offsets, so spans found in the folded text are spans of `text`.
        folded = fold_accents(text)
        lowered = _lower(folded)
        literal: list[tuple[Target, int, int]] = []
        for index, (start, end) in find_emails(lowered, self.emails):
            literal.append((self.email_targets[index], start, end))
        for index, (start, end) in find_urls(lowered, self.urls):
            literal.append((self.url_targets[index], start, end))
        for index, (start, end) in find_phones(folded, self.phones):
            literal.append((self.phone_targets[index], start, end))
        yield from literal
        if self.by_word:
            yield from self._words(folded, lowered, sorted((s, e) for _, s, e in literal))

    def _words(self, folded: str, lowered: str, taken: list[tuple[int, int]]) -> Iterator[tuple[Target, int, int]]:
        # Which known words occur at all, in two C-level passes; most notes hold only a few.
        present = self.words.intersection(_WORD.findall(lowered))
        if not present:
            return
        starts = sorted((at, word) for word in present for at in _occurrences(lowered, word))
        covered = 0
        for start, word in starts:
            if start < covered or any(s <= start < e for s, e in taken):
                continue
            for target, matcher in self.by_word[word]:
                end = matcher(lowered, folded, start)
                if end is not None:
                    covered = end
                    yield target, start, end
                    break

    def _result(self, target: Target, start: int, end: int) -> RecognizerResult:
        return RecognizerResult(
            target.entity_type,
            start,
            end,
            1.0,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                TARGET_KEY: target,
            },
        )


def _occurrences(lowered: str, word: str) -> Iterator[int]:
    """Starts of `word` as a whole word."""
    at = lowered.find(word)
    while at >= 0:
        end = at + len(word)
        if (at == 0 or not _word_char(lowered[at - 1])) and (end == len(lowered) or not _word_char(lowered[end])):
            yield at
        at = lowered.find(word, end)


def _word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _lower(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # A few characters lower-case to two ("İ"); keep those as they are so offsets hold.
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


@lru_cache(maxsize=1024)
def known_recognizer(known: KnownPII) -> KnownPIIRecognizer:
    """One recognizer per distinct KnownPII (one candidate's record)."""
    return KnownPIIRecognizer(known)
