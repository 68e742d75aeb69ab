"""The `talentbot` command as operators run it: a real process, real environment variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import WORKSPACE
from tests.harness import FakeSlack

ROOT = Path(__file__).resolve().parents[1]


def _talentbot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "TALENTBOT_"))}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env={**base, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def _write_config(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "talentbot.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_check_reports_each_problem_with_its_key(tmp_path: Path) -> None:
    config = _write_config(tmp_path, {**WORKSPACE, "recruiting_channel": "recruiting", "colour": "blue"})
    result = _talentbot("check", env={"TALENTBOT_CONFIG": str(config), "SLACK_BOT_TOKEN": "xoxp-user",
                                      "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    out = " ".join(result.stdout.split())
    for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "recruiting_channel", "colour", "DATABASE_URL"):
        assert key in out, f"{key} missing from:\n{result.stdout}"
    assert "talentbot db upgrade" in out


def test_upgrade_then_check_passes_against_slack(tmp_path: Path, slack: FakeSlack) -> None:
    env = {"TALENTBOT_CONFIG": str(_write_config(tmp_path, WORKSPACE)), "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_SIGNING_SECRET": "s3cret", "SLACK_API_URL": slack.base_url,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    upgraded = _talentbot("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    checked = _talentbot("check", env=env, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "recruiting channel C0RECRUIT found" in checked.stdout

    wrong_channel = _talentbot("check", env={**env, "TALENTBOT_CONFIG": str(_write_config(
        tmp_path, {**WORKSPACE, "recruiting_channel": "C0MISSING"}))}, cwd=tmp_path)
    assert wrong_channel.returncode == 1 and "recruiting_channel" in wrong_channel.stdout


def test_serve_refuses_to_start_with_a_bad_config(tmp_path: Path) -> None:
    config = _write_config(tmp_path, {**WORKSPACE, "roles": {"recruiters": ["not-an-id"]}})
    result = _talentbot("serve", env={"TALENTBOT_CONFIG": str(config), "SLACK_BOT_TOKEN": "xoxb-test",
                                      "SLACK_SIGNING_SECRET": "x"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "roles.recruiters" in " ".join(result.stderr.split())


def test_jobs_list_and_run(tmp_path: Path, slack: FakeSlack) -> None:
    env = {"TALENTBOT_CONFIG": str(_write_config(tmp_path, WORKSPACE)), "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_SIGNING_SECRET": "s3cret", "SLACK_API_URL": slack.base_url,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    listed = _talentbot("jobs", "list", env=env, cwd=tmp_path)
    assert "deliver_outbox" in listed.stdout and "purge_processed_requests" in listed.stdout
    ran = _talentbot("jobs", "run", "deliver_outbox", env=env, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "deliver_outbox: sent 0, retrying 0, failed 0" in ran.stdout
    unknown = _talentbot("jobs", "run", "nope", env=env, cwd=tmp_path)
    assert unknown.returncode == 2 and "deliver_outbox" in unknown.stderr
