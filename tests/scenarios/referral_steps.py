"""Steps shared by the referral scenarios: open the modal as someone, fill it in, submit it."""

from __future__ import annotations

from typing import Any

from tests.harness import FakeSlack, SignedSlackClient, checkboxes, email_text, plain_text, static_select, url_text


def referral_form(**overrides: Any) -> dict[str, Any]:
    """Modal state as Slack sends it; override a field with e.g. email=email_text("x")."""
    fields: dict[str, Any] = {
        "candidate_name": plain_text("Jane Doe"),
        "email": email_text("jane@example.com"),
        "phone": plain_text("030 1234567"),
        "profile_url": url_text("https://linkedin.com/in/janedoe"),
        "position": static_select("general"),
        "relationship": static_select("Former colleague"),
        "note": plain_text("Built our payments platform with me."),
        "consent": checkboxes("confirmed"),
    }
    fields.update(overrides)
    return {block_id: {"value": value} for block_id, value in fields.items()}


def open_referral_modal(signed: SignedSlackClient, slack: FakeSlack, user_id: str, text: str = "") -> dict[str, Any]:
    before = len(slack.calls_to("views.open"))
    response = signed.slash_command(user_id, "/refer", text)
    assert response.status_code == 200
    slack.wait_for("views.open", lambda call: len(slack.calls_to("views.open")) > before)
    return slack.calls_to("views.open")[-1].response["view"]


def refer(signed: SignedSlackClient, slack: FakeSlack, user_id: str, **fields: Any) -> Any:
    view = open_referral_modal(signed, slack, user_id)
    return signed.view_submission(user_id, view, referral_form(**fields))
