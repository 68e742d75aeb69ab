"""Amounts of time in words ("2 weeks", "a couple of days", "zwei Wochen", "10 jours") and "stuck over N days"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_NUMBER_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a couple": 2, "couple of": 2, "a few": 3,
    "ein": 1, "eine": 1, "einem": 1, "einer": 1, "einen": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
    "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
    "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8,
    "nueve": 9, "diez": 10,
}  # fmt: skip

# Longest first so "a couple of" wins over "a".
NUMBER = r"(?:\d{1,3}|" + "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True)) + r")"

_UNIT_WORDS: tuple[tuple[str, str], ...] = (
    ("day", r"days?|d|tage?n?|jours?|d[ií]as?"),
    ("week", r"weeks?|wks?|w|wochen?|semaines?|semanas?"),
    ("fortnight", r"fortnights?"),
    ("month", r"months?|mos?|monate?n?|mois|mes(?:es)?"),
    ("quarter", r"quarters?|quartale?n?|trimestres?"),
    ("year", r"years?|yrs?|jahre?n?|ans|ann[ée]es?|a[ñn]os?"),
)
UNIT = "(?:" + "|".join(pattern for _, pattern in _UNIT_WORDS) + ")"
_UNIT_NAMES = tuple((name, re.compile(rf"^(?:{pattern})$")) for name, pattern in _UNIT_WORDS)
_AMOUNT = re.compile(rf"\b({NUMBER})\s*\+?\s*({UNIT})\b")
_NUMBER_ALONE = re.compile(rf"\b{NUMBER}\b")
_UNIT_ALONE = re.compile(rf"\b{UNIT}\b")

# Approximate lengths, only for "older than": nobody means "stuck over a month" to the day.
_UNIT_DAYS = {"day": 1, "week": 7, "fortnight": 14, "month": 30, "quarter": 91, "year": 365}


@dataclass(frozen=True, slots=True)
class Amount:
    count: int
    unit: str  # day, week, fortnight, month, quarter, year

    def approximate(self) -> timedelta:
        return timedelta(days=self.count * _UNIT_DAYS[self.unit])


def unit_name(word: str) -> str | None:
    for name, pattern in _UNIT_NAMES:
        if pattern.match(word):
            return name
    return None


def parse_amount(text: str) -> Amount | None:
    """The first "<number> <unit>" in text, e.g. "over 2 weeks ago" → Amount(2, "week").

    Also "les 10 derniers jours" / "10 semanas pasadas", where a word sits between or after."""
    match = _AMOUNT.search(text)
    if match:
        number, unit = match.group(1), unit_name(match.group(2))
    else:
        number_match, unit_match = _NUMBER_ALONE.search(text), _UNIT_ALONE.search(text)
        if not number_match or not unit_match:
            return None
        number, unit = number_match.group(), unit_name(unit_match.group())
    count = int(number) if number.isdigit() else _NUMBER_WORDS[number]
    return Amount(count, unit) if unit and count > 0 else None


# "stuck over 2 weeks", "hasn't been touched in 10 days", "for more than a week", "> 10 days", "10+ days".
# "in the last 10 days" is deliberately not here: that is a time range (see timeranges.py).
_OLDER_THAN = (
    re.compile(
        rf"(?:\b(?:for|in)\s+(?:(?:over|more than|longer than|at least)\s+)?"
        rf"|\b(?:over|more than|longer than|older than|at least|upwards of)\s+|>\s*=?\s*)"
        rf"{NUMBER}\s*{UNIT}\b(?:\s+(?:ago|or (?:more|longer)))?"
    ),
    re.compile(rf"\b{NUMBER}\s*\+\s*{UNIT}\b|\b{NUMBER}\s*{UNIT}\s*\+|\b{NUMBER}\s+{UNIT}\s+or\s+(?:more|longer)\b"),
)


def find_older_than(lower: str) -> tuple[timedelta, tuple[int, int]] | None:
    """The minimum age asked for and its character span, if the text has one."""
    for pattern in _OLDER_THAN:
        match = pattern.search(lower)
        if match:
            amount = parse_amount(match.group())
            if amount:
                return amount.approximate(), match.span()
    return None
