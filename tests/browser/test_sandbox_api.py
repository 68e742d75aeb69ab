"""The sandbox's Slack side without a browser: Web API answers, signed delivery, and the demo data."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.testclient import TestClient
from typer.testing import CliRunner

from bot.cli import cli
from sandbox.delivery import event_envelope, sign
from sandbox.people import BOT_USER_ID, GENERAL_CHANNEL, RECRUITING_CHANNEL, person, workspace_config
from sandbox.server import SandboxConfig, build_sandbox_app
from sandbox.workspace import ResponseTarget, SlackError, Workspace
from storage.models import Application, Candidate, NurtureEnrollment, Position

EMPLOYEE = person("employee").id
RECRUITER = person("recruiter").id
MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "Hi"}, "blocks": [{"type": "divider"}]}


def test_unknown_methods_are_refused_like_slack() -> None:
    with pytest.raises(SlackError) as refused:
        Workspace().call("chat.meMessage", {"channel": GENERAL_CHANNEL, "text": "hi"})
    assert refused.value.error == "unknown_method"


def test_posting_to_a_user_id_lands_in_the_dm_and_ephemerals_stay_with_their_user() -> None:
    ws = Workspace()
    posted = ws.call("chat.postMessage", {"channel": EMPLOYEE, "text": "hello"})
    assert posted["ok"] and posted["channel"] == "D" + EMPLOYEE[1:]
    ws.call("chat.postEphemeral", {"channel": RECRUITING_CHANNEL, "user": RECRUITER, "text": "only you"})
    assert [m["text"] for m in ws.visible(RECRUITER, RECRUITING_CHANNEL, thread_ts=None)] == ["only you"]
    assert ws.visible(EMPLOYEE, RECRUITING_CHANNEL, thread_ts=None) == []
    with pytest.raises(SlackError, match="no_text"):
        ws.call("chat.postMessage", {"channel": GENERAL_CHANNEL})


def test_malformed_blocks_and_views_are_refused_like_slack() -> None:
    ws = Workspace()
    with pytest.raises(SlackError) as refused:
        ws.call("chat.postMessage", {"channel": GENERAL_CHANNEL, "text": "x",
                                     "blocks": [{"type": "actions", "elements": [{"type": "button"}]}]})
    assert refused.value.error == "invalid_blocks" and refused.value.extra["errors"]
    with pytest.raises(SlackError, match="invalid_arguments"):
        ws.call("views.open", {"trigger_id": ws.new_trigger(EMPLOYEE),
                               "view": {**MODAL, "title": {"type": "plain_text", "text": "x" * 30}}})


def test_thread_replies_are_counted_on_the_parent_and_shown_in_the_thread_only() -> None:
    ws = Workspace()
    parent = ws.post_as(RECRUITER, RECRUITING_CHANNEL, "question", None)
    ws.call("chat.postMessage", {"channel": RECRUITING_CHANNEL, "thread_ts": parent.ts, "text": "answer"})
    top = ws.visible(RECRUITER, RECRUITING_CHANNEL, thread_ts=None)
    assert [(m["text"], m["replies"]) for m in top] == [("question", 1)]
    assert [m["text"] for m in ws.visible(RECRUITER, RECRUITING_CHANNEL, thread_ts=parent.ts)] == ["question", "answer"]


def test_modals_need_a_fresh_trigger_and_stack_at_most_three_views() -> None:
    ws = Workspace()
    with pytest.raises(SlackError, match="expired_trigger_id"):
        ws.call("views.open", {"trigger_id": "1.2.abc", "view": MODAL})
    opened = ws.call("views.open", {"trigger_id": ws.new_trigger(EMPLOYEE), "view": MODAL})["view"]
    for _ in range(2):
        ws.call("views.push", {"trigger_id": ws.new_trigger(EMPLOYEE), "view": MODAL})
    with pytest.raises(SlackError, match="push_limit_reached"):
        ws.call("views.push", {"trigger_id": ws.new_trigger(EMPLOYEE), "view": MODAL})
    with pytest.raises(SlackError, match="hash_conflict"):
        ws.call("views.update", {"view_id": opened["id"], "hash": "stale", "view": MODAL})
    updated = ws.call("views.update", {"view_id": opened["id"], "hash": opened["hash"],
                                       "view": {**MODAL, "title": {"type": "plain_text", "text": "Again"}}})
    assert updated["view"]["id"] == opened["id"] and updated["view"]["hash"] != opened["hash"]
    assert ws.page_state(EMPLOYEE, GENERAL_CHANNEL, None)["modal_depth"] == 3


def test_response_urls_reply_ephemerally_or_replace_the_clicked_message() -> None:
    ws = Workspace()
    card = ws.call("chat.postMessage", {"channel": RECRUITING_CHANNEL, "text": "card"})
    url = ws.new_response_url("http://x", ResponseTarget(RECRUITER, RECRUITING_CHANNEL, card["ts"], None))
    key = url.rsplit("/", 1)[1]
    ws.respond(key, {"text": "just for you", "response_type": "ephemeral"})
    ws.respond(key, {"text": "card, assigned", "replace_original": True})
    assert [m["text"] for m in ws.visible(RECRUITER, RECRUITING_CHANNEL, thread_ts=None)] == \
        ["card, assigned", "just for you"]
    assert [m["text"] for m in ws.visible(EMPLOYEE, RECRUITING_CHANNEL, thread_ts=None)] == ["card, assigned"]


def test_the_web_api_wants_the_run_s_bot_token() -> None:
    config = SandboxConfig(base_url="http://testserver", bot_token="xoxb-sandbox-1", signing_secret="s3cret")
    app = build_sandbox_app(Starlette(), config)
    with TestClient(app) as client:
        assert client.post("/api/auth.test", headers={"Authorization": "Bearer xoxb-other"}).json() == \
            {"ok": False, "error": "invalid_auth"}
        me = client.post("/api/auth.test", headers={"Authorization": "Bearer xoxb-sandbox-1"}).json()
        assert me["ok"] and me["user_id"] == BOT_USER_ID
        # Form bodies carry blocks as JSON strings, as slack_sdk sends them.
        posted = client.post("/api/chat.postMessage", headers={"Authorization": "Bearer xoxb-sandbox-1"},
                             data={"channel": GENERAL_CHANNEL, "blocks": json.dumps([{"type": "divider"}])}).json()
        assert posted["ok"] and posted["message"]["blocks"] == [{"type": "divider"}]


def test_deliveries_carry_slack_s_signature_for_the_run_s_secret() -> None:
    # (The browser tests deliver through Bolt's own verification; this pins the scheme.)
    body = json.dumps(event_envelope({"type": "app_mention", "user": EMPLOYEE, "text": "hi"}))
    timestamp = str(int(time.time()))
    assert SignatureVerifier("s3cret").is_valid(body, timestamp, sign("s3cret", timestamp, body))
    assert not SignatureVerifier("other").is_valid(body, timestamp, sign("s3cret", timestamp, body))


def test_the_sandbox_workspace_file_is_a_valid_talentbot_yaml_with_every_role() -> None:
    from bot.workspace import parse_workspace_config

    config = parse_workspace_config(workspace_config())  # type: ignore[arg-type]
    assert config.recruiting_channel == RECRUITING_CHANNEL
    assert RECRUITER in config.roles.recruiters and person("admin").id in config.roles.admins
    assert set(config.teams) == {"it", "hr", "payroll"}


def _count(db_url: str, model: Any) -> int:
    from storage.db import Database

    db = Database(db_url)
    try:
        with db.read() as session:
            return int(session.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        db.dispose()


def test_demo_data_seeds_once_and_reset_reseeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(cli, ["demo-data"])
    assert first.exit_code == 0, first.output
    url = f"sqlite:///{tmp_path / '.sandbox' / 'talentbot.db'}"
    candidates, positions = _count(url, Candidate), _count(url, Position)
    assert candidates >= 10 and positions >= 3
    assert _count(url, NurtureEnrollment) >= 1

    again = runner.invoke(cli, ["demo-data"])
    assert again.exit_code == 0 and "already has data" in again.output
    reset = runner.invoke(cli, ["demo-data", "--reset"])
    assert reset.exit_code == 0, reset.output
    assert (_count(url, Candidate), _count(url, Position)) == (candidates, positions)

    from sqlmodel import Session, create_engine

    engine = create_engine(url)
    with Session(engine) as session:
        stages = {a.stage for a in session.exec(select(Application)).scalars()}  # type: ignore[call-overload]
    engine.dispose()
    # Candidates across the pipeline, not all in the first stage.
    assert {"Sourced", "Interview", "Offer"} <= stages


def test_serve_without_slack_tokens_runs_the_sandbox_on_loopback_only(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "TALENTBOT_"))}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], cwd=tmp_path,
                               env={**env, "TALENTBOT_SCHEDULER": "false"}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert health is not None and health.status_code == 200, process.stderr.read() if process.poll() else ""
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200 and "Acting as" in page.text
        # Its own SQLite file and workspace file in ./.sandbox, never DATABASE_URL's database.
        assert (tmp_path / ".sandbox" / "talentbot.db").exists()
        assert (tmp_path / ".sandbox" / "talentbot.yaml").exists()
        # 127.0.0.1 only: the kernel's table of listening sockets has the port on loopback and nowhere else.
        assert _listening_addresses(port) in ({"127.0.0.1"}, None)
    finally:
        process.terminate()
        process.wait(timeout=20)


def _listening_addresses(port: int) -> set[str] | None:
    """The local addresses listening on `port` (Linux /proc), or None where /proc is not available."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return None
    found: set[str] = set()
    for table in tables:
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(".".join(str(b) for b in reversed(bytes.fromhex(address))) if len(address) == 8 else "::")
    return found
