"""Demo data for the sandbox, made through the services the bot uses, so every row is one the bot could make.

Positions, referrals from the seeded employees (candidates with consent and applications), candidates moved
through the pipeline at times in the past (some past their stage's SLA, so "stale candidates" has answers),
owners, notes, the tasks the stages create, and passive candidates in the default nurture sequence.
Faker with a fixed seed gives the same people every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from faker import Faker
from sqlalchemy import delete, func, select
from sqlmodel import Session, SQLModel

from bot.access import Actor, Role
from bot.services.candidates import add_note, assign_owner
from bot.services.nurture import enroll
from bot.services.pipeline import move_stage
from bot.services.positions import create_position
from bot.services.referrals import (
    RELATIONSHIPS,
    ReferralDraft,
    ReferralOutcome,
    submit_referral,
    validate_referral,
)
from bot.services.tasks import complete_task
from bot.workspace import WorkspaceConfig
from sandbox.people import SEED, person
from storage import queries
from storage.db import Database
from storage.models import Application, Candidate

POSITIONS = (
    ("Senior Backend Engineer", "Berlin (hybrid)", "Python, PostgreSQL, AWS"),
    ("Product Designer", "Remote (EU)", "Figma, user research, design systems"),
    ("Data Analyst", "Berlin", "SQL, dbt, Looker"),
    ("Customer Success Manager", "Munich", "SaaS onboarding, German, English"),
)
# (days ago referred, position index or None for the talent pool, stage reached, days ago it got there)
CANDIDATES = (
    (40, 0, "Offer", 3),
    (35, 0, "Interview", 12),
    (30, 0, "Phone Screen", 9),
    (21, 1, "Interview", 4),
    (18, 1, "Outreach", 10),
    (14, 2, "Phone Screen", 2),
    (12, 2, "Sourced", 12),
    (9, 3, "Outreach", 1),
    (60, 3, "Onboarding Prep", 5),
    (25, 0, "Rejected", 6),
    (6, None, None, 0),
    (2, 1, "Sourced", 2),
)
READY_TO_MOVE = "Offer"
ANNOUNCED = 3
NURTURE_SEQUENCE = "passive"
WHY_A_FIT = (
    "We shipped the billing rewrite together; calm under pressure and writes great docs.",
    "Led the design system at their last company and mentors juniors well.",
    "Knows our stack inside out and has been looking for a smaller team.",
    "Ran customer onboarding for 40+ mid-market accounts; customers loved working with them.",
    "Sharp analyst, built the metrics layer we still use at my previous job.",
    "Great communicator, moving back to Germany next spring.",
)
NOTES = (
    "Strong system design answers; wants to lead a small team.",
    "Asked about relocation support and the hybrid schedule.",
    "Portfolio shows solid research work; follow up on the case study.",
)


@dataclass(frozen=True)
class DemoSummary:
    positions: int
    candidates: int
    moves: int
    # The newest referrals, for the sandbox to announce in #recruiting the way the bot announces new ones.
    recent_referrals: list[ReferralOutcome] = field(default_factory=list)


def is_empty(db: Database) -> bool:
    with db.read() as session:
        return not session.exec(select(func.count()).select_from(Candidate)).one()[0]  # type: ignore[call-overload]


def clear(db: Database) -> None:
    """Every row of every table, children first; the schema (and Alembic's version) stays."""
    with db.transaction() as session:
        for table in reversed(SQLModel.metadata.sorted_tables):
            session.execute(delete(table))


def _finish_stage_tasks(session: Session, *, application_id: int, stage: str, at: datetime,
                        recruiter: Actor) -> None:
    for task in queries.open_mandatory_tasks(session, application_id=application_id, stage=stage):
        complete_task(session, actor=recruiter, task_id=task.id or 0, now=at)


def _advance(session: Session, *, application_id: int, to_stage: str, config: WorkspaceConfig, at: datetime,
             recruiter: Actor) -> int:
    """Walk the application stage by stage to `to_stage`, doing each stage's mandatory tasks on the way."""
    names = config.pipeline.names
    moves = 0
    application = session.get(Application, application_id)
    assert application is not None
    current = application.stage
    if config.pipeline.stage(to_stage).outcome in ("rejected", "withdrawn"):  # type: ignore[union-attr]
        path = [to_stage]
    else:
        path = names[names.index(current) + 1: names.index(to_stage) + 1]
    for step, stage in enumerate(path):
        moment = at - timedelta(hours=len(path) - step)
        _finish_stage_tasks(session, application_id=application_id, stage=current, at=moment, recruiter=recruiter)
        move_stage(session, actor=recruiter, application_id=application_id, to_stage=stage, config=config,
                   now=moment)
        current = stage
        moves += 1
    return moves


def seed(db: Database, config: WorkspaceConfig, *, now: datetime, seed: int = SEED) -> DemoSummary:
    fake = Faker("en_US")
    # Not the seed of the workspace's people (sandbox.people), or the first candidate is named like an employee.
    fake.seed_instance(seed + 1)
    rng = random.Random(seed)
    recruiter = Actor(person("recruiter").id, frozenset({Role.RECRUITER, Role.EMPLOYEE}))
    employees = [person("employee").id, "U0SBDESIGNER", "U0SBSALES", person("IT").id]
    moves = 0
    outcomes: list[tuple[datetime, ReferralOutcome]] = []
    with db.transaction() as session:
        positions = [
            create_position(session, actor=recruiter, title=title, location=location, required_skills=skills,
                            hiring_manager_slack_id=person("hiring manager").id, now=now - timedelta(days=70))
            for title, location, skills in POSITIONS
        ]
        for index, (days_ago, position_index, stage, stage_days_ago) in enumerate(CANDIDATES):
            first, last = fake.first_name(), fake.last_name()
            referred_at = now - timedelta(days=days_ago)
            position = positions[position_index] if position_index is not None else None
            draft = ReferralDraft(
                candidate_name=f"{first} {last}",
                email=f"{first}.{last}@{fake.free_email_domain()}".lower(),
                phone=f"+49 151 {rng.randint(10000000, 99999999)}",
                profile_url=f"https://www.linkedin.com/in/{first}-{last}-{rng.randint(100, 999)}".lower(),
                position=str(position.id) if position is not None else "general",
                relationship=rng.choice(RELATIONSHIPS[:4]),
                note=rng.choice(WHY_A_FIT),
                consent_confirmed=True,
            )
            referrer = Actor(employees[index % len(employees)], frozenset({Role.EMPLOYEE}))
            outcome = submit_referral(session, actor=referrer, config=config, now=referred_at,
                                      referral=validate_referral(draft, default_region=config.default_phone_region))
            outcomes.append((referred_at, outcome))
            assign_owner(session, actor=recruiter, candidate_id=outcome.candidate_id,
                         owner_slack_id=recruiter.user_id, now=referred_at + timedelta(hours=2))
            if index < len(NOTES):
                add_note(session, actor=recruiter, candidate_id=outcome.candidate_id, text=NOTES[index],
                         now=referred_at + timedelta(days=1))
            if position is None or stage == config.pipeline.first_stage.name:
                # Passive talent: the nurture playbook keeps in touch with them.
                enroll(session, actor=recruiter, candidate_id=outcome.candidate_id, sequence=NURTURE_SEQUENCE,
                       config=config, now=referred_at + timedelta(days=1))
            if stage is None or position is None:
                continue
            application = session.exec(select(Application).where(  # type: ignore[call-overload]
                Application.candidate_id == outcome.candidate_id, Application.position_id == position.id)).one()[0]
            if stage != config.pipeline.first_stage.name:
                moves += _advance(session, application_id=application.id, to_stage=stage, config=config,
                                  at=now - timedelta(days=stage_days_ago), recruiter=recruiter)
            if stage == READY_TO_MOVE:
                # The offer is out and approved, so "Offer Accepted" is one click away in the demo.
                _finish_stage_tasks(session, application_id=application.id, stage=stage,
                                    at=now - timedelta(days=1), recruiter=recruiter)
    recent = [outcome for _, outcome in sorted(outcomes, key=lambda pair: pair[0])[-ANNOUNCED:]]
    return DemoSummary(positions=len(POSITIONS), candidates=len(CANDIDATES), moves=moves, recent_referrals=recent)
