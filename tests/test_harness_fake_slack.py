"""Self-tests for tests/harness/fake_slack.py and blockkit_limits.py, driven by a real WebClient."""

from __future__ import annotations

import json
import threading
import types
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.harness import FakeSlack, blockkit_limits, start_fake_slack


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with start_fake_slack() as fake:
        fake.add_user("U100", name="alice", real_name="Alice Adams", email="alice@acme.test")
        fake.add_user("U200", name="bob", real_name="Bob Brown", email="bob@acme.test", tz="America/New_York")
        fake.add_channel("C0RECRUIT", "recruiting")
        fake.add_channel("C0SECRET", "secret", bot_is_member=False)
        fake.add_usergroup("S0HIRING", "hiring-team", ["U100", "U200"])
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.base_url)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str, action_id: str = "go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, **extra}


def modal(title: str = "New candidate", blocks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "candidate_new",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": blocks if blocks is not None else [section("Who?")],
        **extra,
    }


def slack_error(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(excinfo.value.response["error"])


# ---------------------------------------------------------------------- protocol and auth


def test_base_url_shape_and_fast_start() -> None:
    fake = FakeSlack()
    base_url = fake.start()
    try:
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/api/")
    finally:
        fake.stop()


def test_unknown_method_is_refused_with_404(client: WebClient, fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.postMessages", json={"channel": "C0RECRUIT", "text": "hi"})
    assert excinfo.value.response.status_code == 404
    assert slack_error(excinfo) == "unknown_method"
    assert fake.calls[-1].method == "chat.postMessages"
    assert fake.calls[-1].status == 404


def test_missing_required_argument_is_refused(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.postMessage", json={"text": "no channel"})
    assert slack_error(excinfo) == "invalid_arguments"
    assert excinfo.value.response["response_metadata"]["messages"] == ["[ERROR] missing required field: channel"]


def test_bad_token_and_missing_token(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(token="xoxb-wrong", base_url=fake.base_url).auth_test()
    assert slack_error(excinfo) == "invalid_auth"
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(base_url=fake.base_url).auth_test()
    assert slack_error(excinfo) == "not_authed"


def test_auth_test_answers_bot_identity(client: WebClient) -> None:
    resp = client.auth_test()
    assert (resp["user_id"], resp["bot_id"], resp["team_id"], resp["team"]) == (
        "UBOT",
        "BBOT",
        "T0001",
        "Acme",
    )


def test_form_encoded_json_values_are_decoded_and_extras_warned(fake: FakeSlack) -> None:
    blocks = [section("from a form body")]
    body = {"channel": "C0RECRUIT", "text": "t", "blocks": json.dumps(blocks), "colour": "blue"}
    resp = httpx.post(
        fake.base_url + "chat.postMessage", data=body, headers={"Authorization": "Bearer xoxb-test"}, verify=False
    )
    assert resp.json()["ok"] is True
    call = fake.calls_to("chat.postMessage")[-1]
    assert call.args["blocks"] == blocks
    assert any("colour" in w for w in call.warnings)


def test_other_catalogue_methods_answer_ok(client: WebClient) -> None:
    assert client.api_call("team.info")["ok"] is True


# ---------------------------------------------------------------------- messages


def test_valid_message_is_accepted_and_recorded(client: WebClient, fake: FakeSlack) -> None:
    resp = client.chat_postMessage(channel="C0RECRUIT", text="New candidate", blocks=[section("*Ada*")])
    assert resp["channel"] == "C0RECRUIT"
    assert resp["message"]["text"] == "New candidate"
    second = client.chat_postMessage(channel="C0RECRUIT", text="again")
    assert float(second["ts"]) > float(resp["ts"])
    call = fake.wait_for("chat.postMessage", lambda c: c.args["text"] == "New candidate", timeout=1)
    assert call.args["blocks"] == [section("*Ada*")]
    assert [c.args["text"] for c in fake.messages_in("C0RECRUIT")] == ["New candidate", "again"]


def test_dm_to_a_user_id(client: WebClient, fake: FakeSlack) -> None:
    resp = client.chat_postMessage(channel="U100", text="psst")
    assert resp["channel"] == "DU100"
    client.chat_postMessage(channel="DU100", text="again")
    assert [c.args["text"] for c in fake.messages_in("U100")] == ["psst", "again"]
    assert fake.messages_in("DU100") == fake.messages_in("U100")
    assert client.conversations_open(users="U100")["channel"]["id"] == "DU100"


def test_message_channel_errors(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0NOPE", text="x")
    assert slack_error(excinfo) == "channel_not_found"
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0SECRET", text="x")
    assert slack_error(excinfo) == "not_in_channel"
    with pytest.raises(SlackApiError) as excinfo, pytest.warns(UserWarning, match="text"):
        client.chat_postMessage(channel="C0RECRUIT")
    assert slack_error(excinfo) == "no_text"
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0RECRUIT", text="x" * 40_001)
    assert slack_error(excinfo) == "msg_too_long"


@pytest.mark.parametrize(
    ("blocks", "needle"),
    [
        ([{"type": "actions", "elements": [button("x" * 80)]}], "/blocks/0/elements/0/text/text"),
        ([section(f"line {i}") for i in range(51)], "50 items or fewer"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "/blocks/0/text/text"),
        ([{"type": "section", "text": "bare string"}], "not a plain string"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "/blocks/0/fields"),
        ([{"type": "carousel_of_doom"}], "unsupported block type"),
    ],
)
def test_invalid_blocks_are_refused(client: WebClient, blocks: list[dict[str, Any]], needle: str) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0RECRUIT", text="fallback", blocks=blocks)
    assert slack_error(excinfo) == "invalid_blocks"
    assert any(needle in e for e in excinfo.value.response["errors"]), excinfo.value.response["errors"]


def test_ephemeral_update_and_permalink(client: WebClient, fake: FakeSlack) -> None:
    eph = client.chat_postEphemeral(channel="C0RECRUIT", user="U100", text="only you")
    assert eph["message_ts"]
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postEphemeral(channel="C0RECRUIT", user="U999", text="x")
    assert slack_error(excinfo) == "user_not_in_channel"

    posted = client.chat_postMessage(channel="C0RECRUIT", text="v1")
    updated = client.chat_update(channel="C0RECRUIT", ts=posted["ts"], text="v2")
    assert updated["message"]["text"] == "v2"
    assert fake.message("C0RECRUIT", posted["ts"])["text"] == "v2"  # type: ignore[index]
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C0RECRUIT", ts="1.2", text="v3")
    assert slack_error(excinfo) == "message_not_found"

    link = client.chat_getPermalink(channel="C0RECRUIT", message_ts=posted["ts"])["permalink"]
    assert link.endswith("/archives/C0RECRUIT/p" + posted["ts"].replace(".", ""))


# ---------------------------------------------------------------------- users, conversations, groups


def test_user_lookups(client: WebClient) -> None:
    user = client.users_info(user="U200")["user"]
    assert user["real_name"] == "Bob Brown"
    assert user["tz"] == "America/New_York"
    assert user["tz_offset"] in (-18000, -14400)
    assert user["profile"]["email"] == "bob@acme.test"
    assert client.users_lookupByEmail(email="ALICE@acme.test")["user"]["id"] == "U100"
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="U999")
    assert slack_error(excinfo) == "user_not_found"
    with pytest.raises(SlackApiError) as excinfo:
        client.users_lookupByEmail(email="nobody@acme.test")
    assert slack_error(excinfo) == "users_not_found"
    ids = [m["id"] for m in client.users_list()["members"]]
    assert {"U100", "U200", "UBOT"} <= set(ids)


def test_conversations_and_usergroups(client: WebClient) -> None:
    assert client.conversations_info(channel="C0RECRUIT")["channel"]["name"] == "recruiting"
    assert "U100" in client.conversations_members(channel="C0RECRUIT")["members"]
    groups = client.usergroups_list()["usergroups"]
    assert [(g["id"], g["handle"]) for g in groups] == [("S0HIRING", "hiring-team")]
    assert client.usergroups_users_list(usergroup="S0HIRING")["users"] == ["U100", "U200"]
    with pytest.raises(SlackApiError) as excinfo:
        client.usergroups_users_list(usergroup="S0NOPE")
    assert slack_error(excinfo) == "no_such_subteam"


def test_reactions_add(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C0RECRUIT", text="x")
    assert client.reactions_add(channel="C0RECRUIT", timestamp=posted["ts"], name="eyes")["ok"]
    with pytest.raises(SlackApiError) as excinfo:
        client.reactions_add(channel="C0RECRUIT", timestamp=posted["ts"], name="eyes")
    assert slack_error(excinfo) == "already_reacted"


# ---------------------------------------------------------------------- views


def test_views_open_update_push(client: WebClient, fake: FakeSlack) -> None:
    opened = client.views_open(trigger_id=fake.new_trigger_id(), view=modal())["view"]
    assert opened["id"].startswith("V")
    assert opened["state"] == {"values": {}}
    assert opened["callback_id"] == "candidate_new"
    assert fake.opened_views()[0]["id"] == opened["id"]

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Step 2"))["view"]
    assert updated["id"] == opened["id"]
    assert fake.view(opened["id"])["title"]["text"] == "Step 2"
    with pytest.raises(SlackApiError) as excinfo:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Stale"))
    assert slack_error(excinfo) == "hash_conflict"
    with pytest.raises(SlackApiError) as excinfo:
        client.views_update(view_id="V404", view=modal())
    assert slack_error(excinfo) == "not_found"

    pushed = client.views_push(trigger_id="12345.98765.abcdef0123", view=modal("Details"))["view"]
    assert pushed["root_view_id"] == opened["id"]
    assert pushed["previous_view_id"] == opened["id"]

    external = client.views_open(trigger_id=fake.new_trigger_id(), view=modal(external_id="cand-1"))["view"]
    client.views_update(external_id="cand-1", view=modal("By external id", external_id="cand-1"))
    assert fake.view(external["id"])["title"]["text"] == "By external id"


def test_view_trigger_rules(client: WebClient, fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id="not-a-trigger", view=modal())
    assert slack_error(excinfo) == "invalid_trigger_id"

    trigger = fake.new_trigger_id()
    fake.expired_trigger(trigger)
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=trigger, view=modal())
    assert slack_error(excinfo) == "expired_trigger_id"

    trigger = fake.new_trigger_id()
    client.views_open(trigger_id=trigger, view=modal())
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=trigger, view=modal())
    assert slack_error(excinfo) == "exchanged_trigger_id"


@pytest.mark.parametrize(
    ("view", "needle"),
    [
        (modal("t" * 30), "/view/title/text"),
        (modal(blocks=[section(str(i)) for i in range(101)]), "100 items or fewer"),
        (modal(private_metadata="m" * 3001), "/view/private_metadata"),
        ({**modal(), "type": "home"}, "/view/type"),
        (
            {
                **modal(),
                "submit": None,
                "blocks": [
                    {
                        "type": "input",
                        "block_id": "name",
                        "label": {"type": "plain_text", "text": "Name"},
                        "element": {"type": "plain_text_input", "action_id": "v"},
                    }
                ],
            },
            "/view/submit",
        ),
    ],
)
def test_invalid_views_are_refused(client: WebClient, fake: FakeSlack, view: dict[str, Any], needle: str) -> None:
    view = {k: v for k, v in view.items() if v is not None}
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=fake.new_trigger_id(), view=view)
    assert slack_error(excinfo) == "invalid_arguments"
    messages = excinfo.value.response["response_metadata"]["messages"]
    assert any(needle in m for m in messages), messages


def test_views_publish_home(client: WebClient, fake: FakeSlack) -> None:
    home = {"type": "home", "blocks": [section("Your pipeline")]}
    first = client.views_publish(user_id="U100", view=home)["view"]
    again = client.views_publish(user_id="U100", view=home, hash=first["hash"])["view"]
    assert again["id"] == first["id"]
    assert fake.home_view("U100")["blocks"] == home["blocks"]  # type: ignore[index]
    assert fake.home_view("U200") is None
    with pytest.raises(SlackApiError) as excinfo:
        client.views_publish(user_id="U100", view=modal())
    assert slack_error(excinfo) == "invalid_arguments"


# ---------------------------------------------------------------------- failure injection


def test_rate_limit_is_honoured_by_retry_handler(
    client: WebClient, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    # Record the handler's back-off instead of sleeping it, so the test stays fast.
    monkeypatch.setattr(builtin_handlers, "time", types.SimpleNamespace(sleep=slept.append))
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    fake.fail_next("chat.postMessage", status=429, retry_after=1)

    resp = client.chat_postMessage(channel="C0RECRUIT", text="eventually")

    assert resp["ok"] is True
    calls = fake.calls_to("chat.postMessage")
    assert [(c.status, c.error) for c in calls] == [(429, "ratelimited"), (200, None)]
    assert len(slept) == 1 and slept[0] >= 1


def test_rate_limit_answer_shape(fake: FakeSlack) -> None:
    fake.fail_next("auth.test", status=429, retry_after=7)
    resp = httpx.post(fake.base_url + "auth.test", headers={"Authorization": "Bearer xoxb-test"}, verify=False)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "7"
    assert resp.json() == {"ok": False, "error": "ratelimited"}


def test_fail_next_server_errors_and_api_errors(client: WebClient, fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=503, error="service_unavailable")
    fake.fail_next("chat.postMessage", error="fatal_error", times=2)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C0RECRUIT", text="x")
    assert excinfo.value.response.status_code == 503
    for _ in range(2):
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel="C0RECRUIT", text="x")
        assert excinfo.value.response.status_code == 200
        assert slack_error(excinfo) == "fatal_error"
    assert client.chat_postMessage(channel="C0RECRUIT", text="x")["ok"] is True


def test_go_down_refuses_connections_then_comes_back(client: WebClient, fake: FakeSlack) -> None:
    # The default ConnectionErrorRetryHandler would wait ~1 s before its retry.
    client.retry_handlers.clear()
    base_url = fake.base_url
    fake.go_down()
    with pytest.raises(OSError):
        client.auth_test()
    fake.come_back()
    assert fake.base_url == base_url
    assert client.auth_test()["ok"] is True


# ---------------------------------------------------------------------- recording helpers


def test_wait_for_sees_calls_from_other_threads_and_times_out_helpfully(client: WebClient, fake: FakeSlack) -> None:
    timer = threading.Timer(0.05, lambda: client.chat_postMessage(channel="U200", text="later"))
    timer.start()
    call = fake.wait_for("chat.postMessage", lambda c: c.args["text"] == "later", timeout=2)
    timer.join()
    assert call.response["channel"] == "DU200"

    with pytest.raises(AssertionError, match=r"chat\.postMessage ok"):
        fake.wait_for("views.open", timeout=0.05)
    fake.assert_no_call("views.open", within=0.01)
    with pytest.raises(AssertionError, match=r"expected no chat\.postMessage"):
        fake.assert_no_call("chat.postMessage", within=0.01)
    fake.clear()
    assert fake.calls == []


def test_response_url_posts_are_recorded(fake: FakeSlack) -> None:
    url = fake.response_url()
    resp = httpx.post(url, json={"text": "done", "response_type": "ephemeral"}, verify=False)
    assert resp.status_code == 200
    call = fake.wait_for("response_url", timeout=1)
    assert call.args == {"text": "done", "response_type": "ephemeral"}
    assert call.path == url.removeprefix(fake.root_url)


# ---------------------------------------------------------------------- blockkit_limits (pure)


def test_limits_accept_a_realistic_message_and_modal() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Ada Lovelace"}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": "*Stage*\nOnsite"}],
            "accessory": button("Open", "open", value="cand-1"),
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "added by <@U100>"}]},
        {
            "type": "actions",
            "elements": [
                button("Advance", "advance", style="primary"),
                {
                    "type": "static_select",
                    "action_id": "stage",
                    "options": [
                        {"text": {"type": "plain_text", "text": "Screen"}, "value": "screen"},
                        {"text": {"type": "plain_text", "text": "Onsite"}, "value": "onsite"},
                    ],
                    "initial_option": {"text": {"type": "plain_text", "text": "Onsite"}, "value": "onsite"},
                },
            ],
        },
    ]
    assert blockkit_limits.check_blocks(blocks) == []
    view = modal(
        blocks=[
            *blocks,
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "n", "max_length": 3000},
            },
        ]
    )
    assert blockkit_limits.check_view(view, expected_type="modal") == []


