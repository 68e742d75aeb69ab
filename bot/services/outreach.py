"""Outreach drafts and their approval: who may ask for one, who may send one, and what is recorded.

A draft is asked for by a recruiter, an admin or the candidate's owner (`gather_draft_inputs`), generated outside
any transaction (bot.drafting), stored with its audit entry (`store_draft`), and posted in a Slack thread. Only a
recruiter or the candidate's owner may approve it (`approve_draft`), and only an approval queues an email, through
bot.services.outreach_mail, which checks contact consent again at that moment. Every decision (edited, regenerated,
approved, rejected) goes on the append-only timeline with who, when and the text at that point, so the audit trail
shows exactly what was sent and who decided it. Text in candidate notes only ever reaches the model as data; no
path from a model's reply leads to sending.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.access import AccessDenied, Actor, Role
from bot.drafting import PURPOSES, DraftContext, DraftText, body_html, known_pii
from bot.mail import MAX_SUBJECT
from bot.privacy import KnownPII
from bot.privacy.placeholders import find_placeholders
from bot.services.candidates import NotFound, find_candidates
from bot.services.outreach_mail import (
    OutreachBlocked,
    ai_allowed,
    contact_blocker,
    queue_outreach_email,
    record_consent_revocation,
)
from bot.services.timeline import record_activity
from bot.settings import Settings
from bot.templates import render
from bot.workspace import WorkspaceConfig
from storage import queries
from storage.models import (
    Application,
    ApplicationStatus,
    Candidate,
    Consent,
    ConsentAction,
    ConsentKind,
    DraftStatus,
    EmailMessage,
    OutboxStatus,
    OutreachDraft,
    Position,
)

MAX_NOTES = 5
# A Slack plain_text_input holds at most 3000 characters, and the Edit modal must be able to show all of it.
MAX_BODY = 3000
# Flag for an edited draft that still has a placeholder in it (it would be mailed as "<PERSON_1>").
PLACEHOLDER_LEFT = "placeholder_left"
EMAIL_KIND = "outreach.draft"


class DraftRefused(Exception):
    """The draft cannot be made or decided now; the message is for the person who asked."""


class DraftStale(DraftRefused):
    """The button was drawn for an older version of the draft (someone edited or regenerated it since)."""


@dataclass(frozen=True)
class DraftInputs:
    candidate_id: int
    position_id: int | None
    purpose: str
    context: DraftContext
    known: KnownPII
    # The candidate's valid ai_processing consent; without it the draft comes from the templates.
    ai_consent: bool


@dataclass(frozen=True)
class DraftView:
    draft: OutreachDraft
    candidate_name: str
    position_title: str | None
    email_status: str | None = None
    email_error: str | None = None


# --- who may do what -------------------------------------------------------------------------------------


def _candidate(session: Session, candidate_id: int) -> Candidate:
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound(render("outreach/refused.md.j2", reason="no_candidate"))
    return candidate


def require_drafting_rights(actor: Actor, candidate: Candidate) -> None:
    if not (actor.sees_pipeline or candidate.owner_slack_id == actor.user_id):
        raise AccessDenied(render("outreach/refused.md.j2", reason="no_drafting_rights"))


def require_approval_rights(actor: Actor, candidate: Candidate) -> None:
    """Only recruiters and the candidate's owner send email in the team's name (admins included only when they are
    recruiters too: administering the bot is not a licence to write to candidates)."""
    if not (Role.RECRUITER in actor.roles or candidate.owner_slack_id == actor.user_id):
        raise AccessDenied(render("outreach/refused.md.j2", reason="no_approval_rights"))


# --- asking for a draft ----------------------------------------------------------------------------------


def find_draft_candidate(session: Session, *, actor: Actor, name: str | None, email: str | None) -> int:
    """The one candidate a "draft an email to …" names; NotFound or DraftRefused (several match) otherwise."""
    query = email or name or ""
    matches = find_candidates(session, actor=actor, query=query, limit=5) if query.strip() else []
    if not matches:
        raise NotFound(render("outreach/refused.md.j2", reason="no_match", query=query))
    if len(matches) > 1 and matches[0].full_name.casefold() == matches[1].full_name.casefold():
        raise DraftRefused(render("outreach/refused.md.j2", reason="ambiguous", query=query,
                                  names=[m.full_name for m in matches]))
    return matches[0].candidate_id


def position_id_for(session: Session, *, candidate_id: int, title: str | None) -> int | None:
    """The position the email is about: the one named, else the candidate's only open application's."""
    if title:
        found = queries.positions_by_title(session, title, exact=True, limit=1)
        if found:
            return found[0].id
    open_ones = [position for application, position in queries.applications_of_candidate(session, candidate_id)
                 if application.status == ApplicationStatus.OPEN]
    return open_ones[0].id if len(open_ones) == 1 else None


def people_to_name(session: Session, *, candidate_id: int) -> list[str]:
    """Slack users whose names the email may use (the referrers); the handler looks their names up."""
    return sorted({referral.referrer_slack_id for referral in queries.attributed_referrals(session, candidate_id)})


def gather_draft_inputs(session: Session, *, actor: Actor, candidate_id: int, position_id: int | None,
                        purpose: str, names: Mapping[str, str], config: WorkspaceConfig, now: datetime,
                        event: str | None = None) -> DraftInputs:
    """Everything a draft is made from. Raises AccessDenied, NotFound, or OutreachBlocked when the candidate may
    not be emailed at all (no point drafting what can never be sent)."""
    candidate = _candidate(session, candidate_id)
    require_drafting_rights(actor, candidate)
    blocker = contact_blocker(session, candidate_id=candidate_id, now=now)
    if blocker is not None:
        raise OutreachBlocked(blocker)
    if purpose not in PURPOSES:
        raise DraftRefused(render("outreach/refused.md.j2", reason="purpose", purpose=purpose))
    position = session.get(Position, position_id) if position_id else None
    referrals = queries.attributed_referrals(session, candidate_id)
    referrer = next((names[r.referrer_slack_id] for r in referrals if names.get(r.referrer_slack_id)), None)
    notes = [r.note for r in referrals if r.note.strip()]
    notes += queries.note_texts_of_candidate(session, candidate_id, limit=200)[-MAX_NOTES:]
    context = DraftContext(purpose=purpose, candidate_name=candidate.full_name, company=config.company_name,
                           role=position.title if position else None, referrer=referrer, event=event,
                           recruiter=names.get(actor.user_id), skills=tuple(candidate.skills),
                           seniority=candidate.seniority, location=candidate.location,
                           notes=tuple(notes[-MAX_NOTES:]))
    known = known_pii(context, emails=[candidate.email] if candidate.email else [],
                      phones=[candidate.phone_e164] if candidate.phone_e164 else [],
                      urls=[candidate.profile_url] if candidate.profile_url else [],
                      phone_region=config.default_phone_region)
    return DraftInputs(candidate_id=candidate_id, position_id=position.id if position else None, purpose=purpose,
                       context=context, known=known,
                       ai_consent=ai_allowed(session, candidate_id=candidate_id, now=now))


def _audit(text: DraftText) -> dict[str, object]:
    return {"source": text.source, "source_note": text.source_note, "model": text.model,
            "prompt_sent": text.prompt_sent, "model_output": text.model_output, "model_error": text.model_error,
            "flags": list(text.flags), "subject": text.subject, "body": text.body}


def store_draft(session: Session, *, actor: Actor, inputs: DraftInputs, text: DraftText, channel_id: str | None,
                thread_ts: str | None, now: datetime) -> OutreachDraft:
    """The draft, and its audit entry: what went to the model (redacted), which model, what came back."""
    draft = OutreachDraft(candidate_id=inputs.candidate_id, position_id=inputs.position_id, purpose=inputs.purpose,
                          status=DraftStatus.PENDING, source=text.source, source_note=text.source_note,
                          subject=text.subject[:MAX_SUBJECT], body=text.body[:MAX_BODY], html_body=text.html,
                          flags=list(text.flags), model=text.model, prompt_sent=text.prompt_sent,
                          model_output=text.model_output, model_error=(text.model_error or "")[:500] or None,
                          requested_by_slack_id=actor.user_id, channel_id=channel_id, thread_ts=thread_ts,
                          created_at=now, updated_at=now)
    session.add(draft)
    session.flush()
    record_activity(session, actor=actor.user_id, kind="outreach.drafted", now=now, candidate_id=inputs.candidate_id,
                    position_id=inputs.position_id, payload={"draft_id": draft.id, **_audit(text)})
    return draft


def mark_posted(session: Session, *, draft_id: int, channel_id: str, message_ts: str) -> None:
    draft = session.get(OutreachDraft, draft_id)
    if draft is not None:
        draft.channel_id, draft.message_ts = channel_id, message_ts


# --- deciding ---------------------------------------------------------------------------------------------


def _pending(session: Session, *, actor: Actor, draft_id: int, version: int | None,
             approving: bool = False) -> tuple[OutreachDraft, Candidate]:
    # Locked: two people clicking Approve at the same moment must not both send (PostgreSQL; SQLite already
    # runs one writer at a time).
    draft = session.get(OutreachDraft, draft_id, with_for_update=True)
    if draft is None:
        raise NotFound(render("outreach/refused.md.j2", reason="no_draft"))
    candidate = _candidate(session, draft.candidate_id)
    if approving:
        require_approval_rights(actor, candidate)
    else:
        require_drafting_rights(actor, candidate)
    if draft.status != DraftStatus.PENDING:
        raise DraftRefused(render("outreach/refused.md.j2", reason="decided", status=draft.status,
                                  decided_by=draft.decided_by_slack_id))
    if version is not None and version != draft.version:
        raise DraftStale(render("outreach/refused.md.j2", reason="stale"))
    return draft, candidate


def _decision(session: Session, draft: OutreachDraft, *, actor: Actor, kind: str, now: datetime,
              **extra: object) -> None:
    record_activity(session, actor=actor.user_id, kind=kind, now=now, candidate_id=draft.candidate_id,
                    position_id=draft.position_id,
                    payload={"draft_id": draft.id, "version": draft.version, "subject": draft.subject,
                             "body": draft.body, **extra})


def validate_edit(subject: str | None, body: str | None) -> tuple[str, str, dict[str, str]]:
    clean_subject = " ".join((subject or "").split())
    clean_body = (body or "").strip()
    errors: dict[str, str] = {}
    if not clean_subject:
        errors["subject"] = render("outreach/edit_error.md.j2", problem="subject_missing")
    elif len(clean_subject) > MAX_SUBJECT:
        errors["subject"] = render("outreach/edit_error.md.j2", problem="subject_long", limit=MAX_SUBJECT)
    if not clean_body:
        errors["body"] = render("outreach/edit_error.md.j2", problem="body_missing")
    elif len(clean_body) > MAX_BODY:
        errors["body"] = render("outreach/edit_error.md.j2", problem="body_long", limit=MAX_BODY)
    return clean_subject, clean_body, errors


def edit_draft(session: Session, *, actor: Actor, draft_id: int, version: int, subject: str, body: str,
               now: datetime) -> OutreachDraft:
    """Replace the text (already validated). The model's flags give way to one about leftover placeholders,
    since the person has now read and changed the text."""
    draft, _ = _pending(session, actor=actor, draft_id=draft_id, version=version)
    draft.subject, draft.body = subject, body
    draft.html_body = body_html(body)
    draft.flags = [PLACEHOLDER_LEFT] if any(find_placeholders(f"{subject}\n{body}")) else []
    draft.version += 1
    draft.updated_at = now
    _decision(session, draft, actor=actor, kind="outreach.edited", now=now)
    return draft


def regenerate_draft(session: Session, *, actor: Actor, draft_id: int, version: int, text: DraftText,
                     now: datetime) -> OutreachDraft:
    draft, _ = _pending(session, actor=actor, draft_id=draft_id, version=version)
    draft.subject, draft.body, draft.html_body = text.subject[:MAX_SUBJECT], text.body[:MAX_BODY], text.html
    draft.source, draft.source_note, draft.flags = text.source, text.source_note, list(text.flags)
    draft.model, draft.prompt_sent, draft.model_output = text.model, text.prompt_sent, text.model_output
    draft.model_error = (text.model_error or "")[:500] or None
    draft.version += 1
    draft.updated_at = now
    record_activity(session, actor=actor.user_id, kind="outreach.regenerated", now=now,
                    candidate_id=draft.candidate_id, position_id=draft.position_id,
                    payload={"draft_id": draft.id, "version": draft.version, **_audit(text)})
    return draft


def check_regenerate(session: Session, *, actor: Actor, draft_id: int, version: int) -> OutreachDraft:
    """Refuse a regeneration before the (slow) model is asked."""
    return _pending(session, actor=actor, draft_id=draft_id, version=version)[0]


def reject_draft(session: Session, *, actor: Actor, draft_id: int, version: int | None, now: datetime) -> OutreachDraft:
    draft, _ = _pending(session, actor=actor, draft_id=draft_id, version=version)
    draft.status = DraftStatus.REJECTED
    draft.decided_by_slack_id, draft.decided_at, draft.updated_at = actor.user_id, now, now
    _decision(session, draft, actor=actor, kind="outreach.rejected", now=now)
    return draft


def approve_draft(session: Session, *, actor: Actor, draft_id: int, version: int, reply_to: str | None,
                  now: datetime, settings: Settings, config: WorkspaceConfig) -> OutreachDraft:
    """Approve and queue the email. Contact consent is checked again now: it may have been revoked (or the
    candidate unsubscribed) since the draft was made. A blocked approval marks the draft failed, and says why."""
    draft, _ = _pending(session, actor=actor, draft_id=draft_id, version=version, approving=True)
    if draft.flags and PLACEHOLDER_LEFT in draft.flags:
        raise DraftRefused(render("outreach/refused.md.j2", reason="placeholder_left"))
    draft.decided_by_slack_id, draft.decided_at, draft.updated_at = actor.user_id, now, now
    draft.reply_to = reply_to
    try:
        email = queue_outreach_email(session, candidate_id=draft.candidate_id, subject=draft.subject,
                                     text_body=draft.body, html_body=draft.html_body or body_html(draft.body),
                                     kind=EMAIL_KIND, dedupe_key=f"outreach-draft:{draft.id}", reply_to=reply_to,
                                     now=now, settings=settings, config=config)
    except OutreachBlocked as blocked:
        draft.status = DraftStatus.FAILED
        _decision(session, draft, actor=actor, kind="outreach.blocked", now=now, reason=blocked.reason)
        return draft
    draft.status = DraftStatus.SENDING
    draft.email_id = email.id
    _decision(session, draft, actor=actor, kind="outreach.approved", now=now, email_id=email.id, reply_to=reply_to)
    return draft


def settle_draft(session: Session, *, draft_id: int, now: datetime) -> OutreachDraft:
    """After a delivery attempt: a sent email becomes the touchpoint on the timeline; a failed one fails the
    draft. A retrying email leaves the draft sending (the mail job keeps trying)."""
    draft = session.get(OutreachDraft, draft_id, with_for_update=True)
    if draft is None or draft.status != DraftStatus.SENDING or draft.email_id is None:
        raise NotFound(render("outreach/refused.md.j2", reason="no_draft"))
    email = session.get(EmailMessage, draft.email_id)
    assert email is not None
    if email.status == OutboxStatus.SENT:
        draft.status = DraftStatus.SENT
        record_activity(session, actor=draft.decided_by_slack_id or "system", kind="outreach.sent", now=now,
                        candidate_id=draft.candidate_id, position_id=draft.position_id,
                        payload={"draft_id": draft.id, "email_id": email.id, "subject": draft.subject,
                                 "message_id": email.message_id})
    elif email.status != OutboxStatus.PENDING:
        draft.status = DraftStatus.FAILED
        record_activity(session, actor="system", kind="outreach.failed", now=now, candidate_id=draft.candidate_id,
                        position_id=draft.position_id,
                        payload={"draft_id": draft.id, "email_id": email.id, "error": email.last_error,
                                 "email_status": email.status})
    draft.updated_at = now
    return draft


def drafts_sending(session: Session, *, limit: int) -> list[int]:
    return queries.drafts_with_status(session, DraftStatus.SENDING, limit=limit)


def draft_view(session: Session, *, draft_id: int) -> DraftView:
    draft = session.get(OutreachDraft, draft_id)
    if draft is None:
        raise NotFound(render("outreach/refused.md.j2", reason="no_draft"))
    candidate = _candidate(session, draft.candidate_id)
    position = session.get(Position, draft.position_id) if draft.position_id else None
    email = session.get(EmailMessage, draft.email_id) if draft.email_id else None
    return DraftView(draft=draft, candidate_name=candidate.full_name,
                     position_title=position.title if position else None,
                     email_status=email.status if email else None, email_error=email.last_error if email else None)


def open_application_position(session: Session, application_id: int) -> tuple[int, int]:
    """(candidate, position) of a stale answer's application, for its "Draft follow-up" button."""
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound(render("outreach/refused.md.j2", reason="no_candidate"))
    return application.candidate_id, application.position_id


