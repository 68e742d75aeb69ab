"""Engagement over the bot's real HTTP server: the open pixel, the click redirect and the inbound-mail webhook."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from bot.deps import Deps
from bot.services import engagement
from bot.services.engagement import CLICK_PATH, OPEN_PATH
from bot.webhooks import sign
from storage.db import Database
from storage.models import CandidateEngagement, NurtureEnrollment, NurtureSend, NurtureStatus
from tests import test_nurture
from tests.conftest import RECRUITER, Clock
from tests.harness import FakeSlack
from tests.harness.running_app import RunningApp
from tests.harness.smtp import SmtpServer
from tests.test_nurture import INBOUND_SECRET, add_candidate, enroll, run_job

# The nurture tests' fixtures: their workspace, a loopback SMTP server, and deps that mail there.
config = test_nurture.config
deps = test_nurture.deps
smtp = test_nurture.smtp

CAREERS = "https://acme.test/careers"


def local(app: RunningApp, url: str) -> str:
    # Links name the public address; the test reaches the same server on loopback.
    return url.replace("https://bot.acme.test", app.url)


def sent_step(deps: Deps, clock: Clock, smtp: SmtpServer) -> tuple[int, str, str, str]:
    candidate_id = add_candidate(deps.db, clock, owner_slack_id=RECRUITER)
    enroll(deps, candidate_id)
    run_job(deps)
    email = smtp.wait_for(1)[0]
    [click] = re.findall(r"https://bot\.acme\.test/e/c/\S+", email.part("plain"))
    [pixel] = re.findall(r'src="(https://bot\.acme\.test/e/o/[^"]+)"', email.part("html"))
    return candidate_id, click, pixel, email.message["Message-ID"]


def score(db: Database, candidate_id: int) -> CandidateEngagement | None:
    with db.read() as session:
        return session.get(CandidateEngagement, candidate_id)


def test_open_pixel_counts_the_first_open(app: RunningApp, deps: Deps, clock: Clock, smtp: SmtpServer) -> None:
    candidate_id, _, pixel, _ = sent_step(deps, clock, smtp)
    for _ in range(2):
        response = httpx.get(local(app, pixel))
        assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
        assert response.content.startswith(b"GIF89a") and "no-store" in response.headers["cache-control"]
    row = score(deps.db, candidate_id)
    assert row is not None and (row.opens, row.score) == (1, 1)
    # A forged token still gets the image, and counts nothing.
    assert httpx.get(f"{app.url}{OPEN_PATH}1.AAAAAAAAAAAAAAAA.gif").status_code == 200
    assert score(deps.db, candidate_id).opens == 1  # type: ignore[union-attr]


def test_click_redirects_only_to_links_the_email_carried(app: RunningApp, deps: Deps, clock: Clock,
                                                         smtp: SmtpServer) -> None:
    candidate_id, click, _, _ = sent_step(deps, clock, smtp)
    response = httpx.get(local(app, click), follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == CAREERS
    with deps.db.read() as session:
        send = session.get(NurtureSend, 1)
        assert send is not None and send.clicked_at is not None and send.opened_at is not None
    row = score(deps.db, candidate_id)
    assert row is not None and (row.clicks, row.score) == (1, 4)  # the click and the open it implies

    # A validly signed link to a URL this email did not carry, a tampered signature, a made-up token: no redirect.
    forged = engagement.click_token(1, "https://evil.test/phish", deps.settings)
    tampered = click.rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAA"
    for url in (f"{app.url}{CLICK_PATH}{forged}", local(app, tampered), f"{app.url}{CLICK_PATH}1-abc.x"):
        refused = httpx.get(url, follow_redirects=False)
        assert refused.status_code == 404 and "location" not in refused.headers


def post_inbound(app: RunningApp, payload: dict[str, object], *, secret: str = INBOUND_SECRET,
                 timestamp: int | None = None) -> httpx.Response:
    body = json.dumps(payload).encode()
    stamp = int(time.time()) if timestamp is None else timestamp
    return httpx.post(f"{app.url}{engagement.INBOUND_PATH}", content=body, headers={
        "Content-Type": "application/json", "X-Talentbot-Timestamp": str(stamp),
        "X-Talentbot-Signature": sign(secret, stamp, body)})


@pytest.fixture
def wall_clock(clock: Clock) -> Clock:
    # The webhook compares its timestamp with the app's clock; keep them together.
    from datetime import UTC, datetime

    clock.now = datetime.now(UTC)
    return clock


def test_inbound_reply_stops_the_sequence_and_tells_the_owner(app: RunningApp, deps: Deps, wall_clock: Clock,
                                                              smtp: SmtpServer, slack: FakeSlack) -> None:
    candidate_id, _, _, message_id = sent_step(deps, wall_clock, smtp)
    reply = {"from": "Jane Doe <jane@example.com>", "subject": "Re: hello", "in_reply_to": message_id}
    assert post_inbound(app, reply, secret="wrong").status_code == 401
    assert post_inbound(app, reply, timestamp=int(time.time()) - 3600).status_code == 401
    assert post_inbound(app, {"subject": "no sender"}).status_code == 422
    assert post_inbound(app, {"from": "stranger@example.org"}).status_code == 202
    with deps.db.read() as session:
        assert session.get(NurtureEnrollment, 1).status == NurtureStatus.ACTIVE  # type: ignore[union-attr]

    assert post_inbound(app, reply).status_code == 204
    with deps.db.read() as session:
        enrollment = session.get(NurtureEnrollment, 1)
        assert enrollment is not None and enrollment.status == NurtureStatus.STOPPED
        assert enrollment.stop_reason == "replied"
    assert score(deps.db, candidate_id).replies == 1  # type: ignore[union-attr]
    dm = slack.wait_for("chat.postMessage", lambda call: "is engaging" in call.args.get("text", ""))
    assert dm.args["channel"] == RECRUITER


def test_inbound_is_off_without_a_secret(app: RunningApp, deps: Deps) -> None:
    deps.settings.talentbot_inbound_mail_secret = None
    assert post_inbound(app, {"from": "jane@example.com"}).status_code == 503
