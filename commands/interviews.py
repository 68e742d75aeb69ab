"""Interviews in Slack: the "Schedule interview" button and modal, invites, scorecard requests and the scorecard."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
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
    InterviewChange,
    InterviewInvalid,
    InterviewRefused,
    ScheduledInterview,
    ScorecardInvalid,
    ValidInterview,
    cancel_interview,
    create_scorecard_requests,
    interview_change_form,
    interview_form,
    local_today,
    reschedule_interview,
    schedule_interview,
    scorecard_form,
    submit_scorecard,
    validate_interview,
)
from commands.errors import explain_refusal, tell_user
from commands.interview_views import (
    ACTION_CANCEL,
    ACTION_RESCHEDULE,
    ACTION_SCHEDULE,
    ACTION_SCORECARD_OPEN,
    CALLBACK_RESCHEDULE,
    CALLBACK_SCHEDULE,
    CALLBACK_SCORECARD,
    Invitee,
    build_change_confirmation,
    build_change_email,
    build_interviewer_change_dm,
    build_interviewer_dm,
    build_invite_email,
    build_invite_ics,
    build_notice,
    build_reschedule_modal,
    build_schedule_modal,
    build_scheduled_confirmation,
    build_scorecard_already_in,
    build_scorecard_modal,
    build_scorecard_request,
    build_scorecard_submitted,
    invite_attachment,
    read_reschedule_metadata,
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


def queue_change_notifications(session: Session, change: InterviewChange, deps: Deps, *, cancelled: bool,
                               actor: str, interviewers: Mapping[str, Invitee | None]) -> tuple[list[int], list[int]]:
    """After a reschedule or a cancellation: a calendar update (REQUEST, the SEQUENCE raised) or CANCEL by email
    to the candidate (when they may be emailed) and to every interviewer with an address — interviewers taken
    off the panel get the CANCEL — a DM to each interviewer, and a confirmation to the person who changed it.
    Keys carry the SEQUENCE, so each revision is sent once. Returns (outbox ids, email ids)."""
    interview, now, company = change.interview, deps.clock(), deps.config.company_name
    revision = f"{interview.interview_id}:{interview.sequence}"
    candidate = Invitee(interview.candidate_email, interview.candidate_name) if interview.candidate_email else None
    removed = set(change.removed_interviewer_slack_ids)
    panel = [p for user, p in interviewers.items() if p is not None and user not in removed]
    gone = [p for user, p in interviewers.items() if p is not None and user in removed]
    method = "CANCEL" if cancelled else "REQUEST"
    ics = build_invite_ics(interview, organizer=deps.settings.smtp_from, company_name=company, method=method,
                           invitees=[*([candidate] if candidate else []), *panel])
    recipients = [(candidate, True, False)] if candidate else []
    recipients += [(p, False, False) for p in panel] + [(p, False, True) for p in gone]
    email_ids: list[int] = []
    for invitee, for_candidate, taken_off in recipients:
        own_ics = ics
        if taken_off:
            # The event leaves the calendars of those taken off the panel; the others' stays, moved.
            own_ics = build_invite_ics(interview, organizer=deps.settings.smtp_from, company_name=company,
                                       method="CANCEL", invitees=[invitee])
        rendered = build_change_email(interview, invitee=invitee, for_candidate=for_candidate,
                                      cancelled=cancelled or taken_off, removed=taken_off, company_name=company)
        email = queue_email(session, kind="interview_update", to=[invitee.email], subject=rendered.subject,
                            text_body=rendered.text, html_body=rendered.html,
                            attachments=[invite_attachment(own_ics, "CANCEL" if taken_off else method)],
                            candidate_id=interview.candidate_id, now=now,
                            dedupe_key=f"interview-change:{revision}:{invitee.email.lower()}")
        email_ids.append(email.id or 0)
    outbox_ids = []
    for interviewer in [*interview.interviewer_slack_ids, *change.removed_interviewer_slack_ids]:
        dm = queue_slack_call(session, method="chat.postMessage", now=now,
                              dedupe_key=f"interview-change:{revision}:interviewer:{interviewer}",
                              payload={"channel": interviewer, **build_interviewer_change_dm(
                                  interview, cancelled=cancelled or interviewer in removed,
                                  removed=interviewer in removed)})
        outbox_ids.append(dm.id or 0)
    confirmation = queue_slack_call(session, method="chat.postMessage", now=now,
                                    dedupe_key=f"interview-change:{revision}:confirmation",
                                    payload={"channel": actor,
                                             **build_change_confirmation(interview, cancelled=cancelled)})
    return [*outbox_ids, confirmation.id or 0], email_ids


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
    def valid_or_errors(ack: Ack, view: dict[str, Any], timezone: str) -> ValidInterview | None:
        """The interview as typed in the scheduling form, or None after acking with the fields to fix."""
        try:
            return validate_interview(read_schedule_form(view["state"]["values"], timezone=timezone),
                                      now=deps.clock())
        except InterviewInvalid as invalid:
            ack(response_action="errors", errors=invalid.errors)
            return None

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
        interview = valid_or_errors(ack, view, timezone)
        if interview is None:
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

    def change_and_tell(actor: Actor, interviewers: Mapping[str, Invitee | None], *, cancelled: bool,
                        change: Callable[[Session], InterviewChange]) -> None:
        """Reschedule or cancel, and queue the calendar updates and DMs in the same transaction."""
        with deps.db.transaction() as session:
            changed = change(session)
            if not changed.changed:
                return
            outbox_ids, email_ids = queue_change_notifications(session, changed, deps, cancelled=cancelled,
                                                               actor=actor.user_id, interviewers=interviewers)
        deps.outbox.deliver(outbox_ids)
        deps.mailer.deliver(email_ids)

    @app.action(ACTION_RESCHEDULE)
    def open_reschedule_modal(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        with deps.db.read() as session:
            form = interview_change_form(session, actor=actor, interview_id=int(action["value"]), now=deps.clock())
        timezone = slack_timezone(client, actor.user_id)
        open_modal(client, body, build_reschedule_modal(
            form, timezone=timezone, default_minutes=deps.config.interviews.default_duration_minutes))

    @app.view(CALLBACK_RESCHEDULE)
    def submit_reschedule_modal(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        interview_id, timezone = read_reschedule_metadata(view)
        interview = valid_or_errors(ack, view, timezone)
        if interview is None:
            return
        actor = deps.roles.actor(body["user"]["id"])
        try:
            with deps.db.read() as session:
                before = interview_change_form(session, actor=actor, interview_id=interview_id, now=deps.clock())
        except (AccessDenied, NotFound, InterviewRefused) as refused:
            ack(response_action="update", view=build_notice("Reschedule interview",
                                                            explain_refusal(refused) or str(refused)))
            return
        ack()
        # Email addresses of the new panel and of anyone taken off it: a Slack call each, so after the ack.
        interviewers = find_invitees(client, tuple(dict.fromkeys(
            [*interview.interviewer_slack_ids, *before.interviewer_slack_ids])))
        change_and_tell(actor, interviewers, cancelled=False, change=lambda session: reschedule_interview(
            session, actor=actor, interview_id=interview_id, interview=interview, now=deps.clock()))

    @app.action(ACTION_CANCEL)
    def cancel(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        with deps.db.read() as session:
            # Checks access and that it is still upcoming before any Slack call.
            form = interview_change_form(session, actor=actor, interview_id=int(action["value"]), now=deps.clock())
        interviewers = find_invitees(client, form.interviewer_slack_ids)
        change_and_tell(actor, interviewers, cancelled=True, change=lambda session: cancel_interview(
            session, actor=actor, interview_id=form.interview_id, now=deps.clock()))

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
