"""Redaction never reaches the network and never loads or downloads an NLP model."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import spacy
import spacy.cli
import tldextract.tldextract

import bot.privacy.analyzer as analyzer_module
import bot.privacy.scan as scan_module
from bot.privacy import KnownPII, get_analyzer, redact

TEXT = (
    "Jane Doe <jane.doe@gmail.com>, +1 415-555-0134, https://janedoe.dev; cc hr@globex.co.uk, "
    "www.example.com, 10.0.0.1, DOB: 1990-01-02"
)
KNOWN = KnownPII(candidate_names=["Jane Doe"], emails=["jane.doe@gmail.com"], phones=["+14155550134"])


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """Record and refuse every network connection, DNS lookup and spaCy model load."""
    seen: list[str] = []

    def refuse(what: str) -> Any:
        def guard(*args: object, **kwargs: object) -> Any:
            seen.append(f"{what}{args[:2]}")
            raise OSError(f"blocked in test: {what}")

        return guard

    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(spacy, "load", refuse("spacy.load"))
    monkeypatch.setattr(spacy.cli, "download", refuse("spacy.cli.download"))
    # tldextract swallows fetch errors and falls back to its snapshot, so the guards alone
    # would not fail a test: `seen` is what's checked. A fresh default extractor with an
    # empty cache would fetch on first use - so if our code used it, we'd see it.
    monkeypatch.setattr(tldextract.tldextract, "TLD_EXTRACTOR", tldextract.TLDExtract(cache_dir=str(tmp_path)))
    monkeypatch.setattr(analyzer_module, "_OFFLINE_TLD", analyzer_module.offline_tld_extractor())
    # Build everything again under the guards.
    for cached in (get_analyzer, analyzer_module.shared_recognizers, scan_module._plans, scan_module._recognizer):
        cached.cache_clear()
    yield seen
    for cached in (get_analyzer, analyzer_module.shared_recognizers, scan_module._plans, scan_module._recognizer):
        cached.cache_clear()


def test_the_guard_would_notice_a_fetch(attempts: list[str]) -> None:
    tldextract.tldextract.TLD_EXTRACTOR("hr@globex.co.uk")
    assert attempts, "the default tldextract extractor should have tried the network"


def test_redaction_makes_no_connection_and_loads_no_model(attempts: list[str]) -> None:
    redaction = redact(TEXT, KNOWN)
    assert "<EMAIL_2>" in redaction.text  # the e-mail recognizer validated a domain
    assert "<URL_" in redaction.text
    assert attempts == []


def test_the_analyzer_engine_makes_no_connection_and_loads_no_model(attempts: list[str]) -> None:
    results = get_analyzer().analyze(TEXT, language="en")
    assert {r.entity_type for r in results} >= {"EMAIL_ADDRESS", "PHONE_NUMBER", "URL", "IP_ADDRESS"}
    assert redact(TEXT, KNOWN, analyzer=get_analyzer()).text == redact(TEXT, KNOWN).text
    assert attempts == []