@pytest.mark.parametrize(
    ("block", "pointer"),
    [
        ({"type": "actions", "elements": [button("ok", value="v" * 2001)]}, "/b/0/elements/0/value"),
        ({"type": "actions", "elements": [button("ok", action_id="a" * 256)]}, "/b/0/elements/0/action_id"),
        (
            {"type": "actions", "elements": [button("ok", url="https://x/" + "u" * 3000)]},
            "/b/0/elements/0/url",
        ),
        ({"type": "actions", "elements": [button(str(i), f"a{i}") for i in range(26)]}, "/b/0/elements"),
        ({"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}, "/b/0/elements"),
        ({**section("s"), "block_id": "b" * 256}, "/b/0/block_id"),
        (section("s" * 3001), "/b/0/text/text"),
        ({"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}, "/b/0/fields/0/text"),
        (
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "pick"},
                "accessory": {
                    "type": "static_select",
                    "action_id": "s",
                    "options": [{"text": {"type": "plain_text", "text": str(i)}, "value": str(i)} for i in range(101)],
                },
            },
            "/b/0/accessory/options",
        ),
        (
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "l"},
                "element": {
                    "type": "static_select",
                    "action_id": "s",
                    "options": [{"text": {"type": "plain_text", "text": "o" * 76}, "value": "v" * 151}],
                },
            },
            "/b/0/element/options/0/text/text /b/0/element/options/0/value",
        ),
        (
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "l" * 2001},
                "hint": {"type": "plain_text", "text": "h" * 2001},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "p",
                    "max_length": 3001,
                    "placeholder": {"type": "plain_text", "text": "p" * 151},
                },
            },
            "/b/0/element/max_length /b/0/label/text /b/0/hint/text /b/0/element/placeholder/text",
        ),
    ],
)
def test_limits_report_each_violation_with_a_pointer(block: dict[str, Any], pointer: str) -> None:
    violations = blockkit_limits.check_blocks([block], pointer="/b")
    assert set(pointer.split()) <= {v.pointer for v in violations}, violations


def test_limits_for_views() -> None:
    long_view = modal(
        "t" * 25,
        submit={"type": "plain_text", "text": "s" * 25},
        close={"type": "plain_text", "text": "c" * 25},
        callback_id="c" * 256,
    )
    pointers = {v.pointer for v in blockkit_limits.check_view(long_view)}
    assert {"/view/title/text", "/view/submit/text", "/view/close/text", "/view/callback_id"} <= pointers
    home = {"type": "home", "blocks": [section(str(i)) for i in range(100)]}
    assert blockkit_limits.check_view(home, expected_type="home") == []
    assert blockkit_limits.check_view(home, expected_type="modal")[0].pointer == "/view/type"
    assert blockkit_limits.check_message_text("x" * 40_000) == []
    assert blockkit_limits.check_message_text("x" * 40_001)
