"""Task buttons (Done, Snooze) wherever a task is shown: DMs, checklists, reminders, the App Home tab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.access import Actor
from bot.deps import Deps
from bot.outbox import queue_slack_call
from bot.services.tasks import TaskChange, complete_task, snooze_task, snooze_until
from bot.templates import render
from commands.home import publish_home
from commands.notifications import queue_checklist_refresh
from commands.task_views import ACTION_TASK_DONE, ACTION_TASK_SNOOZE, build_checklist_update
from storage import queries

TaskRule = Callable[[Session, Actor, int], TaskChange]


def register(app: App, deps: Deps) -> None:
    def handle(body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond,
               rule: TaskRule, confirmation: str) -> None:
        actor = deps.roles.actor(body["user"]["id"])
        now = deps.clock()
        outbox_ids: list[int] = []
        with deps.db.transaction() as session:
            change = rule(session, actor, int(action["value"]))
            candidate_name, position_title = queries.task_context(session, change.task)
            clicked = body.get("message")
            if change.changed and clicked and body.get("container", {}).get("type") == "message":
                channel, ts = body["container"]["channel_id"], clicked["ts"]
                update = queue_slack_call(
                    session, method="chat.update", now=now,
                    dedupe_key=f"task-message:{channel}:{ts}:{change.task.id}:{change.task.status}:{now.isoformat()}",
                    payload={"channel": channel, "ts": ts, "text": clicked.get("text", ""),
                             "blocks": build_checklist_update(clicked.get("blocks", []), change.task, now=now)})
                outbox_ids.append(update.id or 0)
            if change.changed:
                outbox_ids += queue_checklist_refresh(session, change.task, deps, candidate_name=candidate_name or "",
                                                      position_title=position_title or "")
        deps.outbox.deliver(outbox_ids)
        if body.get("container", {}).get("type") == "view":
            publish_home(deps, client, actor.user_id)
        else:
            respond(text=render(confirmation, change=change), response_type="ephemeral", replace_original=False)

    @app.action(ACTION_TASK_DONE)
    def mark_done(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient,
                  respond: Respond) -> None:
        ack()
        handle(body, action, client, respond,
               lambda session, actor, task_id: complete_task(session, actor=actor, task_id=task_id,
                                                             now=deps.clock()),
               "tasks/done.md.j2")

    @app.action(ACTION_TASK_SNOOZE)
    def snooze(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        now = deps.clock()
        handle(body, action, client, respond,
               lambda session, actor, task_id: snooze_task(session, actor=actor, task_id=task_id,
                                                           until=snooze_until(now, deps.config), now=now),
               "tasks/snoozed.md.j2")
