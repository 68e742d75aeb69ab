"""Nurture sequences in Slack and on the bot's HTTP server.

- Slack: *Enroll in sequence* on the candidate card, `/candidate nurture <sequence> <filters>` for a segment
  (commands/candidates.py hands that verb here), Approve & send / Skip on a drafted step.
- The `nurture_steps` job (bot/jobs.py): takes due steps, posts drafts, sends the queued emails.
- HTTP (bot/server.py mounts `engagement_routes`): the open pixel, the click redirect and the inbound-mail
  webhook for replies.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.access import AccessDenied, Actor
from bot.deps import Deps
from bot.outbox import queue_slack_call
from bot.services import engagement, nurture
from bot.services.candidates import NotFound
from bot.services.engagement import Engagement, InboundReply
from bot.services.nurture import NurtureRefused, StepDraft
from commands.nurture_views import (
    ACTION_APPROVE,
    ACTION_CARD_ENROLL,
    ACTION_SKIP,
    CALLBACK_ENROLL,
    SEQUENCE_BLOCK,
    build_enroll_modal,
    build_step_decided,
    build_step_draft,
    build_text,
    enrolled_text,
    parse_nurture_command,
    read_enroll_form,
)
from storage.models import Candidate

logger = logging.getLogger(__name__)

MAX_BATCHES_PER_RUN = 200
# A transparent 1×1 GIF.
PIXEL = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
         b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
NO_STORE = {"Cache-Control": "no-store, max-age=0"}
MAX_INBOUND_BODY = 1_000_000


# --- the job ---------------------------------------------------------------------------------------------


def _queue_draft(session: Any, draft: StepDraft, deps: Deps) -> int:
    # The owner decides; without one, the recruiting channel (where every recruiter can).
    row = queue_slack_call(session, method="chat.postMessage", dedupe_key=f"nurture.draft:{draft.send_id}",
                           now=deps.clock(), payload={"channel": draft.owner_slack_id or deps.config.recruiting_channel,
                                                      **build_step_draft(draft)})
    return row.id or 0


def run_nurture_steps(deps: Deps, *, batch: int = nurture.STEP_BATCH, deliver: bool = True) -> str:
    """Take every due step, one transaction per batch, then send the batch's emails and drafts."""
    totals = nurture.StepRun()
    for _ in range(MAX_BATCHES_PER_RUN):
        with deps.db.transaction() as session:
            run = nurture.take_due_steps(session, settings=deps.settings, config=deps.config, now=deps.clock(),
                                         limit=batch)
            outbox_ids = [_queue_draft(session, draft, deps) for draft in run.drafts]
        if deliver:
            deps.outbox.deliver(outbox_ids)
            deps.mailer.deliver(run.email_ids)
        totals.email_ids += run.email_ids
        totals.drafts += run.drafts
        totals.stopped += run.stopped
        totals.completed += run.completed
        if not run.more:
            break
    return str(totals)


# --- Slack -----------------------------------------------------------------------------------------------


def handle_nurture_command(deps: Deps, actor: Actor, rest: str, respond: Respond) -> None:
    """`/candidate nurture <sequence> <filters>`: enrol a segment."""
    parsed = parse_nurture_command(rest)
    if parsed is None:
        respond(**build_text("nurture/usage.md.j2", sequences=sorted(deps.config.nurture.sequences)),
                response_type="ephemeral")
        return
    sequence, segment = parsed
    try:
        with deps.db.transaction() as session:
            result = nurture.enroll_segment(session, actor=actor, sequence=sequence, segment=segment,
                                            config=deps.config, now=deps.clock())
    except NurtureRefused as refused:
        respond(**build_text("nurture/refused.md.j2", reason=str(refused)), response_type="ephemeral")
        return
    respond(**enrolled_text(result), response_type="ephemeral")


