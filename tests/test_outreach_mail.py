"""The outreach sending API (bot.services.outreach_mail): consent gates, footer and unsubscribe headers, signed
links, and stopping everything on an unsubscribe or a revocation; mail checked on a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.contact import name_key
from bot.mail import Mailer, queue_email
from bot.services import outreach_mail
from bot.services.outreach_mail import (
    OUTREACH_STOP_HOOKS,
    OutreachBlocked,
    ai_allowed,
    candidate_for_token,
    contact_blocker,
    queue_outreach_email,
    record_consent_revocation,
    record_unsubscribe,
    unsubscribe_token,
)
from bot.settings import Settings
from bot.workspace import WorkspaceConfig, parse_workspace_config
from storage.db import Database
from storage.models import Activity, Candidate, CandidateStatus, Consent, ConsentKind, EmailMessage
from tests.conftest import WORKSPACE
from tests.harness.smtp import SmtpServer

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
CONFIG = parse_workspace_config({**WORKSPACE, "outreach": {"privacy_policy_url": "https://acme.test/privacy",
                                                          "reply_to": "talent@acme.test"}})
SETTINGS = Settings(slack_signing_secret="test-signing-secret", talentbot_public_url="https://bot.acme.test")


def person(session: Session, name: str = "Jane Doe", email: str | None = "jane.doe@example.com", *,
           contact: bool = True, ai: bool = False, owner: str | None = None, expires_in_days: float = 365,
           **fields: Any) -> int:
    """A candidate with the consents asked for, recorded as the referral flow records them."""
    candidate = Candidate(full_name=name, name_key=name_key(name), email=email,
                          email_normalized=email.casefold() if email else None, owner_slack_id=owner,
                          created_at=NOW - timedelta(days=30), updated_at=NOW - timedelta(days=30), **fields)
    session.add(candidate)
    session.flush()
    assert candidate.id is not None
    for kind, wanted in ((ConsentKind.CONTACT, contact), (ConsentKind.AI_PROCESSING, ai)):
        if wanted:
            session.add(Consent(candidate_id=candidate.id, kind=kind, action="granted", evidence="test",
                                recorded_at=NOW - timedelta(days=10),
                                expires_at=NOW + timedelta(days=expires_in_days)))
    session.flush()
    return candidate.id


def queue(session: Session, candidate_id: int, *, key: str = "k1", **extra: Any) -> EmailMessage:
    return queue_outreach_email(session, candidate_id=candidate_id, subject="Hello", text_body="Hi Jane,\n\nHello.",
                                kind=extra.pop("kind", "intro"), dedupe_key=key, reply_to="rita@acme.test", now=NOW,
                                settings=SETTINGS, config=CONFIG, **extra)


@pytest.fixture
def stop_calls() -> Iterator[list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def hook(session: Session, *, candidate_id: int, reason: str, now: datetime) -> None:
        calls.append({"candidate_id": candidate_id, "reason": reason, "now": now})

    OUTREACH_STOP_HOOKS.append(hook)
    yield calls
    OUTREACH_STOP_HOOKS.remove(hook)


# --- may we? --------------------------------------------------------------------------------------------


def test_contact_blocker_names_every_reason(db: Database) -> None:
    with db.transaction() as session:
        ok = person(session)
        none = person(session, "No Consent", "no@example.com", contact=False)
        expired = person(session, "Old Consent", "old@example.com", expires_in_days=-1)
        no_email = person(session, "No Mail", None)
        erased = person(session, "Gone Person", "gone@example.com", status=CandidateStatus.ERASED)
        revoked = person(session, "Said No", "said.no@example.com")
        record_consent_revocation(session, candidate_id=revoked, kind=ConsentKind.CONTACT, now=NOW,
                                  evidence="told the recruiter on the phone")
        unsubscribed = person(session, "Clicked Out", "out@example.com")
        record_unsubscribe(session, candidate_id=unsubscribed, now=NOW, evidence="link")
    with db.read() as session:
        def blocker(candidate_id: int) -> str | None:
            return contact_blocker(session, candidate_id=candidate_id, now=NOW)

        assert blocker(ok) is None
        assert blocker(none) == outreach_mail.NO_CONTACT_CONSENT
        assert blocker(expired) == outreach_mail.CONTACT_CONSENT_EXPIRED
        assert blocker(no_email) == outreach_mail.NO_EMAIL
        assert blocker(erased) == outreach_mail.ERASED
        assert blocker(revoked) == outreach_mail.CONTACT_CONSENT_REVOKED
        assert blocker(unsubscribed) == outreach_mail.UNSUBSCRIBED
        assert blocker(999_999) == outreach_mail.NO_CANDIDATE
        # Valid now, not a year from now.
        assert contact_blocker(session, candidate_id=ok, now=NOW + timedelta(days=400)) == \
            outreach_mail.CONTACT_CONSENT_EXPIRED


def test_ai_is_allowed_only_with_a_valid_ai_processing_consent(db: Database) -> None:
    with db.transaction() as session:
        with_ai = person(session, ai=True)
        without = person(session, "Tom Smith", "tom@example.com")
        revoked = person(session, "Ann Lee", "ann@example.com", ai=True)
        record_consent_revocation(session, candidate_id=revoked, kind=ConsentKind.AI_PROCESSING, now=NOW,
                                  evidence="asked by email")
    with db.read() as session:
        assert ai_allowed(session, candidate_id=with_ai, now=NOW)
        assert not ai_allowed(session, candidate_id=with_ai, now=NOW + timedelta(days=400))
        assert not ai_allowed(session, candidate_id=without, now=NOW)
        assert not ai_allowed(session, candidate_id=revoked, now=NOW)
        # An ai_processing revocation is not a contact revocation.
        assert contact_blocker(session, candidate_id=revoked, now=NOW) is None


# --- links ----------------------------------------------------------------------------------------------


def test_unsubscribe_tokens_are_signed() -> None:
    token = unsubscribe_token(42, b"secret")
    assert candidate_for_token(token, b"secret") == 42
    assert candidate_for_token(token, b"other secret") is None
    forged = "43." + token.partition(".")[2]
    assert candidate_for_token(forged, b"secret") is None
    for broken in ("", "42", "42.", "x.abc", "-1.abc", token + "x"):
        assert candidate_for_token(broken, b"secret") is None


def test_the_link_secret_is_derived_from_the_signing_secret_and_can_be_set() -> None:
    derived = Settings(slack_signing_secret="s1").link_secret
    assert derived == Settings(slack_signing_secret="s1").link_secret != Settings(slack_signing_secret="s2").link_secret
    assert b"s1" not in derived
    assert Settings(slack_signing_secret="s1", talentbot_link_secret="mine").link_secret == b"mine"


# --- queueing -------------------------------------------------------------------------------------------


def test_an_outreach_email_carries_the_footer_and_one_click_unsubscribe(db: Database) -> None:
    with db.transaction() as session:
        jane = person(session)
        email = queue(session, jane, html_body="<html><body><p>Hi Jane</p></body></html>",
                      extra_headers={"X-Talentbot-Send": "7"})
    token = unsubscribe_token(jane, SETTINGS.link_secret)
    link = f"https://bot.acme.test/unsubscribe/{token}"
    assert email.to == ["jane.doe@example.com"] and email.kind == "outreach.intro"
    assert email.reply_to == "rita@acme.test"
    assert email.headers == {"X-Talentbot-Send": "7", "List-Unsubscribe": f"<{link}>",
                             "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert email.text_body.startswith("Hi Jane,\n\nHello.\n\n")
    assert "How we use AI and your data" in email.text_body and "https://acme.test/privacy" in email.text_body
    assert f"Unsubscribe: {link}" in email.text_body
    assert email.html_body is not None
    footer_at = email.html_body.index("How we use AI")
    assert footer_at < email.html_body.index("</body>")
    assert 'href="https://acme.test/privacy"' in email.html_body and f'href="{link}"' in email.html_body


def test_an_email_is_refused_without_consent_and_nothing_is_queued(db: Database) -> None:
    with db.transaction() as session:
        nobody = person(session, contact=False)
        with pytest.raises(OutreachBlocked) as blocked:
            queue(session, nobody)
        assert blocked.value.reason == outreach_mail.NO_CONTACT_CONSENT
        assert "no consent on record" in str(blocked.value)
        assert session.exec(select(EmailMessage)).all() == []


# --- stopping -------------------------------------------------------------------------------------------


def test_an_unsubscribe_cancels_pending_outreach_and_calls_the_stop_hooks(
        db: Database, stop_calls: list[dict[str, Any]]) -> None:
    with db.transaction() as session:
        jane = person(session)
        tom = person(session, "Tom Smith", "tom@example.com")
        pending = queue(session, jane, key="a").id
        sent = queue(session, jane, key="b")
        sent.status = "sent"
        other = queue(session, tom, key="c").id
        # An interview invitation is not outreach: it still goes.
        invite = queue_email(session, kind="interview_invite", to=["jane.doe@example.com"], subject="Interview",
                             text_body="See you", candidate_id=jane, dedupe_key="invite", now=NOW).id
    with db.transaction() as session:
        record_unsubscribe(session, candidate_id=jane, now=NOW, evidence="one-click")
        record_unsubscribe(session, candidate_id=jane, now=NOW, evidence="clicked again")
    with db.read() as session:
        statuses = {row.id: row.status for row in session.exec(select(EmailMessage)).all()}
        assert statuses == {pending: "cancelled", sent.id: "sent", other: "pending", invite: "pending"}
        consents = session.exec(select(Consent).where(Consent.candidate_id == jane)).all()
        assert [(c.kind, c.action) for c in consents] == [("contact", "granted"), ("contact", "revoked")]
        assert consents[-1].evidence == "unsubscribe: one-click"
        entry = session.exec(select(Activity).where(Activity.kind == "consent.revoked")).one()
        assert entry.payload["emails_cancelled"] == 1
        with pytest.raises(OutreachBlocked):
            queue(session, jane, key="d")
    assert stop_calls == [{"candidate_id": jane, "reason": "unsubscribed", "now": NOW}], "once, however often"


def test_every_contact_consent_revocation_stops_outreach(db: Database, stop_calls: list[dict[str, Any]]) -> None:
    with db.transaction() as session:
        jane = person(session, ai=True)
        pending = queue(session, jane).id
        record_consent_revocation(session, candidate_id=jane, kind=ConsentKind.AI_PROCESSING, now=NOW,
                                  evidence="asked us")
    assert stop_calls == []
    with db.transaction() as session:
        record_consent_revocation(session, candidate_id=jane, kind=ConsentKind.CONTACT, now=NOW,
                                  evidence="asked us", recorded_by_slack_id="URECRUIT1")
    with db.read() as session:
        assert session.get(EmailMessage, pending).status == "cancelled"  # type: ignore[union-attr]
    assert stop_calls == [{"candidate_id": jane, "reason": "contact_consent_revoked", "now": NOW}]


def test_a_cancelled_email_is_never_sent(db: Database) -> None:
    with db.transaction() as session:
        jane = person(session)
        queue(session, jane)
        record_unsubscribe(session, candidate_id=jane, now=NOW, evidence="link")
    with SmtpServer() as server:
        settings = Settings(smtp_url=server.url(), smtp_from="Acme Talent <talent@acme.test>")
        report = Mailer(db, settings, lambda: NOW).deliver_due()
        assert report.sent == 0 and server.received == []


# --- on the wire ----------------------------------------------------------------------------------------


def test_the_mail_on_the_wire_has_the_headers_and_footer(db: Database) -> None:
    with db.transaction() as session:
        jane = person(session)
        email_id = queue(session, jane, html_body="<p>Hi Jane</p>").id
    with SmtpServer() as server:
        settings = Settings(smtp_url=server.url(), smtp_from="Acme Talent <talent@acme.test>")
        assert Mailer(db, settings, lambda: NOW).deliver([email_id or 0]).sent == 1
        [received] = server.received
    message = received.message
    assert received.rcpt_tos == ["jane.doe@example.com"]
    assert message["Reply-To"] == "rita@acme.test" and message["Subject"] == "Hello"
    assert message["List-Unsubscribe"].startswith("<https://bot.acme.test/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "How we use AI and your data" in received.part("plain")
    assert "Unsubscribe</a>" in received.part("html")


def _config_without_privacy_url() -> WorkspaceConfig:
    return parse_workspace_config(WORKSPACE)


def test_without_a_privacy_url_the_notice_is_still_there(db: Database) -> None:
    with db.transaction() as session:
        jane = person(session)
        email = queue_outreach_email(session, candidate_id=jane, subject="Hi", text_body="Hi", kind="intro",
                                     dedupe_key="x", reply_to=None, now=NOW, settings=SETTINGS,
                                     config=_config_without_privacy_url())
    assert "How we use AI and your data" in email.text_body and "Privacy policy" not in email.text_body


def test_outreach_waiting_past_the_consent_expiry_is_stopped_by_the_sweep(
        db: Database, stop_calls: list[dict[str, Any]]) -> None:
    with db.transaction() as session:
        short = person(session, expires_in_days=1)
        long = person(session, "Tom Smith", "tom@example.com")
        waiting = queue(session, short, key="a").id
        other = queue(session, long, key="b").id
    with db.transaction() as session:
        assert outreach_mail.stop_outreach_without_consent(session, now=NOW) == {}
    later = NOW + timedelta(days=2)
    with db.transaction() as session:
        assert outreach_mail.stop_outreach_without_consent(session, now=later) == {
            short: outreach_mail.CONTACT_CONSENT_EXPIRED}
    with db.read() as session:
        assert session.get(EmailMessage, waiting).status == "cancelled"  # type: ignore[union-attr]
        assert session.get(EmailMessage, other).status == "pending"  # type: ignore[union-attr]
    assert stop_calls == [{"candidate_id": short, "reason": "contact_consent_expired", "now": later}]
