"""Presidio set up to run fully offline: no NLP model, no suffix-list download.

Two ways to use the same recognizers:

* `get_analyzer()` is a real `AnalyzerEngine` (cached per process) on presidio's `no_op`
  NLP engine, for callers that want presidio's full request semantics.
* `scan()` is the hot path used by the redactor. It calls the same recognizer objects
  directly, but only on the parts of the text where each one could possibly match (a
  phone needs digits, an e-mail needs "@"...). With no NLP engine there are no tokens for
  presidio's context enhancer to use, so skipping the engine loses nothing; the windows
  are what makes redaction several times faster than presidio's default pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import tldextract
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpEngine, NlpEngineProvider
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UrlRecognizer,
)
from presidio_analyzer.recognizer_registry import RecognizerRegistry

LANGUAGE = "en"

# tldextract's module-level extractor fetches the Public Suffix List over HTTP on first use.
# This one can't: no URLs to fetch, no disk cache, only the snapshot bundled in the wheel.
_OFFLINE_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


class OfflineEmailRecognizer(EmailRecognizer):
    """presidio's e-mail recognizer, validating the domain against the bundled suffix list."""

    def validate_result(self, pattern_text: str) -> bool:
        return _OFFLINE_TLD(pattern_text).fqdn != ""


# A date only counts as a date of birth when it is announced as one; interview and start
# dates must stay visible to the model. The `regex` module presidio compiles with allows
# the variable-length look-behind, so the span is the date alone.
_DATE = (
    r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}"
    r"|\d{1,2}(?:st|nd|rd|th)?\s+[A-Za-z]{3,9}\.?,?\s+\d{4}|[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})"
)
_DOB_CUE = r"(?:d\.?o\.?b\.?|date\s+of\s+birth|birth\s*date|birthday|born(?:\s+on)?)"


class DateOfBirthRecognizer(PatternRecognizer):
    PATTERNS = [Pattern("dob", rf"(?<=\b{_DOB_CUE}\s*[:\-]?\s*){_DATE}", 0.85)]

    def __init__(self) -> None:
        super().__init__(supported_entity="DATE_OF_BIRTH", patterns=list(self.PATTERNS), name="DateOfBirthRecognizer")


def build_recognizers() -> list[EntityRecognizer]:
    """The pattern recognizers the redactor needs; nothing that wants NER."""
    return [
        OfflineEmailRecognizer(),
        PhoneRecognizer(),
        UrlRecognizer(),
        CreditCardRecognizer(),
        IbanRecognizer(),
        IpRecognizer(),
        DateOfBirthRecognizer(),
    ]


def _no_model_nlp_engine() -> NlpEngine:
    # presidio's "no_op" engine loads nothing, so there is no spaCy model to download.
    config = {"nlp_engine_name": "no_op", "models": [{"lang_code": LANGUAGE, "model_name": "no_op"}]}
    return NlpEngineProvider(nlp_configuration=config).create_engine()


@lru_cache(maxsize=1)
def get_analyzer() -> AnalyzerEngine:
    """One AnalyzerEngine per process: no spaCy model, offline recognizers only."""
    registry = RecognizerRegistry(recognizers=list(_shared_recognizers()), supported_languages=[LANGUAGE])
    return AnalyzerEngine(registry=registry, nlp_engine=_no_model_nlp_engine(), supported_languages=[LANGUAGE])


@lru_cache(maxsize=1)
def _shared_recognizers() -> tuple[EntityRecognizer, ...]:
    # Shared by the engine and `scan()` so both paths detect exactly the same things.
    return tuple(build_recognizers())


# ---- windowed fast path -------------------------------------------------------------

_TOKEN_BREAK = re.compile(r"\s")


def _token_window(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow a span to the whitespace-delimited token around it.

    E-mail, URL and IP patterns can't contain whitespace, so running them on the token
    gives exactly the matches they'd find in the whole text.
    """
    left = start
    while left > 0 and not _TOKEN_BREAK.match(text, left - 1):
        left -= 1
    right = end
    n = len(text)
    while right < n and not _TOKEN_BREAK.match(text, right):
        right += 1
    return left, right


def _margin_window(text: str, start: int, end: int, margin: int = 4) -> tuple[int, int]:
    # libphonenumber looks at the characters right before/after a candidate (a letter
    # glued to the number disqualifies it), so keep a few of them in the window.
    return max(0, start - margin), min(len(text), end + margin)


@dataclass(frozen=True)
class _Plan:
    entity: str
    trigger: re.Pattern[str]
    window: Callable[[str, int, int], tuple[int, int]] | None  # None: whole text if triggered


# Each trigger is a necessary condition for its recognizer to match; see tests for the
# check that `scan()` and the full AnalyzerEngine agree on a generated corpus.
_PLANS = (
    _Plan("EMAIL_ADDRESS", re.compile(r"@"), _token_window),
    _Plan("URL", re.compile(r"[A-Za-z0-9.\-]\.[A-Za-z]"), _token_window),
    _Plan("IP_ADDRESS", re.compile(r"\d\.\d|:[0-9A-Fa-f]{0,4}:"), _token_window),
    _Plan(
        "PHONE_NUMBER",
        re.compile(r"[+(]?\d(?:[\d\s().\-/]|\s*(?:ext|x|#)\.?\s*(?=\d)){5,40}\d", re.IGNORECASE),
        _margin_window,
    ),
    _Plan("CREDIT_CARD", re.compile(r"\d{4}[- ]?\d{3,4}[- ]?\d{3,4}"), None),
    _Plan("IBAN_CODE", re.compile(r"[A-Z]{2}[0-9]{2}"), None),
    _Plan("DATE_OF_BIRTH", re.compile(r"\b(?:dob|d\.o\.b|birth|born)", re.IGNORECASE), None),
)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _run(recognizer: EntityRecognizer, text: str, offset: int = 0) -> list[RecognizerResult]:
    results = recognizer.analyze(text, recognizer.supported_entities, None)
    if offset:
        for result in results:
            result.start += offset
            result.end += offset
    return [r for r in results if r.score > 0]


@lru_cache(maxsize=1)
def _plans_with_recognizers() -> tuple[tuple[_Plan, EntityRecognizer], ...]:
    by_entity = {rec.supported_entities[0]: rec for rec in _shared_recognizers()}
    return tuple((plan, by_entity[plan.entity]) for plan in _PLANS)


def scan(text: str, entities: Sequence[str] | None = None) -> list[RecognizerResult]:
    """Run the offline pattern recognizers on `text`; results may overlap."""
    found: list[RecognizerResult] = []
    for plan, recognizer in _plans_with_recognizers():
        if entities is not None and plan.entity not in entities:
            continue
        triggers = [m.span() for m in plan.trigger.finditer(text)]
        if not triggers:
            continue
        if plan.window is None:
            found.extend(_run(recognizer, text))
            continue
        window = plan.window
        for start, end in _merge(window(text, s, e) for s, e in triggers):
            found.extend(_run(recognizer, text[start:end], start))
    return found


def supported_entities() -> list[str]:
    return [rec.supported_entities[0] for rec in _shared_recognizers()]
