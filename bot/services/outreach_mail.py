"""Outreach email to candidates, behind their consent: the one way any feature emails a candidate unasked.

Approved drafts (bot.services.outreach) and nurture sequences both queue through `queue_outreach_email`, so
the rules live in one place:

- A candidate is emailed only with a valid contact consent (granted, not expired, not revoked), an email
  address, and not erased. `contact_blocker` says why not; `queue_outreach_email` raises OutreachBlocked.
- Every outreach email carries the footer: a short "how we use AI and your data" notice linking to the
  privacy policy (`outreach.privacy_policy_url`), and an unsubscribe link served by the bot itself, also as
  `List-Unsubscribe` with RFC 8058 one-click (`List-Unsubscribe-Post`), which mailbox providers show as a
  button and POST to without a person seeing the page.
- An unsubscribe, or any revocation of contact consent (`record_consent_revocation`), stops everything at
  once in the same transaction: pending outreach emails are cancelled and every OUTREACH_STOP_HOOKS function
  runs (nurture sequences register theirs there).

Consent is an append-only ledger (storage.models.Consent): an unsubscribe is a new "revoked" row whose
evidence starts with UNSUBSCRIBE_EVIDENCE, so the card and this module can tell it from other revocations.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session

from bot.mail import _check_email, queue_email
from bot.services.timeline import record_activity
from bot.settings import Settings
from bot.templates import render
from bot.workspace import WorkspaceConfig
from storage import queries
from storage.models import Candidate, CandidateStatus, Consent, ConsentAction, ConsentKind, EmailMessage, OutboxStatus

logger = logging.getLogger(__name__)

# Why a candidate may not be emailed; stable strings that callers may compare and show.
NO_CANDIDATE = "unknown_candidate"
ERASED = "erased"
NO_EMAIL = "no_email"
NO_CONTACT_CONSENT = "no_contact_consent"
CONTACT_CONSENT_EXPIRED = "contact_consent_expired"
CONTACT_CONSENT_REVOKED = "contact_consent_revoked"
UNSUBSCRIBED = "unsubscribed"

UNSUBSCRIBE_EVIDENCE = "unsubscribe: "
UNSUBSCRIBE_PATH = "/unsubscribe/"
# Outreach emails are EmailMessage rows whose kind starts with this, so that an unsubscribe can find the
# ones still pending (and leaves the interview invitations and welcome emails alone: those are not outreach).
OUTREACH_KIND_PREFIX = "outreach"
CANCELLED = "cancelled"
# A signature of 16 bytes (128 bits) cannot be guessed, and keeps the link short enough for every mail client.
TOKEN_SIGNATURE_BYTES = 16


class OutreachBlocked(Exception):
    """This candidate may not be emailed now; `reason` is one of the constants above."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(render("outreach/blocked.md.j2", reason=reason))


class StopHook(Protocol):
    def __call__(self, session: Session, *, candidate_id: int, reason: str, now: datetime) -> None: ...


# Called, in the caller's transaction, whenever outreach to a candidate must stop (unsubscribe, contact consent
# revoked). Features that send on their own schedule (nurture sequences) append their "stop" here.
OUTREACH_STOP_HOOKS: list[StopHook | Callable[..., None]] = []


# --- may we? -------------------------------------------------------------------------------------------


def _valid(consent: Consent | None, now: datetime) -> bool:
    return (consent is not None and consent.action == ConsentAction.GRANTED
            and (consent.expires_at is None or consent.expires_at > now))


def contact_blocker(session: Session, *, candidate_id: int, now: datetime) -> str | None:
    """None when the candidate may be emailed now; else why not."""
    candidate = session.get(Candidate, candidate_id)
    consent = queries.latest_consent(session, candidate_id=candidate_id, kind=ConsentKind.CONTACT) \
        if candidate is not None else None
    return _blocker(candidate, consent, now)


def contact_blockers(session: Session, *, candidates: dict[int, Candidate], candidate_ids: list[int],
                     now: datetime) -> dict[int, str | None]:
    """`contact_blocker` for many candidates (`candidates`: those of them that exist) with one consent query."""
    consents = queries.latest_consents(session, candidate_ids=candidate_ids, kind=ConsentKind.CONTACT)
    return {cid: _blocker(candidates.get(cid), consents.get(cid), now) for cid in candidate_ids}


def _blocker(candidate: Candidate | None, consent: Consent | None, now: datetime) -> str | None:
    if candidate is None:
        return NO_CANDIDATE
    if candidate.status == CandidateStatus.ERASED:
        return ERASED
    if consent is None:
        return NO_CONTACT_CONSENT
    if consent.action == ConsentAction.REVOKED:
        return UNSUBSCRIBED if consent.evidence.startswith(UNSUBSCRIBE_EVIDENCE) else CONTACT_CONSENT_REVOKED
    if not _valid(consent, now):
        return CONTACT_CONSENT_EXPIRED
    if not candidate.email:
        return NO_EMAIL
    return None


