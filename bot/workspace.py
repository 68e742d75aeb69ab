"""The workspace configuration (talentbot.yaml): roles, channel, pipeline stages and referral rules.

Every section forbids unknown keys, so a typo fails at start-up with the key named instead of being
silently ignored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
SLACK_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
SLACK_USERGROUP_HANDLE = re.compile(r"^@[a-z0-9][a-z0-9._-]*$")
SLACK_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")

DEFAULT_STAGES: list[dict[str, object]] = [
    {"name": "Sourced", "sla_days": 7},
    {"name": "Outreach", "sla_days": 7},
    {"name": "Phone Screen", "sla_days": 5},
    {"name": "Interview", "sla_days": 10},
    {"name": "Offer", "sla_days": 5},
    {"name": "Offer Accepted", "sla_days": 7},
    {"name": "Background Check", "sla_days": 10},
    {"name": "Onboarding Prep", "sla_days": 14},
    {"name": "Day 1 Complete", "sla_days": None, "outcome": "hired"},
    {"name": "Rejected", "sla_days": None, "outcome": "rejected"},
    {"name": "Withdrawn", "sla_days": None, "outcome": "withdrawn"},
]


class ConfigError(Exception):
    """A workspace file that cannot be used; `problems` pairs each dotted key with what is wrong."""

    def __init__(self, path: Path, problems: list[tuple[str, str]]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(f"{key}: {message}" for key, message in problems))


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RolesConfig(Section):
    """Members are Slack user IDs (U…/W…), user-group IDs (S…) or user-group handles (@recruiting)."""

    admins: list[str] = Field(default_factory=list)
    recruiters: list[str] = Field(default_factory=list)

    @field_validator("admins", "recruiters")
    @classmethod
    def _members_are_slack_references(cls, members: list[str]) -> list[str]:
        for member in members:
            if not (
                SLACK_USER_ID.match(member)
                or SLACK_USERGROUP_ID.match(member)
                or SLACK_USERGROUP_HANDLE.match(member)
            ):
                raise ValueError(
                    f"{member!r} is neither a Slack user ID (U…), a user-group ID (S…) nor a handle (@name)"
                )
        return members


class StageConfig(Section):
    name: Annotated[str, Field(min_length=1, max_length=60)]
    # Longest a candidate should stay in the stage; None means no limit.
    sla_days: Annotated[float, Field(gt=0)] | None = 7
    # Stages with an outcome end the application.
    outcome: Literal["hired", "rejected", "withdrawn"] | None = None


class PipelineConfig(Section):
    stages: list[StageConfig] = Field(default_factory=lambda: [StageConfig(**s) for s in DEFAULT_STAGES])

    @field_validator("stages")
    @classmethod
    def _stage_names_unique(cls, stages: list[StageConfig]) -> list[StageConfig]:
        seen: set[str] = set()
        for stage in stages:
            key = stage.name.casefold()
            if key in seen:
                raise ValueError(f"stage {stage.name!r} appears twice")
            seen.add(key)
        if not any(stage.outcome is None for stage in stages):
            raise ValueError("at least one stage must be an open stage (no outcome)")
        return stages

    @property
    def first_stage(self) -> StageConfig:
        return next(stage for stage in self.stages if stage.outcome is None)

    def stage(self, name: str) -> StageConfig | None:
        wanted = name.strip().casefold()
        return next((stage for stage in self.stages if stage.name.casefold() == wanted), None)


class ReferralBonus(Section):
    amount: Annotated[int, Field(ge=0)] = 1000
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    retention_days: Annotated[int, Field(ge=0)] = 90


class ReferralsConfig(Section):
    # Who is credited when the same person is referred twice: the first referral keeps the credit,
    # or the newest one takes it over. Every referral is recorded either way.
    attribution: Literal["first_referrer", "latest_referrer"] = "first_referrer"
    # Whether a referral of someone the team already had from another source (sourced, applied)
    # earns credit; many policies say no, since the referral did not introduce them.
    credit_known_candidates: bool = True
    bonus: ReferralBonus = Field(default_factory=ReferralBonus)


class ConsentConfig(Section):
    # How long a referrer-confirmed contact consent stays valid before it must be renewed.
    contact_valid_days: Annotated[int, Field(ge=1, le=3650)] = 365


class WorkspaceConfig(Section):
    company_name: Annotated[str, Field(min_length=1, max_length=80)] = "Our company"
    recruiting_channel: str
    # Phone numbers typed without a country code are read in this region (ISO 3166, e.g. DE).
    default_phone_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    consent: ConsentConfig = Field(default_factory=ConsentConfig)
    roles: RolesConfig = Field(default_factory=RolesConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    referrals: ReferralsConfig = Field(default_factory=ReferralsConfig)

    @field_validator("recruiting_channel")
    @classmethod
    def _channel_is_an_id(cls, channel: str) -> str:
        if not SLACK_CHANNEL_ID.match(channel):
            raise ValueError("must be a Slack channel ID such as C0123ABCD (channel details → About)")
        return channel

    @model_validator(mode="after")
    def _someone_runs_recruiting(self) -> WorkspaceConfig:
        if not (self.roles.admins or self.roles.recruiters):
            raise ValueError("roles: name at least one admin or recruiter, or nobody can see candidates")
        return self


def _dotted(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


def parse_workspace_config(data: object, *, path: Path = Path("talentbot.yaml")) -> WorkspaceConfig:
    if not isinstance(data, dict):
        raise ConfigError(path, [("(top level)", "must be a mapping of keys to values")])
    try:
        return WorkspaceConfig.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
            problems.append((_dotted(item["loc"]), message.removeprefix("Value error, ")))
        raise ConfigError(path, problems) from error


def load_workspace_config(path: Path) -> WorkspaceConfig:
    if not path.exists():
        raise ConfigError(path, [("(file)", "not found; copy talentbot.example.yaml and set TALENTBOT_CONFIG")])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(path, [("(file)", f"is not valid YAML: {error}")]) from error
    return parse_workspace_config(data, path=path)
