"""The draft message and the Edit modal as data (commands/outreach_views.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.services.outreach import DraftView
from commands.outreach_views import (
    build_draft_message,
    build_edit_modal,
    read_decision_value,
    read_edit_form,
)
from storage.models import OutreachDraft

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def view(**fields: object) -> DraftView:
    draft = OutreachDraft(id=7, candidate_id=1, purpose="intro", source="ai", model="fake-1", subject="Hello",
                          body="Hi Jane,\n\n<@U123> & <!channel> said hi", requested_by_slack_id="URECRUIT1",
                          version=3, created_at=NOW, updated_at=NOW)
    for name, value in fields.items():
        setattr(draft, name, value)
    return DraftView(draft=draft, candidate_name="Jane Doe", position_title="Backend Engineer")


def actions_of(message: dict[str, object]) -> list[dict[str, object]]:
    return [e for b in message["blocks"] for e in b.get("elements", []) if "action_id" in e]  # type: ignore[attr-defined]


def test_a_pending_draft_has_its_four_decisions_for_this_version() -> None:
    message = build_draft_message(view())
    buttons = actions_of(message)
    assert [b["action_id"] for b in buttons] == ["outreach_approve", "outreach_edit", "outreach_regenerate",
                                                 "outreach_reject"]
    assert {b["value"] for b in buttons} == {"7:3"} and read_decision_value("7:3") == (7, 3)
    assert "confirm" in buttons[0] and buttons[0]["style"] == "primary"
    text = json.dumps(message)
    assert "AI draft (fake-1)" in text and "Backend Engineer" in text
    # Text from the model or a person never becomes a mention.
    assert "&lt;@U123&gt; &amp; &lt;!channel&gt;" in text and "<@U123>" not in text


def test_flags_and_template_labels_are_shown() -> None:
    flagged = json.dumps(build_draft_message(view(flags=["invented_placeholder", "lost_candidate_name"])))
    assert "placeholder it was never given" in flagged and "left out the candidate's name" in flagged
    assert "AI is off" in json.dumps(build_draft_message(view(source="template", source_note="ai_off")))
    assert "no AI consent" in json.dumps(build_draft_message(view(source="template", source_note="no_ai_consent")))


def test_a_decided_draft_has_no_buttons_and_says_what_happened() -> None:
    sent = build_draft_message(view(status="sent", decided_by_slack_id="URECRUIT2", reply_to="rita@acme.test"))
    assert actions_of(sent) == []
    assert "Sent to Jane Doe, approved by <@URECRUIT2>; replies go to rita@acme.test" in json.dumps(sent)
    blocked = build_draft_message(view(status="failed"), blocked_reason="They unsubscribed.")
    assert "Not sent: They unsubscribed." in json.dumps(blocked)


def test_a_long_body_is_split_into_sections_within_slacks_limit() -> None:
    message = build_draft_message(view(body="word " * 1200))
    sections = [b for b in message["blocks"] if b["type"] == "section"]
    # Heading, subject, and the body in three pieces.
    assert len(sections) == 5 and all(len(b["text"]["text"]) <= 3000 for b in sections)


def test_the_edit_modal_round_trips_its_text() -> None:
    modal = build_edit_modal(view())
    assert modal["private_metadata"] == "7:3" and modal["callback_id"] == "outreach_edit_submit"
    inputs = [b for b in modal["blocks"] if b["type"] == "input"]
    assert [i["element"]["initial_value"] for i in inputs] == ["Hello", "Hi Jane,\n\n<@U123> & <!channel> said hi"]
    state = {"outreach_subject": {"subject": {"value": "New"}}, "outreach_body": {"body": {"value": "Text"}}}
    assert read_edit_form(state) == ("New", "Text")