def ai_allowed(session: Session, *, candidate_id: int, now: datetime) -> bool:
    """Whether the candidate's data may go to a language model (redacted): a valid ai_processing consent."""
    candidate = session.get(Candidate, candidate_id)
    if candidate is None or candidate.status == CandidateStatus.ERASED:
        return False
    return _valid(queries.latest_consent(session, candidate_id=candidate_id, kind=ConsentKind.AI_PROCESSING), now)


# --- links ---------------------------------------------------------------------------------------------


def _signature(candidate_id: int, secret: bytes | str) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, f"unsubscribe:{candidate_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_SIGNATURE_BYTES]).decode().rstrip("=")


def unsubscribe_token(candidate_id: int, secret: bytes | str) -> str:
    """`<id>.<signature>`: no expiry, since an unsubscribe link must work for as long as the email exists."""
    return f"{candidate_id}.{_signature(candidate_id, secret)}"


def candidate_for_token(token: str, secret: bytes | str) -> int | None:
    """The candidate a token was made for, or None when it was not made with this secret."""
    head, _, signature = token.partition(".")
    if not head.isdigit() or len(head) > 18 or not signature:
        return None
    candidate_id = int(head)
    return candidate_id if hmac.compare_digest(signature, _signature(candidate_id, secret)) else None


def unsubscribe_url(candidate_id: int, settings: Settings) -> str:
    return f"{settings.public_url}{UNSUBSCRIBE_PATH}{unsubscribe_token(candidate_id, settings.link_secret)}"


# --- sending -------------------------------------------------------------------------------------------


def _with_html_footer(html_body: str, footer: str) -> str:
    # Inside the body when the caller wrote a whole document, so that the footer is part of what is shown.
    closing = html_body.lower().rfind("</body>")
    if closing == -1:
        return f"{html_body.rstrip()}\n{footer}\n"
    return f"{html_body[:closing]}{footer}\n{html_body[closing:]}"


@dataclass(frozen=True)
class OutreachEmail:
    """One outreach email as its caller wrote it, before the footer and the unsubscribe headers."""

    candidate_id: int
    subject: str
    text_body: str
    kind: str
    dedupe_key: str
    reply_to: str | None
    html_body: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


def queue_outreach_email(session: Session, *, candidate_id: int, subject: str, text_body: str, kind: str,
                         dedupe_key: str, reply_to: str | None, now: datetime, settings: Settings,
                         config: WorkspaceConfig, html_body: str | None = None,
                         extra_headers: dict[str, str] | None = None) -> EmailMessage:
    """Queue an outreach email in the caller's transaction, footer and unsubscribe headers added.

    Raises OutreachBlocked when the candidate may not be emailed. `kind` is stored prefixed with "outreach."
    unless it already starts with "outreach" (how an unsubscribe finds the pending ones). The same
    dedupe_key twice is one email (bot.mail.queue_email).
    """
    blocker = contact_blocker(session, candidate_id=candidate_id, now=now)
    if blocker is not None:
        raise OutreachBlocked(blocker)
    candidate = session.get(Candidate, candidate_id)
    assert candidate is not None and candidate.email
    email = OutreachEmail(candidate_id=candidate_id, subject=subject, text_body=text_body, kind=kind,
                          dedupe_key=dedupe_key, reply_to=reply_to, html_body=html_body,
                          extra_headers=dict(extra_headers or {}))
    fields = _with_footer(email, candidate.email, settings=settings, config=config)
    return queue_email(session, **fields, candidate_id=candidate_id, dedupe_key=dedupe_key, now=now)


def queue_cleared_outreach_emails(session: Session, emails: list[tuple[OutreachEmail, Candidate]], *,
                                  now: datetime, settings: Settings, config: WorkspaceConfig) -> dict[str, int]:
    """Queue many outreach emails with one insert; the email id under each dedupe key.

    For callers that have just cleared each candidate with `contact_blockers` in this transaction (nurture's
    batch of steps), so consent is not read again per email. A dedupe key already queued keeps its email.
    """
    rows = []
    for email, candidate in emails:
        assert candidate.email
        fields = _with_footer(email, candidate.email, settings=settings, config=config)
        _check_email(to=fields["to"], subject=email.subject, reply_to=email.reply_to, headers=fields["headers"],
                    attachments=[])
        rows.append({**fields, "candidate_id": email.candidate_id, "dedupe_key": email.dedupe_key,
                     "attachments": [], "status": OutboxStatus.PENDING, "attempts": 0, "next_attempt_at": now,
                     "created_at": now})
    return queries.insert_emails_once(session, rows)


