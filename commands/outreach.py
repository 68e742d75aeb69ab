"""AI-drafted outreach in Slack: ask for a draft, decide on it in its thread, and the unsubscribe page.

Drafts are asked for with "@talentbot draft an intro email to Jane Doe for the backend role" (via
commands/questions.py, which parses the mention), the Draft email button on the candidate card (the draft goes to
the clicker's DM), or "Draft follow-up" on a stale-candidates answer (in that answer's thread). The draft is posted
with Approve & send, Edit, Regenerate and Reject; the rules for each live in bot.services.outreach. The language
model is asked after the ack, on the listener pool: a person is waiting, but not Slack.

The unsubscribe page (GET shows a confirmation, POST records it, RFC 8058 one-click POSTs arrive without a person)
is served by the bot's own HTTP server (`unsubscribe_routes`, mounted through commands.http_routes).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from bot.access import AccessDenied, Actor
from bot.deps import Deps
from bot.drafting import AI_OFF, NO_AI_CONSENT, Drafter, DraftText, template_draft
from bot.nlu import DraftArgs
from bot.outbox import queue_slack_call
from bot.services.outreach import (
    DraftInputs,
    DraftRefused,
    DraftView,
    check_regenerate,
    consent_subject,
    draft_view,
    drafts_sending,
    edit_draft,
    find_draft_candidate,
    gather_draft_inputs,
    mark_posted,
    open_application_position,
    people_to_name,
    position_id_for,
    record_consent,
    regenerate_draft,
    reject_draft,
    settle_draft,
    store_draft,
    validate_consent,
    validate_edit,
)
from bot.services.outreach import approve_draft as approve_in_service
from bot.services.outreach_mail import (
    UNSUBSCRIBE_PATH,
    OutreachBlocked,
    candidate_for_token,
    contact_blocker,
    record_unsubscribe,
    stop_outreach_without_consent,
)
from bot.templates import render
from commands.outreach_views import (
    ACTION_APPROVE,
    ACTION_CARD_CONSENT,
    ACTION_CARD_DRAFT,
    ACTION_EDIT,
    ACTION_REGENERATE,
    ACTION_REJECT,
    CALLBACK_CONSENT,
    CALLBACK_EDIT,
    build_consent_modal,
    build_draft_message,
    build_drafting_failed,
    build_edit_modal,
    consent_errors,
    edit_errors,
    read_consent_form,
    read_decision_value,
    read_edit_form,
)
from commands.question_views import ACTION_DRAFT_FOLLOWUP
from storage.models import Candidate, DraftStatus, OutboxStatus

logger = logging.getLogger(__name__)

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
SETTLE_BATCH = 200
NEVER = datetime.min.replace(tzinfo=UTC)


class DraftDesk:
    """Drafting's state besides the request: the model client (made on first use) and people's Slack profiles."""

    def __init__(self, deps: Deps):
        self.deps = deps
        self._lock = threading.Lock()
        self._drafter: Drafter | None = None
        self._drafter_made = False

    def drafter(self) -> Drafter | None:
        with self._lock:
            if not self._drafter_made:
                self._drafter = Drafter.from_settings(self.deps.settings)
                self._drafter_made = True
            return self._drafter

    @staticmethod
    def profile(client: WebClient, user_id: str) -> tuple[str | None, str | None]:
        """(name, email) from Slack; (None, None) when Slack cannot tell (the caller falls back)."""
        try:
            user = client.users_info(user=user_id)["user"]
        except SlackApiError as error:
            logger.info("users.info failed for %s: %s", user_id, error.response.get("error"))
            return None, None
        profile = user.get("profile") or {}
        name = profile.get("real_name") or user.get("real_name") or profile.get("display_name") or None
        return name, profile.get("email") or None

    def _names(self, client: WebClient, actor: Actor, candidate_id: int) -> dict[str, str]:
        with self.deps.db.read() as session:
            people = people_to_name(session, candidate_id=candidate_id)
        names = {}
        for user_id in {actor.user_id, *people}:
            name, _ = self.profile(client, user_id)
            if name:
                names[user_id] = name
        return names

    def _text(self, inputs: DraftInputs) -> DraftText:
        drafter = self.drafter()
        if drafter is None:
            return template_draft(inputs.context, note=AI_OFF)
        if not inputs.ai_consent:
            return template_draft(inputs.context, note=NO_AI_CONSENT)
        return drafter.draft(inputs.context, inputs.known)

    def _inputs(self, client: WebClient, *, actor: Actor, candidate_id: int, position_id: int | None,
                purpose: str) -> DraftInputs:
        names = self._names(client, actor, candidate_id)
        with self.deps.db.read() as session:
            return gather_draft_inputs(session, actor=actor, candidate_id=candidate_id, position_id=position_id,
                                       purpose=purpose, names=names, config=self.deps.config, now=self.deps.clock())

    def draft(self, client: WebClient, *, actor: Actor, candidate_id: int, position_id: int | None, purpose: str,
              channel: str, thread_ts: str | None) -> None:
        """Make a draft and post it in the thread (or, without one, as a new message whose thread holds the
        results). A candidate who may not be emailed gets a short note there instead."""
        try:
            inputs = self._inputs(client, actor=actor, candidate_id=candidate_id, position_id=position_id,
                                  purpose=purpose)
        except OutreachBlocked as blocked:
            with self.deps.db.read() as session:
                candidate = session.get(Candidate, candidate_id)
                name = candidate.full_name if candidate else "?"
            client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                    **build_drafting_failed(candidate_name=name, reason=str(blocked)))
            return
        text = self._text(inputs)
        now = self.deps.clock()
        with self.deps.db.transaction() as session:
            draft = store_draft(session, actor=actor, inputs=inputs, text=text, channel_id=channel,
                                thread_ts=thread_ts, now=now)
            view = draft_view(session, draft_id=draft.id or 0)
            payload = build_draft_message(view)
        posted = client.chat_postMessage(channel=channel, thread_ts=thread_ts, unfurl_links=False, **payload)
        with self.deps.db.transaction() as session:
            mark_posted(session, draft_id=draft.id or 0, channel_id=str(posted["channel"]),
                        message_ts=str(posted["ts"]))

    def regenerate(self, client: WebClient, *, actor: Actor, draft_id: int, version: int) -> None:
        with self.deps.db.read() as session:
            draft = check_regenerate(session, actor=actor, draft_id=draft_id, version=version)
            candidate_id, position_id, purpose = draft.candidate_id, draft.position_id, draft.purpose
        try:
            inputs = self._inputs(client, actor=actor, candidate_id=candidate_id, position_id=position_id,
                                  purpose=purpose)
        except OutreachBlocked:
            # The approval would be refused too; rejecting here would decide for the person, so just redraw.
            self.redraw(client, draft_id)
            return
        text = self._text(inputs)
        with self.deps.db.transaction() as session:
            regenerate_draft(session, actor=actor, draft_id=draft_id, version=version, text=text,
                             now=self.deps.clock())
        self.redraw(client, draft_id)

    def approve(self, client: WebClient, *, actor: Actor, draft_id: int, version: int) -> None:
        """Approve, send at once over SMTP, and tell the thread how it went."""
        _, email = self.profile(client, actor.user_id)
        reply_to = email or self.deps.config.outreach.reply_to
        with self.deps.db.transaction() as session:
            draft = approve_in_service(session, actor=actor, draft_id=draft_id, version=version, reply_to=reply_to,
                                       now=self.deps.clock(), settings=self.deps.settings, config=self.deps.config)
            email_id = draft.email_id
        if email_id is not None:
            self.deps.mailer.deliver([email_id])
            self.settle(draft_id)
        else:
            self.report(draft_id)

    def settle(self, draft_id: int) -> None:
        with self.deps.db.transaction() as session:
            settle_draft(session, draft_id=draft_id, now=self.deps.clock())
        self.report(draft_id)

    def report(self, draft_id: int) -> None:
        """Redraw the draft and, once it is decided for good, say so in its thread (through the outbox, so the
        result is not lost when Slack is briefly away)."""
        now = self.deps.clock()
        with self.deps.db.transaction() as session:
            view = draft_view(session, draft_id=draft_id)
            draft = view.draft
            blocked = _blocked_reason(session, view)
            ids: list[int] = []
            if draft.channel_id and draft.message_ts:
                payload = build_draft_message(view, blocked_reason=blocked)
                ids.append(queue_slack_call(session, method="chat.update", now=now,
                                            dedupe_key=f"outreach-draft:{draft.id}:{draft.status}:{draft.version}",
                                            payload={"channel": draft.channel_id, "ts": draft.message_ts,
                                                     **payload}).id or 0)
                if draft.status in (DraftStatus.SENT, DraftStatus.FAILED):
                    text = render("outreach/draft_status.md.j2", status=draft.status,
                                  decided_by=draft.decided_by_slack_id, candidate_name=view.candidate_name,
                                  reply_to=draft.reply_to, email_status=view.email_status,
                                  email_error=view.email_error, blocked_reason=blocked)
                    ids.append(queue_slack_call(session, method="chat.postMessage", now=now,
                                                dedupe_key=f"outreach-result:{draft.id}:{draft.status}",
                                                payload={"channel": draft.channel_id, "text": text,
                                                         "thread_ts": draft.thread_ts or draft.message_ts}).id or 0)
        self.deps.outbox.deliver(ids)

    def redraw(self, client: WebClient, draft_id: int) -> None:
        with self.deps.db.read() as session:
            view = draft_view(session, draft_id=draft_id)
            payload = build_draft_message(view, blocked_reason=_blocked_reason(session, view))
        if view.draft.channel_id and view.draft.message_ts:
            client.chat_update(channel=view.draft.channel_id, ts=view.draft.message_ts, **payload)

    def draft_from_question(self, client: WebClient, *, actor: Actor, args: DraftArgs, channel: str,
                            thread_ts: str) -> None:
        """"@talentbot draft an intro email to Jane Doe for the backend role". Raises AccessDenied, NotFound and
        DraftRefused for the asker (commands/questions.py tells them privately)."""
        with self.deps.db.read() as session:
            candidate_id = find_draft_candidate(session, actor=actor, name=args.name, email=args.email)
            position_id = position_id_for(session, candidate_id=candidate_id, title=args.position)
        self.draft(client, actor=actor, candidate_id=candidate_id, position_id=position_id,
                   purpose=args.purpose or "intro", channel=channel, thread_ts=thread_ts)


def settle_outreach(deps: Deps) -> str:
    """The `outreach_results` job. First, outreach still queued for someone whose contact consent has expired is
    stopped (an expiry is no event that could stop it at once). Then approved drafts whose email the mail job has
    since sent (or given up on, or that was stopped) get their result in the thread and, when sent, the touchpoint
    on the timeline."""
    desk = DraftDesk(deps)
    with deps.db.transaction() as session:
        stopped = stop_outreach_without_consent(session, now=deps.clock())
    with deps.db.read() as session:
        waiting = drafts_sending(session, limit=SETTLE_BATCH)
    settled = 0
    for draft_id in waiting:
        with deps.db.read() as session:
            view = draft_view(session, draft_id=draft_id)
        if view.email_status != OutboxStatus.PENDING:
            desk.settle(draft_id)
            settled += 1
    return f"{settled} of {len(waiting)} approved drafts settled; outreach stopped for {len(stopped)} candidates " \
        "whose consent ran out"


def _blocked_reason(session: Session, view: DraftView) -> str | None:
    """Why a draft whose approval found the candidate blocked was not sent (its email was never queued)."""
    if view.draft.status != DraftStatus.FAILED or view.draft.email_id is not None:
        return None
    reason = contact_blocker(session, candidate_id=view.draft.candidate_id, now=view.draft.decided_at or NEVER)
    return str(OutreachBlocked(reason)) if reason else None


def _clicked(body: dict[str, Any]) -> tuple[str, str | None]:
    clicked = body.get("message") or {}
    channel = body.get("container", {}).get("channel_id") or body.get("channel", {}).get("id")
    return str(channel), clicked.get("thread_ts") or clicked.get("ts") or body.get("container", {}).get("message_ts")


def register(app: App, deps: Deps) -> None:
    desk = DraftDesk(deps)

    def actor_of(body: dict[str, Any]) -> Actor:
        return deps.roles.actor(body["user"]["id"])

    @app.action(ACTION_CARD_DRAFT)
    def draft_from_card(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = actor_of(body)
        # The card is a modal; the draft and its decisions go to the clicker's DM with the bot.
        desk.draft(client, actor=actor, candidate_id=int(action["value"]), position_id=None, purpose="intro",
                   channel=actor.user_id, thread_ts=None)

    @app.action(ACTION_DRAFT_FOLLOWUP)
    def draft_follow_up(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        with deps.db.read() as session:
            candidate_id, position_id = open_application_position(session, int(action["value"]))
        channel, thread_ts = _clicked(body)
        desk.draft(client, actor=actor_of(body), candidate_id=candidate_id, position_id=position_id,
                   purpose="follow_up", channel=channel, thread_ts=thread_ts)

    @app.action(ACTION_APPROVE)
    def approve(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        draft_id, version = read_decision_value(action["value"])
        desk.approve(client, actor=actor_of(body), draft_id=draft_id, version=version)

    @app.action(ACTION_REJECT)
    def reject(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        draft_id, version = read_decision_value(action["value"])
        with deps.db.transaction() as session:
            reject_draft(session, actor=actor_of(body), draft_id=draft_id, version=version, now=deps.clock())
        desk.report(draft_id)

    @app.action(ACTION_REGENERATE)
    def regenerate(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        draft_id, version = read_decision_value(action["value"])
        desk.regenerate(client, actor=actor_of(body), draft_id=draft_id, version=version)

    @app.action(ACTION_EDIT)
    def open_edit(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        draft_id, version = read_decision_value(action["value"])
        with deps.db.read() as session:
            check_regenerate(session, actor=actor_of(body), draft_id=draft_id, version=version)
            view = draft_view(session, draft_id=draft_id)
        client.views_open(trigger_id=body["trigger_id"], view=build_edit_modal(view))

    @app.view(CALLBACK_EDIT)
    def submit_edit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        subject, text = read_edit_form(view["state"]["values"])
        clean_subject, clean_body, errors = validate_edit(subject, text)
        if errors:
            ack(response_action="errors", errors=edit_errors(errors))
            return
        draft_id, version = read_decision_value(view["private_metadata"])
        # Stored before the ack, so that a refusal (someone decided or edited meanwhile) shows in the modal.
        try:
            with deps.db.transaction() as session:
                edit_draft(session, actor=actor_of(body), draft_id=draft_id, version=version,
                           subject=clean_subject, body=clean_body, now=deps.clock())
        except (DraftRefused, AccessDenied) as refusal:
            ack(response_action="errors", errors=edit_errors({"body": str(refusal)}))
            return
        ack()
        desk.redraw(client, draft_id)

    @app.action(ACTION_CARD_CONSENT)
    def open_consent(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        with deps.db.read() as session:
            name = consent_subject(session, actor=actor_of(body), candidate_id=int(action["value"]))
        view = build_consent_modal(candidate_id=int(action["value"]), candidate_name=name,
                                   default_days=deps.config.consent.contact_valid_days)
        # On top of the card, which stays where the person left it.
        client.views_push(trigger_id=body["trigger_id"], view=view)

    @app.view(CALLBACK_CONSENT)
    def submit_consent(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        form = read_consent_form(view["state"]["values"])
        errors = validate_consent(**form)
        if errors:
            ack(response_action="errors", errors=consent_errors(errors))
            return
        days = (form["valid_days"] or "").strip()
        with deps.db.transaction() as session:
            record_consent(session, actor=actor_of(body), candidate_id=int(view["private_metadata"]),
                           kind=str(form["kind"]), action=str(form["action"]), evidence=str(form["evidence"]),
                           valid_days=int(days) if days else None, config=deps.config, now=deps.clock())
        ack()


def unsubscribe_routes(deps: Deps) -> list[BaseRoute]:
    """GET: a page with a button (mail scanners follow links; only a POST unsubscribes). POST: record it, from
    that button or from a mail provider's RFC 8058 one-click request."""

    def record(token: str, evidence: str) -> bool:
        candidate_id = candidate_for_token(token, deps.settings.link_secret)
        if candidate_id is None:
            return False
        with deps.db.transaction() as session:
            record_unsubscribe(session, candidate_id=candidate_id, now=deps.clock(), evidence=evidence)
        return True

    async def unsubscribe(request: Request) -> Response:
        token = request.path_params["token"]
        company = deps.config.company_name
        if request.method == "GET":
            known = candidate_for_token(token, deps.settings.link_secret) is not None
            page = render("outreach/unsubscribe_page.html.j2", state="confirm" if known else "invalid",
                          company=company, action=f"{UNSUBSCRIBE_PATH}{token}")
            return HTMLResponse(page, status_code=200 if known else 404, headers={"Cache-Control": "no-store"})
        body = (await request.body()).decode("utf-8", "replace")
        one_click = ONE_CLICK_BODY in body
        evidence = ("one-click (RFC 8058) " if one_click else "unsubscribe page ") + \
            f"at {deps.clock().isoformat()}"
        done = await run_in_threadpool(record, token, evidence)
        page = render("outreach/unsubscribe_page.html.j2", state="done" if done else "invalid", company=company,
                      action="")
        return HTMLResponse(page, status_code=200 if done else 404, headers={"Cache-Control": "no-store"})

    return [Route(UNSUBSCRIBE_PATH + "{token}", unsubscribe, methods=["GET", "POST"])]
