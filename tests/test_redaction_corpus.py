"""Corpus-level checks on the benchmark's generated recruiting texts."""

from __future__ import annotations

from bench.redaction import KNOWN_LABELS, generate_corpus
from bot.privacy import Redaction, get_analyzer, redact


def test_recall_on_known_entities_is_at_least_98_percent() -> None:
    corpus = generate_corpus(200, seed=11)
    found = total = 0
    for doc in corpus:
        findings = redact(doc.text, doc.known).findings
        for start, end, label in doc.spans:
            if label in KNOWN_LABELS:
                total += 1
                found += any(f.start <= start and end <= f.end for f in findings)
    assert total > 750
    assert found / total >= 0.98


def test_no_known_value_survives_verbatim() -> None:
    # Stricter than recall: apart from the lower-case common words the design leaves
    # alone ("will"), no known e-mail, phone digits or full name appears in the output.
    for doc in generate_corpus(80, seed=12):
        text = redact(doc.text, doc.known).text.lower()
        for email in doc.known.emails:
            assert email.lower() not in text
        for name in doc.known.candidate_names:
            assert name.lower() not in text


def test_fast_path_and_analyzer_engine_agree() -> None:
    # The fast path runs each recognizer only near its trigger and skips what known values
    # already cover; presidio's engine runs everything on the whole text.
    # (presidio's engine may drop one of two identical spans, so which recognizer a finding
    # is credited to can differ; what is redacted, and as what, may not.)
    analyzer = get_analyzer()
    for doc in generate_corpus(60, seed=13):
        fast, engine = redact(doc.text, doc.known), redact(doc.text, doc.known, analyzer=analyzer)
        assert _essence(fast) == _essence(engine), doc.text


def _essence(redaction: Redaction) -> tuple[str, dict[str, str], list[tuple[int, int, str]]]:
    return redaction.text, dict(redaction.mapping), [(f.start, f.end, f.placeholder) for f in redaction.findings]
