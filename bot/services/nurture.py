"""Nurture sequences: the passive-talent playbook, one email step at a time, each sent exactly once.

A sequence (workspace config `nurture.sequences`) is a list of steps, each a template under prompts/nurture/
with a delay after the previous step and whether a person approves it first. A candidate is enrolled by hand
(the card) or with a whole segment; the `nurture_steps` job takes the due steps:

- It claims due enrolments (`queries.claim_due_enrollments`: FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN
  IMMEDIATE on SQLite) and, in that one transaction, records the step (`NurtureSend`, unique per enrolment
  and step), queues its email through bot.services.outreach_mail under the key `nurture:<enrolment>:<step>`,
  and moves the enrolment on. A process killed anywhere either committed all of it or none of it, so after a
  restart the step is taken again or not at all — never twice. The mailer (bot.mail) then sends the queued
  rows, with its own claim, retries and back-off.
- A step that needs approval becomes a draft for the candidate's owner instead (commands/nurture.py posts it;
  Approve queues the same email under the same key).
- A sequence stops on a reply (bot.services.engagement), an unsubscribe or any revocation of contact consent
  (OUTREACH_STOP_HOOKS, and checked again before every step), and a stage move (bot.services.pipeline).
- Candidates marked open to opportunities get the delays multiplied by `nurture.open_to_opportunities_factor`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, update

from bot.access import AccessDenied, Actor
from bot.mail import RenderedEmail
from bot.services import engagement
from bot.services.candidates import NotFound
from bot.services.outreach_mail import (
    OUTREACH_STOP_HOOKS,
    OutreachBlocked,
    OutreachEmail,
    contact_blocker,
    contact_blockers,
    queue_cleared_outreach_emails,
    queue_outreach_email,
)
from bot.services.timeline import record_activity
from bot.settings import Settings
from bot.templates import PROMPTS_DIR, environment
from bot.workspace import NurtureSequence, NurtureStep, WorkspaceConfig
from storage import queries
from storage.models import Candidate, NurtureEnrollment, NurtureSend, NurtureStatus

logger = logging.getLogger(__name__)

# Steps per transaction. On SQLite a run holds the write lock for its batch; a short batch keeps other writers
# (a second worker, the mailer recording what it sent) well inside their busy timeout on a loaded machine.
STEP_BATCH = 50
SEGMENT_LIMIT = 5000
EMAIL_KIND = "outreach.nurture"
# Stop reasons, as stored on the enrolment and shown on the card.
STOPPED_REPLIED = "replied"
STOPPED_STAGE_MOVED = "stage_moved"
STOPPED_BY_RECRUITER = "stopped_by_recruiter"
DEFAULT_ROLE = "roles like yours"
REFERRER_WORDS = "A friend of yours at our company"


class NurtureRefused(Exception):
    """The enrolment breaks a rule; the message says which, for the person who asked."""


def step_dedupe_key(enrollment_id: int, step: int) -> str:
    return f"nurture:{enrollment_id}:{step}"


def sequence_named(config: WorkspaceConfig, name: str) -> NurtureSequence:
    sequence = config.nurture.sequences.get(name.strip().casefold())
    if sequence is None:
        known = ", ".join(sorted(config.nurture.sequences)) or "none"
        raise NurtureRefused(f"There is no nurture sequence called “{name}”. Sequences: {known}.")
    return sequence


def step_delay(config: WorkspaceConfig, step: NurtureStep, *, open_to_opportunities: bool) -> timedelta:
    return step.delay * config.nurture.open_to_opportunities_factor if open_to_opportunities else step.delay


def _require_recruiter(actor: Actor) -> None:
    if not actor.sees_pipeline:
        raise AccessDenied("Only recruiters and admins can enroll candidates in nurture sequences.")


# --- enrolment -------------------------------------------------------------------------------------------


def enroll(session: Session, *, actor: Actor, candidate_id: int, sequence: str, config: WorkspaceConfig,
           now: datetime) -> NurtureEnrollment:
    """Enroll one candidate; the first step is due after its delay. Refused without contact consent."""
    _require_recruiter(actor)
    name = sequence.strip().casefold()
    steps = sequence_named(config, name).steps
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound("That candidate no longer exists.")
    blocker = contact_blocker(session, candidate_id=candidate_id, now=now)
    if blocker is not None:
        raise NurtureRefused(str(OutreachBlocked(blocker)))
    existing = queries.enrollment_for(session, candidate_id=candidate_id, sequence=name)
    if existing is not None:
        state = "is already in" if existing.status == NurtureStatus.ACTIVE else f"was in ({existing.status})"
        raise NurtureRefused(f"{candidate.full_name} {state} the {name} sequence.")
    enrollment = NurtureEnrollment(
        candidate_id=candidate_id, sequence=name, next_step=0, enrolled_by_slack_id=actor.user_id, enrolled_at=now,
        next_step_at=now + step_delay(config, steps[0], open_to_opportunities=candidate.open_to_opportunities),
        updated_at=now)
    session.add(enrollment)
    session.flush()
    record_activity(session, actor=actor.user_id, kind="nurture.enrolled", now=now, candidate_id=candidate_id,
                    payload={"sequence": name, "steps": len(steps)})
    return enrollment


@dataclass(frozen=True)
class Segment:
    """Who a bulk enrolment takes. Every filter given must match; text filters ignore case."""

    role_family: str | None = None  # in the title of a position they were considered for, or their talent pool
    skills: tuple[str, ...] = ()  # all of these
    location: str | None = None  # part of their location
    seniority: str | None = None
    min_engagement: int | None = None

    def matches(self, candidate: Candidate, titles: Sequence[str]) -> bool:
        if self.skills:
            have = {skill.casefold() for skill in candidate.skills}
            if not all(skill.casefold() in have for skill in self.skills):
                return False
        if self.role_family:
            family = self.role_family.casefold()
            places = [*titles, candidate.talent_pool or ""]
            if not any(family in place.casefold() for place in places):
                return False
        return True


@dataclass
class SegmentEnrollment:
    sequence: str
    enrolled: list[int] = field(default_factory=list)
    # Matching candidates left out, by reason (already enrolled, no consent, …).
    skipped: dict[str, int] = field(default_factory=dict)
    # More candidates matched than one enrolment takes.
    truncated: bool = False


def enroll_segment(session: Session, *, actor: Actor, sequence: str, segment: Segment, config: WorkspaceConfig,
                   now: datetime, limit: int = SEGMENT_LIMIT) -> SegmentEnrollment:
    """Enroll every active candidate of the segment who may be contacted and is not in the sequence yet."""
    _require_recruiter(actor)
    name = sequence.strip().casefold()
    sequence_named(config, name)
    result = SegmentEnrollment(sequence=name)
    after = 0
    while True:
        rows = queries.segment_candidates(session, location=segment.location, seniority=segment.seniority,
                                          min_score=segment.min_engagement, after_id=after, limit=500)
        if not rows:
            return result
        after = rows[-1][0].id or after
        ids = [candidate.id or 0 for candidate, _ in rows]
        titles = queries.position_titles_by_candidate(session, ids) if segment.role_family else {}
        enrolled = queries.enrolled_candidate_ids(session, sequence=name, candidate_ids=ids)
        for candidate, _score in rows:
            assert candidate.id is not None
            if not segment.matches(candidate, titles.get(candidate.id, [])):
                continue
            if candidate.id in enrolled:
                result.skipped["already enrolled"] = result.skipped.get("already enrolled", 0) + 1
                continue
            blocker = contact_blocker(session, candidate_id=candidate.id, now=now)
            if blocker is not None:
                reason = blocker.replace("_", " ")
                result.skipped[reason] = result.skipped.get(reason, 0) + 1
                continue
            if len(result.enrolled) >= limit:
                result.truncated = True
                return result
            result.enrolled.append(enroll(session, actor=actor, candidate_id=candidate.id, sequence=name,
                                          config=config, now=now).id or 0)


def stop_sequences(session: Session, *, candidate_id: int, reason: str, now: datetime) -> list[int]:
    """Stop every active sequence of the candidate (reason: replied, unsubscribed, stage_moved, …)."""
    stopped = queries.stop_active_enrollments(session, candidate_id=candidate_id, reason=reason, now=now)
    if stopped:
        record_activity(session, actor="system", kind="nurture.stopped", now=now, candidate_id=candidate_id,
                        payload={"reason": reason, "enrollments": stopped})
    return stopped


def _stop_hook(session: Session, *, candidate_id: int, reason: str, now: datetime) -> None:
    stop_sequences(session, candidate_id=candidate_id, reason=reason, now=now)


# Unsubscribes and consent revocations (bot.services.outreach_mail) stop sequences in their own transaction.
if _stop_hook not in OUTREACH_STOP_HOOKS:
    OUTREACH_STOP_HOOKS.append(_stop_hook)


def stop_on_stage_move(session: Session, *, candidate_id: int, now: datetime) -> None:
    """A stage move means people are working with the candidate: the automatic sequence steps aside."""
    stop_sequences(session, candidate_id=candidate_id, reason=STOPPED_STAGE_MOVED, now=now)


def stop_by_recruiter(session: Session, *, actor: Actor, candidate_id: int, now: datetime) -> list[int]:
    _require_recruiter(actor)
    return stop_sequences(session, candidate_id=candidate_id, reason=STOPPED_BY_RECRUITER, now=now)


# --- taking due steps --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepDraft:
    """A step waiting for a person's approval (posted by commands/nurture.py)."""

    send_id: int
    candidate_id: int
    candidate_name: str
    owner_slack_id: str | None
    sequence: str
    step: int
    email: RenderedEmail


