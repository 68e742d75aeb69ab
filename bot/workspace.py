"""The workspace configuration (talentbot.yaml): roles, channel, pipeline stages and referral rules.

Every section forbids unknown keys, so a typo fails at start-up with the key named instead of being
silently ignored.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
SLACK_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
SLACK_USERGROUP_HANDLE = re.compile(r"^@[a-z0-9][a-z0-9._-]*$")
SLACK_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")

DEFAULT_STAGES: list[dict[str, object]] = [
    {"name": "Sourced", "sla_days": 7},
    {"name": "Outreach", "sla_days": 7,
     "tasks": [{"title": "Send the first outreach message", "assignee": "owner", "due_in": "2d"}]},
    {"name": "Phone Screen", "sla_days": 5, "tasks": [
        {"title": "Send calendar invite", "assignee": "owner", "due_in": "2d", "mandatory": True},
        {"title": "Complete phone screen notes", "assignee": "owner", "due_in": "24h", "mandatory": True},
    ]},
    {"name": "Interview", "sla_days": 10, "referral_milestone": "interview", "tasks": [
        {"title": "Schedule the interviews", "assignee": "owner", "due_in": "2d", "mandatory": True},
        {"title": "Share the interview plan with the panel", "assignee": "hiring_manager", "due_in": "3d"},
    ]},
    {"name": "Offer", "sla_days": 5, "tasks": [
        {"title": "Prepare and send the offer", "assignee": "owner", "due_in": "2d", "mandatory": True},
        {"title": "Approve the offer", "assignee": "hiring_manager", "due_in": "1d", "mandatory": True},
    ]},
    {"name": "Offer Accepted", "sla_days": 7, "referral_milestone": "offer_accepted"},
    {"name": "Background Check", "sla_days": 10,
     "tasks": [{"title": "Run the background check", "assignee": "team:hr", "due_in": "5d", "mandatory": True}]},
    {"name": "Onboarding Prep", "sla_days": 14},
    {"name": "Day 1 Complete", "sla_days": None, "outcome": "hired"},
    {"name": "Rejected", "sla_days": None, "outcome": "rejected"},
    {"name": "Withdrawn", "sla_days": None, "outcome": "withdrawn"},
]

DEFAULT_ONBOARDING_TASKS: list[dict[str, object]] = [
    {"title": "Prepare laptop and access", "assignee": "team:it", "due_in": "5d", "mandatory": True},
    {"title": "Send new-hire packet and e-sign forms", "assignee": "team:hr", "due_in": "3d", "mandatory": True},
    {"title": "First-week agenda and 90-day goals", "assignee": "hiring_manager", "due_in": "7d", "mandatory": True},
    {"title": "New hire setup", "assignee": "team:payroll", "due_in": "7d", "mandatory": True},
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_DURATION_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: object) -> object:
    """'90m', '24h', '2d', '1w' → timedelta; numbers are read as days."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(days=value)
    if isinstance(value, str) and (match := _DURATION.match(value)):
        return timedelta(**{_DURATION_UNITS[match.group(2).lower()]: float(match.group(1))})
    raise ValueError("write a duration such as 90m, 24h, 2d or 1w")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


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


# Who a task goes to: the candidate's owner, the position's hiring manager, a team from `teams`
# ("team:it"), or a Slack user (U…) or channel (C…) named directly.
ASSIGNEE = re.compile(r"^(owner|hiring_manager|team:[a-z0-9_-]+|[UW][A-Z0-9]{2,}|[CG][A-Z0-9]{2,})$")


class TaskTemplate(Section):
    title: Annotated[str, Field(min_length=1, max_length=150)]
    assignee: str
    due_in: Duration
    # A mandatory task must be done before the candidate may leave the stage.
    mandatory: bool = False

    @field_validator("assignee")
    @classmethod
    def _assignee_is_known_kind(cls, assignee: str) -> str:
        if not ASSIGNEE.match(assignee):
            raise ValueError("use owner, hiring_manager, team:<name>, a user ID (U…) or a channel ID (C…)")
        return assignee


