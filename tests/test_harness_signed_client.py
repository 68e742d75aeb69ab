"""Self-tests for tests/harness/signed_client.py.

An echo app verifies signatures with slack_sdk's SignatureVerifier and returns
what it parsed; a small real Bolt app then proves the payload shapes are the
ones Bolt routes on, end to end through the fake Slack.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.harness import (
    AppServer,
    FakeSlack,
    SignedSlackClient,
    checkboxes,
    datepicker,
    email_text,
    number_text,
    plain_text,
    radio,
    start_fake_slack,
    static_select,
    url_text,
    users_select,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


async def echo(request: Request) -> Response:
    body = (await request.body()).decode("utf-8")
    if not SignatureVerifier(SECRET).is_valid_request(body, dict(request.headers)):
        return JSONResponse({"valid": False}, status_code=401)
    content_type = request.headers.get("content-type", "")
    form: dict[str, str] = {}
    parsed: Any = None
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = dict(parse_qsl(body, keep_blank_values=True))
        parsed = json.loads(form["payload"]) if "payload" in form else form
    else:
        parsed = json.loads(body)
    return JSONResponse(
        {
            "valid": True,
            "content_type": content_type,
            "body": parsed,
            "retry_num": request.headers.get("x-slack-retry-num"),
            "retry_reason": request.headers.get("x-slack-retry-reason"),
        }
    )


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    with AppServer(Starlette(routes=[Route("/slack/events", echo, methods=["POST"])])) as server:
        yield server.base_url


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with start_fake_slack() as fake:
        fake.add_user("U100", name="alice", real_name="Alice Adams")
        fake.add_channel("C0RECRUIT", "recruiting")
        yield fake


@pytest.fixture
def slack(echo_url: str, fake: FakeSlack) -> Iterator[SignedSlackClient]:
    with SignedSlackClient(echo_url, SECRET, fake_slack=fake) as client:
        yield client


CANDIDATE_MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "candidate_new",
    "private_metadata": '{"source": "slash"}',
    "title": {"type": "plain_text", "text": "New candidate"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {
            "type": "input",
            "block_id": "name",
            "label": {"type": "plain_text", "text": "Name"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        },
        {
            "type": "input",
            "block_id": "stage",
            "label": {"type": "plain_text", "text": "Stage"},
            "element": {
                "type": "static_select",
                "action_id": "value",
                "options": [
                    {"text": {"type": "plain_text", "text": "Phone screen"}, "value": "screen"},
                    {"text": {"type": "plain_text", "text": "Onsite"}, "value": "onsite"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "owner",
            "label": {"type": "plain_text", "text": "Owner"},
            "element": {"type": "users_select", "action_id": "value"},
        },
    ],
}


def body_of(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert data["valid"] is True
    return data["body"]


# ---------------------------------------------------------------------- signing


def test_slash_command_is_signed_and_shaped_like_slack(slack: SignedSlackClient, fake: FakeSlack) -> None:
    resp = slack.slash_command("U100", "/candidate", "add Ada Lovelace")
    assert resp.json()["content_type"] == "application/x-www-form-urlencoded"
    form = body_of(resp)
    assert form["command"] == "/candidate"
    assert form["text"] == "add Ada Lovelace"
    assert (form["user_id"], form["user_name"], form["team_id"]) == ("U100", "alice", "T0001")
    assert (form["channel_id"], form["channel_name"]) == ("C0RECRUIT", "recruiting")
    assert form["response_url"].startswith(fake.root_url + "/response_url/")
    assert form["trigger_id"]
    assert {"token", "team_domain", "api_app_id"} <= form.keys()


def test_forged_and_stale_requests_are_rejected(slack: SignedSlackClient) -> None:
    body = "token=x&command=%2Fcandidate"
    form = "application/x-www-form-urlencoded"
    assert slack.raw(body, content_type=form).status_code == 200
    assert slack.raw(body, content_type=form, signature="v0=" + "0" * 64).status_code == 401
    stale = int(time.time()) - 10 * 60
    assert slack.raw(body, content_type=form, timestamp=stale).status_code == 401
    wrong_secret = SignedSlackClient(slack.base_url, "not-the-secret")
    try:
        assert wrong_secret.slash_command("U100", "/candidate").status_code == 401
    finally:
        wrong_secret.close()


# ---------------------------------------------------------------------- interactions


def test_view_submission_shapes_state_values(slack: SignedSlackClient, fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=fake.base_url)
    view = client.views_open(trigger_id=fake.new_trigger_id(), view=CANDIDATE_MODAL)["view"]

    payload = body_of(
        slack.view_submission(
            "U100",
            view,
            {"name": plain_text("Ada"), "stage": {"value": static_select("onsite")}, "owner": users_select("U100")},
        )
    )

    assert payload["type"] == "view_submission"
    assert payload["user"] == {"id": "U100", "username": "alice", "name": "alice", "team_id": "T0001"}
    assert payload["team"]["id"] == "T0001"
    assert payload["trigger_id"]
    submitted = payload["view"]
    assert (submitted["id"], submitted["hash"]) == (view["id"], view["hash"])
    assert submitted["callback_id"] == "candidate_new"
    assert submitted["private_metadata"] == '{"source": "slash"}'
    values = submitted["state"]["values"]
    assert values["name"]["value"] == {"type": "plain_text_input", "value": "Ada"}
    # The option text is the one the view shows, as Slack sends it.
    assert values["stage"]["value"]["selected_option"] == {
        "text": {"type": "plain_text", "text": "Onsite"},
        "value": "onsite",
    }
    assert values["owner"]["value"] == {"type": "users_select", "selected_user": "U100"}


def test_view_submission_refuses_values_slack_could_not_send(slack: SignedSlackClient) -> None:
    with pytest.raises(ValueError, match="not offered"):
        slack.view_submission("U100", CANDIDATE_MODAL, {"stage": static_select("hired")})
    with pytest.raises(ValueError, match="not in the view"):
        slack.view_submission("U100", CANDIDATE_MODAL, {"salary": plain_text("1")})
    with pytest.raises(ValueError, match="static_select"):
        slack.view_submission("U100", CANDIDATE_MODAL, {"stage": plain_text("onsite")})


def test_value_builders_match_slack_shapes() -> None:
    assert email_text("a@b.c") == {"type": "email_text_input", "value": "a@b.c"}
    assert url_text("https://x") == {"type": "url_text_input", "value": "https://x"}
    assert number_text(5) == {"type": "number_input", "value": "5"}
    assert static_select(None) == {"type": "static_select", "selected_option": None}
    assert radio("yes")["selected_option"]["value"] == "yes"
    assert checkboxes("a", ("b", "Bee"))["selected_options"][1] == {
        "text": {"type": "plain_text", "text": "Bee", "emoji": True},
        "value": "b",
    }
    assert checkboxes() == {"type": "checkboxes", "selected_options": []}
    assert datepicker("2026-11-30") == {"type": "datepicker", "selected_date": "2026-11-30"}


def test_view_closed(slack: SignedSlackClient) -> None:
    payload = body_of(slack.view_closed("U100", {"id": "V1", "callback_id": "candidate_new"}))
    assert payload["type"] == "view_closed"
    assert payload["view"]["id"] == "V1"
    assert payload["is_cleared"] is False


def test_block_action_from_a_message(slack: SignedSlackClient) -> None:
    message = {"type": "message", "ts": "1700000000.000100", "text": "Ada", "user": "UBOT"}
    payload = body_of(
        slack.block_action("U100", "advance", "cand-1", block_id="card", message=message, channel_id="C0RECRUIT")
    )
    assert payload["type"] == "block_actions"
    action = payload["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "advance",
        "card",
        "cand-1",
        "button",
    )
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": "C0RECRUIT",
        "is_ephemeral": False,
    }
    assert payload["channel"] == {"id": "C0RECRUIT", "name": "recruiting"}
    assert payload["message"] == message
    assert payload["response_url"]
    assert payload["trigger_id"]


def test_block_action_in_a_view(slack: SignedSlackClient) -> None:
    view = {"id": "V9", "type": "modal", "state": {"values": {}}}
    payload = body_of(
        slack.block_action("U100", "stage", "onsite", action_type="static_select", view=view, block_id="stage")
    )
    assert payload["container"] == {"type": "view", "view_id": "V9"}
    assert payload["view"]["id"] == "V9"
    assert payload["actions"][0]["selected_option"]["value"] == "onsite"
    assert "response_url" not in payload


def test_shortcuts(slack: SignedSlackClient) -> None:
    message = {"type": "message", "ts": "1700000001.000200", "text": "Meet Ada", "user": "U100"}
    payload = body_of(slack.message_shortcut("U100", "save_candidate", message, "C0RECRUIT"))
    assert (payload["type"], payload["callback_id"], payload["message_ts"]) == (
        "message_action",
        "save_candidate",
        "1700000001.000200",
    )
    assert payload["channel"]["id"] == "C0RECRUIT"
    assert payload["response_url"] and payload["trigger_id"]

    payload = body_of(slack.global_shortcut("U100", "new_candidate"))
    assert (payload["type"], payload["callback_id"]) == ("shortcut", "new_candidate")
    assert payload["trigger_id"]


# ---------------------------------------------------------------------- events


def test_event_envelope_and_retry_headers(slack: SignedSlackClient) -> None:
    event = {"type": "app_mention", "user": "U100", "text": "<@UBOT> hi", "channel": "C0RECRUIT", "ts": "1.1"}
    first = slack.event(event, event_id="Ev0001")
    envelope = body_of(first)
    assert envelope["type"] == "event_callback"
    assert envelope["event"] == event
    assert envelope["event_id"] == "Ev0001"
    assert envelope["authorizations"][0]["user_id"] == "UBOT"
    assert first.json()["retry_num"] is None

    retry = slack.event(event, event_id="Ev0001", retry_num=1)
    assert retry.json()["retry_num"] == "1"
    assert retry.json()["retry_reason"] == "http_timeout"
    assert body_of(retry)["event_id"] == "Ev0001"
    assert body_of(slack.event(event))["event_id"].startswith("Ev")


def test_url_verification(slack: SignedSlackClient) -> None:
    body = body_of(slack.url_verification("chal-123"))
    assert body == {"token": body["token"], "challenge": "chal-123", "type": "url_verification"}


# ---------------------------------------------------------------------- end to end through Bolt


def test_bolt_routes_every_payload_kind(fake: FakeSlack) -> None:
    fake.add_user("U200", name="bob")
    web = WebClient(token="xoxb-test", base_url=fake.base_url)
    bolt = App(client=web, signing_secret=SECRET)

    @bolt.command("/candidate")
    def open_modal(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=CANDIDATE_MODAL)

    @bolt.view("candidate_new")
    def save(ack: Ack, view: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        ack()
        values = view["state"]["values"]
        stage = values["stage"]["value"]["selected_option"]["text"]["text"]
        client.chat_postMessage(channel=body["user"]["id"], text=f"Saved {values['name']['value']['value']} ({stage})")

    @bolt.action("advance")
    def advance(ack: Ack, respond: Respond) -> None:
        ack()
        respond("advanced")

    @bolt.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": [{"type": "divider"}]})

    routes = [Route("/slack/events", SlackRequestHandler(bolt).handle, methods=["POST"])]
    with (
        AppServer(Starlette(routes=routes)) as server,
        SignedSlackClient(server.base_url, SECRET, fake_slack=fake) as slack,
    ):
        assert slack.slash_command("U200", "/candidate").status_code == 200
        opened = fake.wait_for("views.open").response["view"]

        resp = slack.view_submission("U200", opened, {"name": plain_text("Ada"), "stage": static_select("screen")})
        assert resp.status_code == 200
        fake.wait_for("chat.postMessage", lambda c: c.args["text"] == "Saved Ada (Phone screen)")
        assert len(fake.messages_in("U200")) == 1

        message = {"type": "message", "ts": "1700000000.000100", "text": "Ada"}
        assert slack.block_action("U200", "advance", message=message, channel_id="C0RECRUIT").status_code == 200
        assert fake.wait_for("response_url").args["text"] == "advanced"

        assert slack.event({"type": "app_home_opened", "user": "U200", "tab": "home"}).status_code == 200
        fake.wait_for("views.publish")
        # Bolt itself checks the signature: a forged request never reaches a listener.
        forged = slack.raw("command=%2Fcandidate", content_type="application/x-www-form-urlencoded", signature="v0=00")
        assert forged.status_code == 401