@dataclass
class StepRun:
    email_ids: list[int] = field(default_factory=list)
    drafts: list[StepDraft] = field(default_factory=list)
    stopped: int = 0
    completed: int = 0
    # More enrolments were due than one batch takes.
    more: bool = False

    def __str__(self) -> str:
        return (f"{len(self.email_ids)} emails queued, {len(self.drafts)} drafts for approval, "
                f"{self.stopped} stopped, {self.completed} completed")


@dataclass(frozen=True)
class _Known:
    """What the templates say about candidates, read once for a whole batch of steps."""

    titles: dict[int, list[str]]
    referred: set[int]

    @classmethod
    def load(cls, session: Session, candidate_ids: list[int]) -> _Known:
        return cls(titles=queries.position_titles_by_candidate(session, candidate_ids),
                   referred={r.candidate_id for r in queries.attributed_referrals_for(session, candidate_ids)})

    def role(self, candidate: Candidate) -> str:
        titles = self.titles.get(candidate.id or 0)
        return titles[0] if titles else (candidate.talent_pool or DEFAULT_ROLE)

    def referrer(self, candidate: Candidate) -> str | None:
        # A referrer is a Slack user; emails never show Slack IDs, so the template only learns there is one.
        return REFERRER_WORDS if candidate.id in self.referred else None


