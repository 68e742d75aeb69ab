"""Positions: creating and editing openings, who sees them, closing them, and agency submissions to clients.

Every rule lives here and every function takes the acting person and `now`; Slack handlers only parse and render.
Field errors are raised as `PositionInvalid` keyed by field name, and the modals use the same names as block ids
so that the errors land under the right input.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from bot.access import AccessDenied, Actor
from bot.services.candidates import NotFound
from bot.services.timeline import record_activity
from bot.workspace import SLACK_USER_ID
from storage import queries
from storage.models import (
    Application,
    ApplicationStatus,
    Candidate,
    Consent,
    ConsentAction,
    ConsentKind,
    Position,
    PositionStatus,
)

MAX_TITLE = 150
MAX_LOCATION = 200
MAX_CLIENT = 200
MAX_SKILLS = 30
MAX_SKILL = 50
# positions.fee_amount is a 32-bit integer on PostgreSQL; no placement fee comes near this.
MAX_FEE = 1_000_000_000
MAX_EVIDENCE = 500
MAX_NOTE = 500
# What the modal offers; the service accepts any ISO 4217-shaped code, like referrals.bonus.currency.
CURRENCIES = ("EUR", "USD", "GBP", "CHF")
LIST_PAGE_SIZE = 20

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_WHOLE_NUMBER = re.compile(r"^[+-]?\d+$")
# People paste skills one per line or separated by semicolons as often as by commas.
_SKILL_SEPARATORS = re.compile(r"[,;\n]")
_POSITION_NUMBER = re.compile(r"^#?(\d{1,9})$")

RECRUITERS_ONLY = "Only recruiters and admins can create or change positions."
NOT_A_HIRING_MANAGER = ("Positions are visible to recruiters, admins and their hiring managers, and no position "
                        "lists you as its hiring manager. To suggest someone for a job, use `/refer`.")


class CloseOutcome(StrEnum):
    # Agency positions: the client hired our candidate (we earn the fee), or filled it elsewhere / dropped it.
    WON = "won"
    LOST = "lost"
    # In-house positions: no longer hiring.
    CLOSED = "closed"


class PositionInvalid(Exception):
    """Field (= modal block id) → what to fix; shown inline in the modal. Nothing was stored."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(errors)


class PositionNotFound(NotFound):
    pass


class ClientSubmissionRefused(AccessDenied):
    """Submitting a candidate to a client is not allowed now (no valid consent, position closed, …)."""


@dataclass(frozen=True)
class PositionDraft:
    """What a form or caller sent, untrusted and unnormalised."""

    title: str | None = None
    hiring_manager_slack_id: str | None = None
    location: str | None = None
    # A comma-separated list as typed, or a list.
    required_skills: str | Sequence[str] | None = None
    client_company: str | None = None
    # Slack's number_input sends its value as a string.
    fee_amount: int | str | None = None
    fee_currency: str | None = None


@dataclass(frozen=True)
class ValidPosition:
    title: str
    hiring_manager_slack_id: str | None
    location: str | None
    required_skills: list[str]
    client_company: str | None
    fee_amount: int | None
    fee_currency: str | None


@dataclass(frozen=True)
class PositionChange:
    position: Position
    # The fields that changed, plus "status"; empty when the request changed nothing (a double click).
    changed: tuple[str, ...]
    previous_hiring_manager_slack_id: str | None = None


@dataclass(frozen=True)
class PositionListItem:
    position: Position
    candidate_count: int
    placed_candidate_name: str | None


@dataclass(frozen=True)
class PositionPage:
    items: list[PositionListItem]
    total: int
    offset: int
    # Recruiters and admins manage positions; hiring managers only see theirs.
    can_manage: bool


@dataclass(frozen=True)
class CandidateChoice:
    application_id: int
    candidate_id: int
    candidate_name: str
    stage: str
    application_status: str


@dataclass(frozen=True)
class PositionCandidates:
    position: Position
    candidates: list[CandidateChoice]
    total: int


@dataclass(frozen=True)
class ClientSubmission:
    application_id: int
    candidate_id: int
    candidate_name: str
    position_id: int
    position_title: str
    client_company: str
    submitted_at: datetime
    # True when this application had already been submitted (a double click, a retry): nothing new was stored.
    repeated: bool


