"""Test harness for talentbot: a fake Slack Web API and a Slack-signing client.

Typical conftest use::

    from tests.harness import start_fake_slack

    @pytest.fixture
    def fake_slack():
        with start_fake_slack() as fake:
            yield fake
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .blockkit_limits import Violation, check_blocks, check_message_text, check_view
from .fake_slack import BOT_ID, BOT_USER_ID, Call, FakeChannel, FakeSlack, FakeUser, SlackError
from .signed_client import (
    API_APP_ID,
    AppServer,
    SignedSlackClient,
    build_state_values,
    checkboxes,
    conversations_select,
    datepicker,
    email_text,
    multi_static_select,
    multi_users_select,
    number_text,
    plain_text,
    radio,
    static_select,
    timepicker,
    url_text,
    users_select,
)

__all__ = [
    "API_APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "AppServer",
    "Call",
    "FakeChannel",
    "FakeSlack",
    "FakeUser",
    "SignedSlackClient",
    "SlackError",
    "Violation",
    "build_state_values",
    "check_blocks",
    "check_message_text",
    "check_view",
    "checkboxes",
    "conversations_select",
    "datepicker",
    "email_text",
    "multi_static_select",
    "multi_users_select",
    "number_text",
    "plain_text",
    "radio",
    "start_fake_slack",
    "static_select",
    "timepicker",
    "url_text",
    "users_select",
]


def start_fake_slack(
    tokens: tuple[str, ...] = ("xoxb-test",), spec_path: str | Path | None = None, **kwargs: Any
) -> FakeSlack:
    """A started FakeSlack; use it as a context manager (or call .stop()) to shut it down."""
    fake = FakeSlack(tokens=tokens, spec_path=spec_path, **kwargs)
    fake.start()
    return fake
