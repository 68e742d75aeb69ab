"""Find vocabulary phrases (stage names, position titles, skills…) in a message, tolerating case, plurals and typos."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.nlu.text import Token, normalize

# Words that make a lone title word refer to the title: "the designer role", "for designers".
_ROLE_WORDS = frozenset({"role", "posit", "job", "opening", "req", "requisition", "team", "vacancy", "hire"})
_ROLE_LEAD_INS = frozenset({"for", "the", "as", "our"})


@dataclass(frozen=True, slots=True)
class Match:
    value: str
    start: int  # token index
    end: int  # exclusive
    exact: bool


@dataclass(frozen=True, slots=True)
class _Key:
    value: str
    # Lone title words other than the first ("designer" of "Product Designer") only count in context.
    needs_context: bool = False
    # Short values such as the skill "Go" only match when typed as written, not the verb "go".
    case_sensitive: bool = False


def phrase_keys(phrase: str) -> tuple[str, ...]:
    return tuple(t.key for t in normalize(phrase).tokens)


def allowed_typos(key: str) -> int:
    """Edits tolerated for a key of this length: none for short words, where one edit turns "ready" into "react"."""
    length = len(key.replace(" ", ""))
    return 0 if length < 5 else 1 if length < 9 else 2


class PhraseMatcher:
    """An index of phrases by number of words; built once per vocabulary and reused (see vocab.py)."""

    def __init__(
        self,
        values: Iterable[str],
        *,
        aliases: dict[str, str] | None = None,
        head_words: bool = False,
        title_words: bool = False,
        min_fuzzy_length: int = 5,
        case_sensitive_below: int = 0,
    ):
        self._keys: dict[int, dict[str, _Key]] = {}
        # Keys with the spaces removed, so "phone-screen", "phonescreen" and "back end" find their phrase.
        self._compact: dict[str, _Key] = {}
        self._min_fuzzy_length = min_fuzzy_length
        values = list(dict.fromkeys(values))
        for value in values:
            words = phrase_keys(value)
            if words:
                self._add(words, _Key(value, case_sensitive=len(value) < case_sensitive_below))
        for alias, value in (aliases or {}).items():
            if words := phrase_keys(alias):
                self._add(words, _Key(value))
        if head_words or title_words:
            self._add_single_words(values, head_words=head_words, title_words=title_words)
        self._key_lists = {size: list(keys) for size, keys in self._keys.items()}

    def _add(self, words: tuple[str, ...], key: _Key) -> None:
        keys = self._keys.setdefault(len(words), {})
        keys.setdefault(" ".join(words), key)
        # Word order is free for exact matches: "accepted offers" is "Offer Accepted".
        keys.setdefault(" ".join(sorted(words)), key)
        self._compact.setdefault("".join(words), key)

    def _add_single_words(self, values: list[str], *, head_words: bool, title_words: bool) -> None:
        # A word stands for a multi-word value only if no other value uses it: "background" → "Background Check",
        # but "engineer" means nothing when there are both Backend and Frontend Engineers.
        owners: dict[str, set[str]] = {}
        for value in values:
            for word in phrase_keys(value):
                owners.setdefault(word, set()).add(value)
        for value in values:
            words = phrase_keys(value)
            if len(words) < 2:
                continue
            for position, word in enumerate(words):
                if len(owners[word]) != 1 or len(word) < 4 or word.isdigit():
                    continue
                if position == 0 and head_words:
                    self._add((word,), _Key(value))
                elif title_words:
                    self._add((word,), _Key(value, needs_context=position > 0))

    @property
    def max_words(self) -> int:
        return max(self._keys, default=0)

    def find(self, tokens: Sequence[Token], taken: set[int]) -> list[Match]:
        """Non-overlapping matches, longest phrases first, skipping tokens already claimed by another entity."""
        candidates: list[tuple[int, int, Match]] = []
        for size in range(self.max_words, 0, -1):
            for start in range(len(tokens) - size + 1):
                window = range(start, start + size)
                if any(i in taken or tokens[i].is_email for i in window):
                    continue
                found = self._lookup(tokens, start, size)
                if found:
                    candidates.append((-size, int(not found.exact), found))
        candidates.sort(key=lambda c: (c[0], c[1], c[2].start))
        chosen: list[Match] = []
        used: set[int] = set()
        for _, _, match in candidates:
            span = set(range(match.start, match.end))
            if not span & used:
                chosen.append(match)
                used |= span
        return sorted(chosen, key=lambda m: m.start)

    def _lookup(self, tokens: Sequence[Token], start: int, size: int) -> Match | None:
        words = [t.key for t in tokens[start : start + size]]
        text = " ".join(words)
        keys = self._keys.get(size, {})
        key = keys.get(text) or keys.get(" ".join(sorted(words)))
        exact = True
        if key is None:
            key = self._compact.get("".join(words))
        if key is None and len(text) >= self._min_fuzzy_length and (limit := allowed_typos(text)):
            best = process.extractOne(text, self._key_lists[size], scorer=OSA.distance, score_cutoff=limit)
            if best is not None:
                key, exact = keys[best[0]], False
        if key is None:
            return None
        if key.needs_context and not self._in_context(tokens, start, start + size):
            return None
        if key.case_sensitive and tokens[start].text != key.value:
            return None
        return Match(key.value, start, start + size, exact)

    @staticmethod
    def _in_context(tokens: Sequence[Token], start: int, end: int) -> bool:
        before = tokens[start - 1].lower if start > 0 else ""
        after = tokens[end].key if end < len(tokens) else ""
        return before in _ROLE_LEAD_INS or after in _ROLE_WORDS