@dataclass
class _NewSend:
    """A step record of a batch before its executemany insert: the NurtureSend columns render_step reads and
    writes, without building an ORM object (SQLModel validation and instrumentation) per step."""

    enrollment_id: int
    candidate_id: int
    sequence: str
    step: int
    template: str
    outcome: str
    created_at: datetime
    id: int | None = None
    email_id: int | None = None
    links: list[str] = field(default_factory=list)


def _render_email(template_base: str, tokens: dict[str, Any]) -> RenderedEmail:
    # bot.mail.render_email takes the tokens as keyword arguments, where `name` (a token of the playbook's
    # templates) would collide with the template name; the same three parts, rendered from a dict.
    env = environment()
    subject = " ".join(env.get_template(f"{template_base}.subject.j2").render(tokens).split())
    text = env.get_template(f"{template_base}.txt.j2").render(tokens).strip() + "\n"
    has_html = (PROMPTS_DIR / f"{template_base}.html.j2").is_file()
    html = env.get_template(f"{template_base}.html.j2").render(tokens).strip() + "\n" if has_html else None
    return RenderedEmail(subject=subject, text=text, html=html)


def render_step(session: Session, *, send: NurtureSend | _NewSend, candidate: Candidate, sequence: NurtureSequence,
                settings: Settings, config: WorkspaceConfig, known: _Known | None = None) -> RenderedEmail:
    """The step's email with its links routed through the click tracker and an open pixel in the HTML.

    `send.links` is set to the URLs the email carries: the only ones its click links may lead to.
    """
    assert send.id is not None and candidate.id is not None
    tracked = {key: engagement.click_url(send.id, url, settings) for key, url in sequence.links.items()}
    known = known or _Known.load(session, [candidate.id])
    rendered = _render_email(f"nurture/{send.template}", {
        "name": candidate.full_name.split()[0], "role": known.role(candidate), "referrer": known.referrer(candidate),
        "company": config.company_name, "event": sequence.event, "links": tracked})
    send.links = [sequence.links[key] for key, url in tracked.items()
                  if url in rendered.text or (rendered.html and url in rendered.html)]
    html = rendered.html + engagement.open_pixel(send.id, settings) if rendered.html else None
    return RenderedEmail(subject=rendered.subject, text=rendered.text, html=html)


