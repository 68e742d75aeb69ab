"""Candidate buttons on messages: Assign to me, Open candidate."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.deps import Deps
from bot.outbox import queue_slack_call
from bot.services.candidates import assign_owner, candidate_summary
from bot.templates import render
from commands.candidate_views import build_candidate_modal, build_owned_post
from commands.referral_views import ACTION_ASSIGN_ME, ACTION_OPEN_CANDIDATE


def register(app: App, deps: Deps) -> None:
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

    @app.action(ACTION_OPEN_CANDIDATE)
    def open_candidate(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        with deps.db.read() as session:
            summary = candidate_summary(session, actor=actor, candidate_id=int(action["value"]))
        client.views_open(trigger_id=body["trigger_id"], view=build_candidate_modal(summary, now=deps.clock()))
