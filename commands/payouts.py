"""Referral payouts in Slack: the approval card (Approve / Reject), its job, and "Mark as left"."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.access import AccessDenied
from bot.deps import Deps
from bot.outbox import queue_slack_call
from bot.services.candidates import NotFound
from bot.services.interviews import local_today
from bot.services.payouts import (
    DepartureInvalid,
    HireDeparture,
    PayoutCard,
    PayoutRefused,
    decide_payout,
    departure_form,
    due_payout_ids,
    payout_group_key,
    record_hire_departure,
    request_payout_approval,
)
from bot.services.pipeline import StageMoveRefused
from commands.errors import explain_refusal
from commands.interview_views import build_notice
from commands.interviews import open_modal, slack_timezone
from commands.notifications import queue_referral_news
from commands.payout_views import (
    ACTION_APPROVE,
    ACTION_HIRE_LEFT,
    ACTION_REJECT,
    CALLBACK_HIRE_LEFT,
    build_already_decided_text,
    build_cancelled_notice,
    build_decided_text,
    build_departure_modal,
    build_departure_recorded,
    build_payout_card,
    read_departure_form,
    read_departure_metadata,
)
from commands.task_views import build_checklist_update
from storage import queries
from storage.models import OutboxStatus, Task


def approval_card_key(referral_id: int) -> str:
    return f"payout-approval:{referral_id}"


def queue_card_update(session: Session, card: PayoutCard, deps: Deps) -> list[int]:
    """Redraw the approver's card (buttons gone, the outcome shown), once it has been posted."""
    posted = queries.outbox_message_by_dedupe_key(session, approval_card_key(card.referral_id))
    if posted is None or posted.status != OutboxStatus.SENT or not posted.result_ts:
        return []
    update = queue_slack_call(session, method="chat.update", now=deps.clock(),
                              dedupe_key=f"payout-card:{card.referral_id}:{card.status}",
                              payload={"channel": posted.result_channel, "ts": posted.result_ts,
                                       **build_payout_card(card)})
    return [update.id or 0]


def send_payout_approvals(deps: Deps) -> str:
    """The `referral_payouts` job: each payout past its retention period goes to the approver; the referrer
    hears that it did. One transaction per referral, so that one problem does not hold up the others."""
    now = deps.clock()
    with deps.db.read() as session:
        due = due_payout_ids(session, now=now)
    outbox_ids: list[int] = []
    asked = 0
    for referral_id in due:
        with deps.db.transaction() as session:
            request = request_payout_approval(session, referral_id=referral_id, config=deps.config, now=now)
            if request is None:
                continue
            asked += 1
            card = queue_slack_call(session, method="chat.postMessage", now=now,
                                    dedupe_key=approval_card_key(referral_id),
                                    payload={"channel": request.task.assignee_slack_id,
                                             **build_payout_card(request.card)})
            outbox_ids += [card.id or 0, *queue_referral_news(session, [request.news], deps)]
    summary = f"asked for approval of {asked} referral bonus(es)"
    if deps.config.payout_approver is None and due:
        summary += f"; {len(due)} wait until referrals.payout_approver (or an admin user) is configured"
    return f"{summary}; {deps.outbox.deliver(outbox_ids)}"


def queue_departure_notices(session: Session, departure: HireDeparture, deps: Deps, *,
                            recorded_by: str) -> list[int]:
    now = deps.clock()
    ids: list[int] = []
    for card, previous_status in departure.cancelled:
        if card.approver_slack_id:
            notice = queue_slack_call(
                session, method="chat.postMessage", now=now, dedupe_key=f"payout-cancelled:{card.referral_id}",
                payload={"channel": card.approver_slack_id,
                         **build_cancelled_notice(card, left_on=departure.left_on, previous_status=previous_status)})
            ids.append(notice.id or 0)
        ids += queue_card_update(session, card, deps)
    ids += queue_referral_news(session, departure.news, deps)
    confirmation = queue_slack_call(
        session, method="chat.postMessage", now=now,
        dedupe_key=f"departure:{departure.application_id}:{departure.left_on.isoformat()}",
        payload={"channel": recorded_by, **build_departure_recorded(departure)})
    return [*ids, confirmation.id or 0]


