"""The workspace file: the shipped example loads, and every mistake names its key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.workspace import ConfigError, load_workspace_config, parse_workspace_config

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = {"recruiting_channel": "C0RECRUIT", "roles": {"recruiters": ["U0RECRUIT"]}}


def _problems(data: object) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_workspace_config(data)
    return dict(caught.value.problems)


def test_example_config_loads_with_the_default_stages() -> None:
    config = load_workspace_config(ROOT / "talentbot.example.yaml")
    names = [stage.name for stage in config.pipeline.stages]
    assert names == ["Sourced", "Outreach", "Phone Screen", "Interview", "Offer", "Offer Accepted",
                     "Background Check", "Onboarding Prep", "Day 1 Complete", "Rejected", "Withdrawn"]
    assert config.pipeline.stage("day 1 complete").outcome == "hired"


def test_defaults_fill_what_is_left_out() -> None:
    config = parse_workspace_config(MINIMAL)
    assert config.pipeline.first_stage.name == "Sourced"
    assert config.referrals.attribution == "first_referrer"
    assert config.referrals.bonus.retention_days == 90


def test_unknown_keys_are_errors_naming_the_key() -> None:
    assert _problems({**MINIMAL, "referals": {}}) == {"referals": "unknown key"}
    nested = {**MINIMAL, "referrals": {"bonus": {"amount": 500, "retension_days": 30}}}
    assert _problems(nested) == {"referrals.bonus.retension_days": "unknown key"}


def test_bad_values_name_their_key() -> None:
    problems = _problems({
        "recruiting_channel": "#recruiting",
        "roles": {"recruiters": ["rita"]},
        "pipeline": {"stages": [{"name": "Sourced", "sla_days": -1}]},
    })
    assert set(problems) == {"recruiting_channel", "roles.recruiters", "pipeline.stages[0].sla_days"}
    assert "channel ID" in problems["recruiting_channel"]


def test_duplicate_stage_and_missing_roles() -> None:
    stages = {"stages": [{"name": "Interview"}, {"name": "interview"}]}
    assert "appears twice" in _problems({**MINIMAL, "pipeline": stages})["pipeline.stages"]
    assert "at least one admin or recruiter" in _problems({"recruiting_channel": "C0RECRUIT"})["(top level)"]


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_workspace_config(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("roles: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_workspace_config(broken)
    listy = tmp_path / "list.yaml"
    listy.write_text(yaml.safe_dump(["a", "b"]))
    with pytest.raises(ConfigError, match="mapping"):
        load_workspace_config(listy)
