"""/refer: the referral modal, its submission, `/refer status`, and the buttons on the recruiting post."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.access import Actor, Role
from bot.deps import Deps
from bot.outbox import queue_slack_call
from bot.services.referrals import (
    ReferralInvalid,
    ReferralOutcome,
    my_referrals,
    submit_referral,
    validate_referral,
)
from commands.referral_views import (
    ACTION_POSITION_SEARCH,
    ACTION_STATUS_MORE,
    CALLBACK_REFERRAL,
    STATIC_POSITION_OPTIONS,
    STATUS_PAGE_SIZE,
    build_channel_post,
    build_confirmation_dm,
    build_referral_modal,
    build_status_blocks,
    position_search_options,
    prefill_from_command_text,
    read_referral_form,
)
from storage import queries

logger = logging.getLogger(__name__)

STATUS_WORDS = {"status", "list", "mine", "my referrals"}
# Two people referring the same new person at the same instant collide on the unique email;
# the second attempt then finds the first one's candidate.
STORE_ATTEMPTS = 3


def queue_referral_notifications(session: Session, outcome: ReferralOutcome, deps: Deps) -> list[int]:
    now = deps.clock()
    dm = queue_slack_call(
        session, method="chat.postMessage", now=now, dedupe_key=f"referral:{outcome.referral_code}:referrer-dm",
        payload={"channel": outcome.referrer_slack_id,
                 **build_confirmation_dm(outcome, deps.config.referrals.bonus)},
    )
    post = queue_slack_call(
        session, method="chat.postMessage", now=now, dedupe_key=f"referral:{outcome.referral_code}:channel-post",
        payload={"channel": deps.config.recruiting_channel, "unfurl_links": False,
                 **build_channel_post(outcome, owner_slack_id=outcome.owner_slack_id)},
    )
    return [dm.id or 0, post.id or 0]


def store_referral(deps: Deps, *, user_id: str, state_values: dict[str, Any], view_id: str) -> list[int]:
    """Validate and store; returns the outbox messages to deliver. Raises ReferralInvalid."""
    referral = validate_referral(read_referral_form(state_values),
                                 default_region=deps.config.default_phone_region)
    # Anyone in the workspace may refer; no role lookup (and no Slack call) is needed before the ack.
    actor = Actor(user_id=user_id, roles=frozenset({Role.EMPLOYEE}))
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            with deps.db.transaction() as session:
                outcome = submit_referral(session, actor=actor, referral=referral, config=deps.config,
                                          now=deps.clock(), submission_key=view_id)
                if outcome.repeated_submission:
                    return []
                return queue_referral_notifications(session, outcome, deps)
        except IntegrityError:
            if attempt == STORE_ATTEMPTS:
                raise
            logger.info("referral collided with a concurrent one; trying again (%s)", attempt)
    return []


def register(app: App, deps: Deps) -> None:
    @app.command("/refer")
    def open_referral_modal(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        text = (command.get("text") or "").strip()
        ack()
        if text.casefold() in STATUS_WORDS:
            show_status(respond, command["user_id"], offset=0, replace=False)
            return
        with deps.db.read() as session:
            open_count = queries.count_open_positions(session)
            positions = queries.open_positions(session, limit=STATIC_POSITION_OPTIONS)
        view = build_referral_modal(
            positions,
            search_positions=open_count > STATIC_POSITION_OPTIONS,
            prefill=prefill_from_command_text(text),
            company_name=deps.config.company_name,
        )
        client.views_open(trigger_id=command["trigger_id"], view=view)

    @app.options(ACTION_POSITION_SEARCH)
    def search_positions(ack: Ack, payload: dict[str, Any]) -> None:
        with deps.db.read() as session:
            positions = queries.open_positions(session, title_contains=payload.get("value") or None,
                                               limit=STATIC_POSITION_OPTIONS)
        ack(options=position_search_options(positions))

    @app.view(CALLBACK_REFERRAL)
    def submit_referral_modal(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            outbox_ids = store_referral(deps, user_id=body["user"]["id"], state_values=view["state"]["values"],
                                        view_id=view["id"])
        except ReferralInvalid as invalid:
            ack(response_action="errors", errors=invalid.errors)
            return
        ack()
        deps.outbox.deliver(outbox_ids)

    @app.action(ACTION_STATUS_MORE)
    def more_referrals(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        show_status(respond, body["user"]["id"], offset=int(action["value"]), replace=True)

    def show_status(respond: Respond, user_id: str, *, offset: int, replace: bool) -> None:
        actor = Actor(user_id=user_id, roles=frozenset({Role.EMPLOYEE}))
        with deps.db.read() as session:
            page = my_referrals(session, actor=actor, limit=STATUS_PAGE_SIZE, offset=offset)
        blocks = build_status_blocks(page)
        respond(text="Your referrals", blocks=blocks, response_type="ephemeral", replace_original=replace)