# --- consent, as a candidate gave or withdrew it --------------------------------------------------------

# The consents this feature depends on; client_submission has its own form on positions (agency mode).
OUTREACH_CONSENTS = (ConsentKind.CONTACT, ConsentKind.AI_PROCESSING)
MAX_EVIDENCE = 500
MAX_VALID_DAYS = 3650


def validate_consent(*, kind: str | None, action: str | None, evidence: str | None,
                     valid_days: str | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if kind not in OUTREACH_CONSENTS:
        errors["kind"] = render("outreach/consent_error.md.j2", problem="kind")
    if action not in (ConsentAction.GRANTED, ConsentAction.REVOKED):
        errors["action"] = render("outreach/consent_error.md.j2", problem="action")
    clean = (evidence or "").strip()
    if not clean:
        errors["evidence"] = render("outreach/consent_error.md.j2", problem="evidence_missing")
    elif len(clean) > MAX_EVIDENCE:
        errors["evidence"] = render("outreach/consent_error.md.j2", problem="evidence_long", limit=MAX_EVIDENCE)
    days = (valid_days or "").strip()
    if days and not (days.isdigit() and 1 <= int(days) <= MAX_VALID_DAYS):
        errors["valid_days"] = render("outreach/consent_error.md.j2", problem="valid_days", limit=MAX_VALID_DAYS)
    return errors


def consent_subject(session: Session, *, actor: Actor, candidate_id: int) -> str:
    """The candidate's name for the consent form, after checking that the actor may record their consent."""
    candidate = _candidate(session, candidate_id)
    require_drafting_rights(actor, candidate)
    return candidate.full_name


def record_consent(session: Session, *, actor: Actor, candidate_id: int, kind: str, action: str, evidence: str,
                   valid_days: int | None, config: WorkspaceConfig, now: datetime) -> Consent:
    """Append what the candidate said, with how we know, to the consent ledger. A withdrawal goes through
    outreach_mail.record_consent_revocation, which stops whatever it forbids at once."""
    candidate = _candidate(session, candidate_id)
    require_drafting_rights(actor, candidate)
    clean = evidence.strip()[:MAX_EVIDENCE]
    if action == ConsentAction.REVOKED:
        return record_consent_revocation(session, candidate_id=candidate_id, kind=kind, now=now, evidence=clean,
                                         actor=actor.user_id, recorded_by_slack_id=actor.user_id)
    days = valid_days or config.consent.contact_valid_days
    consent = Consent(candidate_id=candidate_id, kind=kind, action=ConsentAction.GRANTED, recorded_at=now,
                      evidence=clean, recorded_by_slack_id=actor.user_id, expires_at=now + timedelta(days=days))
    session.add(consent)
    session.flush()
    record_activity(session, actor=actor.user_id, kind="consent.granted", now=now, candidate_id=candidate_id,
                    payload={"kind": str(kind), "evidence": clean, "expires_at": consent.expires_at.isoformat()
                             if consent.expires_at else None})
    return consent
