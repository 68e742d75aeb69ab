"""Referrals: validating what an employee submits, recognising known people, consent and attribution."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlmodel import Session

from bot.access import Actor
from bot.contact import InvalidContact, name_key, normalize_email, normalize_phone, normalize_profile_url
from bot.services.timeline import record_activity
from bot.workspace import WorkspaceConfig
from storage import queries
from storage.models import (
    Application,
    Candidate,
    CandidateSource,
    Consent,
    ConsentAction,
    ConsentKind,
    Position,
    PositionStatus,
    Referral,
    ReferralStatus,
)

GENERAL_TALENT_POOL = "general"
MAX_NAME = 200
MAX_NOTE = 2000
MAX_URL = 500
# Names this close (0–100, token order ignored) with the same profile URL are the same person.
SAME_NAME_SCORE = 90
RELATIONSHIPS = (
    "Former colleague",
    "Current colleague (elsewhere)",
    "Friend",
    "Classmate",
    "Family member",
    "Met professionally",
    "Other",
)
REFERRAL_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class ReferralInvalid(Exception):
    """Field name → what to fix; shown inline in the modal."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(errors)


@dataclass(frozen=True)
class ReferralDraft:
    """What the modal sent, untrusted and unnormalised."""

    candidate_name: str | None = None
    email: str | None = None
    phone: str | None = None
    profile_url: str | None = None
    position: str | None = None
    relationship: str | None = None
    note: str | None = None
    consent_confirmed: bool = False


@dataclass(frozen=True)
class ValidReferral:
    candidate_name: str
    email: str
    email_key: str
    phone_e164: str | None
    profile_url: str | None
    profile_url_key: str | None
    position_id: int | None
    relationship: str
    note: str


@dataclass(frozen=True)
class ReferralOutcome:
    referral_id: int
    referral_code: str
    referrer_slack_id: str
    candidate_id: int
    candidate_name: str
    position_id: int | None
    position_title: str | None
    relationship: str
    note: str
    candidate_was_known: bool
    attributed: bool
    # The candidate revoked contact consent themselves; a referrer's word does not override that.
    contact_blocked: bool
    owner_slack_id: str | None
    # True when this submission had already been stored (a double-clicked submit).
    repeated_submission: bool = False
    activities: list[str] = field(default_factory=list)


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def validate_referral(draft: ReferralDraft, *, default_region: str | None) -> ValidReferral:
    """Check every field and collect all problems at once, so the modal shows them together."""
    errors: dict[str, str] = {}

    name = " ".join((draft.candidate_name or "").split())
    if not name:
        errors["candidate_name"] = "Enter the candidate's name."
    elif len(name) > MAX_NAME:
        errors["candidate_name"] = f"Keep the name under {MAX_NAME} characters."

    email = email_key = None
    if _blank(draft.email):
        errors["email"] = "Enter the candidate's email address so the team can reach them."
    elif len(draft.email or "") > 320:
        errors["email"] = "That email address is too long."
    else:
        try:
            email, email_key = normalize_email(draft.email or "")
        except InvalidContact as error:
            errors["email"] = str(error)

    phone = None
    if not _blank(draft.phone):
        try:
            phone = normalize_phone(draft.phone or "", default_region=default_region)
        except InvalidContact as error:
            errors["phone"] = str(error)

    profile_url = profile_key = None
    if not _blank(draft.profile_url):
        if len((draft.profile_url or "").strip()) > MAX_URL:
            errors["profile_url"] = f"Keep the link under {MAX_URL} characters."
        else:
            try:
                profile_url, profile_key = normalize_profile_url(draft.profile_url or "")
            except InvalidContact as error:
                errors["profile_url"] = str(error)

    position_id: int | None = None
    if _blank(draft.position):
        errors["position"] = "Choose a position, or the general talent pool."
    elif draft.position != GENERAL_TALENT_POOL:
        try:
            position_id = int(draft.position or "")
        except ValueError:
            errors["position"] = "Choose a position from the list."

    if draft.relationship not in RELATIONSHIPS:
        errors["relationship"] = "Choose how you know the candidate."

    note = (draft.note or "").strip()
    if not note:
        errors["note"] = "Tell the team in a sentence or two why they'd be a good fit."
    elif len(note) > MAX_NOTE:
        errors["note"] = f"Keep this under {MAX_NOTE} characters (it is {len(note)})."

    if not draft.consent_confirmed:
        errors["consent"] = "Please confirm the candidate agreed to be contacted — we can't reach out otherwise."

    if errors:
        raise ReferralInvalid(errors)
    return ValidReferral(
        candidate_name=name,
        email=email or "",
        email_key=email_key or "",
        phone_e164=phone,
        profile_url=profile_url,
        profile_url_key=profile_key,
        position_id=position_id,
        relationship=str(draft.relationship),
        note=note,
    )


