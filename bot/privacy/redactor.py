"""Replace PII with stable placeholders before text reaches the model; fill them back after.

Usage: `redaction = redact(note, KnownPII(candidate_names=["Jane Doe"], ...))`; send
`redaction.text` (it says <CANDIDATE_NAME>, <EMAIL_1>...) to the model; then
`restore(draft, redaction, required={"<CANDIDATE_FIRST_NAME>"})` and, if the result is
`.flagged`, show the approver its unknown and missing placeholders.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from presidio_analyzer import AnalyzerEngine, RecognizerResult

from bot.privacy.analyzer import LANGUAGE
from bot.privacy.known import TARGET_KEY, KnownPII, Target, known_recognizer
from bot.privacy.placeholders import LITERAL, family_of, find_placeholders, numbered, wrap
from bot.privacy.scan import scan
from bot.privacy.textnorm import email_key, phone_key, url_key

__all__ = ["Finding", "KnownPII", "Redaction", "Restored", "redact", "restore"]

_PERSON_SUFFIX = {"PERSON": "", "PERSON_FIRST_NAME": "_FIRST_NAME", "PERSON_LAST_NAME": "_LAST_NAME"}


@dataclass(frozen=True)
class Finding:
    """One redacted span; offsets are into the input after NFC normalisation (the same
    offsets for any text typed or pasted in composed form, which is nearly all)."""

    start: int
    end: int
    entity_type: str
    placeholder: str
    source: str  # "known" (CRM deny-list), "pattern" (presidio recognizer) or "literal"


@dataclass(frozen=True)
class Redaction:
    """The text for the model, and what each of its placeholders stands for."""

    text: str
    mapping: Mapping[str, str]  # placeholder -> original value
    findings: tuple[Finding, ...]

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(self.mapping)


@dataclass(frozen=True)
class Restored:
    """The model's output with placeholders filled in, and whether an approver must look."""

    text: str
    unknown_placeholders: frozenset[str]  # in the output, but never issued for this input
    missing_placeholders: frozenset[str]  # required, but absent from the output

    @property
    def flagged(self) -> bool:
        return bool(self.unknown_placeholders or self.missing_placeholders)


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    score: float
    entity_type: str
    source: str
    family: str  # numbered family, or a fixed placeholder name for the candidate
    key: str  # same key -> same placeholder
    canonical: str | None  # CRM value to restore; None: restore the text as written
    suffix: str = ""  # PERSON_n suffix (_FIRST_NAME / _LAST_NAME)


def _from_known(result: RecognizerResult) -> _Candidate:
    target: Target = result.recognition_metadata[TARGET_KEY]
    # CANDIDATE_* kinds are fixed placeholders; EMAIL, PHONE... are numbered families.
    family, suffix = ("PERSON", _PERSON_SUFFIX[target.kind]) if target.kind in _PERSON_SUFFIX else (target.kind, "")
    return _Candidate(
        result.start,
        result.end,
        result.score,
        target.entity_type,
        "known",
        family,
        target.key,
        target.canonical,
        suffix,
    )


def _value_key(entity_type: str, value: str, phone_region: str) -> str:
    if entity_type == "EMAIL_ADDRESS":
        return f"EMAIL:{email_key(value)}"
    if entity_type == "PHONE_NUMBER":
        return f"PHONE:{phone_key(value, phone_region)}"
    if entity_type == "URL":
        return f"URL:{url_key(value)}"
    return f"{entity_type}:{''.join(value.split()).casefold()}"


def _from_pattern(result: RecognizerResult, text: str, phone_region: str) -> _Candidate:
    value = text[result.start : result.end]
    family = family_of(result.entity_type)
    key = _value_key(result.entity_type, value, phone_region)
    return _Candidate(result.start, result.end, result.score, result.entity_type, "pattern", family, key, None)


def _resolve(candidates: list[_Candidate]) -> list[_Candidate]:
    """Keep non-overlapping spans: literals first, then the longest, then the best scored,
    then what the CRM knows (it restores as the CRM has it)."""
    ranked = sorted(
        candidates, key=lambda c: (c.source != "literal", -(c.end - c.start), -c.score, c.source != "known", c.start)
    )
    # `kept` stays sorted and non-overlapping, so only the neighbours need checking.
    kept: list[_Candidate] = []
    starts: list[int] = []
    for cand in ranked:
        at = bisect.bisect_left(starts, cand.start)
        if (at and kept[at - 1].end > cand.start) or (at < len(kept) and kept[at].start < cand.end):
            continue
        kept.insert(at, cand)
        starts.insert(at, cand.start)
    return kept