def queue_step_email(session: Session, *, send: NurtureSend, email: RenderedEmail, reply_to: str | None,
                     settings: Settings, config: WorkspaceConfig, now: datetime) -> int:
    outreach = _step_email(send, email, reply_to=reply_to)
    queued = queue_outreach_email(
        session, candidate_id=outreach.candidate_id, subject=outreach.subject, text_body=outreach.text_body,
        kind=outreach.kind, dedupe_key=outreach.dedupe_key, reply_to=reply_to, now=now, settings=settings,
        config=config, html_body=outreach.html_body, extra_headers=outreach.extra_headers)
    assert queued.id is not None
    send.email_id = queued.id
    return queued.id


def take_due_steps(session: Session, *, settings: Settings, config: WorkspaceConfig, now: datetime,
                   limit: int = STEP_BATCH) -> StepRun:
    """Take up to `limit` due steps in the caller's transaction (see the module docstring).

    A batch at a time: one consent lookup for all its candidates, one insert of its step records and one of its
    emails, rather than a lookup, a flush and a dedupe query per step (most of the sender's CPU when it did so).
    """
    run = StepRun()
    due = queries.claim_due_enrollments(session, now=now, limit=limit)
    run.more = len(due) == limit
    ids = [e.candidate_id for e in due]
    # Held here for the whole batch: the session's identity map holds rows weakly, and a candidate it has let go
    # of would be read again, one query per step.
    candidates = {c.id or 0: c for c in queries.candidates_by_ids(session, ids)}
    blockers = contact_blockers(session, candidates=candidates, candidate_ids=ids, now=now)
    known = _Known.load(session, ids)
    taken: list[tuple[NurtureEnrollment, NurtureSequence, Candidate, _NewSend]] = []
    # The batch's reads never depend on what it changed but has not flushed; its own rows go in by executemany.
    with session.no_autoflush:
        for enrollment in due:
            step = _due_step(session, enrollment, candidates[enrollment.candidate_id], run,
                             blocker=blockers.get(enrollment.candidate_id), config=config, now=now)
            if step is not None:
                taken.append(step)
        send_ids = queries.insert_nurture_sends(session, [_send_row(send) for *_, send in taken])
        emails: list[tuple[OutreachEmail, Candidate]] = []
        for (enrollment, sequence, candidate, send), send_id in zip(taken, send_ids, strict=True):
            send.id = send_id
            email = render_step(session, send=send, candidate=candidate, sequence=sequence, settings=settings,
                                config=config, known=known)
            if send.outcome == "draft":
                run.drafts.append(StepDraft(send_id=send_id, candidate_id=candidate.id or 0,
                                            candidate_name=candidate.full_name,
                                            owner_slack_id=candidate.owner_slack_id, sequence=enrollment.sequence,
                                            step=enrollment.next_step, email=email))
            else:
                emails.append((_step_email(send, email, reply_to=config.outreach.reply_to), candidate))
        email_ids = queue_cleared_outreach_emails(session, emails, now=now, settings=settings, config=config)
        updates = []
        for enrollment, sequence, candidate, send in taken:
            send.email_id = email_ids.get(step_dedupe_key(send.enrollment_id, send.step))
            updates.append({"id": send.id, "email_id": send.email_id, "links": send.links})
            if send.email_id is not None:
                run.email_ids.append(send.email_id)
            _advance(enrollment, sequence, candidate, config=config, now=now)
            if enrollment.status == NurtureStatus.COMPLETED:
                run.completed += 1
        if updates:
            session.execute(update(NurtureSend), updates)
    return run


def _due_step(session: Session, enrollment: NurtureEnrollment, candidate: Candidate, run: StepRun, *,
              blocker: str | None, config: WorkspaceConfig, now: datetime
              ) -> tuple[NurtureEnrollment, NurtureSequence, Candidate, _NewSend] | None:
    """The step the enrolment is due for, not yet stored; None when it ends or stops instead."""
    assert enrollment.id is not None
    sequence = config.nurture.sequences.get(enrollment.sequence)
    if sequence is None or enrollment.next_step >= len(sequence.steps):
        # The sequence was removed from the config, or shortened under this enrolment: nothing left to send.
        _finish(enrollment, NurtureStatus.COMPLETED, reason="sequence ended" if sequence else "sequence removed",
                now=now)
        run.completed += 1
        return None
    if blocker is not None:
        stop_sequences(session, candidate_id=candidate.id or 0, reason=blocker, now=now)
        run.stopped += 1
        return None
    step = sequence.steps[enrollment.next_step]
    send = _NewSend(enrollment_id=enrollment.id, candidate_id=enrollment.candidate_id,
                    sequence=enrollment.sequence, step=enrollment.next_step, template=step.template,
                    outcome="draft" if step.needs_approval else "queued", created_at=now)
    return enrollment, sequence, candidate, send


