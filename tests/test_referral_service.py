"""The referral rules, without Slack: validation, recognising people, attribution, consent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.access import SYSTEM, Actor, Role
from bot.services.referrals import (
    ReferralDraft,
    ReferralInvalid,
    my_referrals,
    submit_referral,
    validate_referral,
)
from bot.workspace import WorkspaceConfig, parse_workspace_config
from storage.db import Database
from storage.models import Candidate, Consent, ConsentAction, ConsentKind, Position, PositionStatus, Referral
from tests.conftest import WORKSPACE, Clock

ALICE = Actor("UALICE", frozenset({Role.EMPLOYEE}))
BOB = Actor("UBOB", frozenset({Role.EMPLOYEE}))


def draft(**overrides: object) -> ReferralDraft:
    fields: dict[str, object] = dict(candidate_name="Jane Doe", email="jane@example.com", phone="+49 30 1234567",
                                     profile_url="https://github.com/jane", position="general",
                                     relationship="Friend", note="Great engineer", consent_confirmed=True)
    fields.update(overrides)
    return ReferralDraft(**fields)  # type: ignore[arg-type]


def submit(db: Database, config: WorkspaceConfig, clock: Clock, actor: Actor = ALICE, **overrides: object):
    valid = validate_referral(draft(**overrides), default_region="DE")
    with db.transaction() as session:
        return submit_referral(session, actor=actor, referral=valid, config=config, now=clock())


@pytest.mark.parametrize(("field", "value", "message"), [
    ("email", "jane@", "email"),
    ("phone", "+1 555", "phone number"),
    ("profile_url", "javascript:alert(1)", "https://"),
    ("profile_url", "https://" + "a" * 600 + ".com", "under 500"),
    ("candidate_name", "J" * 201, "under 200"),
    ("note", "  ", "why they'd be a good fit"),
    ("relationship", "Rival", "how you know"),
    ("position", "not-a-number", "from the list"),
    ("consent_confirmed", False, "agreed to be contacted"),
])
def test_each_invalid_field_is_reported_under_its_block(field: str, value: object, message: str) -> None:
    with pytest.raises(ReferralInvalid) as caught:
        validate_referral(draft(**{field: value}), default_region="DE")
    block = "consent" if field == "consent_confirmed" else field
    assert list(caught.value.errors) == [block]
    assert message in caught.value.errors[block]


def test_phone_numbers_are_normalised_to_e164_in_the_workspace_region() -> None:
    assert validate_referral(draft(phone="030 1234567"), default_region="DE").phone_e164 == "+49301234567"
    assert validate_referral(draft(phone="(415) 555-2671"), default_region="US").phone_e164 == "+14155552671"


def test_first_referrer_keeps_the_credit(db: Database, config: WorkspaceConfig, clock: Clock) -> None:
    first = submit(db, config, clock)
    clock.advance(days=1)
    second = submit(db, config, clock, actor=BOB, email="JANE@example.com")
    assert (first.attributed, second.attributed) == (True, False)
    assert second.candidate_was_known and second.candidate_id == first.candidate_id


def test_latest_referrer_takes_the_credit_over(db: Database, clock: Clock) -> None:
    config = parse_workspace_config({**WORKSPACE, "referrals": {"attribution": "latest_referrer"}})
    submit(db, config, clock)
    clock.advance(days=1)
    submit(db, config, clock, actor=BOB, phone="030 1234567", email="other@example.com")
    with db.read() as session:
        credits = {r.referrer_slack_id: r.attributed for r in session.exec(select(Referral))}
    assert credits == {"UALICE": False, "UBOB": True}


def test_known_candidates_earn_no_credit_when_policy_says_so(db: Database, clock: Clock) -> None:
    config = parse_workspace_config({**WORKSPACE, "referrals": {"credit_known_candidates": False}})
    with db.transaction() as session:
        session.add(Candidate(full_name="Jane Doe", name_key="jane doe", email="jane@example.com",
                              email_normalized="jane@example.com", source="sourced", created_at=clock(),
                              updated_at=clock()))
    outcome = submit(db, config, clock)
    assert outcome.candidate_was_known and not outcome.attributed
    with db.read() as session:
        assert session.exec(select(Referral)).one().payout_amount is None


def test_a_candidates_own_revocation_is_not_overridden_by_a_referrer(db: Database, config: WorkspaceConfig,
                                                                     clock: Clock) -> None:
    first = submit(db, config, clock)
    with db.transaction() as session:
        session.add(Consent(candidate_id=first.candidate_id, kind=ConsentKind.CONTACT, action=ConsentAction.REVOKED,
                            recorded_at=clock() + timedelta(hours=1), evidence="unsubscribe link"))
    clock.advance(days=2)
    second = submit(db, config, clock, actor=BOB)
    assert second.contact_blocked
    with db.read() as session:
        actions = [c.action for c in session.exec(select(Consent).order_by(Consent.id))]
    assert actions == ["granted", "revoked"]
    assert "consent.not_regranted" in second.activities


def test_a_position_closed_meanwhile_is_refused(db: Database, config: WorkspaceConfig, clock: Clock) -> None:
    with db.transaction() as session:
        position = Position(title="Designer", status=PositionStatus.CLOSED, created_at=clock(), updated_at=clock())
        session.add(position)
    with pytest.raises(ReferralInvalid) as caught:
        submit(db, config, clock, position=str(position.id))
    assert "no longer open" in caught.value.errors["position"]
    with db.read() as session:
        assert session.exec(select(Candidate)).all() == []


def test_details_the_team_lacked_are_added_but_nothing_overwritten(db: Database, config: WorkspaceConfig,
                                                                   clock: Clock) -> None:
    submit(db, config, clock, phone="", profile_url="")
    submit(db, config, clock, actor=BOB, candidate_name="Janet Doe", phone="030 1234567")
    with db.read() as session:
        candidate = session.exec(select(Candidate)).one()
    assert candidate.full_name == "Jane Doe"
    assert candidate.phone_e164 == "+49301234567"


def test_my_referrals_pages_and_shows_only_mine(db: Database, config: WorkspaceConfig, clock: Clock) -> None:
    for n in range(12):
        clock.advance(minutes=1)
        submit(db, config, clock, candidate_name=f"Person {n}", email=f"p{n}@example.com", phone="",
               profile_url="")
    submit(db, config, clock, actor=BOB, candidate_name="Bob's friend", email="friend@example.com", phone="",
           profile_url="")
    with db.read() as session:
        page = my_referrals(session, actor=ALICE, limit=10)
        rest = my_referrals(session, actor=ALICE, limit=10, offset=10)
        system_view = my_referrals(session, actor=SYSTEM, limit=10)
    assert page.total == 12 and [i.candidate_name for i in page.items][:2] == ["Person 11", "Person 10"]
    assert len(rest.items) == 2 and all("Bob" not in i.candidate_name for i in page.items + rest.items)
    assert system_view.total == 0
