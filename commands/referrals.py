"""/refer: the referral modal, its submission, `/refer status`, and the buttons on the recruiting post."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.access import Actor, Role
from bot.deps import Deps
from bot.inbox import Job, acks_inline, inbox_of
from bot.outbox import queue_slack_call
from bot.services.referrals import (
    ReferralInvalid,
    ReferralOutcome,
    my_referrals,
    submit_referral,
    validate_referral,
)
from bot.templates import render
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
JOB_REFER_COMMAND = "referral.command"
JOB_REFERRAL_SUBMISSION = "referral.submission"
# What the inbox keeps of a slash command: enough to open the modal or answer, nothing more.
COMMAND_FIELDS = ("user_id", "channel_id", "text", "trigger_id", "response_url")
# Slack accepts a trigger_id for views.open within 3 s of the command.
TRIGGER_LIFETIME = timedelta(seconds=3)


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


def store_referral(deps: Deps, *, user_id: str, state_values: dict[str, Any], view_id: str,
                   finish: Callable[[Session], None] = lambda _: None) -> list[int]:
    """Validate and store; returns the outbox messages to deliver. `finish` runs in the storing
    transaction (the inbox marks its job done there). Raises ReferralInvalid."""
    referral = validate_referral(read_referral_form(state_values),
                                 default_region=deps.config.default_phone_region)
    # Anyone in the workspace may refer; no role lookup (and no Slack call) is needed.
    actor = Actor(user_id=user_id, roles=frozenset({Role.EMPLOYEE}))
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            with deps.db.transaction() as session:
                outcome = submit_referral(session, actor=actor, referral=referral, config=deps.config,
                                          now=deps.clock(), submission_key=view_id)
                finish(session)
                if outcome.repeated_submission:
                    return []
                return queue_referral_notifications(session, outcome, deps)
        except IntegrityError:
            if attempt == STORE_ATTEMPTS:
                raise
            logger.info("referral collided with a concurrent one; trying again (%s)", attempt)
    return []


def queue_not_stored_notice(deps: Deps, *, user_id: str, view_id: str, candidate_name: str,
                            errors: dict[str, str], finish: Callable[[Session], None]) -> list[int]:
    """The referral passed the inline checks but not the ones that need the database (the position
    closed since the modal opened): the referrer hears it by DM, since the modal is gone by now."""
    text = render("referrals/not_stored.md.j2", candidate_name=candidate_name, errors=errors)
    with deps.db.transaction() as session:
        notice = queue_slack_call(session, method="chat.postMessage", now=deps.clock(),
                                  dedupe_key=f"referral:{view_id}:not-stored",
                                  payload={"channel": user_id, "text": text})
        finish(session)
    return [notice.id or 0]


def register(app: App, deps: Deps) -> None:
    inbox = inbox_of(app)

    def open_modal_or_status(job: Job) -> None:
        command = job.payload
        respond = Respond(response_url=command["response_url"])
        text = (command.get("text") or "").strip()
        if text.casefold() in STATUS_WORDS:
            show_status(respond, command["user_id"], offset=0, replace=False)
            return
        if deps.clock() - job.received_at > TRIGGER_LIFETIME:
            # Slack refuses an expired trigger; say so rather than leave the person waiting for a modal.
            respond(text=render("referrals/modal_expired.md.j2"), response_type="ephemeral")
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
        try:
            deps.slack.views_open(trigger_id=command["trigger_id"], view=view)
        except SlackApiError as error:
            if error.response.get("error") not in ("expired_trigger_id", "exchanged_trigger_id"):
                raise
            respond(text=render("referrals/modal_expired.md.j2"), response_type="ephemeral")

    def store_submission(job: Job) -> None:
        submission = job.payload

        def finish(session: Session) -> None:
            inbox.finish(session, job)

        try:
            outbox_ids = store_referral(deps, user_id=submission["user_id"], state_values=submission["values"],
                                        view_id=submission["view_id"], finish=finish)
        except ReferralInvalid as refused:
            draft = read_referral_form(submission["values"])
            outbox_ids = queue_not_stored_notice(deps, user_id=submission["user_id"], view_id=submission["view_id"],
                                                 candidate_name=draft.candidate_name or "", errors=refused.errors,
                                                 finish=finish)
        deps.outbox.deliver(outbox_ids)

    # The trigger expires 3 s after the command: the modal must not wait long for a quiet moment.
    inbox.handle(JOB_REFER_COMMAND, open_modal_or_status, defer_up_to=timedelta(seconds=1))
    inbox.handle(JOB_REFERRAL_SUBMISSION, store_submission, defer_up_to=timedelta(seconds=2))

    @app.command("/refer")
    @acks_inline
    def accept_refer_command(ack: Ack, command: dict[str, Any]) -> None:
        # The modal opens from the inbox: the trigger is good for 3 s, the pool starts it at once.
        inbox.accept(JOB_REFER_COMMAND, f"command:{command['trigger_id']}",
                     {key: command.get(key) for key in COMMAND_FIELDS})
        ack()

    @app.options(ACTION_POSITION_SEARCH)
    def search_positions(ack: Ack, payload: dict[str, Any]) -> None:
        with deps.db.read() as session:
            positions = queries.open_positions(session, title_contains=payload.get("value") or None,
                                               limit=STATIC_POSITION_OPTIONS)
        ack(options=position_search_options(positions))

    @app.view(CALLBACK_REFERRAL)
    @acks_inline
    def accept_referral_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        # Only the checks that need no database come back inline; storing is the inbox's job, and the
        # view ID makes a double click or a Slack retry the same job.
        try:
            validate_referral(read_referral_form(view["state"]["values"]),
                              default_region=deps.config.default_phone_region)
        except ReferralInvalid as invalid:
            ack(response_action="errors", errors=invalid.errors)
            return
        inbox.accept(JOB_REFERRAL_SUBMISSION, f"view:{view['id']}",
                     {"user_id": body["user"]["id"], "view_id": view["id"], "values": view["state"]["values"]})
        ack()

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
