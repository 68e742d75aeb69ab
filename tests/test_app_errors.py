"""A listener that fails right after its ack still answers Slack 200, and the person hears why."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_bolt import Ack, BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.access import AccessDenied
from bot.app import TalentBotApp
from commands.errors import register as register_errors
from tests.harness import FakeSlack


def _signed_request(secret: str, payload: dict[str, Any]) -> BoltRequest:
    body = urlencode({"payload": json.dumps(payload)})
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return BoltRequest(body=body, headers={"x-slack-request-timestamp": [timestamp], "x-slack-signature": [signature],
                                           "content-type": ["application/x-www-form-urlencoded"]})


def test_a_refusal_right_after_the_ack_is_not_a_404(slack: FakeSlack) -> None:
    from slack_sdk import WebClient

    app = TalentBotApp(client=WebClient(token="xoxb-test", base_url=slack.base_url), signing_secret="s")
    register_errors(app, None)  # type: ignore[arg-type]

    @app.action("explode")
    def explode(ack: Ack) -> None:
        ack()
        raise AccessDenied("Only recruiters may press this.")

    payload = {"type": "block_actions", "user": {"id": "UEMPLOY01"}, "team": {"id": "T0001"},
               "api_app_id": "A1", "token": "t", "trigger_id": "1.2.ab",
               "response_url": slack.response_url(),
               "actions": [{"action_id": "explode", "block_id": "b", "type": "button", "value": "1",
                            "action_ts": "1.2"}]}
    statuses = [app.dispatch(_signed_request("s", payload)).status for _ in range(20)]
    assert statuses == [200] * 20
    refusal = slack.wait_for("response_url", lambda call: "Only recruiters may press this" in str(call.args))
    assert refusal.args["response_type"] == "ephemeral"
