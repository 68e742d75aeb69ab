"""Deny-list recognizer built from what the CRM already knows about a candidate.

Everything the CRM knows for one candidate compiles into a single regular expression
(one named group per value), so a note is scanned once however many names, e-mails and
phones there are. Compiled recognizers are cached per `KnownPII`, so redacting the next
note about the same candidate costs only the scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache

import phonenumbers
from presidio_analyzer import LocalRecognizer, RecognizerResult

from bot.privacy.commonwords import COMMON_WORDS
from bot.privacy.placeholders import CANDIDATE_FIRST_NAME, CANDIDATE_LAST_NAME, CANDIDATE_NAME
from bot.privacy.textnorm import email_key, fold_accents, name_key, phone_key, url_key

TARGET_KEY = "known_pii_target"


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
        # Tuples make the value hashable, which is what lets compiled recognizers be cached.
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
    person: int = field(default=0, compare=False)  # 1-based index into other_people_names


# ---- name variants --------------------------------------------------------------------

_NAME_SUFFIX = re.compile(r"^(?:jr|sr|ii|iii|iv|phd|md|esq)\.?$", re.IGNORECASE)
_EMPLOYER_SUFFIX = re.compile(
    r"(?:[\s,]+(?:inc|incorporated|llc|l\.l\.c|ltd|limited|gmbh|ag|sa|s\.a|bv|b\.v|plc|corp|corporation"
    r"|co|company|group|holdings?|labs?|technologies|technology|software|systems))+\.?$",
    re.IGNORECASE,
)
_INITIAL = r"[^\W\d_]\.?"
_SPACE = r"\s+"


def _chars(token: str) -> str:
    """Regex for one word, tolerant of the punctuation people drop or vary in names."""
    out = []
    for ch in fold_accents(token):
        if ch in "'’`":
            out.append("['’`]?")  # O'Brien, O’Brien, OBrien
        elif ch in "-‐–":
            out.append(r"[\s\-‐–]?")  # Mary-Jane, Mary Jane, MaryJane
        elif ch == ".":
            out.append(r"\.?")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def _needs_case(word: str) -> bool:
    letters = sum(ch.isalpha() for ch in word)
    return letters <= 2 or name_key(word) in COMMON_WORDS


def _single_word(word: str) -> str:
    """A name on its own. Common words and initials-like names must be capitalised."""
    if not _needs_case(word):
        return _chars(word)
    forms = dict.fromkeys([word, word[:1].upper() + word[1:], word.upper()])
    return "(?-i:" + "|".join(_chars(form) for form in forms) + ")"


def _name_tokens(name: str) -> list[str]:
    tokens = [t.strip(",") for t in name.split()]
    while len(tokens) > 1 and _NAME_SUFFIX.match(tokens[-1]):
        tokens.pop()
    return [t for t in tokens if t]


@dataclass
class _Person:
    full: list[str]  # regex alternatives for the whole name
    first: list[str]
    last: list[str]
    canonical_full: str
    canonical_first: str
    canonical_last: str


def _person(aliases: Sequence[str]) -> _Person | None:
    full: list[str] = []
    first: list[str] = []
    last: list[str] = []
    canon: list[str] | None = None
    for alias in aliases:
        tokens = _name_tokens(alias)
        if not tokens:
            continue
        canon = canon or tokens
        if len(tokens) == 1:
            first.append(_single_word(tokens[0]))
            continue
        f, *middle, lst = tokens
        mid = "|".join([*(_chars(m) for m in middle), _INITIAL])
        # "Jane Doe", "Jane Q. Doe", "Jane Quinn Doe"; "Doe, Jane" / "Doe, Jane Q."
        full.append(rf"{_chars(f)}(?:{_SPACE}(?:{mid}))*{_SPACE}{_chars(lst)}")
        full.append(rf"{_chars(lst)},\s*{_chars(f)}(?:{_SPACE}(?:{mid}))*")
        if middle:
            first.append(_SPACE.join(_chars(t) for t in [f, *middle]))
        first.append(_single_word(f))
        last.append(_single_word(lst))
    if canon is None:
        return None
    if not full:
        # Only a single name is known ("Cher"): that is the full name, not a first name.
        return _Person(first, [], [], " ".join(canon), "", "")
    return _Person(full, first, last, " ".join(canon), canon[0], canon[-1] if len(canon) > 1 else "")


# ---- other values -----------------------------------------------------------------------


def _phone_regex(phone: str, region: str) -> str | None:
    sep = r"[ \t().\-/]{0,3}"
    try:
        parsed = phonenumbers.parse(phone, region)
        country, national = str(parsed.country_code), str(parsed.national_number)
    except phonenumbers.NumberParseException:
        country, national = "", re.sub(r"\D", "", phone)[-10:]
    if len(national) < 6:
        return None  # too short to be told apart from any other number
    # Written as +1 415..., 001 415..., (0)20..., 020... or bare national digits.
    prefix = r"(?:(?:\+|00)\s*\(?" + re.escape(country) + r"\)?" + sep + r"(?:\(0\)" + sep + ")?|0" + sep + ")?"
    if not country:
        prefix = r"(?:\+?\d{1,3}" + sep + ")?"
    return r"(?<![\d+])" + prefix + r"\(?" + sep.join(national) + r"(?!\d)"


def _email_regex(email: str) -> str:
    return r"(?<![\w.+\-])" + re.escape(fold_accents(email)) + r"(?![\w\-]|\.\w)"


def _url_regex(url: str) -> str:
    core = re.escape(fold_accents(url_key(url)))
    return r"(?<![\w.\-/])(?:https?://)?(?:www\d{0,3}\.)?" + core + r"/?(?![\w\-/])"


def _employer_variants(employer: str) -> list[str]:
    words = employer.split()
    variants = [r"[\s,]+".join(_chars(w) for w in words) if len(words) > 1 else _single_word(employer)]
    core = _EMPLOYER_SUFFIX.sub("", employer).strip(" ,")
    if core and core != employer and sum(ch.isalnum() for ch in core) >= 2:
        core_words = core.split()
        variants.append(_SPACE.join(_chars(w) for w in core_words) if len(core_words) > 1 else _single_word(core))
    return variants


# ---- compilation -----------------------------------------------------------------------


def _bounded_name(alternatives: Sequence[str]) -> str:
    # Whole words only; "Jane's" still matches "Jane" because "'" is not a word character.
    ordered = sorted(dict.fromkeys(alternatives), key=len, reverse=True)
    return r"(?<!\w)(?:" + "|".join(ordered) + r")(?!\w)"


def _targets(known: KnownPII) -> Iterator[tuple[Target, str]]:
    """(target, regex) in priority order: at one position the earlier group wins."""
    people: list[tuple[int, _Person]] = []
    cand = _person(known.candidate_names)
    if cand:
        people.append((0, cand))
    seen = {name_key(n) for n in known.candidate_names}
    for index, name in enumerate(known.other_people_names, start=1):
        person = _person([name])
        if person and name_key(name) not in seen:
            seen.add(name_key(name))
            people.append((index, person))

    def person_target(index: int, part: str, canonical: str) -> Target:
        if index == 0:
            kind = {"full": CANDIDATE_NAME, "first": CANDIDATE_FIRST_NAME, "last": CANDIDATE_LAST_NAME}[part]
        else:
            kind = {"full": "PERSON", "first": "PERSON_FIRST_NAME", "last": "PERSON_LAST_NAME"}[part]
        return Target(kind, "PERSON", f"person:{index}", canonical, index)

    for index, p in people:
        if p.full:
            yield person_target(index, "full", p.canonical_full), _bounded_name(p.full)
    for email in dict.fromkeys(known.emails):
        yield Target("EMAIL", "EMAIL_ADDRESS", f"EMAIL:{email_key(email)}", email), _email_regex(email)
    for url in dict.fromkeys(known.urls):
        yield Target("URL", "URL", f"URL:{url_key(url)}", url), _url_regex(url)
    for phone in dict.fromkeys(known.phones):
        regex = _phone_regex(phone, known.phone_region)
        if regex:
            key = f"PHONE:{phone_key(phone, known.phone_region)}"
            yield Target("PHONE", "PHONE_NUMBER", key, phone), regex
    for index, employer in enumerate(dict.fromkeys(known.employers), start=1):
        yield (
            Target("EMPLOYER", "ORGANIZATION", f"employer:{index}", employer),
            _bounded_name(_employer_variants(employer)),
        )
    for part in ("last", "first"):
        for index, p in people:
            alternatives = p.last if part == "last" else p.first
            canonical = p.canonical_last if part == "last" else p.canonical_first
            if alternatives and canonical:
                yield person_target(index, part, canonical), _bounded_name(alternatives)


class KnownPIIRecognizer(LocalRecognizer):
    """presidio recognizer for one candidate's known values: case-, accent- and format-tolerant."""

    ENTITIES = ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "URL", "ORGANIZATION"]

    def __init__(self, known: KnownPII):
        groups = list(_targets(known))
        self.targets = {f"k{i}": target for i, (target, _) in enumerate(groups)}
        pattern = "|".join(f"(?P<k{i}>{regex})" for i, (_, regex) in enumerate(groups))
        self.regex = re.compile(pattern, re.IGNORECASE) if groups else None
        self.canonical_by_key = {t.key: t.canonical for t in self.targets.values()}
        super().__init__(supported_entities=self.ENTITIES, name="KnownPIIRecognizer")

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        if self.regex is None:
            return []
        # `entities` is ignored, as presidio's PatternRecognizer does: AnalyzerEngine passes the
        # registry's entity list, which doesn't include an ad-hoc recognizer's own entities.
        results = []
        # Folding keeps offsets, so spans found in the folded text are spans of `text`.
        for match in self.regex.finditer(fold_accents(text)):
            target = self.targets[match.lastgroup or ""]
            results.append(
                RecognizerResult(
                    target.entity_type,
                    match.start(),
                    match.end(),
                    1.0,
                    recognition_metadata={
                        RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        TARGET_KEY: target,
                    },
                )
            )
        return results


@lru_cache(maxsize=1024)
def known_recognizer(known: KnownPII) -> KnownPIIRecognizer:
    """Compiled once per distinct KnownPII (one candidate's record)."""
    return KnownPIIRecognizer(known)
