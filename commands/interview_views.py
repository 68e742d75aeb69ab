"""Block Kit, calendar invites and emails for interviews: pure functions from data to payloads."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parseaddr
from typing import Any

from icalendar import Calendar, Event, vCalAddress, vText

from bot.mail import RenderedEmail, render_email
from bot.services.interviews import (
    MAX_DURATION_MINUTES,
    MAX_INTERVIEWERS,
    MAX_LOCATION,
    MAX_NOTES,
    MIN_DURATION_MINUTES,
    RATINGS,
    InterviewChangeForm,
    InterviewDraft,
    InterviewForm,
    InterviewResult,
    Recommendation,
    ScheduledInterview,
    ScorecardDraft,
    ScorecardForm,
    ScorecardRequest,
    zone,
)
from bot.templates import render
from commands.kit import Block, actions, button, context, message, modal, option, plain, section

ACTION_SCHEDULE = "interview_schedule"
CALLBACK_SCHEDULE = "interview_schedule_submit"
ACTION_SCORECARD_OPEN = "scorecard_open"
CALLBACK_SCORECARD = "scorecard_submit"
ACTION_RESCHEDULE = "interview_reschedule"
CALLBACK_RESCHEDULE = "interview_reschedule_submit"
ACTION_CANCEL = "interview_cancel"

DURATIONS = (15, 30, 45, 60, 90, 120, 180, 240, 300, 360, 420, 480)
RECOMMENDATION_LABELS = {
    Recommendation.STRONG_YES: "Strong yes",
    Recommendation.YES: "Yes",
    Recommendation.NO: "No",
    Recommendation.STRONG_NO: "Strong no",
}
ICS_PRODID = "-//talentbot//interviews//EN"


def slack_time(moment: datetime) -> str:
    """A time every reader sees in their own Slack time zone; the fallback (old clients, notifications) is UTC."""
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{moment:%-d %b %Y %H:%M} UTC>"


# --- the scheduling modal ----------------------------------------------------------------------------


def schedule_interview_button(application_id: int) -> dict[str, Any]:
    """For the candidate card (or any message): opens the scheduling modal for this application."""
    return button("Schedule interview", ACTION_SCHEDULE, str(application_id))


def duration_options(default_minutes: int) -> list[int]:
    choices = {d for d in DURATIONS if MIN_DURATION_MINUTES <= d <= MAX_DURATION_MINUTES}
    return sorted(choices | {default_minutes})


def _duration_label(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None) -> Block:
    block: Block = {"type": "input", "block_id": block_id, "label": plain(label, 2000),
                    "element": {"action_id": "value", **element}, "optional": optional}
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _interview_inputs(*, timezone: str, day: date, default_minutes: int, minutes: int, start: str | None = None,
                      interviewers: Sequence[str] = (), location: str | None = None) -> list[Block]:
    """The day, time, duration, panel and place inputs, empty or filled in with an interview's values."""
    durations = sorted({*duration_options(default_minutes), minutes})
    duration_element = {
        "type": "static_select", "options": [option(_duration_label(d), str(d)) for d in durations],
        "initial_option": option(_duration_label(minutes), str(minutes)),
    }
    # Slack shows the zone under the picker; the submission is read in the same zone (private_metadata).
    time_element: dict[str, Any] = {"type": "timepicker", "timezone": timezone}
    panel: dict[str, Any] = {"type": "multi_users_select", "max_selected_items": MAX_INTERVIEWERS,
                             "placeholder": plain("Who interviews?", 150)}
    place: dict[str, Any] = {"type": "plain_text_input", "max_length": MAX_LOCATION,
                             "placeholder": plain("Room 4.12, or https://meet.example.com/…", 150)}
    if start:
        time_element["initial_time"] = start
    if interviewers:
        panel["initial_users"] = list(interviewers)
    if location:
        place["initial_value"] = location
    return [
        _input("date", "Day", {"type": "datepicker", "initial_date": day.isoformat()}),
        _input("time", "Start time", time_element),
        _input("duration", "Duration", duration_element),
        _input("interviewers", "Interviewers", panel),
        _input("location", "Place or video link", place, optional=True),
        context(render("interviews/schedule_footer.md.j2", timezone=timezone)),
    ]


