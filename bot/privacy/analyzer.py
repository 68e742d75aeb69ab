"""Presidio set up to run fully offline: no NLP model, no suffix-list download.

`get_analyzer()` is a real `AnalyzerEngine` (cached per process) on presidio's `no_op` NLP
engine with the pattern recognizers below. The redactor's hot path (`bot.privacy.scan`)
calls the very same recognizer objects directly.
"""

from __future__ import annotations

from functools import lru_cache

import tldextract
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, Pattern, PatternRecognizer
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


def offline_tld_extractor() -> tldextract.TLDExtract:
    """tldextract's module-level extractor fetches the Public Suffix List over HTTP on first
    use. This one can't: no URLs to fetch, no disk cache, only the snapshot in the wheel."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


_OFFLINE_TLD = offline_tld_extractor()


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
    registry = RecognizerRegistry(recognizers=list(shared_recognizers()), supported_languages=[LANGUAGE])
    return AnalyzerEngine(registry=registry, nlp_engine=_no_model_nlp_engine(), supported_languages=[LANGUAGE])


@lru_cache(maxsize=1)
def shared_recognizers() -> tuple[EntityRecognizer, ...]:
    """Shared by the engine and `scan()`, so both paths detect exactly the same things."""
    return tuple(build_recognizers())