def _send_row(send: _NewSend) -> dict[str, Any]:
    return {"enrollment_id": send.enrollment_id, "candidate_id": send.candidate_id, "sequence": send.sequence,
            "step": send.step, "template": send.template, "outcome": send.outcome, "links": [],
            "created_at": send.created_at}


def _step_email(send: NurtureSend | _NewSend, email: RenderedEmail, *, reply_to: str | None) -> OutreachEmail:
    return OutreachEmail(candidate_id=send.candidate_id, subject=email.subject, text_body=email.text,
                         kind=EMAIL_KIND, dedupe_key=step_dedupe_key(send.enrollment_id, send.step),
                         reply_to=reply_to, html_body=email.html,
                         extra_headers={"X-Talentbot-Sequence": f"{send.sequence}; step={send.step + 1}"})


def _advance(enrollment: NurtureEnrollment, sequence: NurtureSequence, candidate: Candidate, *,
             config: WorkspaceConfig, now: datetime) -> None:
    enrollment.next_step += 1
    enrollment.updated_at = now
    if enrollment.next_step >= len(sequence.steps):
        _finish(enrollment, NurtureStatus.COMPLETED, reason=None, now=now)
        return
    # From now rather than from when the step was due: a run that comes late does not bunch the next steps.
    enrollment.next_step_at = now + step_delay(config, sequence.steps[enrollment.next_step],
                                               open_to_opportunities=candidate.open_to_opportunities)


def _finish(enrollment: NurtureEnrollment, status: str, *, reason: str | None, now: datetime) -> None:
    enrollment.status = status
    enrollment.next_step_at = None
    enrollment.stop_reason = reason
    enrollment.stopped_at = now
    enrollment.updated_at = now


# --- approving a step's draft -------------------------------------------------------------------------------


def _drafted_step(session: Session, *, actor: Actor, send_id: int) -> tuple[NurtureSend, Candidate]:
    """The step, locked, once the actor may decide on it: recruiters, admins or the candidate's owner."""
    send = session.get(NurtureSend, send_id, with_for_update=True)
    if send is None:
        raise NotFound("That draft no longer exists.")
    candidate = session.get(Candidate, send.candidate_id)
    assert candidate is not None
    if not (actor.sees_pipeline or candidate.owner_slack_id == actor.user_id):
        raise AccessDenied("Only recruiters or the candidate's owner can decide on this email.")
    return send, candidate


def approve_step(session: Session, *, actor: Actor, send_id: int, reply_to: str | None, settings: Settings,
                 config: WorkspaceConfig, now: datetime) -> NurtureSend:
    """Send a step that waited for approval: recruiters, admins or the candidate's owner decide.

    The email is the step as drafted (rendered again from the same template and data) under the step's key, so
    a double click queues one email. A sequence stopped meanwhile, or a consent gone, sends nothing.
    """
    send, candidate = _drafted_step(session, actor=actor, send_id=send_id)
    if send.outcome != "draft":
        return send
    enrollment = session.get(NurtureEnrollment, send.enrollment_id)
    assert enrollment is not None
    if enrollment.status == NurtureStatus.STOPPED:
        raise NurtureRefused(f"The sequence for {candidate.full_name} was stopped ({enrollment.stop_reason}); "
                             "nothing was sent.")
    sequence = sequence_named(config, send.sequence)
    email = render_step(session, send=send, candidate=candidate, sequence=sequence, settings=settings, config=config)
    try:
        queue_step_email(session, send=send, email=email, reply_to=reply_to, settings=settings, config=config,
                         now=now)
    except OutreachBlocked as blocked:
        raise NurtureRefused(str(blocked)) from blocked
    send.outcome = "queued"
    record_activity(session, actor=actor.user_id, kind="nurture.step_approved", now=now,
                    candidate_id=candidate.id, payload={"sequence": send.sequence, "step": send.step + 1})
    return send


def skip_step(session: Session, *, actor: Actor, send_id: int, now: datetime) -> NurtureSend:
    """Reject a drafted step: nothing is sent for it; the sequence goes on with its next step."""
    send, candidate = _drafted_step(session, actor=actor, send_id=send_id)
    if send.outcome == "draft":
        send.outcome = "skipped"
        record_activity(session, actor=actor.user_id, kind="nurture.step_skipped", now=now,
                        candidate_id=candidate.id, payload={"sequence": send.sequence, "step": send.step + 1})
    return send