def _with_footer(email: OutreachEmail, address: str, *, settings: Settings,
                 config: WorkspaceConfig) -> dict[str, Any]:
    """The email's columns with the footer and unsubscribe headers, as `queue_email` takes them."""
    link = unsubscribe_url(email.candidate_id, settings)
    footer = {"company_name": config.company_name, "privacy_policy_url": config.outreach.privacy_policy_url,
              "unsubscribe_url": link}
    text = f"{email.text_body.rstrip()}\n\n{render('outreach/footer.txt.j2', **footer)}\n"
    html = _with_html_footer(email.html_body, render("outreach/footer.html.j2", **footer)) \
        if email.html_body else None
    headers = dict(email.extra_headers)
    # RFC 8058: the HTTPS URL receives a POST with body "List-Unsubscribe=One-Click"; the header must be
    # covered by the DKIM signature, which is the relay's job.
    headers["List-Unsubscribe"] = f"<{link}>"
    headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    kind = email.kind if email.kind.startswith(OUTREACH_KIND_PREFIX) else f"{OUTREACH_KIND_PREFIX}.{email.kind}"
    return {"kind": kind[:40], "to": [address], "subject": email.subject, "text_body": text, "html_body": html,
            "reply_to": email.reply_to, "headers": headers}


# --- stopping ------------------------------------------------------------------------------------------


def stop_outreach(session: Session, *, candidate_id: int, reason: str, now: datetime) -> int:
    """Cancel the candidate's pending outreach emails and run every stop hook; returns how many were cancelled.

    An email a sender has already claimed may still go out (it is on the wire); the mailer then records it
    as sent, which is the truth.
    """
    cancelled = queries.cancel_pending_emails(session, candidate_id=candidate_id, kind_prefix=OUTREACH_KIND_PREFIX,
                                              status=CANCELLED, error=f"stopped: {reason}", now=now)
    for hook in OUTREACH_STOP_HOOKS:
        hook(session, candidate_id=candidate_id, reason=reason, now=now)
    return cancelled


def stop_outreach_without_consent(session: Session, *, now: datetime, limit: int = 1000) -> dict[int, str]:
    """Stop outreach to candidates whose consent ran out while their emails waited (an expiry records nothing,
    so no revocation fires for it). Run periodically (the `outreach_results` job); returns who was stopped, why."""
    stopped: dict[int, str] = {}
    for candidate_id in queries.candidates_with_pending_emails(session, kind_prefix=OUTREACH_KIND_PREFIX,
                                                               limit=limit):
        reason = contact_blocker(session, candidate_id=candidate_id, now=now)
        if reason is not None:
            stop_outreach(session, candidate_id=candidate_id, reason=reason, now=now)
            stopped[candidate_id] = reason
    return stopped


def record_consent_revocation(session: Session, *, candidate_id: int, kind: str, now: datetime, evidence: str,
                              actor: str = "system", recorded_by_slack_id: str | None = None) -> Consent:
    """Append a revocation to the consent ledger and stop what it forbids, in the caller's transaction.

    Every revocation of a candidate's consent goes through here. Contact consent stops all outreach
    (emails and sequences); an ai_processing revocation needs nothing stopped, since drafting checks the
    consent each time it runs.
    """
    consent = Consent(candidate_id=candidate_id, kind=kind, action=ConsentAction.REVOKED, recorded_at=now,
                      evidence=evidence[:500], recorded_by_slack_id=recorded_by_slack_id)
    session.add(consent)
    session.flush()
    cancelled = 0
    if kind == ConsentKind.CONTACT:
        reason = UNSUBSCRIBED if evidence.startswith(UNSUBSCRIBE_EVIDENCE) else CONTACT_CONSENT_REVOKED
        cancelled = stop_outreach(session, candidate_id=candidate_id, reason=reason, now=now)
    record_activity(session, actor=actor, kind="consent.revoked", now=now, candidate_id=candidate_id,
                    payload={"kind": str(kind), "evidence": evidence[:500], "emails_cancelled": cancelled})
    return consent


def is_unsubscribed(session: Session, *, candidate_id: int) -> bool:
    consent = queries.latest_consent(session, candidate_id=candidate_id, kind=ConsentKind.CONTACT)
    return consent is not None and consent.action == ConsentAction.REVOKED \
        and consent.evidence.startswith(UNSUBSCRIBE_EVIDENCE)


def record_unsubscribe(session: Session, *, candidate_id: int, now: datetime, evidence: str) -> None:
    """The candidate asked for no more email (link, one-click, reply): revoke contact consent and stop.

    Repeating it (a second click, a mail provider's one-click retry) records nothing new.
    """
    if session.get(Candidate, candidate_id) is None or is_unsubscribed(session, candidate_id=candidate_id):
        return
    record_consent_revocation(session, candidate_id=candidate_id, kind=ConsentKind.CONTACT, now=now,
                              evidence=f"{UNSUBSCRIBE_EVIDENCE}{evidence}")
