"""How a known name or employer can be written, and a matcher for each way.

Matching is by comparing words, not by a regex per name: compiling a case-insensitive
regex costs more than redacting a note, and each candidate brings new names. A `Variant`
is (matcher, first-word keys); the recognizer calls the matcher only where a word of the
text equals one of its keys.

Tolerated: any case (except for names that are common words - see `commonwords`),
accents (the text and the names are compared accent-folded), punctuation inside a name
written differently or dropped ("O’Brien", "OBrien"; "Mary-Jane", "Mary Jane",
"MaryJane"), a possessive ("Jane's"), middle names or initials ("Jane Q. Doe"), the
"Doe, Jane" order, and any whitespace between words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.privacy.commonwords import COMMON_WORDS
from bot.privacy.textnorm import fold_accents, name_key

# Searches `lowered` (folded, lower-cased text) at `start`; returns the end of the match.
Matcher = Callable[[str, str, int], int | None]  # (lowered, folded, start) -> end
Variant = tuple[Matcher, frozenset[str]]

_RUN = re.compile(r"\w+")
_SPACES = re.compile(r"\s+")
_EMPLOYER_GAP = re.compile(r"[\s,&+]+")
_COMMA = re.compile(r"\s*,\s*")
_INITIAL = re.compile(r"[^\W\d_]\.?(?!\w)")
# Characters that join runs of letters into one word: "O'Brien", "Mary-Jane", "AT&T".
_JOINERS = "'’`-‐–&."
_NAME_SUFFIX = re.compile(r"^(?:jr|sr|ii|iii|iv|phd|md|esq)\.?$", re.IGNORECASE)
_EMPLOYER_SUFFIX = re.compile(
    r"(?:[\s,]+(?:inc|incorporated|llc|l\.l\.c|ltd|limited|gmbh|ag|sa|s\.a|bv|b\.v|plc|corp|corporation"
    r"|co|company|group|holdings?|labs?|technologies|technology|software|systems|industries|enterprises"
    r"|trading|international|solutions|partners|consulting|ventures|studios?))+\.?$",
    re.IGNORECASE,
)
_NOT_ALNUM = re.compile(r"[\W_]+")


def _norm(word: str) -> str:
    return _NOT_ALNUM.sub("", fold_accents(word).lower())


def first_words(word: str) -> frozenset[str]:
    """Keys under which `word` can be found: its first run of letters, and the whole word
    with punctuation dropped ("O'Brien" is found from "o" and from "obrien")."""
    runs = _RUN.findall(fold_accents(word).lower())
    return frozenset(filter(None, [runs[0] if runs else "", _norm(word)]))


@dataclass(frozen=True)
class Word:
    """One name word as the CRM has it."""

    norm: str  # accent-folded, lower-case, punctuation dropped
    parts: tuple[str, ...]  # the hyphenated parts, which may be written as separate words
    forms: frozenset[str]  # when non-empty, the text must be written as one of these
    dot: bool = False  # "Inc." - take the abbreviation's period along when it's there

    @classmethod
    def of(cls, word: str, *, alone: bool = False) -> Word:
        folded = fold_accents(word)
        parts = tuple(_norm(p) for p in re.split(r"[-‐–]", word) if _norm(p))
        forms: frozenset[str] = frozenset()
        if alone and _needs_case(word):
            # "will" is a verb; only "Will" or "WILL" is the name.
            forms = frozenset({folded, folded[:1].upper() + folded[1:], folded.upper()})
        return cls(_norm(word), parts, forms, word.endswith("."))

    def match(self, lowered: str, folded: str, start: int) -> int | None:
        end = self._match(lowered, start)
        if end is None or (self.forms and folded[start:end] not in self.forms):
            return None
        return end + 1 if self.dot and lowered.startswith(".", end) else end

    def _match(self, lowered: str, start: int) -> int | None:
        readings = _readings(lowered, start)
        end = readings.get(self.norm)
        if end is None and len(self.parts) > 1 and readings:
            end = _parts(lowered, start, self.parts)  # "Mary Jane" for "Mary-Jane"
        return end


def _readings(lowered: str, start: int) -> dict[str, int]:
    """How the word at `start` can be read -> where that reading ends.

    Runs of letters joined by apostrophes/hyphens count as one word, with the joiners
    dropped, and so does every shorter prefix of the runs: "o'brien's" reads as "obriens",
    "obrien" or "o", which is how "Jane's" matches "Jane".
    """
    readings: dict[str, int] = {}
    joined, at = "", start
    while True:
        run = _RUN.match(lowered, at)
        if run is None:
            return readings
        joined += run.group()
        readings[joined] = at = run.end()
        if not (lowered[at : at + 1] and lowered[at] in _JOINERS and _RUN.match(lowered, at + 1)):
            return readings
        at += 1


def _parts(lowered: str, start: int, parts: Sequence[str]) -> int | None:
    """Hyphenated parts written as separate words."""
    end = _readings(lowered, start).get(parts[0])
    for part in parts[1:]:
        space = _SPACES.match(lowered, end) if end is not None else None
        if space is None:
            return None
        end = _readings(lowered, space.end()).get(part)
    return end


def _needs_case(word: str) -> bool:
    letters = sum(ch.isalpha() for ch in word)
    return letters <= 2 or name_key(word) in COMMON_WORDS


def _then(lowered: str, folded: str, at: int, word: Word, gap: re.Pattern[str]) -> int | None:
    space = gap.match(lowered, at)
    return word.match(lowered, folded, space.end()) if space else None


def _extras(lowered: str, folded: str, at: int, middles: Sequence[Word]) -> Iterable[int]:
    """Ends after each further middle name or initial: "Jane| Quinn| Q.| ..."."""
    while True:
        space = _SPACES.match(lowered, at)
        if space is None:
            return
        nxt = next((e for w in middles if (e := w.match(lowered, folded, space.end())) is not None), None)
        if nxt is None:
            initial = _INITIAL.match(folded, space.end())
            if initial is None or not folded[space.end()].isupper():
                return
            nxt = initial.end()
        at = nxt
        yield at


def full_name(first: Word, middles: Sequence[Word], last: Word) -> Matcher:
    """Matches "Jane Doe", "Jane Q. Doe", "Jane Quinn Doe"."""

    def match(lowered: str, folded: str, start: int) -> int | None:
        at = first.match(lowered, folded, start)
        if at is None:
            return None
        for after in [at, *_extras(lowered, folded, at, middles)]:
            end = _then(lowered, folded, after, last, _SPACES)
            if end is not None:
                return end
        return None

    return match


def reversed_name(first: Word, middles: Sequence[Word], last: Word) -> Matcher:
    """Matches "Doe, Jane" and "Doe, Jane Q."."""

    def match(lowered: str, folded: str, start: int) -> int | None:
        at = last.match(lowered, folded, start)
        at = _then(lowered, folded, at, first, _COMMA) if at is not None else None
        if at is None:
            return None
        return max(_extras(lowered, folded, at, middles), default=at)

    return match


def words(sequence: Sequence[Word], gap: re.Pattern[str] = _SPACES) -> Matcher:
    """Words in order with whitespace (or `gap`) between them."""

    def match(lowered: str, folded: str, start: int) -> int | None:
        at = sequence[0].match(lowered, folded, start)
        for word in sequence[1:]:
            if at is None:
                return None
            at = _then(lowered, folded, at, word, gap)
        return at

    return match


def _name_tokens(name: str) -> list[str]:
    tokens = [t.strip(",") for t in name.split()]
    while len(tokens) > 1 and _NAME_SUFFIX.match(tokens[-1]):
        tokens.pop()
    return [t for t in tokens if t]


@dataclass(frozen=True)
class PersonVariants:
    full: tuple[Variant, ...]
    first: tuple[Variant, ...]
    last: tuple[Variant, ...]
    canonical_full: str
    canonical_first: str
    canonical_last: str


# Cached: the same referrers and recruiters appear in many candidates' records.
@lru_cache(maxsize=4096)
def person_variants(aliases: tuple[str, ...]) -> PersonVariants | None:
    """Full-name, first-name and last-name variants of one person known under `aliases`."""
    full: list[Variant] = []
    first: list[Variant] = []
    last: list[Variant] = []
    canon: list[str] | None = None
    for alias in aliases:
        tokens = _name_tokens(alias)
        if not tokens:
            continue
        canon = canon or tokens
        if len(tokens) == 1:
            first.append((Word.of(tokens[0], alone=True).match, first_words(tokens[0])))
            continue
        f, *middle, lst = tokens
        f_word, l_word, m_words = Word.of(f), Word.of(lst), [Word.of(m) for m in middle]
        full.append((full_name(f_word, m_words, l_word), first_words(f)))
        full.append((reversed_name(f_word, m_words, l_word), first_words(lst)))
        if middle:
            first.append((words([f_word, *m_words]), first_words(f)))  # "Mary Ann" of Mary Ann Smith
        first.append((Word.of(f, alone=True).match, first_words(f)))
        last.append((Word.of(lst, alone=True).match, first_words(lst)))
    if canon is None:
        return None
    if not full:
        # Only a single name is known ("Cher"): that is the full name, not a first name.
        return PersonVariants(tuple(first), (), (), " ".join(canon), "", "")
    return PersonVariants(tuple(full), tuple(first), tuple(last), " ".join(canon), canon[0], canon[-1])


@lru_cache(maxsize=4096)
def employer_variants(employer: str) -> tuple[Variant, ...]:
    """Variants of an employer: "Acme Corp." -> "Acme Corp", "Acme, Corp" and "Acme"."""
    variants: list[Variant] = []
    core = _EMPLOYER_SUFFIX.sub("", employer).strip(" ,")
    forms = [employer]
    if core and core != employer and sum(ch.isalnum() for ch in core) >= 2:
        forms.append(core)
    for form in forms:
        tokens = [t for t in re.split(r"[\s,]+", form) if _norm(t)]
        if not tokens:
            continue
        if len(tokens) == 1:
            variants.append((Word.of(tokens[0], alone=True).match, first_words(tokens[0])))
        else:
            variants.append((words([Word.of(t) for t in tokens], _EMPLOYER_GAP), first_words(tokens[0])))
    return tuple(variants)
