"""Candidates in Slack: `/candidate`, the candidate card and its actions, the "Add to timeline" message
shortcut, and the buttons on the recruiting post (Assign to me, Open candidate)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.access import AccessDenied, Actor
from bot.deps import Deps
from bot.outbox import queue_slack_call
from bot.services.candidates import (
    MAX_MATCHES,
    NoteInvalid,
    NoteSource,
    NotFound,
    add_note,
    assign_owner,
    candidate_card,
    find_candidates,
    movable_applications,
    require_candidate_access,
    require_candidate_search,
    validate_note,
)
from bot.services.pipeline import StageMove, StageMoveRefused, add_to_position, move_stage
from bot.templates import render
from commands.candidate_views import (
    ACTION_CANDIDATE_SEARCH,
    ACTION_CARD_ADD_POSITION,
    ACTION_CARD_MOVE,
    ACTION_CARD_NOTE,
    ACTION_CARD_OWNER,
    ACTION_CARD_TIMELINE,
    ACTION_MOVE_PICK_APPLICATION,
    ACTION_MOVE_PICK_CANDIDATE,
    CALLBACK_NOTE,
    CALLBACK_TIMELINE_NOTE,
    CANDIDATE_BLOCK,
    NOTE_BLOCK,
    SHORTCUT_ADD_TO_TIMELINE,
    build_candidate_card,
    build_moved,
    build_note_modal,
    build_note_saved,
    build_owned_post,
    build_refusal_modal,
    build_text,
    build_timeline_note_modal,
    build_which_application,
    build_which_one,
    candidate_options,
    parse_candidate_command,
    read_card_metadata,
    read_move_value,
    read_note_metadata,
    read_note_text,
    read_timeline_note_form,
    split_move,
)
from commands.errors import explain_refusal
from commands.notifications import queue_referral_news, queue_stage_move, queue_task_assignments
from commands.nurture import handle_nurture_command
from commands.nurture_views import NURTURE_WORDS
from commands.referral_views import ACTION_ASSIGN_ME, ACTION_OPEN_CANDIDATE

logger = logging.getLogger(__name__)

# Refusals that answer an action taken in a modal or on the Home tab, where there is no ephemeral reply.
REFUSALS = (AccessDenied, NotFound, StageMoveRefused)


@contextmanager
def refusals_shown_in_a_modal(client: WebClient, body: dict[str, Any]) -> Iterator[None]:
    """A refused action on a modal (or the Home tab) explains itself in a small modal on top, where the
    person is looking; the global error handler could only DM them, away from what they clicked."""
    try:
        yield
    except REFUSALS as refusal:
        view = build_refusal_modal(explain_refusal(refusal) or str(refusal))
        if body.get("container", {}).get("type") == "view" and body.get("view", {}).get("type") == "modal":
            client.views_push(trigger_id=body["trigger_id"], view=view)
        else:
            client.views_open(trigger_id=body["trigger_id"], view=view)


def message_permalink(client: WebClient, *, channel: str, message_ts: str) -> str | None:
    try:
        return str(client.chat_getPermalink(channel=channel, message_ts=message_ts)["permalink"])
    except SlackApiError as error:
        # A conversation the bot cannot read (a DM between people): the note keeps the channel and ts.
        logger.info("no permalink for %s/%s: %s", channel, message_ts, error.response.get("error"))
        return None


def move_application(deps: Deps, actor: Actor, *, application_id: int, stage: str) -> StageMove:
    """Move one application and tell the people it concerns (task assignees, the referrer, onboarding)."""
    with deps.db.transaction() as session:
        move = move_stage(session, actor=actor, application_id=application_id, to_stage=stage, config=deps.config,
                          now=deps.clock())
        outbox_ids = queue_stage_move(session, move, deps)
    deps.outbox.deliver(outbox_ids)
    return move


def register(app: App, deps: Deps) -> None:
    def open_card(client: WebClient, *, trigger_id: str, actor: Actor, candidate_id: int) -> None:
        with deps.db.read() as session:
            card = candidate_card(session, actor=actor, candidate_id=candidate_id, config=deps.config,
                                  now=deps.clock())
        client.views_open(trigger_id=trigger_id, view=build_candidate_card(card, now=deps.clock()))

    def redraw_card(client: WebClient, actor: Actor, *, view_id: str, candidate_id: int, offset: int,
                    view_hash: str | None = None) -> None:
        now = deps.clock()
        with deps.db.read() as session:
            card = candidate_card(session, actor=actor, candidate_id=candidate_id, config=deps.config, now=now,
                                  timeline_offset=offset)
        try:
            client.views_update(view_id=view_id, hash=view_hash,
                                view=build_candidate_card(card, now=now, nonce=secrets.token_hex(3)))
        except SlackApiError as error:
            if error.response.get("error") != "hash_conflict":
                raise
            # Another click redrew the card since this one was made (a double click on Older); that one stands.
            logger.info("card %s changed meanwhile; skipping a stale redraw", view_id)

    def redraw_clicked_card(client: WebClient, actor: Actor, body: dict[str, Any]) -> None:
        candidate_id, offset = read_card_metadata(body["view"]["private_metadata"])
        redraw_card(client, actor, view_id=body["view"]["id"], candidate_id=candidate_id, offset=offset)

    def move_candidate(respond: Respond, actor: Actor, *, candidate_id: int, stage: str, replace: bool) -> None:
        with deps.db.read() as session:
            movable = movable_applications(session, actor=actor, candidate_id=candidate_id, config=deps.config,
                                           now=deps.clock())
        if not movable.applications:
            answer = build_text("candidates/no_open_application.md.j2", candidate_name=movable.candidate_name,
                                any_closed=movable.any_closed)
        elif len(movable.applications) > 1:
            answer = build_which_application(movable.candidate_name, movable.applications, stage)
        else:
            answer = build_moved(move_application(deps, actor, application_id=movable.applications[0].application_id,
                                                  stage=stage))
        respond(**answer, response_type="ephemeral", replace_original=replace)

    # --- /candidate ------------------------------------------------------------------------------------

    @app.command("/candidate")
    def candidate_command(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        actor = deps.roles.actor(command["user_id"])
        verb, _, rest = (command.get("text") or "").strip().partition(" ")
        if verb.casefold() in NURTURE_WORDS:
            # `/candidate nurture <sequence> <filters>`: a segment into a sequence (commands/nurture.py).
            handle_nurture_command(deps, actor, rest, respond)
            return
        parsed = parse_candidate_command(command.get("text") or "")
        stages = deps.config.pipeline.names
        stage: str | None = None
        query = parsed.who
        if parsed.verb == "help":
            respond(**build_text("candidates/usage.md.j2", stages=stages), response_type="ephemeral")
            return
        if parsed.verb == "move":
            split = split_move(parsed.rest, stages)
            if split is None:
                respond(**build_text("candidates/unknown_stage.md.j2", text=parsed.rest, stages=stages),
                        response_type="ephemeral")
                return
            query, stage = split
        with deps.db.read() as session:
            matches = find_candidates(session, actor=actor, query=query, limit=MAX_MATCHES + 1)
        if not matches:
            respond(**build_text("candidates/no_match.md.j2", query=query), response_type="ephemeral")
        elif len(matches) > 1:
            respond(**build_which_one(matches[:MAX_MATCHES], query=query, more=len(matches) > MAX_MATCHES,
                                      stage=stage), response_type="ephemeral")
        elif stage is None:
            open_card(client, trigger_id=command["trigger_id"], actor=actor, candidate_id=matches[0].candidate_id)
        else:
            move_candidate(respond, actor, candidate_id=matches[0].candidate_id, stage=stage, replace=False)

    @app.action(ACTION_OPEN_CANDIDATE)
    def open_candidate(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        open_card(client, trigger_id=body["trigger_id"], actor=deps.roles.actor(body["user"]["id"]),
                  candidate_id=int(action["value"]))

    @app.action(ACTION_MOVE_PICK_CANDIDATE)
    def move_picked_candidate(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        candidate_id, stage = read_move_value(action["value"])
        move_candidate(respond, deps.roles.actor(body["user"]["id"]), candidate_id=candidate_id, stage=stage,
                       replace=True)

    @app.action(ACTION_MOVE_PICK_APPLICATION)
    def move_picked_application(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        application_id, stage = read_move_value(action["value"])
        move = move_application(deps, deps.roles.actor(body["user"]["id"]), application_id=application_id,
                                stage=stage)
        respond(**build_moved(move), response_type="ephemeral", replace_original=True)

    # --- the card's actions ----------------------------------------------------------------------------

    @app.action(ACTION_CARD_MOVE)
    def card_move(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        application_id, stage = read_move_value(action["selected_option"]["value"])
        with refusals_shown_in_a_modal(client, body):
            move_application(deps, actor, application_id=application_id, stage=stage)
        # Redrawn either way: after a refusal the select must not keep showing the stage that was refused.
        redraw_clicked_card(client, actor, body)

    @app.action(ACTION_CARD_OWNER)
    def card_owner(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        candidate_id, _ = read_card_metadata(body["view"]["private_metadata"])
        owner = action.get("selected_user")
        if owner:
            with refusals_shown_in_a_modal(client, body), deps.db.transaction() as session:
                # Choosing someone on the card is a deliberate hand-over, so it takes over from the current owner.
                assign_owner(session, actor=actor, candidate_id=candidate_id, owner_slack_id=owner,
                             now=deps.clock(), take_over=True)
        redraw_clicked_card(client, actor, body)

    @app.action(ACTION_CARD_ADD_POSITION)
    def card_add_position(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        candidate_id, _ = read_card_metadata(body["view"]["private_metadata"])
        outbox_ids: list[int] = []
        with refusals_shown_in_a_modal(client, body), deps.db.transaction() as session:
            added = add_to_position(session, actor=actor, candidate_id=candidate_id,
                                    position_id=int(action["selected_option"]["value"]), config=deps.config,
                                    now=deps.clock())
            outbox_ids += queue_task_assignments(session, added.tasks, deps, candidate_name=added.candidate_name,
                                                 position_title=added.position_title)
            outbox_ids += queue_referral_news(session, added.referral_news, deps)
        deps.outbox.deliver(outbox_ids)
        redraw_clicked_card(client, actor, body)

    @app.action(ACTION_CARD_TIMELINE)
    def card_timeline_page(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        candidate_id, _ = read_card_metadata(body["view"]["private_metadata"])
        redraw_card(client, deps.roles.actor(body["user"]["id"]), view_id=body["view"]["id"],
                    candidate_id=candidate_id, offset=int(action["value"]), view_hash=body["view"].get("hash"))

    @app.action(ACTION_CARD_NOTE)
    def card_note(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        candidate_id, _ = read_card_metadata(body["view"]["private_metadata"])
        with refusals_shown_in_a_modal(client, body):
            with deps.db.read() as session:
                candidate = require_candidate_access(session, actor, candidate_id)
            client.views_push(trigger_id=body["trigger_id"],
                              view=build_note_modal(candidate_id=candidate_id, candidate_name=candidate.full_name,
                                                    card_view_id=body["view"]["id"]))

    @app.view(CALLBACK_NOTE)
    def submit_note(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        actor = deps.roles.actor(body["user"]["id"])
        candidate_id, card_view_id = read_note_metadata(view.get("private_metadata", ""))
        try:
            with deps.db.transaction() as session:
                add_note(session, actor=actor, candidate_id=candidate_id, text=read_note_text(view["state"]["values"]),
                         now=deps.clock(), submission_key=view["id"])
        except (NoteInvalid, AccessDenied, NotFound) as refusal:
            ack(response_action="errors", errors={NOTE_BLOCK: str(refusal)})
            return
        ack()
        if card_view_id:
            # The newest page, where the note now is.
            redraw_card(client, actor, view_id=card_view_id, candidate_id=candidate_id, offset=0)

    # --- "Add to timeline" message shortcut ------------------------------------------------------------

    @app.shortcut(SHORTCUT_ADD_TO_TIMELINE)
    def add_to_timeline(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = deps.roles.actor(shortcut["user"]["id"])
        with deps.db.read() as session:
            require_candidate_search(session, actor)
        attached = shortcut.get("message") or {}
        client.views_open(trigger_id=shortcut["trigger_id"],
                          view=build_timeline_note_modal(text=attached.get("text") or "",
                                                         channel=shortcut["channel"]["id"],
                                                         message_ts=attached.get("ts") or shortcut["message_ts"],
                                                         author=attached.get("user")))

    @app.options(ACTION_CANDIDATE_SEARCH)
    def search_candidates(ack: Ack, body: dict[str, Any], payload: dict[str, Any]) -> None:
        actor = deps.roles.actor(body["user"]["id"])
        try:
            with deps.db.read() as session:
                matches = find_candidates(session, actor=actor, query=payload.get("value") or "")
        except AccessDenied:
            # An options request cannot carry a message; opening the shortcut already explained the refusal.
            matches = []
        ack(options=candidate_options(matches))

    @app.view(CALLBACK_TIMELINE_NOTE)
    def submit_timeline_note(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        candidate_id, text, source = read_timeline_note_form(view)
        errors: dict[str, str] = {}
        if candidate_id is None:
            errors[CANDIDATE_BLOCK] = "Choose the candidate this message is about."
        try:
            validate_note(text)
        except NoteInvalid as invalid:
            errors[NOTE_BLOCK] = str(invalid)
        if errors or candidate_id is None:
            ack(response_action="errors", errors=errors)
            return
        channel, message_ts = str(source.get("channel") or ""), str(source.get("ts") or "")
        note_source = NoteSource(channel=channel, message_ts=message_ts, author_slack_id=source.get("author"),
                                 permalink=message_permalink(client, channel=channel, message_ts=message_ts))
        try:
            with deps.db.transaction() as session:
                added = add_note(session, actor=deps.roles.actor(body["user"]["id"]), candidate_id=candidate_id,
                                 text=text, now=deps.clock(), source=note_source, submission_key=view["id"])
        except (AccessDenied, NotFound) as refusal:
            ack(response_action="errors", errors={CANDIDATE_BLOCK: str(refusal)})
            return
        ack(response_action="update", view=build_note_saved(added))

    # --- the recruiting post ---------------------------------------------------------------------------

    @app.action(ACTION_ASSIGN_ME)
    def assign_to_me(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        now = deps.clock()
        outbox_ids = []
        with deps.db.transaction() as session:
            change = assign_owner(session, actor=actor, candidate_id=int(action["value"]),
                                  owner_slack_id=actor.user_id, now=now)
            message = body.get("message")
            if change.changed and message:
                channel = body["container"]["channel_id"]
                update = queue_slack_call(
                    session, method="chat.update", now=now,
                    dedupe_key=f"owner:{channel}:{message['ts']}:{actor.user_id}",
                    payload={"channel": channel, "ts": message["ts"], "text": message.get("text", ""),
                             "blocks": build_owned_post(message.get("blocks", []), owner_slack_id=actor.user_id)},
                )
                outbox_ids.append(update.id or 0)
        deps.outbox.deliver(outbox_ids)
        respond(text=render("candidates/owner_assigned.md.j2", change=change), response_type="ephemeral",
                replace_original=False)
