"""Placeholder grammar: what the redactor writes and what the restorer accepts back.

Models don't always copy `<CANDIDATE_NAME>` verbatim; they write `< CANDIDATE_NAME >`,
`[CANDIDATE_NAME]`, `{{candidate name}}`. Everything here maps those spellings to one
canonical form so restore and the unknown/missing checks see the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

CANDIDATE_NAME = "CANDIDATE_NAME"
CANDIDATE_FIRST_NAME = "CANDIDATE_FIRST_NAME"
CANDIDATE_LAST_NAME = "CANDIDATE_LAST_NAME"
LITERAL = "LITERAL"

# Families numbered per redaction (<EMAIL_1>, <IP_ADDRESS_2>...): ours, then the entity types
# of the pattern recognizers in `analyzer`. A type missing here still round-trips when the
# model copies its placeholder exactly; it just isn't recognised in other spellings.
NUMBERED_FAMILIES = (
    "PERSON",
    "EMAIL",
    "PHONE",
    "URL",
    "EMPLOYER",
    LITERAL,
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "DATE_OF_BIRTH",
)

# presidio entity types whose placeholder family has a shorter name.
_SHORT_FAMILIES = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE"}


def family_of(entity_type: str) -> str:
    """Placeholder family for a value a presidio recognizer found: <EMAIL_n> for EMAIL_ADDRESS."""
    return _SHORT_FAMILIES.get(entity_type, entity_type)


_FAMILY = "|".join(sorted(NUMBERED_FAMILIES, key=len, reverse=True))
_CANONICAL_NAME = re.compile(rf"(?:CANDIDATE_(?:FIRST_|LAST_)?NAME|PERSON_\d+_(?:FIRST|LAST)_NAME|(?:{_FAMILY})_\d+)")
# Uppercase with an underscore, in any of the brackets: a placeholder in form even if it's one
# we never issue (<CANDIDATE_EMAIL>, <SSN_1>) - the model made it up, so flag it.
_INVENTED_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")

_CANDIDATE_PATTERN = re.compile(
    r"(?P<open><{1,2}|\[{1,2}|\{{1,2})[ \t]*"
    r"(?P<name>[A-Za-z][A-Za-z0-9]*(?:[ _\-][A-Za-z0-9]+){0,4})"
    r"[ \t]*(?P<close>>{1,2}|\]{1,2}|\}{1,2})"
)
_PAIRS = {"<": ">", "[": "]", "{": "}"}
_SEPARATORS = re.compile(r"[ \-]")


def wrap(name: str) -> str:
    return f"<{name}>"


def numbered(family: str, number: int, suffix: str = "") -> str:
    return wrap(f"{family}_{number}{suffix}")


@dataclass(frozen=True)
class PlaceholderMatch:
    start: int
    end: int
    placeholder: str  # canonical, e.g. "<EMAIL_1>"


def find_placeholders(text: str) -> Iterator[PlaceholderMatch]:
    """Every spelling of a placeholder in `text`, in order, with its canonical form."""
    if not any(bracket in text for bracket in "<[{"):
        return
    for match in _CANDIDATE_PATTERN.finditer(text):
        if _PAIRS[match["open"][0]] != match["close"][0]:
            continue
        raw = match["name"]
        name = _SEPARATORS.sub("_", raw).upper()
        if _CANONICAL_NAME.fullmatch(name):
            yield PlaceholderMatch(match.start(), match.end(), wrap(name))
        elif _INVENTED_NAME.fullmatch(raw):
            yield PlaceholderMatch(match.start(), match.end(), wrap(raw))
