"""Block Kit builders as data: valid for slack_sdk's models and within Slack's limits, whatever the input."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.services.referrals import ReferralDraft, ReferralOutcome, ReferralStatusItem, ReferralStatusPage
from bot.workspace import ReferralBonus
from commands.home_views import build_home
from commands.referral_views import (
    build_channel_post,
    build_confirmation_dm,
    build_referral_modal,
    build_status_blocks,
    prefill_from_command_text,
)
from storage.models import OutboxMessage, Position
from tests.harness import check_blocks, check_message_text, check_view

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def _valid_view(view: dict) -> None:  # type: ignore[type-arg]
    View(**view).validate_json()
    assert check_view(view) == []


def _valid_message(payload: dict) -> None:  # type: ignore[type-arg]
    for block in Block.parse_all(payload["blocks"]):
        block.validate_json()
    assert check_blocks(payload["blocks"]) == [] and check_message_text(payload["text"]) == []


def _outcome(**overrides: object) -> ReferralOutcome:
    fields: dict[str, object] = dict(
        referral_id=1, referral_code="R-ABC234", referrer_slack_id="UEMPLOY01", candidate_id=7,
        candidate_name="Jane <Doe> & Co", position_id=3, position_title="Backend Engineer",
        relationship="Friend", note="n" * 2000, candidate_was_known=False, attributed=True, contact_blocked=False,
        owner_slack_id=None)
    fields.update(overrides)
    return ReferralOutcome(**fields)  # type: ignore[arg-type]


def test_referral_modal_is_valid_with_long_titles_and_prefill() -> None:
    positions = [Position(id=i, title=f"Senior Staff Principal Engineer, Platform Reliability {i}" * 2,
                          location="Berlin, Germany", created_at=NOW, updated_at=NOW) for i in range(99)]
    view = build_referral_modal(positions, search_positions=False, company_name="Acme",
                                prefill=ReferralDraft(candidate_name="J" * 500, email="jane@example.com"))
    _valid_view(view)
    select = next(b for b in view["blocks"] if b.get("block_id") == "position")["element"]
    assert select["type"] == "static_select" and len(select["options"]) == 100


def test_many_positions_switch_to_a_searchable_select() -> None:
    view = build_referral_modal([], search_positions=True, company_name="Acme", prefill=ReferralDraft())
    _valid_view(view)
    select = next(b for b in view["blocks"] if b.get("block_id") == "position")["element"]
    assert select["type"] == "external_select"


def test_messages_escape_user_text_and_stay_within_limits() -> None:
    for outcome in (_outcome(), _outcome(candidate_was_known=True, attributed=False, position_title=None)):
        dm = build_confirmation_dm(outcome, ReferralBonus())
        post = build_channel_post(outcome, owner_slack_id=None)
        _valid_message(dm)
        _valid_message(post)
        assert "Jane &lt;Doe&gt; &amp; Co" in post["text"] and "<Doe>" not in str(post)


def test_status_list_pages_with_more_button() -> None:
    items = [ReferralStatusItem(code=f"R-{n}", candidate_name=f"P{n}", position_title=None,
                                status_label="In process", created_at=NOW, attributed=True) for n in range(10)]
    blocks = build_status_blocks(ReferralStatusPage(items=items, total=25, offset=0))
    assert blocks[-1]["elements"][0]["value"] == "10"
    home = build_home(referrals=ReferralStatusPage(items=items, total=25, offset=0),
                      failed_deliveries=[OutboxMessage(id=n, method="chat.postMessage", payload={"channel": "C1"},
                                                       dedupe_key=str(n), attempts=10, last_error="x" * 400,
                                                       created_at=NOW) for n in range(50)],
                      failed_total=50)
    _valid_view(home)


def test_prefill_understands_the_pieces_of_a_command() -> None:
    parsed = prefill_from_command_text("Jane van der Berg +49 30 1234567 <https://github.com/jb|github.com/jb> "
                                       "jane@example.com")
    assert parsed.candidate_name == "Jane van der Berg"
    assert parsed.phone == "+49 30 1234567"
    assert parsed.email == "jane@example.com"
    assert parsed.profile_url is not None and parsed.profile_url.endswith("github.com/jb")