class _Numbering:
    """Hands out placeholders in order of first appearance; one per key."""

    def __init__(self, known_values: dict[str, str]):
        self.by_key: dict[tuple[str, str, str], str] = {}
        self.counters: dict[str, int] = {}
        self.person_numbers: dict[str, int] = {}
        self.mapping: dict[str, str] = {}
        # key -> CRM value: a known phone found by presidio in another format still
        # restores as the CRM has it.
        self.known_values = known_values

    def placeholder(self, cand: _Candidate, surface: str) -> str:
        slot = (cand.key, cand.family, cand.suffix)
        if slot in self.by_key:
            return self.by_key[slot]
        if cand.family.startswith("CANDIDATE_"):
            placeholder = wrap(cand.family)
        elif cand.family == "PERSON":
            # One number per person, shared by their full, first and last name.
            if cand.key not in self.person_numbers:
                self.person_numbers[cand.key] = self._next("PERSON")
            placeholder = numbered("PERSON", self.person_numbers[cand.key], cand.suffix)
        else:
            placeholder = numbered(cand.family, self._next(cand.family))
        self.by_key[slot] = placeholder
        self.mapping[placeholder] = cand.canonical or self.known_values.get(cand.key, surface)
        return placeholder

    def _next(self, family: str) -> int:
        self.counters[family] = self.counters.get(family, 0) + 1
        return self.counters[family]


def redact(text: str, known: KnownPII | None = None, *, analyzer: AnalyzerEngine | None = None) -> Redaction:
    """Replace every PII span of `text` with a placeholder; see `Redaction.mapping`.

    By default the recognizers run through the fast path (`bot.privacy.scan`). Pass
    `analyzer=get_analyzer()` to go through presidio's AnalyzerEngine instead: same
    recognizers, same result, several times slower.
    """
    known = known or KnownPII()
    # NFC so a decomposed "é" is one character, like the CRM's values.
    text = unicodedata.normalize("NFC", text)
    candidates = [
        # Text that already looks like a placeholder is swapped for a <LITERAL_n> of its
        # own, so restore gives the literal back instead of a candidate's details.
        _Candidate(m.start, m.end, 2.0, LITERAL, "literal", LITERAL, f"{LITERAL}:{text[m.start : m.end]}", None)
        for m in find_placeholders(text)
    ]
    recognizer = known_recognizer(known)
    if analyzer is None:
        known_results = recognizer.analyze(text, [])
        pattern_results = scan(text, [(r.start, r.end) for r in known_results])
    else:
        results = analyzer.analyze(text, language=LANGUAGE, ad_hoc_recognizers=[recognizer])
        known_results = [r for r in results if TARGET_KEY in (r.recognition_metadata or {})]
        pattern_results = [r for r in results if TARGET_KEY not in (r.recognition_metadata or {})]
    candidates += [_from_known(r) for r in known_results]
    candidates += [_from_pattern(r, text, known.phone_region) for r in pattern_results]
    kept = _resolve(candidates)

    numbering = _Numbering(recognizer.canonical_by_key)
    parts: list[str] = []
    findings: list[Finding] = []
    cursor = 0
    for cand in kept:
        placeholder = numbering.placeholder(cand, text[cand.start : cand.end])
        parts += [text[cursor : cand.start], placeholder]
        findings.append(Finding(cand.start, cand.end, cand.entity_type, placeholder, cand.source))
        cursor = cand.end
    parts.append(text[cursor:])
    return Redaction("".join(parts), dict(numbering.mapping), tuple(findings))


def _canonical(placeholder: str) -> str:
    """Accept "CANDIDATE_NAME" or "[candidate_name]" for "<CANDIDATE_NAME>"."""
    spelled = placeholder if placeholder[:1] in "<[{" else wrap(placeholder)
    match = next(find_placeholders(spelled), None)
    return match.placeholder if match and match.end - match.start == len(spelled) else placeholder


def restore(output: str, redaction: Redaction, required: Iterable[str] = ()) -> Restored:
    """Fill placeholders in the model's output back in; report the ones that don't add up.

    Placeholders the model made up (or copied from nowhere) stay in the text as written,
    so the approver sees exactly what the model produced.
    """
    parts: list[str] = []
    seen: set[str] = set()
    unknown: set[str] = set()
    cursor = 0
    for match in find_placeholders(output):
        seen.add(match.placeholder)
        original = redaction.mapping.get(match.placeholder)
        if original is None:
            unknown.add(match.placeholder)
            continue
        parts += [output[cursor : match.start], original]
        cursor = match.end
    parts.append(output[cursor:])
    missing = {p for p in map(_canonical, required) if p not in seen}
    return Restored("".join(parts), frozenset(unknown), frozenset(missing))
