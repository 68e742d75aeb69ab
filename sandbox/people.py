"""The people and channels of the sandbox workspace, and the talentbot.yaml that gives them their roles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from faker import Faker

BOT_USER_ID = "U0SBTALENT"
BOT_ID = "B0SBTALENT"
BOT_NAME = "talentbot"
APP_ID = "A0SBTALENT"
TEAM_ID = "T0SANDBOX"
TEAM_DOMAIN = "talentbot-sandbox"
RECRUITING_CHANNEL = "C0SBRECRUIT"
GENERAL_CHANNEL = "C0SBGENERAL"
# Faker with a fixed seed: the same names on every machine, so the README's screenshots match what people see.
SEED = 20261122


@dataclass(frozen=True)
class Person:
    id: str
    role: str  # what the user switcher shows next to the name
    title: str
    name: str
    email: str
    tz: str = "Europe/Berlin"

    @property
    def handle(self) -> str:
        return self.name.split()[0].lower()


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    topic: str


CHANNELS = (
    Channel(RECRUITING_CHANNEL, "recruiting", "New referrals and the hiring pipeline"),
    Channel(GENERAL_CHANNEL, "general", "Company-wide announcements"),
)

# (id, role, job title): one person in each role the bot knows, and a few more employees who refer people.
_ROLES = (
    ("U0SBEMPLOYEE", "employee", "Software Engineer"),
    ("U0SBRECRUITER", "recruiter", "Recruiter"),
    ("U0SBMANAGER", "hiring manager", "Engineering Manager"),
    ("U0SBADMIN", "admin", "Head of People"),
    ("U0SBIT", "IT", "IT Administrator"),
    ("U0SBHR", "HR", "HR Generalist"),
    ("U0SBPAYROLL", "payroll", "Payroll Specialist"),
    ("U0SBDESIGNER", "employee", "Product Designer"),
    ("U0SBSALES", "employee", "Account Executive"),
)


def build_people(seed: int = SEED) -> list[Person]:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    people = []
    for user_id, role, title in _ROLES:
        first, last = fake.first_name(), fake.last_name()
        people.append(Person(user_id, role, title, f"{first} {last}", f"{first}.{last}@acme.example".lower()))
    return people


PEOPLE = build_people()
PEOPLE_BY_ID = {person.id: person for person in PEOPLE}


def person(role: str) -> Person:
    return next(p for p in PEOPLE if p.role == role)


def workspace_config() -> dict[str, object]:
    """The sandbox's talentbot.yaml: the seeded people in their roles, #recruiting as the recruiting channel."""
    return {
        "company_name": "Acme",
        "recruiting_channel": RECRUITING_CHANNEL,
        "default_phone_region": "DE",
        "roles": {"admins": [person("admin").id], "recruiters": [person("recruiter").id]},
        "teams": {"it": person("IT").id, "hr": person("HR").id, "payroll": person("payroll").id},
        "referrals": {"payout_approver": person("admin").id},
        "onboarding": {"handbook_url": "https://handbook.acme.example", "packet_url": "https://acme.example/packet"},
    }


def write_workspace_config(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# The sandbox workspace (written by `talentbot serve` without Slack tokens); edits are overwritten.\n"
    path.write_text(header + yaml.safe_dump(workspace_config(), sort_keys=False), encoding="utf-8")
    return path