def find_known_candidate(session: Session, referral: ValidReferral) -> Candidate | None:
    """The same email, the same phone, or a near-identical name with the same profile URL."""
    known = queries.candidate_by_email(session, referral.email_key)
    if known is None and referral.phone_e164:
        known = queries.candidate_by_phone(session, referral.phone_e164)
    if known is None and referral.profile_url_key:
        wanted = name_key(referral.candidate_name)
        for candidate in queries.candidates_by_profile(session, referral.profile_url_key):
            if fuzz.token_sort_ratio(candidate.name_key, wanted) >= SAME_NAME_SCORE:
                return candidate
    return known


def _new_referral_code() -> str:
    return "R-" + "".join(secrets.choice(REFERRAL_CODE_ALPHABET) for _ in range(6))


def _unique_referral_code(session: Session) -> str:
    while True:
        code = _new_referral_code()
        if queries.referral_by_code(session, code) is None:
            return code


def _outcome(
    session: Session, referral: Referral, candidate: Candidate, position: Position | None, *, repeated: bool
) -> ReferralOutcome:
    latest_contact = queries.latest_consent(session, candidate_id=candidate.id or 0, kind=ConsentKind.CONTACT)
    return ReferralOutcome(
        referral_id=referral.id or 0,
        referral_code=referral.code,
        referrer_slack_id=referral.referrer_slack_id,
        candidate_id=candidate.id or 0,
        candidate_name=candidate.full_name,
        position_id=position.id if position else None,
        position_title=position.title if position else None,
        relationship=referral.relationship,
        note=referral.note,
        candidate_was_known=referral.candidate_was_known,
        attributed=referral.attributed,
        contact_blocked=latest_contact is not None and latest_contact.action == ConsentAction.REVOKED,
        owner_slack_id=candidate.owner_slack_id,
        repeated_submission=repeated,
    )


def submit_referral(
    session: Session,
    *,
    actor: Actor,
    referral: ValidReferral,
    config: WorkspaceConfig,
    now: datetime,
    submission_key: str | None = None,
) -> ReferralOutcome:
    """Store a referral with its consent and timeline; attach it to the person if already known.

    Raises ReferralInvalid when the chosen position closed since the modal opened.
    """
    if submission_key:
        earlier = queries.referral_by_submission_key(session, submission_key)
        if earlier is not None:
            candidate = session.get(Candidate, earlier.candidate_id)
            position = session.get(Position, earlier.position_id) if earlier.position_id else None
            assert candidate is not None
            return _outcome(session, earlier, candidate, position, repeated=True)

    position = None
    if referral.position_id is not None:
        position = session.get(Position, referral.position_id)
        if position is None or position.status != PositionStatus.OPEN:
            raise ReferralInvalid({"position": "This position is no longer open; choose another or the talent pool."})

    candidate = find_known_candidate(session, referral)
    was_known = candidate is not None
    activities: list[str] = []
    if candidate is None:
        candidate = Candidate(
            full_name=referral.candidate_name,
            name_key=name_key(referral.candidate_name),
            email=referral.email,
            email_normalized=referral.email_key,
            phone_e164=referral.phone_e164,
            profile_url=referral.profile_url,
            profile_url_key=referral.profile_url_key,
            source=CandidateSource.REFERRAL,
            created_at=now,
            updated_at=now,
        )
        session.add(candidate)
        session.flush()
        record_activity(session, actor=actor.user_id, kind="candidate.created", now=now,
                        candidate_id=candidate.id, payload={"source": CandidateSource.REFERRAL})
        activities.append("candidate.created")
    else:
        activities += _fill_missing_contact_details(session, candidate, referral, actor=actor, now=now)
    assert candidate.id is not None

    attributed = _takes_credit(session, candidate, was_known=was_known, config=config)
    if attributed and config.referrals.attribution == "latest_referrer":
        for earlier_referral in queries.attributed_referrals(session, candidate.id):
            earlier_referral.attributed = False
            earlier_referral.updated_at = now
            record_activity(session, actor=actor.user_id, kind="referral.credit_moved", now=now,
                            candidate_id=candidate.id, referral_id=earlier_referral.id,
                            payload={"from": earlier_referral.code})

    bonus = config.referrals.bonus
    stored = Referral(
        code=_unique_referral_code(session),
        referrer_slack_id=actor.user_id,
        candidate_id=candidate.id,
        position_id=position.id if position else None,
        relationship=referral.relationship,
        note=referral.note,
        status=ReferralStatus.SUBMITTED,
        attributed=attributed,
        candidate_was_known=was_known,
        submission_key=submission_key,
        payout_amount=bonus.amount if attributed else None,
        payout_currency=bonus.currency if attributed else None,
        created_at=now,
        updated_at=now,
    )
    session.add(stored)
    session.flush()
    record_activity(
        session, actor=actor.user_id, kind="referral.submitted", now=now, candidate_id=candidate.id,
        position_id=stored.position_id, referral_id=stored.id,
        payload={"code": stored.code, "attributed": attributed, "candidate_was_known": was_known,
                 "relationship": referral.relationship},
    )
    activities.append("referral.submitted")

    activities += _record_contact_consent(session, candidate, stored, actor=actor, config=config, now=now)
    if position is not None:
        activities += _apply_to_position(session, candidate, position, stored, actor=actor, config=config, now=now)

    outcome = _outcome(session, stored, candidate, position, repeated=False)
    outcome.activities.extend(activities)
    return outcome


