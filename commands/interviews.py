"""Interviews in Slack: the "Schedule interview" button and modal, invites, scorecard requests and the scorecard."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.access import AccessDenied, Actor, Role
from bot.deps import Deps
from bot.mail import queue_email
from bot.outbox import queue_slack_call
from bot.services.candidates import NotFound
from bot.services.interviews import (
    InterviewInvalid,
    ScheduledInterview,
    ScorecardInvalid,
    create_scorecard_requests,
    interview_form,
    local_today,
    schedule_interview,
    scorecard_form,
    submit_scorecard,
    validate_interview,
)
from commands.errors import explain_refusal, tell_user
from commands.interview_views import (
    ACTION_SCHEDULE,
    ACTION_SCORECARD_OPEN,
    CALLBACK_SCHEDULE,
    CALLBACK_SCORECARD,
    Invitee,
    build_interviewer_dm,
    build_invite_email,
    build_invite_ics,
    build_notice,
    build_schedule_modal,
    build_scheduled_confirmation,
    build_scorecard_already_in,
    build_scorecard_modal,
    build_scorecard_request,
    build_scorecard_submitted,
    invite_attachment,
    read_schedule_form,
    read_schedule_metadata,
    read_scorecard_form,
    read_scorecard_metadata,
    scorecard_already_in_text,
    scorecard_errors,
)
from commands.notifications import queue_referral_news

logger = logging.getLogger(__name__)


def open_modal(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    """Stack on the modal the button sits in (the candidate card), so that closing returns to it."""
    if body.get("container", {}).get("type") == "view" and body.get("view", {}).get("type") == "modal":
        client.views_push(trigger_id=body["trigger_id"], view=view)
    else:
        client.views_open(trigger_id=body["trigger_id"], view=view)


def slack_timezone(client: WebClient, user_id: str) -> str:
    return str(client.users_info(user=user_id)["user"].get("tz") or "UTC")


def find_invitees(client: WebClient, user_ids: tuple[str, ...]) -> dict[str, Invitee | None]:
    """Each interviewer's email from Slack (users:read.email); None for someone Slack has no address for."""
    found: dict[str, Invitee | None] = {}
    for user_id in user_ids:
        try:
            user = client.users_info(user=user_id)["user"]
        except SlackApiError as error:
            # They still get the DM; only the calendar invite needs the address.
            logger.info("no email for interviewer %s: %s", user_id, error.response.get("error"))
            found[user_id] = None
            continue
        profile = user.get("profile") or {}
        email = profile.get("email")
        if user.get("is_bot") or user.get("deleted") or not email:
            found[user_id] = None
            continue
        name = profile.get("real_name") or user.get("real_name") or user.get("name") or email
        found[user_id] = Invitee(email=email, name=name, slack_id=user_id)
    return found


def queue_interview_notifications(session: Session, interview: ScheduledInterview, deps: Deps, *, timezone: str,
                                  interviewers: Mapping[str, Invitee | None]) -> tuple[list[int], list[int]]:
    """Invites by email (one per person, the same calendar event), DMs, and the referrers' news.
    Returns (outbox ids, email ids) to deliver after the commit."""
    now = deps.clock()
    company = deps.config.company_name
    candidate = Invitee(interview.candidate_email, interview.candidate_name) if interview.candidate_email else None
    panel = [person for person in interviewers.values() if person is not None]
    ics = build_invite_ics(interview, organizer=deps.settings.smtp_from,
                           invitees=[*([candidate] if candidate else []), *panel], company_name=company)
    email_ids = []
    for invitee, for_candidate in [*([(candidate, True)] if candidate else []), *((p, False) for p in panel)]:
        rendered = build_invite_email(interview, invitee=invitee, for_candidate=for_candidate, timezone=timezone,
                                      company_name=company)
        email = queue_email(session, kind="interview_invite", to=[invitee.email], subject=rendered.subject,
                            text_body=rendered.text, html_body=rendered.html,
                            attachments=[invite_attachment(ics)], candidate_id=interview.candidate_id,
                            dedupe_key=f"interview-invite:{interview.interview_id}:{invitee.email.lower()}", now=now)
        email_ids.append(email.id or 0)

    outbox_ids = []
    for interviewer in interview.interviewer_slack_ids:
        dm = queue_slack_call(session, method="chat.postMessage", now=now,
                              dedupe_key=f"interview:{interview.interview_id}:interviewer:{interviewer}",
                              payload={"channel": interviewer, **build_interviewer_dm(interview)})
        outbox_ids.append(dm.id or 0)
    uninvited = [user_id for user_id, person in interviewers.items() if person is None]
    confirmation = queue_slack_call(
        session, method="chat.postMessage", now=now, dedupe_key=f"interview:{interview.interview_id}:scheduled",
        payload={"channel": interview.scheduled_by_slack_id,
                 **build_scheduled_confirmation(interview, candidate_invited=candidate is not None,
                                                uninvited=uninvited)})
    outbox_ids.append(confirmation.id or 0)
    outbox_ids += queue_referral_news(session, interview.referral_news, deps)
    return outbox_ids, email_ids


