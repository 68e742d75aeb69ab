"""The sandbox in a real browser: what a person does in the page reaches the unchanged bot as Slack would send it,
and what the bot answers shows up where Slack would show it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from sandbox.people import GENERAL_CHANNEL, RECRUITING_CHANNEL, person
from storage.models import Application, Candidate, Consent, Referral
from tests.browser.conftest import RunningSandbox, wait_until

pytestmark = pytest.mark.slow

expect: Any
try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails under CI) with the reason
    expect = None

EMPLOYEE = person("employee")
RECRUITER = person("recruiter")
MANAGER = person("hiring manager")


def open_as(page: Any, running: RunningSandbox, user_id: str, place: str) -> None:
    page.goto(f"{running.url}/#user={user_id}&place={place}")
    expect(page.locator("#messages, #home").first).to_be_attached()


def type_in_composer(page: Any, text: str) -> None:
    page.fill("#composer-input", text)
    page.press("#composer-input", "Enter")


def select_containing(select: Any, text: str) -> None:
    """Choose the option whose label contains `text` (labels carry details such as a position's location)."""
    value = select.locator("option", has_text=text).first.get_attribute("value")
    select.select_option(value)


def input_block(page: Any, label: str) -> Any:
    return page.locator("#modal .bk-input-block", has=page.locator("label", has_text=label))


def test_employee_refers_through_the_modal_fixing_an_invalid_email(page: Any, running_sandbox: RunningSandbox) -> None:
    open_as(page, running_sandbox, EMPLOYEE.id, GENERAL_CHANNEL)
    type_in_composer(page, "/refer")

    modal = page.locator("#modal")
    expect(modal.locator("#modal-title")).to_have_text("Refer a candidate")
    input_block(page, "Candidate's name").locator("input").fill("Ada Quinlan")
    input_block(page, "Email").locator("input").fill("ada.quinlan@")
    select_containing(input_block(page, "Position").locator("select"), "Data Analyst")
    input_block(page, "How do you know them?").locator("select").select_option("Former colleague")
    input_block(page, "Why would they be a good fit?").locator("textarea").fill("Built our reporting stack.")
    input_block(page, "Consent").locator("input[type=checkbox]").check()
    page.click("#modal-submit")

    # The bot refuses with Slack's response_action: errors; the page shows it at the field and keeps the rest.
    email = input_block(page, "Email")
    expect(email.locator(".bk-error")).to_be_visible()
    expect(email).to_have_class(re.compile("invalid"))
    expect(input_block(page, "Candidate's name").locator("input")).to_have_value("Ada Quinlan")
    with running_sandbox.deps.db.read() as session:
        assert session.exec(select(Candidate).where(Candidate.full_name == "Ada Quinlan")).first() is None

    email.locator("input").fill("ada.quinlan@example.org")
    page.click("#modal-submit")
    expect(page.locator("#modal-backdrop")).to_be_hidden()

    # The confirmation DM, from the template, in the employee's DM with talentbot.
    page.click("#nav-dm")
    expect(page.locator("#messages")).to_contain_text("Ada Quinlan")
    with running_sandbox.deps.db.read() as session:
        candidate = session.exec(select(Candidate).where(Candidate.full_name == "Ada Quinlan")).one()
        assert candidate.email == "ada.quinlan@example.org"
        referral = session.exec(select(Referral).where(Referral.candidate_id == candidate.id)).one()
        assert referral.referrer_slack_id == EMPLOYEE.id
        assert session.exec(select(Consent).where(Consent.candidate_id == candidate.id)).first() is not None

    # The recruiters' post in #recruiting, seen as the recruiter.
    page.select_option("#user-switcher", RECRUITER.id)
    page.click(f"[data-nav={RECRUITING_CHANNEL}]")
    post = page.locator("#messages .msg", has_text="Ada Quinlan").last
    expect(post).to_be_visible()
    expect(post.locator("button.bk-button", has_text="Assign to me")).to_be_visible()


def _offer_candidate(running: RunningSandbox) -> str:
    with running.deps.db.read() as session:
        application = session.exec(select(Application).where(Application.stage == "Offer")).first()
        assert application is not None, "the demo data has a candidate at Offer"
        candidate = session.get(Candidate, application.candidate_id)
        assert candidate is not None
        return candidate.full_name


def test_recruiter_moves_a_candidate_to_offer_accepted_and_the_manager_gets_the_onboarding_dm(
        page: Any, running_sandbox: RunningSandbox) -> None:
    name = _offer_candidate(running_sandbox)
    open_as(page, running_sandbox, RECRUITER.id, RECRUITING_CHANNEL)
    type_in_composer(page, f"/candidate {name}")

    card = page.locator("#modal")
    expect(card).to_contain_text(name)
    move = card.locator("select[data-type=static_select]", has=page.locator("option", has_text="Offer Accepted")).first
    select_containing(move, "Offer Accepted")
    def stage() -> str:
        with running_sandbox.deps.db.read() as session:
            candidate = session.exec(select(Candidate).where(Candidate.full_name == name)).one()
            return session.exec(select(Application).where(Application.candidate_id == candidate.id)).one().stage

    wait_until(lambda: stage() == "Offer Accepted")
    # The card is redrawn in place (views.update) with the new stage.
    expect(card.locator(".bk-section .bk-text", has_text="· Offer Accepted").first).to_be_visible()

    page.click("#modal-close")
    page.select_option("#user-switcher", MANAGER.id)
    page.click("#nav-dm")
    onboarding = page.locator("#messages .msg", has_text=name).last
    expect(onboarding).to_contain_text(re.compile("onboarding|checklist", re.IGNORECASE))


def test_recruiter_asks_for_stale_candidates_this_week_and_gets_the_answer_in_a_thread(
        page: Any, running_sandbox: RunningSandbox) -> None:
    open_as(page, running_sandbox, RECRUITER.id, RECRUITING_CHANNEL)
    type_in_composer(page, "@talentbot stale candidates this week")

    question = page.locator("#messages .msg", has_text="stale candidates this week").last
    expect(question).to_contain_text("@talentbot")
    reply_link = question.locator("button.reply-link")
    expect(reply_link).to_have_text(re.compile(r"\d+ repl"))
    reply_link.click()
    thread = page.locator("#thread-messages")
    answer = thread.locator(".msg", has=page.locator(".badge", has_text="APP")).first
    # The demo data has candidates past their stage's SLA; the answer names at least one of them.
    with running_sandbox.deps.db.read() as session:
        names = [c.full_name for c in session.exec(select(Candidate)).all()]
    expect(answer).to_contain_text(re.compile("|".join(re.escape(n) for n in names)))


def test_recruiter_approves_a_drafted_follow_up_in_the_thread_and_the_email_lands_in_the_outbox(
        page: Any, running_sandbox: RunningSandbox) -> None:
    open_as(page, running_sandbox, RECRUITER.id, RECRUITING_CHANNEL)
    type_in_composer(page, "@talentbot stale candidates this week")
    question = page.locator("#messages .msg", has_text="stale candidates this week").last
    question.locator("button.reply-link").filter(has_text="repl").click()
    thread = page.locator("#thread-messages")
    thread.locator("button", has_text="Draft follow-up").first.click()

    draft = thread.locator(".msg", has=page.locator("button", has_text="Approve & send")).last
    expect(draft).to_be_visible()
    name = re.search(r"Follow-up email to (.+?) ·", draft.inner_text()).group(1)  # type: ignore[union-attr]
    draft.locator("button", has_text="Approve & send").click()
    # The button carries Slack's confirm dialog; nothing is sent until the person confirms.
    dialog = page.locator(".bk-confirm")
    expect(dialog).to_contain_text("Send this email?")
    dialog.locator("button.bk-confirm-ok").click()
    expect(thread).to_contain_text(f"Sent to {name}")

    from bot.jobs import JOBS

    JOBS["deliver_email"].run(running_sandbox.deps)  # whatever the approval did not send itself
    with running_sandbox.deps.db.read() as session:
        address = session.exec(select(Candidate).where(Candidate.full_name == name)).one().email
    page.click("#nav-outbox")
    email = page.locator("#outbox .email", has_text=str(address)).filter(has_text="Following up")
    expect(email).to_be_visible()
    expect(email).to_contain_text("Unsubscribe")
    caught = [e for e in running_sandbox.sandbox.mail.snapshot() if address in e.recipients]  # type: ignore[attr-defined]
    assert len(caught) == 1


def test_mrkdwn_renders_like_slack(page: Any, running_sandbox: RunningSandbox) -> None:
    open_as(page, running_sandbox, RECRUITER.id, RECRUITING_CHANNEL)
    source = ("*Troy Thompson*'s _second_ ~old~ `code` <https://ex.example/a_b_c|the link> "
              f"<@{RECRUITER.id}> :tada:\n• one")
    html = page.evaluate("source => BlockKit.mrkdwn(source)", source)
    assert "<b>Troy Thompson</b>'s" in html
    assert "<i>second</i>" in html and "<s>old</s>" in html and "<code>code</code>" in html
    assert '<a href="https://ex.example/a_b_c" target="_blank" rel="noopener">the link</a>' in html
    assert f"@{RECRUITER.name}" in html and "🎉" in html and "<br>• one" in html
    # Text from people is escaped, never markup.
    escaped = page.evaluate("() => BlockKit.mrkdwn('<script>alert(1)</script> <b>x</b>')")
    assert "<script>" not in escaped and "<b>" not in escaped and "&lt;script&gt;" in escaped


def test_recruiter_schedules_an_interview_with_date_time_and_people_pickers(
        page: Any, running_sandbox: RunningSandbox) -> None:
    with running_sandbox.deps.db.read() as session:
        application = session.exec(select(Application).where(Application.stage == "Interview")).first()
        assert application is not None
        candidate = session.get(Candidate, application.candidate_id)
        assert candidate is not None
    open_as(page, running_sandbox, RECRUITER.id, RECRUITING_CHANNEL)
    type_in_composer(page, f"/candidate {candidate.full_name}")
    modal = page.locator("#modal")
    expect(modal).to_contain_text(candidate.full_name)
    modal.locator("button", has_text="Schedule interview").first.click()
    expect(modal.locator("#modal-title")).to_have_text("Schedule interview")

    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    input_block(page, "Day").locator("input[type=date]").fill(day)
    input_block(page, "Start time").locator("input[type=time]").fill("10:30")
    select_containing(input_block(page, "Duration").locator("select"), "45 min")
    input_block(page, "Interviewers").locator("select[multiple]").select_option([MANAGER.id, RECRUITER.id])
    page.click("#modal-submit")
    # The pushed view closes and the card underneath is back.
    expect(modal.locator("#modal-title")).to_have_text(candidate.full_name)
    page.click("#modal-close")
    expect(page.locator("#modal-backdrop")).to_be_hidden()

    from bot.jobs import JOBS

    JOBS["deliver_email"].run(running_sandbox.deps)
    page.click("#nav-outbox")
    invite = page.locator("#outbox .email", has_text=str(candidate.email)).filter(has_text="Your interview")
    expect(invite).to_be_visible()
    expect(invite.locator(".meta")).to_contain_text("invite.ics")


RENDER_PROBE = """blocks => {
    const actions = [];
    const root = BlockKit.render(blocks, { surface: "modal", onAction: (a) => actions.push(a),
                                           loadOptions: async () => ({ options: [] }) });
    root.id = "probe";
    document.body.append(root);
    window.probeActions = actions;
}"""


def test_block_kit_elements_report_state_and_actions_as_slack_does(page: Any, running_sandbox: RunningSandbox) -> None:
    option = {"text": {"type": "plain_text", "text": "Later"}, "value": "later"}
    other = {"text": {"type": "plain_text", "text": "Now"}, "value": "now"}
    blocks = [
        {"type": "section", "block_id": "s", "text": {"type": "mrkdwn", "text": "*Pick*"},
         "accessory": {"type": "overflow", "action_id": "more", "options": [option, other]}},
        {"type": "input", "block_id": "r", "label": {"type": "plain_text", "text": "When"},
         "element": {"type": "radio_buttons", "action_id": "when", "options": [option, other]}},
        {"type": "input", "block_id": "n", "label": {"type": "plain_text", "text": "How many"},
         "element": {"type": "number_input", "action_id": "count", "is_decimal_allowed": False}},
        {"type": "input", "block_id": "u", "label": {"type": "plain_text", "text": "Who"},
         "element": {"type": "users_select", "action_id": "who"}},
        {"type": "actions", "block_id": "a", "elements": [
            {"type": "datepicker", "action_id": "day"},
            {"type": "button", "action_id": "go", "value": "1", "style": "danger",
             "text": {"type": "plain_text", "text": "Go"}}]},
    ]
    open_as(page, running_sandbox, EMPLOYEE.id, GENERAL_CHANNEL)
    page.evaluate(RENDER_PROBE, blocks)
    probe = page.locator("#probe")
    probe.locator("input[type=radio][value=now]").check()
    probe.locator("input[type=number]").fill("3")
    probe.locator("select[data-type=users_select]").select_option(MANAGER.id)
    probe.locator(".bk-overflow > button").click()
    probe.locator(".bk-overflow li button", has_text="Later").click()
    probe.locator("input[type=date]").fill("2026-12-01")
    expect(probe.locator("button.bk-button.danger")).to_have_text("Go")
    probe.locator("button.bk-button.danger").click()

    values = page.evaluate("() => BlockKit.collectValues(document.getElementById('probe'))")
    assert values["r"]["when"] == {"type": "radio_buttons", "selected_option": other}
    assert values["n"]["count"] == {"type": "number_input", "value": "3"}
    assert values["u"]["who"] == {"type": "users_select", "selected_user": MANAGER.id}
    actions = page.evaluate("() => window.probeActions")
    # Input blocks in a modal wait for submit; overflow, date pickers and buttons in other blocks act at once.
    assert [(a["action_id"], a["block_id"]) for a in actions] == [("more", "s"), ("day", "a"), ("go", "a")]
    assert actions[0]["selected_option"] == option
    assert actions[1]["selected_date"] == "2026-12-01"
    assert actions[2]["value"] == "1" and actions[2]["type"] == "button"