class StageConfig(Section):
    name: Annotated[str, Field(min_length=1, max_length=60)]
    # Longest a candidate should stay in the stage; None means no limit.
    sla_days: Annotated[float, Field(gt=0)] | None = 7
    # Stages with an outcome end the application.
    outcome: Literal["hired", "rejected", "withdrawn"] | None = None
    # Tasks created when an application enters the stage.
    tasks: list[TaskTemplate] = Field(default_factory=list)
    # Entering the stage is news for the referrer (a DM, without details).
    referral_milestone: Literal["interview", "offer_accepted"] | None = None

    @property
    def sla(self) -> timedelta | None:
        return timedelta(days=self.sla_days) if self.sla_days is not None else None


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

    @property
    def hired_stage(self) -> StageConfig | None:
        return next((stage for stage in self.stages if stage.outcome == "hired"), None)

    def stage(self, name: str) -> StageConfig | None:
        wanted = " ".join(name.split()).casefold()
        return next((stage for stage in self.stages if stage.name.casefold() == wanted), None)

    def position_of(self, name: str) -> int:
        return next(i for i, stage in enumerate(self.stages) if stage.name == name)

    @property
    def names(self) -> list[str]:
        return [stage.name for stage in self.stages]


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
    # Bonus amounts that differ from bonus.amount: by position title, or by the candidate's seniority.
    # A position's amount wins over a seniority's.
    bonus_by_position: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    bonus_by_seniority: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    # Who approves payouts once the retention period has passed (default: the first admin user).
    payout_approver: Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")] | None = None


class OnboardingConfig(Section):
    # Entering this stage starts the onboarding checklist.
    start_stage: str = "Offer Accepted"
    tasks: list[TaskTemplate] = Field(default_factory=lambda: [TaskTemplate(**t) for t in DEFAULT_ONBOARDING_TASKS])
    # Links for the welcome email to the new hire.
    handbook_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    packet_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    first_week_agenda: list[str] = Field(default_factory=lambda: [
        "Day 1: welcome, laptop and accounts, lunch with the team",
        "Day 2: product walkthrough with your manager",
        "Day 3–5: first small task with your onboarding buddy",
    ])


class RemindersConfig(Section):
    # A DM this long before a task is due.
    before_due: Duration = timedelta(hours=4)
    # Tell the candidate's owner (or the recruiting channel) when a task is this late.
    escalate_after: Duration = timedelta(days=1)
    # Snooze length offered on task DMs.
    snooze_for: Duration = timedelta(days=1)


class InterviewsConfig(Section):
    scorecard_criteria: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        default_factory=lambda: ["Technical skills", "Problem solving", "Communication", "Team fit"])
    # Interviewers are reminded when their scorecard is not in this long after the interview ended.
    scorecard_due_after: Duration = timedelta(hours=24)
    default_duration_minutes: Annotated[int, Field(ge=15, le=480)] = 60


class HrHandoffConfig(Section):
    # Day 1 Complete posts the new hire here as signed JSON (the secret is HR_WEBHOOK_SECRET).
    webhook_url: Annotated[str, Field(pattern=r"^https?://")] | None = None


class ConsentConfig(Section):
    # How long a referrer-confirmed contact consent stays valid before it must be renewed.
    contact_valid_days: Annotated[int, Field(ge=1, le=3650)] = 365


class OutreachConfig(Section):
    # Linked from the "how we use AI and your data" notice in every outreach email's footer.
    privacy_policy_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    # Reply-To of outreach emails when the approving recruiter's Slack profile has no email address.
    reply_to: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] | None = None


# --- nurture sequences (issue 5, part B: bot/services/nurture.py) ---------------------------------------

NURTURE_TEMPLATE = re.compile(r"^[a-z0-9_]+$")
DEFAULT_NURTURE_STEPS: list[dict[str, object]] = [
    # The first personal touch is read by a person before it goes; the rest follow on their own.
    {"template": "intro", "delay": "0d", "needs_approval": True},
    {"template": "culture_video", "delay": "7d"},
    {"template": "event_invite", "delay": "14d"},
    {"template": "role_article", "delay": "14d"},
    {"template": "check_in", "delay": "10d"},
    {"template": "re_engagement", "delay": "15d"},
]


class NurtureStep(Section):
    # prompts/nurture/<template>.subject.j2, .txt.j2 and .html.j2 (tokens: name, role, referrer, company, event).
    template: str
    # Time after the previous step (the first: after enrolment). The default playbook's steps fall on days
    # 0, 7, 21, 35, 45 and 60.
    delay: Duration
    # The step becomes a draft for a person to approve instead of being sent.
    needs_approval: bool = False

    @field_validator("template")
    @classmethod
    def _template_exists(cls, template: str) -> str:
        import prompts

        if not NURTURE_TEMPLATE.match(template):
            raise ValueError("use lower-case letters, digits and _ (a file name under prompts/nurture/)")
        folder = Path(prompts.__file__).resolve().parent / "nurture"
        missing = [f"{template}{suffix}" for suffix in (".subject.j2", ".txt.j2")
                   if not (folder / f"{template}{suffix}").is_file()]
        if missing:
            raise ValueError(f"no template prompts/nurture/{missing[0]}")
        return template

    @field_validator("delay")
    @classmethod
    def _delay_not_negative(cls, delay: timedelta) -> timedelta:
        if delay < timedelta(0):
            raise ValueError("a delay cannot be negative")
        return delay