# --- validation ------------------------------------------------------------------------------------


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def parse_skills(value: str | Sequence[str] | None) -> list[str]:
    """Split, tidy whitespace and drop repeats case-insensitively, keeping the first spelling and the order."""
    pieces = _SKILL_SEPARATORS.split(value) if isinstance(value, str) else list(value or [])
    skills: list[str] = []
    seen: set[str] = set()
    for piece in pieces:
        skill = _clean(piece)
        if skill and skill.casefold() not in seen:
            seen.add(skill.casefold())
            skills.append(skill)
    return skills


def _parse_fee(value: int | str | None, errors: dict[str, str], key: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not _WHOLE_NUMBER.match(text):
        errors[key] = "Enter the fee as a whole number, like 15000."
        return None
    amount = int(text)
    if amount <= 0:
        errors[key] = "The fee must be more than zero."
    elif amount > MAX_FEE:
        errors[key] = "That fee is larger than any placement fee; check the number."
    return amount


def _validate_fee(fee_amount: int | str | None, fee_currency: str | None, *, for_client: bool,
                  errors: dict[str, str], client_key: str | None = "client_company") -> tuple[int | None, str | None]:
    """A client position has a fee and its currency; an in-house one has neither."""
    amount = _parse_fee(fee_amount, errors, "fee_amount")
    currency = _clean(fee_currency).upper() or None
    if "fee_amount" in errors:
        return None, None
    if not for_client:
        if amount is not None:
            errors[client_key or "fee_amount"] = ("A fee is charged to a client: enter the client company, "
                                                  "or clear the fee." if client_key else
                                                  "Only client positions carry a fee; clear it.")
        # A lone currency without fee or client is ignored rather than refused: Slack offers no way to
        # clear a static select once something is chosen, so refusing it would trap the person.
        return None, None
    if amount is None:
        errors["fee_amount"] = "Enter the fee the client pays for this position."
    if currency is None:
        errors["fee_currency"] = "Choose the fee's currency."
    elif not _CURRENCY.match(currency):
        errors["fee_currency"] = "Use a three-letter currency code such as EUR."
    return amount, currency


def _position_errors(draft: PositionDraft) -> tuple[dict[str, str], ValidPosition | None]:
    errors: dict[str, str] = {}

    title = _clean(draft.title)
    if not title:
        errors["title"] = "Enter the position's title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Keep the title under {MAX_TITLE} characters (it is {len(title)})."

    # Optional: in agency mode the hiring manager usually works at the client and is not in this Slack.
    manager = (draft.hiring_manager_slack_id or "").strip() or None
    if manager is not None and not SLACK_USER_ID.match(manager):
        errors["hiring_manager"] = "Choose the hiring manager from the list of people."

    location = _clean(draft.location) or None
    if location and len(location) > MAX_LOCATION:
        errors["location"] = f"Keep the location under {MAX_LOCATION} characters."

    skills = parse_skills(draft.required_skills)
    too_long = next((skill for skill in skills if len(skill) > MAX_SKILL), None)
    if len(skills) > MAX_SKILLS:
        errors["required_skills"] = f"List at most {MAX_SKILLS} skills (there are {len(skills)})."
    elif too_long is not None:
        errors["required_skills"] = f"Keep each skill under {MAX_SKILL} characters (“{too_long[:20]}…” is longer)."

    client = _clean(draft.client_company) or None
    if client and len(client) > MAX_CLIENT:
        errors["client_company"] = f"Keep the client's name under {MAX_CLIENT} characters."

    fee_amount, fee_currency = _validate_fee(draft.fee_amount, draft.fee_currency, for_client=client is not None,
                                             errors=errors)
    if errors:
        return errors, None
    return errors, ValidPosition(title=title, hiring_manager_slack_id=manager, location=location,
                                 required_skills=skills, client_company=client, fee_amount=fee_amount,
                                 fee_currency=fee_currency)


def validate_position(draft: PositionDraft) -> ValidPosition:
    """Check every field and collect all problems at once, so the modal shows them together."""
    errors, valid = _position_errors(draft)
    if valid is None:
        raise PositionInvalid(errors)
    return valid


# --- access ----------------------------------------------------------------------------------------


def require_position_manager(actor: Actor) -> None:
    """Recruiters and admins create and change positions; hiring managers and employees do not."""
    if not actor.sees_pipeline:
        raise AccessDenied(RECRUITERS_ONLY)


def _load(session: Session, position_id: int, *, for_update: bool = False) -> Position:
    # Locked for changes, so that two recruiters' clicks at the same moment see each other's result
    # (PostgreSQL; SQLite transactions already run one writer at a time).
    position = session.get(Position, position_id, with_for_update=for_update)
    if position is None:
        raise PositionNotFound("That position no longer exists.")
    return position


def _is_agency(position: Position) -> bool:
    return position.client_company is not None


# --- create and edit -------------------------------------------------------------------------------


def create_position(
    session: Session,
    *,
    actor: Actor,
    title: str | None,
    now: datetime,
    hiring_manager_slack_id: str | None = None,
    location: str | None = None,
    required_skills: str | Sequence[str] | None = None,
    client_company: str | None = None,
    fee_amount: int | str | None = None,
    fee_currency: str | None = None,
    submission_key: str | None = None,
) -> Position:
    """Store a new open position. Raises PositionInvalid, AccessDenied.

    `submission_key` (the modal's view id) makes a repeated submission return the position it created;
    it is kept in the `position.created` activity, so no column is needed for it.
    """
    require_position_manager(actor)
    valid = validate_position(PositionDraft(
        title=title, hiring_manager_slack_id=hiring_manager_slack_id, location=location,
        required_skills=required_skills, client_company=client_company, fee_amount=fee_amount,
        fee_currency=fee_currency,
    ))
    if submission_key:
        queries.lock_submission_key(session, submission_key)
        earlier = queries.position_by_submission_key(session, submission_key)
        if earlier is not None:
            return earlier

    position = Position(
        title=valid.title, hiring_manager_slack_id=valid.hiring_manager_slack_id, location=valid.location,
        required_skills=valid.required_skills, client_company=valid.client_company, fee_amount=valid.fee_amount,
        fee_currency=valid.fee_currency, status=PositionStatus.OPEN, created_by_slack_id=actor.user_id,
        created_at=now, updated_at=now,
    )
    session.add(position)
    session.flush()
    payload: dict[str, Any] = {field: value for field, value in _fields(position).items() if value not in (None, [])}
    if submission_key:
        payload["submission_key"] = submission_key
    record_activity(session, actor=actor.user_id, kind="position.created", now=now, position_id=position.id,
                    payload=payload)
    return position


_EDITABLE = ("title", "hiring_manager_slack_id", "location", "required_skills", "client_company", "fee_amount",
             "fee_currency")


def _fields(position: Position) -> dict[str, Any]:
    return {name: getattr(position, name) for name in _EDITABLE}


def update_position(
    session: Session,
    *,
    actor: Actor,
    position_id: int,
    now: datetime,
    title: str | None,
    hiring_manager_slack_id: str | None = None,
    location: str | None = None,
    required_skills: str | Sequence[str] | None = None,
    client_company: str | None = None,
    fee_amount: int | str | None = None,
    fee_currency: str | None = None,
    status: str | None = None,
    seen_updated_at: datetime | None = None,
) -> PositionChange:
    """Replace the editable fields (the edit form sends them all) and optionally open or close it.

    `seen_updated_at` is the version the form was opened on: a change made by someone else in between is
    refused rather than silently overwritten. Submitting the same values twice changes nothing.
    Raises PositionInvalid, PositionNotFound, AccessDenied.
    """
    require_position_manager(actor)
    position = _load(session, position_id, for_update=True)
    errors, valid = _position_errors(PositionDraft(
        title=title, hiring_manager_slack_id=hiring_manager_slack_id, location=location,
        required_skills=required_skills, client_company=client_company, fee_amount=fee_amount,
        fee_currency=fee_currency,
    ))
    new_status = status or position.status
    if new_status not in set(PositionStatus):
        errors["status"] = "Choose open or closed."
    elif (new_status == PositionStatus.CLOSED and position.status == PositionStatus.OPEN
          and (client_company or "").strip()):
        errors["status"] = ("Close a client position as won or lost (`/position list`, then the position's menu), "
                            "so that the placement and fee are recorded.")
    if errors or valid is None:
        raise PositionInvalid(errors)

    before = _fields(position)
    after = {name: getattr(valid, name) for name in _EDITABLE}
    changes = {name: [before[name], after[name]] for name in _EDITABLE if before[name] != after[name]}
    status_changed = new_status != position.status
    if not changes and not status_changed:
        return PositionChange(position=position, changed=())
    if seen_updated_at is not None and position.updated_at != seen_updated_at:
        raise PositionInvalid({"title": "Someone changed this position after you opened this form. Close it and "
                                        "choose Edit again to see their changes."})

    previous_manager = position.hiring_manager_slack_id
    for name, value in after.items():
        setattr(position, name, value)
    position.updated_at = now
    if changes:
        record_activity(session, actor=actor.user_id, kind="position.updated", now=now, position_id=position.id,
                        payload={"changes": changes})
    if status_changed and new_status == PositionStatus.CLOSED:
        _mark_closed(session, position, actor=actor, outcome=CloseOutcome.CLOSED, now=now)
    elif status_changed:
        _mark_reopened(session, position, actor=actor, now=now)
    return PositionChange(position=position, changed=(*changes, *(("status",) if status_changed else ())),
                          previous_hiring_manager_slack_id=previous_manager)


# --- close and reopen ------------------------------------------------------------------------------


def close_position(
    session: Session,
    *,
    actor: Actor,
    position_id: int,
    outcome: CloseOutcome | str,
    now: datetime,
    placed_candidate_id: int | None = None,
    fee_amount: int | str | None = None,
    fee_currency: str | None = None,
    note: str | None = None,
) -> PositionChange:
    """Close as won (a candidate with an application here was placed; for a client, the fee is recorded),
    lost, or — in-house only — simply closed. Closing again the same way changes nothing.

    Error keys are the close modals' blocks: placed_candidate, fee_amount, fee_currency (won), note (lost),
    status (closed). Raises PositionInvalid, PositionNotFound, AccessDenied.
    """
    require_position_manager(actor)
    outcome = CloseOutcome(outcome)
    position = _load(session, position_id, for_update=True)
    key = {CloseOutcome.WON: "placed_candidate", CloseOutcome.LOST: "note", CloseOutcome.CLOSED: "status"}[outcome]

    if position.status == PositionStatus.CLOSED:
        same = position.close_reason == outcome and (
            outcome != CloseOutcome.WON or placed_candidate_id in (None, position.placed_candidate_id))
        if same:
            return PositionChange(position=position, changed=())
        raise PositionInvalid({key: f"This position is already closed ({position.close_reason or 'closed'}); "
                                    "reopen it first to close it differently."})

    errors: dict[str, str] = {}
    if outcome == CloseOutcome.CLOSED and _is_agency(position):
        errors[key] = "Close a client position as won or lost, so that the outcome is recorded."
    application: Application | None = None
    amount, currency = position.fee_amount, position.fee_currency
    if outcome == CloseOutcome.WON:
        if placed_candidate_id is None:
            errors[key] = "Choose the candidate who was hired."
        else:
            application = queries.application_for(session, candidate_id=placed_candidate_id,
                                                  position_id=position.id or 0)
            if application is None:
                errors[key] = "That candidate has no application to this position; add them to it first."
        amount, currency = _validate_fee(fee_amount, fee_currency, for_client=_is_agency(position), errors=errors,
                                         client_key=None)
        if not _is_agency(position):
            amount, currency = position.fee_amount, position.fee_currency
    elif placed_candidate_id is not None:
        errors["placed_candidate"] = "Only a position closed as won has a placed candidate."
    clean_note = (note or "").strip() or None
    if clean_note and len(clean_note) > MAX_NOTE:
        errors["note"] = f"Keep the note under {MAX_NOTE} characters (it is {len(clean_note)})."
    if errors:
        raise PositionInvalid(errors)

    position.placed_candidate_id = placed_candidate_id if outcome == CloseOutcome.WON else None
    position.fee_amount, position.fee_currency = amount, currency
    _mark_closed(session, position, actor=actor, outcome=outcome, now=now, application=application, note=clean_note)
    return PositionChange(position=position, changed=("status",))


def _mark_closed(session: Session, position: Position, *, actor: Actor, outcome: CloseOutcome, now: datetime,
                 application: Application | None = None, note: str | None = None) -> None:
    position.status = PositionStatus.CLOSED
    position.close_reason = outcome
    position.updated_at = now
    payload: dict[str, Any] = {"outcome": outcome}
    if outcome == CloseOutcome.WON:
        payload |= {"placed_candidate_id": position.placed_candidate_id, "fee_amount": position.fee_amount,
                    "fee_currency": position.fee_currency}
    if note:
        payload["note"] = note
    # A placement also shows on the candidate's own timeline.
    record_activity(session, actor=actor.user_id, kind="position.closed", now=now, position_id=position.id,
                    candidate_id=position.placed_candidate_id, application_id=application.id if application else None,
                    payload=payload)


def reopen_position(session: Session, *, actor: Actor, position_id: int, now: datetime) -> PositionChange:
    """Open a closed position again (a placement fell through, hiring resumed). Reopening an open one changes
    nothing. Raises PositionNotFound, AccessDenied."""
    require_position_manager(actor)
    position = _load(session, position_id, for_update=True)
    if position.status == PositionStatus.OPEN:
        return PositionChange(position=position, changed=())
    _mark_reopened(session, position, actor=actor, now=now)
    return PositionChange(position=position, changed=("status",))


def _mark_reopened(session: Session, position: Position, *, actor: Actor, now: datetime) -> None:
    # The earlier outcome stays on the timeline; the position itself no longer claims it.
    payload = {"previous_outcome": position.close_reason, "previous_placed_candidate_id": position.placed_candidate_id}
    position.status = PositionStatus.OPEN
    position.close_reason = None
    position.placed_candidate_id = None
    position.updated_at = now
    record_activity(session, actor=actor.user_id, kind="position.reopened", now=now, position_id=position.id,
                    payload=payload)


# --- reading ---------------------------------------------------------------------------------------


def positions_visible_to(session: Session, *, actor: Actor, limit: int = LIST_PAGE_SIZE,
                         offset: int = 0) -> PositionPage:
    """Recruiters and admins see every position; a hiring manager sees the ones they manage; anyone else is
    refused (AccessDenied). Open positions first."""
    manager = None if actor.sees_pipeline else actor.user_id
    total = queries.count_positions_visible(session, hiring_manager_slack_id=manager)
    if manager is not None and total == 0:
        raise AccessDenied(NOT_A_HIRING_MANAGER)
    positions = queries.positions_visible(session, hiring_manager_slack_id=manager, limit=limit, offset=offset)
    counts = queries.count_applications_by_position(session, [p.id or 0 for p in positions])
    items = []
    for position in positions:
        placed = session.get(Candidate, position.placed_candidate_id) if position.placed_candidate_id else None
        items.append(PositionListItem(position=position, candidate_count=counts.get(position.id or 0, 0),
                                      placed_candidate_name=placed.full_name if placed else None))
    return PositionPage(items=items, total=total, offset=offset, can_manage=actor.sees_pipeline)


def position_for_edit(session: Session, *, actor: Actor, position_id: int) -> Position:
    require_position_manager(actor)
    return _load(session, position_id)


def positions_matching(session: Session, *, actor: Actor, reference: str,
                       limit: int = LIST_PAGE_SIZE) -> list[Position]:
    """`/position edit 12`, `#12` or a title: by number, else the exact title (any case), else titles containing
    the words. Raises PositionNotFound when nothing matches, AccessDenied."""
    require_position_manager(actor)
    reference = _clean(reference)
    number = _POSITION_NUMBER.match(reference)
    if number:
        return [_load(session, int(number.group(1)))]
    matches = list(queries.positions_by_title(session, reference, exact=True, limit=limit)) if reference else []
    if not matches and reference:
        matches = list(queries.positions_by_title(session, reference, exact=False, limit=limit))
    if not matches:
        raise PositionNotFound(f"No position matches “{reference[:80]}”. `/position list` shows them all.")
    return matches


def position_candidates(session: Session, *, actor: Actor, position_id: int, open_only: bool = False,
                        limit: int = 100) -> PositionCandidates:
    """The candidates with an application to a position (for choosing who was placed or submitted)."""
    require_position_manager(actor)
    position = _load(session, position_id)
    rows = queries.applications_for_position(session, position_id, open_only=open_only, limit=limit)
    counts = queries.count_applications_by_position(session, [position_id], open_only=open_only)
    return PositionCandidates(
        position=position,
        candidates=[CandidateChoice(application_id=application.id or 0, candidate_id=candidate.id or 0,
                                    candidate_name=candidate.full_name, stage=application.stage,
                                    application_status=application.status)
                    for application, candidate in rows],
        total=counts.get(position_id, 0),
    )


# --- agency mode: consent and submissions to the client --------------------------------------------


def record_client_submission_consent(
    session: Session,
    *,
    actor: Actor,
    candidate_id: int,
    evidence: str | None,
    now: datetime,
    action: ConsentAction | str = ConsentAction.GRANTED,
    expires_at: datetime | None = None,
    position_id: int | None = None,
) -> Consent:
    """Append the candidate's yes (or their withdrawal) to submitting their profile to clients, with the
    evidence and who recorded it. Recording exactly what is already the latest entry adds nothing.
    Error keys: evidence, expires_at. Raises PositionInvalid, NotFound, AccessDenied."""
    require_position_manager(actor)
    action = ConsentAction(action)
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound("That candidate no longer exists.")
    errors: dict[str, str] = {}
    clean_evidence = (evidence or "").strip()
    if not clean_evidence:
        errors["evidence"] = "Say how the candidate told you (e.g. “email of 3 Nov: happy to be put forward”)."
    elif len(clean_evidence) > MAX_EVIDENCE:
        errors["evidence"] = f"Keep this under {MAX_EVIDENCE} characters (it is {len(clean_evidence)})."
    if action == ConsentAction.REVOKED:
        expires_at = None
    elif expires_at is not None and expires_at <= now:
        errors["expires_at"] = "Choose a date in the future, or leave it empty."
    if errors:
        raise PositionInvalid(errors)

    latest = queries.latest_consent(session, candidate_id=candidate_id, kind=ConsentKind.CLIENT_SUBMISSION)
    if (latest is not None and latest.action == action and latest.evidence == clean_evidence
            and latest.expires_at == expires_at):
        return latest
    consent = Consent(candidate_id=candidate_id, kind=ConsentKind.CLIENT_SUBMISSION, action=action,
                      recorded_at=now, evidence=clean_evidence, recorded_by_slack_id=actor.user_id,
                      expires_at=expires_at)
    session.add(consent)
    session.flush()
    record_activity(session, actor=actor.user_id, kind=f"consent.{action}", now=now, candidate_id=candidate_id,
                    position_id=position_id,
                    payload={"kind": ConsentKind.CLIENT_SUBMISSION, "evidence": clean_evidence,
                             "expires_at": expires_at.isoformat() if expires_at else None})
    return consent


def _require_client_submission_consent(session: Session, candidate: Candidate, *, now: datetime) -> Consent:
    """The newest ledger row decides: it must be a grant that has not expired."""
    latest = queries.latest_consent(session, candidate_id=candidate.id or 0, kind=ConsentKind.CLIENT_SUBMISSION)
    name = candidate.full_name
    if latest is None:
        raise ClientSubmissionRefused(f"{name} has no consent on record to be submitted to clients. Record their "
                                      "consent, with how they gave it, before submitting them.")
    if latest.action == ConsentAction.REVOKED:
        raise ClientSubmissionRefused(f"{name} withdrew their consent to be submitted to clients on "
                                      f"{latest.recorded_at:%-d %b %Y}; they cannot be submitted.")
    if latest.expires_at is not None and latest.expires_at <= now:
        raise ClientSubmissionRefused(f"{name}'s consent to be submitted to clients expired on "
                                      f"{latest.expires_at:%-d %b %Y}. Record a new one first.")
    return latest


def submit_to_client(session: Session, *, actor: Actor, application_id: int, now: datetime) -> ClientSubmission:
    """Put a candidate forward to the position's client, which needs their valid client_submission consent.
    The submission goes on the timeline (`client.submitted`); submitting the same application again stores
    nothing new. Raises ClientSubmissionRefused (an AccessDenied), NotFound, AccessDenied."""
    require_position_manager(actor)
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound("That application no longer exists.")
    position = _load(session, application.position_id)
    candidate = session.get(Candidate, application.candidate_id)
    assert candidate is not None
    if position.client_company is None:
        raise ClientSubmissionRefused(f"“{position.title}” is not a client position; there is no client to "
                                      "submit to.")
    if position.status != PositionStatus.OPEN:
        raise ClientSubmissionRefused(f"“{position.title}” is closed; reopen it before submitting candidates.")
    if application.status != ApplicationStatus.OPEN:
        raise ClientSubmissionRefused(f"{candidate.full_name}'s application is {application.status}; only open "
                                      "applications can be submitted.")
    consent = _require_client_submission_consent(session, candidate, now=now)

    earlier = queries.client_submission_for(session, application_id)
    submission = ClientSubmission(
        application_id=application_id, candidate_id=candidate.id or 0, candidate_name=candidate.full_name,
        position_id=position.id or 0, position_title=position.title, client_company=position.client_company,
        submitted_at=earlier.occurred_at if earlier else now, repeated=earlier is not None,
    )
    if earlier is None:
        record_activity(session, actor=actor.user_id, kind="client.submitted", now=now, candidate_id=candidate.id,
                        application_id=application_id, position_id=position.id,
                        payload={"client": position.client_company, "consent_id": consent.id})
    return submission