def register(app: App, deps: Deps) -> None:
    @app.action(ACTION_CARD_ENROLL)
    def open_enroll(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        if not actor.sees_pipeline:
            raise AccessDenied("Only recruiters and admins can enroll candidates in nurture sequences.")
        candidate_id = int(body["actions"][0]["value"])
        with deps.db.read() as session:
            candidate = session.get(Candidate, candidate_id)
        if candidate is None:
            raise NotFound("That candidate no longer exists.")
        client.views_push(trigger_id=body["trigger_id"], view=build_enroll_modal(
            candidate_id=candidate_id, candidate_name=candidate.full_name,
            sequences=sorted(deps.config.nurture.sequences)))

    @app.view(CALLBACK_ENROLL)
    def submit_enroll(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        # Stored before the ack, so that a refusal shows inline on the form and nothing is stored.
        actor = deps.roles.actor(body["user"]["id"])
        candidate_id, sequence = read_enroll_form(view)
        try:
            with deps.db.transaction() as session:
                nurture.enroll(session, actor=actor, candidate_id=candidate_id, sequence=sequence,
                               config=deps.config, now=deps.clock())
        except (NurtureRefused, AccessDenied, NotFound) as refused:
            ack(response_action="errors", errors={SEQUENCE_BLOCK: str(refused)[:150]})
            return
        ack()

    def decide(body: dict[str, Any], respond: Respond, *, approve: bool) -> None:
        actor = deps.roles.actor(body["user"]["id"])
        send_id = int(body["actions"][0]["value"])
        now = deps.clock()
        try:
            with deps.db.transaction() as session:
                if approve:
                    send = nurture.approve_step(session, actor=actor, send_id=send_id,
                                                reply_to=deps.config.outreach.reply_to, settings=deps.settings,
                                                config=deps.config, now=now)
                else:
                    send = nurture.skip_step(session, actor=actor, send_id=send_id, now=now)
                candidate = session.get(Candidate, send.candidate_id)
                assert candidate is not None
                email_ids = [send.email_id] if approve and send.email_id else []
                decided = build_step_decided(approved=approve, user=actor.user_id, candidate_name=candidate.full_name,
                                             sequence=send.sequence, step=send.step)
        except NurtureRefused as refused:
            respond(**build_text("nurture/refused.md.j2", reason=str(refused)), response_type="ephemeral",
                    replace_original=False)
            return
        respond(**decided, replace_original=True)
        deps.mailer.deliver(email_ids)

    @app.action(ACTION_APPROVE)
    def approve(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        decide(body, respond, approve=True)

    @app.action(ACTION_SKIP)
    def skip(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        decide(body, respond, approve=False)


# --- HTTP: pixel, click, replies -------------------------------------------------------------------------


def _after_commit(deps: Deps, result: Engagement | None) -> None:
    if result is not None and result.hot is not None:
        deps.outbox.deliver_due()


def engagement_routes(deps: Deps) -> list[Route]:
    def track_open(token: str) -> None:
        send_id = engagement.read_open_token(token, deps.settings)
        if send_id is None:
            return
        with deps.db.transaction() as session:
            result = engagement.record_open(session, send_id=send_id, config=deps.config, now=deps.clock())
        _after_commit(deps, result)

    def track_click(token: str) -> str | None:
        read = engagement.read_click_token(token, deps.settings)
        if read is None:
            return None
        with deps.db.transaction() as session:
            result = engagement.record_click(session, send_id=read[0], hashed_url=read[1], config=deps.config,
                                             now=deps.clock())
        _after_commit(deps, result)
        return result.redirect_to if result else None

    def take_reply(reply: InboundReply) -> bool:
        with deps.db.transaction() as session:
            result = engagement.record_reply(session, reply=reply, config=deps.config, now=deps.clock())
        _after_commit(deps, result)
        return result is not None

    async def pixel(request: Request) -> Response:
        # Always the image: a broken token shows nothing different to the mail client.
        await run_in_threadpool(track_open, request.path_params["token"])
        return Response(PIXEL, media_type="image/gif", headers=NO_STORE)

    async def click(request: Request) -> Response:
        target = await run_in_threadpool(track_click, request.path_params["token"])
        if target is None:
            return PlainTextResponse("This link is not valid.", status_code=404, headers=NO_STORE)
        return RedirectResponse(target, status_code=302, headers=NO_STORE)

    async def inbound(request: Request) -> Response:
        secret = deps.settings.talentbot_inbound_mail_secret
        if not secret:
            return PlainTextResponse("inbound mail is not configured", status_code=503)
        body = await request.body()
        if len(body) > MAX_INBOUND_BODY:
            return PlainTextResponse("too large", status_code=413)
        if not engagement.inbound_signature_valid(
                secret, timestamp=request.headers.get("x-talentbot-timestamp", ""),
                signature=request.headers.get("x-talentbot-signature", ""), body=body, now=deps.clock()):
            return PlainTextResponse("bad signature", status_code=401)
        reply = _read_reply(body)
        if reply is None:
            return PlainTextResponse("expected JSON with a 'from' address", status_code=422)
        matched = await run_in_threadpool(take_reply, reply)
        return Response(status_code=204 if matched else 202)

    return [Route(f"{engagement.OPEN_PATH}{{token}}", pixel, methods=["GET"]),
            Route(f"{engagement.CLICK_PATH}{{token}}", click, methods=["GET"]),
            Route(engagement.INBOUND_PATH, inbound, methods=["POST"])]


def _read_reply(body: bytes) -> InboundReply | None:
    """{"from": "...", "subject": "...", "in_reply_to": "<id>", "references": "<id> <id>"}."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("from"), str):
        return None
    ids = " ".join(str(data.get(key) or "") for key in ("in_reply_to", "references")).split()
    return InboundReply(sender=data["from"], message_ids=tuple(dict.fromkeys(ids)),
                        subject=str(data.get("subject") or ""))



