"""Known e-mails, profile URLs and phone numbers, found by comparison rather than by regex.

These values are literal strings (a phone number in any format is a literal string of
digits), so they need no per-candidate regex: one shared pattern finds the phone-shaped
runs, and `str.find` finds the rest. Compiling regexes per candidate cost more than
scanning the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import phonenumbers

from bot.privacy.textnorm import fold_accents, url_key

Span = tuple[int, int]

# Digit groups separated by at most three of the characters people put in phone numbers.
_PHONE_SHAPE = re.compile(r"\d(?:[ \t().\-/]{0,3}\d){5,}")
_URL_PREFIXES = ("https://www.", "http://www.", "https://", "http://", "www.")


def _word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


@dataclass(frozen=True)
class KnownPhone:
    country: str  # "" when the stored number couldn't be parsed
    national: str  # national significant number, digits only

    @classmethod
    def parse(cls, phone: str, region: str) -> KnownPhone | None:
        try:
            number = phonenumbers.parse(phone, region)
            country, national = str(number.country_code), str(number.national_number)
        except phonenumbers.NumberParseException:
            country, national = "", re.sub(r"\D", "", phone)[-10:]
        # Fewer digits can't be told apart from any other number.
        return cls(country, national) if len(national) >= 6 else None

    def prefixes(self) -> tuple[str, ...]:
        """Digits that may precede the national number: +CC, 00CC, CC(0), trunk 0."""
        if not self.country:
            return ()
        cc = self.country
        return (f"00{cc}0", f"00{cc}", f"{cc}0", cc, "0")


def find_phones(text: str, phones: tuple[KnownPhone, ...]) -> Iterator[tuple[int, Span]]:
    """(index into `phones`, span) for each known number, whatever its formatting."""
    for shape in _PHONE_SHAPE.finditer(text):
        positions = [i for i in range(shape.start(), shape.end()) if text[i].isdigit()]
        digits = "".join(text[i] for i in positions)
        for index, phone in enumerate(phones):
            at = digits.find(phone.national)
            if at < 0:
                continue
            first, last = at, at + len(phone.national) - 1
            for prefix in phone.prefixes():
                if digits[:at].endswith(prefix):
                    first = at - len(prefix)
                    break
            if _glued(positions, first - 1, first) or _glued(positions, last, last + 1):
                continue  # part of a longer, different number
            start, end = positions[first], positions[last] + 1
            if start and text[start - 1] == "(" and ")" in text[start:end]:
                start -= 1
            if start and text[start - 1] == "+":
                start -= 1
            yield index, (start, end)


def _glued(positions: list[int], left: int, right: int) -> bool:
    """Are these two digits (indexes into `positions`) adjacent in the text?"""
    return left >= 0 and right < len(positions) and positions[right] == positions[left] + 1


def _free_before(lowered: str, at: int, joiners: str) -> bool:
    return at == 0 or not (_word_char(lowered[at - 1]) or lowered[at - 1] in joiners)


def find_emails(lowered: str, emails: tuple[str, ...]) -> Iterator[tuple[int, Span]]:
    """`lowered` is the accent-folded, lower-cased text; `emails` likewise."""
    for index, email in enumerate(emails):
        at = lowered.find(email)
        while at >= 0:
            end = at + len(email)
            after = lowered[end : end + 2]
            # "jane@x.com.au" or "xjane@x.com" is a different address.
            longer = (
                after[:1] == "-" or (after[:1] and _word_char(after[0])) or (after[:1] == "." and after[1:2].isalnum())
            )
            if _free_before(lowered, at, ".+-") and not longer:
                yield index, (at, end)
            at = lowered.find(email, end)


def url_core(url: str) -> str:
    return fold_accents(url_key(url))


def find_urls(lowered: str, cores: tuple[str, ...]) -> Iterator[tuple[int, Span]]:
    """Profile URLs with or without scheme, "www." or a trailing slash."""
    for index, core in enumerate(cores):
        at = lowered.find(core)
        while at >= 0:
            start, end = at, at + len(core)
            for prefix in _URL_PREFIXES:
                if lowered.startswith(prefix, start - len(prefix)) and start >= len(prefix):
                    start -= len(prefix)
                    break
            if lowered.startswith("/", end):
                end += 1
            after = lowered[end : end + 1]
            longer = bool(after) and (_word_char(after) or after in "/-")
            if _free_before(lowered, start, "./-") and not longer:
                yield index, (start, end)
            at = lowered.find(core, at + len(core))