def request_scorecards(deps: Deps) -> str:
    """The `scorecard_requests` job: after each interview, a task and a DM with the scorecard button."""
    now = deps.clock()
    with deps.db.transaction() as session:
        requests = create_scorecard_requests(session, config=deps.config, now=now)
        outbox_ids = [
            queue_slack_call(session, method="chat.postMessage", now=now,
                             dedupe_key=f"scorecard-request:{r.interview_id}:{r.interviewer_slack_id}",
                             payload={"channel": r.interviewer_slack_id, **build_scorecard_request(r)}).id or 0
            for r in requests]
    return f"asked {len(requests)} interviewer(s) for scorecards; {deps.outbox.deliver(outbox_ids)}"


def register(app: App, deps: Deps) -> None:
    @app.action(ACTION_SCHEDULE)
    def open_schedule_modal(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        with deps.db.read() as session:
            form = interview_form(session, actor=actor, application_id=int(action["value"]))
        timezone = slack_timezone(client, actor.user_id)
        view = build_schedule_modal(form, timezone=timezone, today=local_today(deps.clock(), timezone),
                                    default_minutes=deps.config.interviews.default_duration_minutes)
        open_modal(client, body, view)

    @app.view(CALLBACK_SCHEDULE)
    def submit_schedule_modal(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        application_id, timezone = read_schedule_metadata(view)
        try:
            interview = validate_interview(read_schedule_form(view["state"]["values"], timezone=timezone),
                                           now=deps.clock())
        except InterviewInvalid as invalid:
            ack(response_action="errors", errors=invalid.errors)
            return
        # Valid as typed; what remains needs Slack (roles, email addresses) and may take longer than the ack
        # allows. A refusal from here on (access, a closed application) reaches the person by DM.
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        interviewers = find_invitees(client, interview.interviewer_slack_ids)
        with deps.db.transaction() as session:
            scheduled = schedule_interview(session, actor=actor, application_id=application_id, interview=interview,
                                           config=deps.config, now=deps.clock(), submission_key=view["id"])
            if scheduled.repeated:
                return
            outbox_ids, email_ids = queue_interview_notifications(session, scheduled, deps, timezone=timezone,
                                                                  interviewers=interviewers)
        deps.outbox.deliver(outbox_ids)
        deps.mailer.deliver(email_ids)

    @app.action(ACTION_SCORECARD_OPEN)
    def open_scorecard(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        with deps.db.read() as session:
            form = scorecard_form(session, actor=actor, interview_id=int(action["value"]), config=deps.config,
                                  now=deps.clock())
        if form.submitted_at is not None:
            tell_user(client, body, scorecard_already_in_text(candidate_name=form.candidate_name,
                                                              submitted_at=form.submitted_at))
            return
        container = body.get("container", {})
        reply_to = (container["channel_id"], container["message_ts"]) \
            if container.get("type") == "message" and container.get("message_ts") else None
        open_modal(client, body, build_scorecard_modal(form, reply_to=reply_to))

    @app.view(CALLBACK_SCORECARD)
    def submit_scorecard_modal(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        interview_id, reply_to = read_scorecard_metadata(view)
        criteria = deps.config.interviews.scorecard_criteria
        draft = read_scorecard_form(view["state"]["values"], criteria=criteria)
        # Only the interviewer themselves may submit, which needs no role lookup (and no Slack call) before the ack.
        actor = Actor(user_id=body["user"]["id"], roles=frozenset({Role.EMPLOYEE}))
        now = deps.clock()
        outbox_ids: list[int] = []
        try:
            with deps.db.transaction() as session:
                outcome = submit_scorecard(session, actor=actor, interview_id=interview_id, draft=draft,
                                           config=deps.config, now=now)
                if outcome.created and reply_to:
                    update = queue_slack_call(
                        session, method="chat.update", now=now,
                        dedupe_key=f"scorecard-request:{interview_id}:{actor.user_id}:submitted",
                        payload={"channel": reply_to[0], "ts": reply_to[1],
                                 **build_scorecard_submitted(candidate_name=outcome.candidate_name,
                                                             position_title=outcome.position_title)})
                    outbox_ids.append(update.id or 0)
        except ScorecardInvalid as invalid:
            ack(response_action="errors", errors=scorecard_errors(invalid.errors, criteria=criteria))
            return
        except (AccessDenied, NotFound) as refused:
            ack(response_action="update", view=build_notice("Scorecard", explain_refusal(refused) or str(refused)))
            return
        if not outcome.created:
            ack(response_action="update", view=build_scorecard_already_in(
                candidate_name=outcome.candidate_name, submitted_at=outcome.scorecard.submitted_at))
            return
        ack()
        deps.outbox.deliver(outbox_ids)
