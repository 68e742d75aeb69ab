"""Length-preserving text folding and value keys, shared by matching and placeholder assignment.

Every finding is an offset into the caller's text, so any normalisation applied before
matching must keep one character per character; these helpers guarantee that.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

_NON_DIGIT = re.compile(r"\D+")
_URL_SCHEME = re.compile(r"^(?:https?://)?(?:www\d{0,3}\.)?", re.IGNORECASE)


class _FoldTable(dict[int, str]):
    """str.translate table filled on first sight of each character.

    NFD splits "é" into "e" + combining accent; keeping only the base letter makes "Jose"
    match "José" while every character still maps to exactly one character.
    """

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        self[codepoint] = folded = unicodedata.normalize("NFD", char)[0]
        return folded


_FOLD = _FoldTable()


def fold_accents(text: str) -> str:
    """Strip accents one character at a time, so offsets in the result match `text`."""
    return text if text.isascii() else text.translate(_FOLD)


def name_key(value: str) -> str:
    """Compare names/employers ignoring case, accents and spacing."""
    return " ".join(fold_accents(value).casefold().split())


def phone_key(value: str, region: str = "US") -> str:
    """Same number in any format -> same key: the national significant number's digits."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        digits = _NON_DIGIT.sub("", value)
        # Unparseable: the last ten digits still ignore a country-code prefix.
        return digits[-10:]
    return str(parsed.national_number)


def url_key(value: str) -> str:
    """Scheme, "www." and a trailing slash don't make a different profile."""
    return _URL_SCHEME.sub("", value.strip()).rstrip("/").casefold()


def email_key(value: str) -> str:
    return value.strip().casefold()