def _takes_credit(session: Session, candidate: Candidate, *, was_known: bool, config: WorkspaceConfig) -> bool:
    policy = config.referrals
    known_from_elsewhere = was_known and candidate.source != CandidateSource.REFERRAL
    if known_from_elsewhere and not policy.credit_known_candidates:
        return False
    if policy.attribution == "latest_referrer":
        return True
    return not queries.attributed_referrals(session, candidate.id or 0)


def _fill_missing_contact_details(
    session: Session, candidate: Candidate, referral: ValidReferral, *, actor: Actor, now: datetime
) -> list[str]:
    """Add details the team did not have; never overwrite what it has (the referrer may be out of date)."""
    added: list[str] = []
    phone_free = referral.phone_e164 and not queries.candidate_by_phone(session, referral.phone_e164)
    if referral.phone_e164 and not candidate.phone_e164 and phone_free:
        candidate.phone_e164 = referral.phone_e164
        added.append("phone")
    if referral.profile_url and not candidate.profile_url:
        candidate.profile_url, candidate.profile_url_key = referral.profile_url, referral.profile_url_key
        added.append("profile_url")
    if not added:
        return []
    candidate.updated_at = now
    record_activity(session, actor=actor.user_id, kind="candidate.details_added", now=now,
                    candidate_id=candidate.id, payload={"fields": added})
    return ["candidate.details_added"]


def _record_contact_consent(
    session: Session, candidate: Candidate, referral: Referral, *, actor: Actor, config: WorkspaceConfig,
    now: datetime,
) -> list[str]:
    latest = queries.latest_consent(session, candidate_id=candidate.id or 0, kind=ConsentKind.CONTACT)
    if latest is not None and latest.action == ConsentAction.REVOKED:
        # The candidate's own "no" stands until they say otherwise; the referral is kept without consent.
        record_activity(session, actor=actor.user_id, kind="consent.not_regranted", now=now,
                        candidate_id=candidate.id, referral_id=referral.id,
                        payload={"kind": ConsentKind.CONTACT, "revoked_at": latest.recorded_at.isoformat()})
        return ["consent.not_regranted"]
    session.add(
        Consent(
            candidate_id=candidate.id or 0,
            kind=ConsentKind.CONTACT,
            action=ConsentAction.GRANTED,
            recorded_at=now,
            evidence=f"confirmed by referrer <@{actor.user_id}> in the /refer form (referral {referral.code})",
            recorded_by_slack_id=actor.user_id,
            expires_at=now + timedelta(days=config.consent.contact_valid_days),
        )
    )
    record_activity(session, actor=actor.user_id, kind="consent.granted", now=now, candidate_id=candidate.id,
                    referral_id=referral.id, payload={"kind": ConsentKind.CONTACT, "evidence": "confirmed by referrer"})
    return ["consent.granted"]


def _apply_to_position(
    session: Session, candidate: Candidate, position: Position, referral: Referral, *, actor: Actor,
    config: WorkspaceConfig, now: datetime,
) -> list[str]:
    if queries.application_for(session, candidate_id=candidate.id or 0, position_id=position.id or 0):
        return []
    application = Application(
        candidate_id=candidate.id or 0,
        position_id=position.id or 0,
        stage=config.pipeline.first_stage.name,
        stage_entered_at=now,
        created_at=now,
    )
    session.add(application)
    session.flush()
    record_activity(session, actor=actor.user_id, kind="application.created", now=now, candidate_id=candidate.id,
                    application_id=application.id, position_id=position.id, referral_id=referral.id,
                    payload={"stage": application.stage, "via": "referral"})
    return ["application.created"]


STATUS_LABELS = {
    ReferralStatus.SUBMITTED: "Received by recruiting",
    ReferralStatus.IN_PROCESS: "In process",
    ReferralStatus.HIRED: "Hired :tada:",
    ReferralStatus.NOT_HIRED: "Not hired this time",
    ReferralStatus.CLOSED: "Closed",
}


@dataclass(frozen=True)
class ReferralStatusItem:
    code: str
    candidate_name: str
    position_title: str | None
    status_label: str
    created_at: datetime
    attributed: bool


@dataclass(frozen=True)
class ReferralStatusPage:
    items: list[ReferralStatusItem]
    total: int
    offset: int


def my_referrals(session: Session, *, actor: Actor, limit: int = 10, offset: int = 0) -> ReferralStatusPage:
    """An employee's own referrals, newest first. Only ever the actor's own: no one else's are reachable."""
    rows = queries.referrals_by_referrer(session, actor.user_id, limit=limit, offset=offset)
    items = [
        ReferralStatusItem(
            code=referral.code,
            candidate_name=candidate.full_name,
            position_title=position.title if position else None,
            status_label=STATUS_LABELS.get(ReferralStatus(referral.status), referral.status),
            created_at=referral.created_at,
            attributed=referral.attributed,
        )
        for referral, candidate, position in rows
    ]
    return ReferralStatusPage(items=items, total=queries.count_referrals_by_referrer(session, actor.user_id),
                              offset=offset)