def build_schedule_modal(form: InterviewForm, *, timezone: str, today: date, default_minutes: int) -> dict[str, Any]:
    blocks: list[Block] = [
        section(render("interviews/schedule_intro.md.j2", form=form)),
        *_interview_inputs(timezone=timezone, day=today, default_minutes=default_minutes, minutes=default_minutes),
    ]
    metadata = json.dumps({"application_id": form.application_id, "tz": timezone})
    return modal(title="Schedule interview", blocks=blocks, callback_id=CALLBACK_SCHEDULE, submit="Schedule",
                 close="Cancel", private_metadata=metadata)


def build_reschedule_modal(form: InterviewChangeForm, *, timezone: str, default_minutes: int) -> dict[str, Any]:
    """The scheduling form filled in with the interview as it stands, in the zone of the person moving it."""
    local = form.starts_at.astimezone(zone(timezone))
    blocks: list[Block] = [
        section(render("interviews/reschedule_intro.md.j2", form=form, when=slack_time(form.starts_at))),
        *_interview_inputs(timezone=timezone, day=local.date(), default_minutes=default_minutes,
                           minutes=form.duration_minutes, start=f"{local:%H:%M}",
                           interviewers=form.interviewer_slack_ids, location=form.location),
    ]
    metadata = json.dumps({"interview_id": form.interview_id, "tz": timezone})
    return modal(title="Reschedule interview", blocks=blocks, callback_id=CALLBACK_RESCHEDULE, submit="Reschedule",
                 close="Back", private_metadata=metadata)


def read_reschedule_metadata(view: Mapping[str, Any]) -> tuple[int, str]:
    metadata = json.loads(view.get("private_metadata") or "{}")
    return int(metadata["interview_id"]), str(metadata.get("tz") or "UTC")


def read_schedule_metadata(view: Mapping[str, Any]) -> tuple[int, str]:
    metadata = json.loads(view.get("private_metadata") or "{}")
    return int(metadata["application_id"]), str(metadata.get("tz") or "UTC")


def _value(values: Mapping[str, Any], block_id: str) -> dict[str, Any]:
    return dict((values.get(block_id) or {}).get("value") or {})


def read_schedule_form(values: Mapping[str, Any], *, timezone: str) -> InterviewDraft:
    duration = _value(values, "duration").get("selected_option") or {}
    return InterviewDraft(
        date=_value(values, "date").get("selected_date"),
        time=_value(values, "time").get("selected_time"),
        timezone=timezone,
        duration_minutes=duration.get("value"),
        interviewer_slack_ids=list(_value(values, "interviewers").get("selected_users") or []),
        location=_value(values, "location").get("value"),
    )


# --- invites: the calendar file and the emails -------------------------------------------------------


@dataclass(frozen=True)
class Invitee:
    """Someone who gets the calendar invite: the candidate, or an interviewer found with users.info."""

    email: str
    name: str
    slack_id: str | None = None


