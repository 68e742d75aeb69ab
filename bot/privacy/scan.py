"""The redactor's hot path: presidio's pattern recognizers, run only where they can match.

Each recognizer has a trigger - a cheap regex that is a necessary condition for it to
match (an e-mail needs "@", a phone number needs a run of digits) - and runs only on a
window around each trigger instead of the whole text. With no NLP engine there are no
tokens for presidio's context enhancer, so calling the recognizers directly instead of
through `AnalyzerEngine` loses nothing. A test checks that both paths redact a generated
corpus identically.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from bot.privacy.analyzer import shared_recognizers

Span = tuple[int, int]
_NON_SPACE = re.compile(r"\S*")
_DIGITS = str.maketrans("", "", "0123456789")


def _token_window(text: str, start: int, end: int) -> Span:
    """The whitespace-delimited token around a span (or a little more).

    E-mail, URL and IP patterns can't contain whitespace, so on the token they find exactly
    what they'd find in the whole text.
    """
    left = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start), text.rfind("\t", 0, start)) + 1
    right = _NON_SPACE.match(text, end)
    return left, right.end() if right else end


def _margin_window(text: str, start: int, end: int) -> Span:
    # libphonenumber looks at the characters around a candidate (a letter glued to the
    # number disqualifies it), so keep a few of them in the window.
    return max(0, start - 4), min(len(text), end + 4)


@dataclass(frozen=True)
class _Plan:
    entity: str
    min_digits: int  # fewer digits in the text: the recognizer can't match
    trigger: re.Pattern[str]
    window: Callable[[str, int, int], Span] | None  # None: the whole text, if triggered


# Phone separators as libphonenumber accepts them (ASCII and full-width punctuation).
_PHONE_SEP = r"[\s\-‐-―−ー－／\u00ad\u200b\u2060\u3000()（）［］.\[\]/~⁓∼～]{0,3}"
_PLANS = (
    _Plan("EMAIL_ADDRESS", 0, re.compile(r"@"), _token_window),
    _Plan("URL", 0, re.compile(r"\.[A-Za-z]"), _token_window),
    _Plan("IP_ADDRESS", 0, re.compile(r"\.\d|:[0-9A-Fa-f]{0,4}:"), _token_window),
    # At least six digits: shorter numbers aren't worth validating, nor identifying.
    _Plan("PHONE_NUMBER", 6, re.compile(rf"\d(?:{_PHONE_SEP}\d){{5,}}"), _margin_window),
    _Plan("CREDIT_CARD", 12, re.compile(r"\d{4}[- ]?\d{3,4}[- ]?\d{3,4}"), None),
    _Plan("IBAN_CODE", 2, re.compile(r"[A-Z]{2}[0-9]{2}"), None),
)
_DOB_CUES = ("dob", "d.o.b", "birth", "born")


# Dates have the shape of a phone number but libphonenumber rejects them - after trying
# all eight regions, the most expensive thing the redactor can do.
_DATE_SHAPE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")


def _international(text: str, start: int) -> bool:
    return text.startswith("00", start) or text[max(0, start - 2) : start].endswith(("+", "+("))


def _phones(text: str, window: Span, triggers: list[Span]) -> list[RecognizerResult]:
    """presidio's PhoneRecognizer on a window, region by region, stopping once every number
    in it is recognised.

    A number written with its country code parses the same whatever region is assumed, so
    one region is enough; a national one is tried in presidio's region order until one
    region accepts it, instead of validating it eight times.
    """
    start, end = window
    if all(_international(text, t[0]) for t in triggers):
        return _run(_phone_recognizers()[0], text[start:end], start)
    found: list[RecognizerResult] = []
    for recognizer in _phone_recognizers():
        found += _run(recognizer, text[start:end], start)
        if all(any(r.start <= t0 and t1 <= r.end for r in found) for t0, t1 in triggers):
            break
    return EntityRecognizer.remove_duplicates(found)


@lru_cache(maxsize=1)
def _plans() -> tuple[tuple[_Plan, EntityRecognizer], ...]:
    return tuple((plan, _recognizer(plan.entity)) for plan in _PLANS)


@lru_cache(maxsize=16)
def _recognizer(entity: str) -> EntityRecognizer:
    return next(rec for rec in shared_recognizers() if rec.supported_entities[0] == entity)


@lru_cache(maxsize=1)
def _phone_recognizers() -> tuple[PhoneRecognizer, ...]:
    """One recognizer per region of the shared PhoneRecognizer, in its order."""
    shared = _recognizer("PHONE_NUMBER")
    assert isinstance(shared, PhoneRecognizer)
    return tuple(PhoneRecognizer(supported_regions=(region,)) for region in shared.supported_regions)


def _run(recognizer: EntityRecognizer, text: str, offset: int) -> list[RecognizerResult]:
    # No NLP artifacts: these recognizers never read them (presidio's own types say otherwise).
    results = recognizer.analyze(text, recognizer.supported_entities, None)  # type: ignore[arg-type]
    for result in results:
        result.start += offset
        result.end += offset
    return [r for r in results if r.score > 0]


def _covered(span: Span, covered: Sequence[Span]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in covered)


def _windows(plan: _Plan, text: str, triggers: list[Span]) -> list[tuple[Span, list[Span]]]:
    """Merged windows, each with the triggers inside it."""
    assert plan.window is not None
    merged: list[tuple[Span, list[Span]]] = []
    for trigger in triggers:  # finditer order: sorted by start
        start, end = plan.window(text, *trigger)
        if merged and start <= merged[-1][0][1]:
            (m_start, m_end), inside = merged[-1]
            merged[-1] = ((m_start, max(m_end, end)), [*inside, trigger])
        else:
            merged.append(((start, end), [trigger]))
    return merged


def scan(text: str, covered: Sequence[Span] = ()) -> list[RecognizerResult]:
    """Offline pattern findings in `text`; results may overlap.

    `covered` are spans already redacted as known values (the candidate's own e-mail,
    phone...): a window whose triggers all fall inside them is not scanned again.
    """
    found: list[RecognizerResult] = []
    # Counts ASCII digits only, so the gate is off for text that may hold other digits.
    digits = len(text) - len(text.translate(_DIGITS)) if text.isascii() else len(text)
    for plan, recognizer in _plans():
        if digits < plan.min_digits:
            continue
        triggers = [m.span() for m in plan.trigger.finditer(text)]
        if not triggers:
            continue
        if plan.window is None:
            found.extend(_run(recognizer, text, 0))
            continue
        if plan.entity == "PHONE_NUMBER":
            triggers = [t for t in triggers if not _DATE_SHAPE.fullmatch(text, *t)]
        for (start, end), inside in _windows(plan, text, triggers):
            if covered and all(_covered(t, covered) for t in inside):
                continue
            if plan.entity == "PHONE_NUMBER":
                found.extend(_phones(text, (start, end), inside))
            else:
                found.extend(_run(recognizer, text[start:end], start))
    lowered = text.lower()
    if any(cue in lowered for cue in _DOB_CUES):
        found.extend(_run(_recognizer("DATE_OF_BIRTH"), text, 0))
    return found