def _clicked_reminder(body: dict[str, Any], referral_id: int, session: Session) -> tuple[Task, list[Any]] | None:
    """The payout task and the clicked message's blocks, when Approve / Reject was clicked on a task reminder."""
    blocks = (body.get("message") or {}).get("blocks") or []
    if body.get("container", {}).get("type") != "message":
        return None
    block_ids = {block.get("block_id") for block in blocks}
    for task in queries.tasks_in_group(session, payout_group_key(referral_id)):
        if f"task-actions:{task.id}" in block_ids:
            return task, blocks
    return None


def register(app: App, deps: Deps) -> None:
    def decide(body: dict[str, Any], action: dict[str, Any], respond: Respond, *, approve: bool) -> None:
        actor = deps.roles.actor(body["user"]["id"])
        now = deps.clock()
        outbox_ids: list[int] = []
        with deps.db.transaction() as session:
            decision = decide_payout(session, actor=actor, referral_id=int(action["value"]), approve=approve,
                                     config=deps.config, now=now)
            if decision.changed:
                outbox_ids += queue_card_update(session, decision.card, deps)
                container = body.get("container", {})
                reminder = _clicked_reminder(body, decision.card.referral_id, session)
                if reminder is not None:
                    # Clicked on a reminder checklist: only the payout's line changes there.
                    task, blocks = reminder
                    outbox_ids.append(queue_slack_call(
                        session, method="chat.update", now=now,
                        dedupe_key=f"payout-reminder:{container['channel_id']}:{container['message_ts']}:{task.id}",
                        payload={"channel": container["channel_id"], "ts": container["message_ts"],
                                 "text": body["message"].get("text", ""),
                                 "blocks": build_checklist_update(blocks, task, now=now)}).id or 0)
                elif not outbox_ids and container.get("type") == "message" and container.get("message_ts"):
                    # The card is not on record as sent (its delivery is still being retried): redraw the one
                    # that was clicked.
                    outbox_ids.append(queue_slack_call(
                        session, method="chat.update", now=now,
                        dedupe_key=f"payout-card:{decision.card.referral_id}:{decision.card.status}",
                        payload={"channel": container["channel_id"], "ts": container["message_ts"],
                                 **build_payout_card(decision.card)}).id or 0)
                outbox_ids += queue_referral_news(session, decision.news, deps)
        deps.outbox.deliver(outbox_ids)
        text = build_decided_text(decision.card) if decision.changed else build_already_decided_text(decision.card)
        respond(text=text, response_type="ephemeral", replace_original=False)

    @app.action(ACTION_APPROVE)
    def approve_payout(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        decide(body, action, respond, approve=True)

    @app.action(ACTION_REJECT)
    def reject_payout(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        decide(body, action, respond, approve=False)

    @app.action(ACTION_HIRE_LEFT)
    def open_departure_modal(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        with deps.db.read() as session:
            form = departure_form(session, actor=actor, application_id=int(action["value"]))
        timezone = slack_timezone(client, actor.user_id)
        open_modal(client, body, build_departure_modal(form, timezone=timezone,
                                                       today=local_today(deps.clock(), timezone)))

    @app.view(CALLBACK_HIRE_LEFT)
    def submit_departure(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        application_id, timezone = read_departure_metadata(view)
        left_on = read_departure_form(view["state"]["values"])
        actor = deps.roles.actor(body["user"]["id"])
        now = deps.clock()
        try:
            with deps.db.transaction() as session:
                departure = record_hire_departure(session, actor=actor, application_id=application_id,
                                                  left_on=left_on, today=local_today(now, timezone),
                                                  config=deps.config, now=now)
                outbox_ids = [] if departure.repeated else queue_departure_notices(session, departure, deps,
                                                                                   recorded_by=actor.user_id)
        except DepartureInvalid as invalid:
            ack(response_action="errors", errors=invalid.errors)
            return
        except StageMoveRefused as refused:
            ack(response_action="errors", errors={"left_on": str(refused)})
            return
        except (AccessDenied, NotFound, PayoutRefused) as refused:
            ack(response_action="update", view=build_notice("Hire has left", explain_refusal(refused) or str(refused)))
            return
        ack()
        deps.outbox.deliver(outbox_ids)