def build_invite_ics(interview: ScheduledInterview, *, organizer: str, invitees: Sequence[Invitee],
                     company_name: str, method: str = "REQUEST") -> str:
    """An iCalendar REQUEST (the invite, or its update) or CANCEL (RFC 5546): the UID is the interview's and the
    SEQUENCE its revision, so that each update replaces the event in calendars and a cancel removes it.

    Times are UTC; calendars show them in each reader's zone. The description says what the interview is
    about and where, nothing from the pipeline's private notes.
    """
    calendar = Calendar()
    calendar.add("prodid", ICS_PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", interview.ical_uid)
    event.add("dtstamp", interview.stamped_at or interview.created_at)
    event.add("dtstart", interview.starts_at)
    event.add("dtend", interview.ends_at)
    event.add("sequence", interview.sequence)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("summary", render("interviews/ics_summary.txt.j2", interview=interview, company_name=company_name))
    event.add("description", render("interviews/ics_description.txt.j2", interview=interview,
                                    company_name=company_name))
    if interview.location:
        event.add("location", interview.location)
    organizer_name, organizer_address = parseaddr(organizer)
    organizer_entry = vCalAddress(f"mailto:{organizer_address}")
    if organizer_name:
        organizer_entry.params["cn"] = vText(organizer_name)
    event.add("organizer", organizer_entry)
    for invitee in invitees:
        attendee = vCalAddress(f"mailto:{invitee.email}")
        attendee.params["cn"] = vText(invitee.name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("NEEDS-ACTION")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")


def invite_attachment(ics: str, method: str = "REQUEST") -> dict[str, str]:
    # The method on the MIME type too: mail clients act on an invite (Accept/Decline, remove) only when both agree.
    return {"filename": "invite.ics", "content_type": f"text/calendar; method={method}", "content": ics}


def build_change_email(interview: ScheduledInterview, *, invitee: Invitee, for_candidate: bool, cancelled: bool,
                       removed: bool = False, company_name: str) -> RenderedEmail:
    """The email with a calendar update (rescheduled) or cancellation, in the zone the interview was set in."""
    tz = zone(interview.timezone)
    return render_email("emails/interview_changed", company_name=company_name, for_candidate=for_candidate,
                        cancelled=cancelled, removed=removed, recipient_name=invitee.name,
                        candidate_name=interview.candidate_name, position_title=interview.position_title,
                        start_local=interview.starts_at.astimezone(tz), end_local=interview.ends_at.astimezone(tz),
                        timezone=tz.key, duration_minutes=interview.duration_minutes, location=interview.location)


def build_invite_email(interview: ScheduledInterview, *, invitee: Invitee, for_candidate: bool, timezone: str,
                       company_name: str) -> RenderedEmail:
    tz = zone(timezone)
    return render_email("emails/interview_invite", company_name=company_name, for_candidate=for_candidate,
                        recipient_name=invitee.name, candidate_name=interview.candidate_name,
                        position_title=interview.position_title, start_local=interview.starts_at.astimezone(tz),
                        end_local=interview.ends_at.astimezone(tz), timezone=tz.key,
                        duration_minutes=interview.duration_minutes, location=interview.location)


# --- Slack messages about a scheduled interview ------------------------------------------------------


def build_interviewer_dm(interview: ScheduledInterview) -> dict[str, Any]:
    text = render("interviews/scheduled_interviewer.md.j2", interview=interview, when=slack_time(interview.starts_at))
    return message(text, [section(text)])


def build_scheduled_confirmation(interview: ScheduledInterview, *, candidate_invited: bool,
                                 uninvited: Sequence[str]) -> dict[str, Any]:
    text = render("interviews/scheduled_confirmation.md.j2", interview=interview,
                  when=slack_time(interview.starts_at), candidate_invited=candidate_invited, uninvited=uninvited)
    return message(text, [section(text), actions(*interview_change_buttons(interview.interview_id),
                                                 block_id=f"interview-actions:{interview.interview_id}")])


def interview_change_buttons(interview_id: int) -> list[dict[str, Any]]:
    """Reschedule / Cancel interview, for the hiring team's messages about an upcoming interview."""
    cancel = button("Cancel interview", ACTION_CANCEL, str(interview_id), style="danger")
    cancel["confirm"] = {
        "title": plain("Cancel the interview?", 100),
        "text": plain("The candidate and the panel are told, and the event leaves their calendars.", 300),
        "confirm": plain("Cancel it", 30), "deny": plain("Keep it", 30), "style": "danger",
    }
    return [button("Reschedule", ACTION_RESCHEDULE, str(interview_id)), cancel]


def build_interviewer_change_dm(interview: ScheduledInterview, *, cancelled: bool, removed: bool = False
                                ) -> dict[str, Any]:
    text = render("interviews/changed_interviewer.md.j2", interview=interview, when=slack_time(interview.starts_at),
                  cancelled=cancelled, removed=removed)
    return message(text, [section(text)])


def build_change_confirmation(interview: ScheduledInterview, *, cancelled: bool) -> dict[str, Any]:
    text = render("interviews/changed_confirmation.md.j2", interview=interview, when=slack_time(interview.starts_at),
                  cancelled=cancelled, candidate_told=interview.candidate_email is not None)
    blocks: list[Block] = [section(text)]
    if not cancelled:
        blocks.append(actions(*interview_change_buttons(interview.interview_id),
                              block_id=f"interview-actions:{interview.interview_id}"))
    return message(text, blocks)


# --- scorecards --------------------------------------------------------------------------------------


def scorecard_button(interview_id: int) -> dict[str, Any]:
    """Opens the interviewer's scorecard; usable on any message about a scorecard task (a reminder too)."""
    return button("Fill in scorecard", ACTION_SCORECARD_OPEN, str(interview_id), style="primary")


def build_scorecard_request(request: ScorecardRequest) -> dict[str, Any]:
    text = render("interviews/scorecard_request.md.j2", request=request, when=slack_time(request.starts_at),
                  due=slack_time(request.due_at))
    return message(text, [section(text, block_id=f"scorecard-request:{request.interview_id}"),
                          actions(scorecard_button(request.interview_id), block_id=f"scorecard:{request.task_id}")])


def build_scorecard_submitted(*, candidate_name: str, position_title: str) -> dict[str, Any]:
    """Replaces the request DM once the scorecard is in, so that the button is gone."""
    text = render("interviews/scorecard_submitted.md.j2", candidate_name=candidate_name,
                  position_title=position_title)
    return message(text, [section(text)])


def criterion_block_id(index: int) -> str:
    # By position rather than name: criteria are free text, block ids are not.
    return f"criterion_{index}"


def build_scorecard_modal(form: ScorecardForm, *, reply_to: tuple[str, str] | None = None) -> dict[str, Any]:
    """`reply_to` is the (channel, ts) of the request DM, redrawn without its button after the submission."""
    ratings = [option(str(r), str(r)) for r in RATINGS]
    blocks: list[Block] = [section(render("interviews/scorecard_intro.md.j2", form=form,
                                          when=slack_time(form.starts_at)))]
    for index, criterion in enumerate(form.criteria):
        blocks.append(_input(criterion_block_id(index), criterion, {"type": "radio_buttons", "options": ratings}))
    blocks.append(_input("recommendation", "Recommendation",
                         {"type": "radio_buttons",
                          "options": [option(label, value) for value, label in RECOMMENDATION_LABELS.items()]}))
    blocks.append(_input("notes", "Notes", {"type": "plain_text_input", "multiline": True, "max_length": MAX_NOTES,
                                            "placeholder": plain("What you saw, with examples", 150)},
                         optional=True))
    metadata: dict[str, Any] = {"interview_id": form.interview_id}
    if reply_to:
        metadata["reply_to"] = list(reply_to)
    return modal(title="Scorecard", blocks=blocks, callback_id=CALLBACK_SCORECARD, submit="Submit",
                 close="Cancel", private_metadata=json.dumps(metadata))


def read_scorecard_metadata(view: Mapping[str, Any]) -> tuple[int, tuple[str, str] | None]:
    metadata = json.loads(view.get("private_metadata") or "{}")
    reply_to = metadata.get("reply_to")
    return int(metadata["interview_id"]), (str(reply_to[0]), str(reply_to[1])) if reply_to else None


def read_scorecard_form(values: Mapping[str, Any], *, criteria: Sequence[str]) -> ScorecardDraft:
    ratings = {}
    for index, criterion in enumerate(criteria):
        selected = _value(values, criterion_block_id(index)).get("selected_option") or {}
        ratings[criterion] = selected.get("value")
    recommendation = _value(values, "recommendation").get("selected_option") or {}
    return ScorecardDraft(ratings=ratings, recommendation=recommendation.get("value"),
                          notes=_value(values, "notes").get("value"))


def scorecard_errors(errors: Mapping[str, str], *, criteria: Sequence[str]) -> dict[str, str]:
    """The service names criteria; the modal's blocks are numbered."""
    index = {criterion: criterion_block_id(i) for i, criterion in enumerate(criteria)}
    return {index.get(key, key): text for key, text in errors.items()}


def build_notice(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something: what replaces a submitted form that could not be taken."""
    return modal(title=title, blocks=[section(text)])


def build_scorecard_already_in(*, candidate_name: str, submitted_at: datetime) -> dict[str, Any]:
    return build_notice("Scorecard", scorecard_already_in_text(candidate_name=candidate_name,
                                                               submitted_at=submitted_at))


def scorecard_already_in_text(*, candidate_name: str, submitted_at: datetime) -> str:
    return render("interviews/scorecard_already_in.md.j2", candidate_name=candidate_name, submitted_at=submitted_at)


# --- results on the candidate card -------------------------------------------------------------------


def build_scorecard_results(results: Sequence[InterviewResult], *, now: datetime) -> list[Block]:
    """Blocks for the candidate card: one section per interview (averages, recommendations, who is missing)."""
    labels = {value.value: label for value, label in RECOMMENDATION_LABELS.items()}
    return [section(render("interviews/results.md.j2", result=result, labels=labels,
                           upcoming=result.starts_at > now))
            for result in results]