class NurtureSequence(Section):
    steps: Annotated[list[NurtureStep], Field(min_length=1, max_length=50)]
    # What the emails may name: an event ({{ event }}), and links the templates show.
    event: Annotated[str, Field(max_length=200)] = "our next meetup"
    links: dict[str, Annotated[str, Field(pattern=r"^https?://")]] = Field(default_factory=dict)


class NurtureConfig(Section):
    sequences: dict[str, NurtureSequence] = Field(
        default_factory=lambda: {"passive": NurtureSequence(steps=[NurtureStep(**s) for s in DEFAULT_NURTURE_STEPS])})
    # Delays are multiplied by this for candidates marked open to opportunities (0.5: twice as fast).
    open_to_opportunities_factor: Annotated[float, Field(gt=0, le=1)] = 0.5
    # Engagement points (an email's first open, a link's first click, a reply) and the score at which the
    # candidate's owner gets a DM.
    open_points: Annotated[int, Field(ge=0)] = 1
    click_points: Annotated[int, Field(ge=0)] = 3
    reply_points: Annotated[int, Field(ge=0)] = 10
    hot_score: Annotated[int, Field(ge=1)] = 10

    @field_validator("sequences")
    @classmethod
    def _sequence_names(cls, sequences: dict[str, NurtureSequence]) -> dict[str, NurtureSequence]:
        for name in sequences:
            if not re.match(r"^[a-z0-9_-]{1,60}$", name):
                raise ValueError(f"sequence name {name!r}: use lower-case letters, digits, - and _")
        return sequences


class WorkspaceConfig(Section):
    company_name: Annotated[str, Field(min_length=1, max_length=80)] = "Our company"
    recruiting_channel: str
    # Phone numbers typed without a country code are read in this region (ISO 3166, e.g. DE).
    default_phone_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    consent: ConsentConfig = Field(default_factory=ConsentConfig)
    roles: RolesConfig = Field(default_factory=RolesConfig)
    # Named assignees for tasks ("team:it"): a Slack user ID, or a channel ID where the team works.
    teams: dict[str, str] = Field(default_factory=dict)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    referrals: ReferralsConfig = Field(default_factory=ReferralsConfig)
    onboarding: OnboardingConfig = Field(default_factory=OnboardingConfig)
    reminders: RemindersConfig = Field(default_factory=RemindersConfig)
    interviews: InterviewsConfig = Field(default_factory=InterviewsConfig)
    hr_handoff: HrHandoffConfig = Field(default_factory=HrHandoffConfig)
    outreach: OutreachConfig = Field(default_factory=OutreachConfig)
    nurture: NurtureConfig = Field(default_factory=NurtureConfig)

    @field_validator("teams")
    @classmethod
    def _teams_are_slack_ids(cls, teams: dict[str, str]) -> dict[str, str]:
        for name, member in teams.items():
            if not re.match(r"^[a-z0-9_-]+$", name):
                raise ValueError(f"team name {name!r}: use lower-case letters, digits, - and _")
            if not (SLACK_USER_ID.match(member) or SLACK_CHANNEL_ID.match(member)):
                raise ValueError(f"team {name!r}: {member!r} is neither a user ID (U…) nor a channel ID (C…)")
        return teams

    @model_validator(mode="after")
    def _references_resolve(self) -> WorkspaceConfig:
        templates = [t for stage in self.pipeline.stages for t in stage.tasks] + list(self.onboarding.tasks)
        for template in templates:
            if template.assignee.startswith("team:") and template.assignee[5:] not in self.teams:
                # Without the team the task would fall back to the recruiting channel; say so up front.
                self.teams[template.assignee[5:]] = self.recruiting_channel
        if self.pipeline.stage(self.onboarding.start_stage) is None:
            raise ValueError(f"onboarding.start_stage: no stage named {self.onboarding.start_stage!r}")
        return self

    def bonus_for(self, *, position_title: str | None, seniority: str | None) -> int:
        rules = self.referrals
        if position_title and position_title in rules.bonus_by_position:
            return rules.bonus_by_position[position_title]
        if seniority and seniority.casefold() in {k.casefold() for k in rules.bonus_by_seniority}:
            return next(v for k, v in rules.bonus_by_seniority.items() if k.casefold() == seniority.casefold())
        return rules.bonus.amount

    @property
    def payout_approver(self) -> str | None:
        if self.referrals.payout_approver:
            return self.referrals.payout_approver
        return next((a for a in self.roles.admins if SLACK_USER_ID.match(a)), None)

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
