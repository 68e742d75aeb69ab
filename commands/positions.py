"""/position: create and edit positions in a modal, the list with each position's menu, closing them as won or
lost, and (agency mode) recording client-submission consent and submitting candidates to the client.

Modal submissions look up the person's roles and store before the ack, so mistakes come back inline and a refusal
replaces the modal with an explanation; notifications are queued in the same transaction and sent after the ack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.access import AccessDenied, Actor
from bot.deps import Deps
from bot.outbox import queue_slack_call
from bot.services.candidates import NotFound
from bot.services.positions import (
    LIST_PAGE_SIZE,
    CloseOutcome,
    PositionInvalid,
    close_position,
    create_position,
    position_candidates,
    position_for_edit,
    positions_matching,
    positions_visible_to,
    record_client_submission_consent,
    reopen_position,
    require_position_manager,
    submit_to_client,
    update_position,
)
from commands.errors import explain_refusal
from commands.position_views import (
    ACTION_POSITION_LIST_MORE,
    ACTION_POSITION_MENU,
    CALLBACK_CLIENT_CONSENT,
    CALLBACK_CLIENT_SUBMIT,
    CALLBACK_POSITION_CREATE,
    CALLBACK_POSITION_EDIT,
    CALLBACK_POSITION_LOST,
    CALLBACK_POSITION_WON,
    MENU_CLOSE,
    MENU_CONSENT,
    MENU_EDIT,
    MENU_LOST,
    MENU_REOPEN,
    MENU_SUBMIT,
    MENU_WON,
    build_announcement,
    build_change_notice,
    build_client_consent_modal,
    build_client_submit_modal,
    build_consent_notice,
    build_hiring_manager_dm,
    build_lost_modal,
    build_notice_modal,
    build_position_list,
    build_position_matches,
    build_position_modal,
    build_submitted_notice,
    build_usage,
    build_won_modal,
    fit_errors,
    read_consent_form,
    read_lost_note,
    read_metadata,
    read_position_form,
    read_submitted_application,
    read_won_form,
)
from storage.models import Position

logger = logging.getLogger(__name__)

LIST_WORDS = {"list", "ls", "all", "mine", "status"}
CREATE_WORDS = {"", "new", "create", "add"}
EDIT_WORDS = {"edit", "change"}
HELP_WORDS = {"help", "?"}


def queue_new_position_notices(session: Session, position: Position, *, created_by: str, deps: Deps,
                               now: datetime) -> list[int]:
    """The recruiting channel hears about a new position; its hiring manager is told they are one."""
    ids = [queue_slack_call(
        session, method="chat.postMessage", now=now, dedupe_key=f"position:{position.id}:announced",
        payload={"channel": deps.config.recruiting_channel, "unfurl_links": False,
                 **build_announcement(position, created_by=created_by)},
    ).id or 0]
    manager = position.hiring_manager_slack_id
    if manager and manager != created_by:
        ids.append(queue_slack_call(
            session, method="chat.postMessage", now=now, dedupe_key=f"position:{position.id}:manager:{manager}",
            payload={"channel": manager, **build_hiring_manager_dm(position, assigned_by=created_by)},
        ).id or 0)
    return ids


def _refusal_view(error: Exception) -> dict[str, Any]:
    return build_notice_modal("Positions", explain_refusal(error) or str(error))


@contextmanager
def refusals_answered(respond: Respond) -> Iterator[None]:
    """Answer a refusal here instead of raising it to the global error handler.

    slack_bolt 1.30's thread runner sets `ack.response` back to None when a listener raises after acking;
    a refusal raised within the runner's 10 ms polling window then reads as "didn't call ack()" and Slack
    shows the person an error on top of our explanation. The words are the global handler's own.
    """
    try:
        yield
    except (AccessDenied, NotFound) as refused:
        respond(text=explain_refusal(refused) or str(refused), response_type="ephemeral", replace_original=False)


def register(app: App, deps: Deps) -> None:
    def actor_of(user_id: str) -> Actor:
        return deps.roles.actor(user_id)

    # --- the command -------------------------------------------------------------------------------

    @app.command("/position")
    def position_command(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        text = " ".join((command.get("text") or "").split())
        verb, _, rest = text.partition(" ")
        verb = verb.casefold()
        actor = actor_of(command["user_id"])
        with refusals_answered(respond):
            if verb in LIST_WORDS or (verb == "" and not actor.sees_pipeline):
                show_list(respond, actor, offset=0, replace=False)
            elif verb in CREATE_WORDS:
                require_position_manager(actor)
                client.views_open(trigger_id=command["trigger_id"], view=build_position_modal())
            elif verb in EDIT_WORDS and rest:
                open_edit_by_reference(client, respond, actor, rest, trigger_id=command["trigger_id"])
            else:
                respond(text="How to use /position", blocks=build_usage(can_manage=actor.sees_pipeline),
                        response_type="ephemeral")

    def show_list(respond: Respond, actor: Actor, *, offset: int, replace: bool) -> None:
        with deps.db.read() as session:
            page = positions_visible_to(session, actor=actor, limit=LIST_PAGE_SIZE, offset=offset)
        respond(text="Positions", blocks=build_position_list(page), response_type="ephemeral",
                replace_original=replace)

    def open_edit_by_reference(client: WebClient, respond: Respond, actor: Actor, reference: str, *,
                               trigger_id: str) -> None:
        with deps.db.read() as session:
            matches = positions_matching(session, actor=actor, reference=reference)
        if len(matches) == 1:
            client.views_open(trigger_id=trigger_id, view=build_position_modal(matches[0]))
        else:
            respond(text="Which position?", blocks=build_position_matches(reference, matches),
                    response_type="ephemeral")

    @app.action(ACTION_POSITION_LIST_MORE)
    def more_positions(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        with refusals_answered(respond):
            show_list(respond, actor_of(body["user"]["id"]), offset=int(action["value"]), replace=True)

    # --- each position's menu ----------------------------------------------------------------------

    def open_edit(actor: Actor, position_id: int, client: WebClient, trigger_id: str, respond: Respond) -> None:
        with deps.db.read() as session:
            position = position_for_edit(session, actor=actor, position_id=position_id)
        client.views_open(trigger_id=trigger_id, view=build_position_modal(position))

    def open_won(actor: Actor, position_id: int, client: WebClient, trigger_id: str, respond: Respond) -> None:
        with deps.db.read() as session:
            choices = position_candidates(session, actor=actor, position_id=position_id)
        client.views_open(trigger_id=trigger_id, view=build_won_modal(choices))

    def open_lost(actor: Actor, position_id: int, client: WebClient, trigger_id: str, respond: Respond) -> None:
        with deps.db.read() as session:
            position = position_for_edit(session, actor=actor, position_id=position_id)
        client.views_open(trigger_id=trigger_id, view=build_lost_modal(position))

    def open_submit(actor: Actor, position_id: int, client: WebClient, trigger_id: str, respond: Respond) -> None:
        with deps.db.read() as session:
            choices = position_candidates(session, actor=actor, position_id=position_id, open_only=True)
        client.views_open(trigger_id=trigger_id, view=build_client_submit_modal(choices))

    def open_consent(actor: Actor, position_id: int, client: WebClient, trigger_id: str, respond: Respond) -> None:
        with deps.db.read() as session:
            choices = position_candidates(session, actor=actor, position_id=position_id)
        client.views_open(trigger_id=trigger_id, view=build_client_consent_modal(choices))

    def close_in_house(actor: Actor, position_id: int, client: WebClient, trigger_id: str, respond: Respond) -> None:
        with deps.db.transaction() as session:
            change = close_position(session, actor=actor, position_id=position_id, outcome=CloseOutcome.CLOSED,
                                    now=deps.clock())
        respond(text=build_change_notice(change), response_type="ephemeral", replace_original=False)

    def reopen(actor: Actor, position_id: int, client: WebClient, trigger_id: str, respond: Respond) -> None:
        with deps.db.transaction() as session:
            change = reopen_position(session, actor=actor, position_id=position_id, now=deps.clock())
        respond(text=build_change_notice(change), response_type="ephemeral", replace_original=False)

    menu: dict[str, Callable[[Actor, int, WebClient, str, Respond], None]] = {
        MENU_EDIT: open_edit, MENU_WON: open_won, MENU_LOST: open_lost, MENU_SUBMIT: open_submit,
        MENU_CONSENT: open_consent, MENU_CLOSE: close_in_house, MENU_REOPEN: reopen,
    }

    @app.action(ACTION_POSITION_MENU)
    def position_menu(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient,
                      respond: Respond) -> None:
        ack()
        # An overflow sends the chosen option; an Edit button (title search) sends its value.
        chosen = (action.get("selected_option") or {}).get("value") or action.get("value") or ""
        verb, _, position_id = chosen.partition(":")
        handler = menu.get(verb)
        if handler is None or not position_id.isdigit():
            logger.warning("unknown position menu choice %r", chosen)
            return
        try:
            with refusals_answered(respond):
                handler(actor_of(body["user"]["id"]), int(position_id), client, body["trigger_id"], respond)
        except PositionInvalid as invalid:
            # Closing or reopening straight from the menu has no form to show errors in.
            respond(text=" ".join(invalid.errors.values()), response_type="ephemeral", replace_original=False)

    # --- modal submissions: validated and stored before the ack ------------------------------------

    @app.view(CALLBACK_POSITION_CREATE)
    def submit_new_position(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        form = read_position_form(view["state"]["values"])
        now = deps.clock()
        try:
            with deps.db.transaction() as session:
                position = create_position(
                    session, actor=actor_of(user_id), now=now, submission_key=view["id"],
                    title=form.draft.title, hiring_manager_slack_id=form.draft.hiring_manager_slack_id,
                    location=form.draft.location, required_skills=form.draft.required_skills,
                    client_company=form.draft.client_company, fee_amount=form.draft.fee_amount,
                    fee_currency=form.draft.fee_currency,
                )
                # A repeated submission returns the same position; the dedupe keys make its notices no-ops.
                outbox_ids = queue_new_position_notices(session, position, created_by=user_id, deps=deps, now=now)
        except PositionInvalid as invalid:
            ack(response_action="errors", errors=fit_errors(invalid.errors, view))
            return
        except AccessDenied as refused:
            ack(response_action="update", view=_refusal_view(refused))
            return
        ack()
        deps.outbox.deliver(outbox_ids)

    @app.view(CALLBACK_POSITION_EDIT)
    def submit_position_edit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        form = read_position_form(view["state"]["values"])
        metadata = read_metadata(view)
        seen = datetime.fromisoformat(metadata["seen"]) if metadata.get("seen") else None
        now = deps.clock()
        outbox_ids: list[int] = []
        try:
            with deps.db.transaction() as session:
                change = update_position(
                    session, actor=actor_of(user_id), position_id=int(metadata["position_id"]), now=now,
                    title=form.draft.title, hiring_manager_slack_id=form.draft.hiring_manager_slack_id,
                    location=form.draft.location, required_skills=form.draft.required_skills,
                    client_company=form.draft.client_company, fee_amount=form.draft.fee_amount,
                    fee_currency=form.draft.fee_currency, status=form.status, seen_updated_at=seen,
                )
                manager = change.position.hiring_manager_slack_id
                if "hiring_manager_slack_id" in change.changed and manager and manager != user_id:
                    outbox_ids.append(queue_slack_call(
                        session, method="chat.postMessage", now=now,
                        dedupe_key=f"position:{change.position.id}:manager:{manager}:{now.isoformat()}",
                        payload={"channel": manager,
                                 **build_hiring_manager_dm(change.position, assigned_by=user_id)},
                    ).id or 0)
        except PositionInvalid as invalid:
            ack(response_action="errors", errors=fit_errors(invalid.errors, view))
            return
        except (AccessDenied, NotFound) as refused:
            ack(response_action="update", view=_refusal_view(refused))
            return
        ack()
        deps.outbox.deliver(outbox_ids)

    def submit_close(ack: Ack, body: dict[str, Any], view: dict[str, Any], *, outcome: CloseOutcome) -> None:
        values = view["state"]["values"]
        won = read_won_form(values) if outcome == CloseOutcome.WON else None
        try:
            with deps.db.transaction() as session:
                close_position(
                    session, actor=actor_of(body["user"]["id"]), position_id=int(read_metadata(view)["position_id"]),
                    outcome=outcome, now=deps.clock(),
                    placed_candidate_id=won.placed_candidate_id if won else None,
                    fee_amount=won.fee_amount if won else None, fee_currency=won.fee_currency if won else None,
                    note=read_lost_note(values) if won is None else None,
                )
        except PositionInvalid as invalid:
            ack(response_action="errors", errors=fit_errors(invalid.errors, view))
            return
        except (AccessDenied, NotFound) as refused:
            ack(response_action="update", view=_refusal_view(refused))
            return
        ack()

    @app.view(CALLBACK_POSITION_WON)
    def submit_won(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        submit_close(ack, body, view, outcome=CloseOutcome.WON)

    @app.view(CALLBACK_POSITION_LOST)
    def submit_lost(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        submit_close(ack, body, view, outcome=CloseOutcome.LOST)

    @app.view(CALLBACK_CLIENT_SUBMIT)
    def submit_candidate_to_client(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        application_id = read_submitted_application(view["state"]["values"])
        if application_id is None:
            ack(response_action="errors", errors={"application": "Choose the candidate to submit."})
            return
        try:
            with deps.db.transaction() as session:
                submission = submit_to_client(session, actor=actor_of(body["user"]["id"]),
                                              application_id=application_id, now=deps.clock())
        except AccessDenied as refused:
            # Chiefly a missing, expired or withdrawn consent: shown under the candidate, who can be changed.
            ack(response_action="errors", errors={"application": str(refused)})
            return
        except NotFound as missing:
            ack(response_action="update", view=_refusal_view(missing))
            return
        ack(response_action="update", view=build_submitted_notice(submission))

    @app.view(CALLBACK_CLIENT_CONSENT)
    def submit_client_consent(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        form = read_consent_form(view["state"]["values"])
        if form.candidate_id is None or form.action is None:
            missing = {"candidate": "Choose the candidate."} if form.candidate_id is None else {}
            if form.action is None:
                missing["consent_action"] = "Choose whether they agreed or withdrew."
            ack(response_action="errors", errors=missing)
            return
        try:
            with deps.db.transaction() as session:
                consent = record_client_submission_consent(
                    session, actor=actor_of(body["user"]["id"]), candidate_id=form.candidate_id,
                    evidence=form.evidence, now=deps.clock(), action=form.action, expires_at=form.expires_at,
                    position_id=read_metadata(view).get("position_id"),
                )
        except PositionInvalid as invalid:
            ack(response_action="errors", errors=fit_errors(invalid.errors, view))
            return
        except (AccessDenied, NotFound) as refused:
            ack(response_action="update", view=_refusal_view(refused))
            return
        ack(response_action="update", view=build_consent_notice(consent, candidate_name=form.candidate_name))
