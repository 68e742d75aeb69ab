"""Scheduled jobs. Each runs from the scheduler or once, now, with `talentbot jobs run NAME`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.deps import Deps
from bot.inbox import purge_finished_jobs
from bot.outbox import queue_slack_calls
from bot.services.reminders import (
    POSTGRES_REMINDER_BATCH,
    REMINDER_BATCH,
    SlaReport,
    claim_due_reminders,
    flag_sla_breaches,
)
from bot.workspace import WorkspaceConfig
from commands.reminder_views import build_sla_digest
from commands.task_views import build_reminders
from storage import queries
from storage.db import Database

PROCESSED_REQUESTS_KEPT = timedelta(days=7)


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    every: timedelta
    run: Callable[[Deps], str]


def deliver_outbox(deps: Deps) -> str:
    return str(deps.outbox.deliver_due())


def deliver_email(deps: Deps) -> str:
    return str(deps.mailer.deliver_due())


def deliver_webhooks(deps: Deps) -> str:
    return str(deps.webhooks.deliver_due())


def purge_processed_requests(deps: Deps) -> str:
    # Slack retries within minutes; a week of event ids is far more than enough to recognise them.
    with deps.db.transaction() as session:
        removed = queries.purge_processed_requests(session, older_than=deps.clock() - PROCESSED_REQUESTS_KEPT)
        # Finished inbox jobs (bot/inbox.py) only guard against repeats too; failed ones stay for a look.
        finished = purge_finished_jobs(session, older_than=deps.clock() - PROCESSED_REQUESTS_KEPT)
    return f"removed {removed} processed-request keys and {finished} finished inbox jobs"


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("deliver_outbox", "Deliver Slack notifications that are due (new, or waiting to retry)",
            timedelta(seconds=20), deliver_outbox),
        Job("deliver_email", "Send queued emails that are due (new, or waiting to retry)",
            timedelta(seconds=30), deliver_email),
        Job("deliver_webhooks", "Post signed webhooks (the HR handoff) that are due, until each gets a 2xx",
            timedelta(seconds=60), deliver_webhooks),
        Job("purge_processed_requests", "Forget Slack event ids older than a week",
            timedelta(hours=6), purge_processed_requests),
    )
}


# --- task reminders and stage SLAs ----------------------------------------------------------------
# Registered below with JOBS.update, so that these entries stay apart from the ones above.


def queue_task_reminders(db: Database, config: WorkspaceConfig, *, now: datetime,
                         batch: int | None = None) -> list[int]:
    """Mark and queue every reminder due at `now`, one transaction per batch; returns the new outbox ids.

    Each recipient gets one message per batch with all their tasks that need attention (a checklist), and one
    with the late tasks escalated to them, rather than a DM per task."""
    if batch is None:
        batch = POSTGRES_REMINDER_BATCH if db.engine.dialect.name == "postgresql" else REMINDER_BATCH
    outbox_ids: list[int] = []
    after: tuple[datetime, int] | None = None
    while True:
        with db.transaction() as session:
            claimed = claim_due_reminders(session, config=config, now=now, after=after, limit=batch)
            # A user ID opens (or reuses) the DM; a channel ID posts in the channel where the team works.
            outbox_ids += queue_slack_calls(session, [
                {"method": "chat.postMessage", "dedupe_key": group.dedupe_key,
                 "payload": {"channel": group.recipient, **build_reminders(group, now=now)}}
                for group in claimed.groups], now=now)
        if claimed.resume_after is None:
            return outbox_ids
        after = claimed.resume_after


def queue_sla_breaches(db: Database, config: WorkspaceConfig, *, now: datetime) -> tuple[SlaReport, list[int]]:
    """Flag new SLA breaches on the timeline and queue today's digests, in one transaction."""
    with db.transaction() as session:
        report = flag_sla_breaches(session, config=config, now=now)
        messages: list[dict[str, object]] = [
            {"method": "chat.postMessage", "dedupe_key": digest.dedupe_key,
             "payload": {"channel": digest.recipient,
                         **build_sla_digest(digest, now=now, recruiting_channel=config.recruiting_channel)}}
            for digest in report.digests]
        return report, queue_slack_calls(session, messages, now=now)


def task_reminders(deps: Deps) -> str:
    outbox_ids = queue_task_reminders(deps.db, deps.config, now=deps.clock())
    return f"queued {len(outbox_ids)} reminders; {deps.outbox.deliver(outbox_ids)}"


def sla_breaches(deps: Deps) -> str:
    report, outbox_ids = queue_sla_breaches(deps.db, deps.config, now=deps.clock())
    delivered = deps.outbox.deliver(outbox_ids)
    return f"{len(report.newly_flagged)} newly over SLA, {len(outbox_ids)} digests queued; {delivered}"


JOBS.update({
    job.name: job
    for job in (
        Job("task_reminders", "Remind assignees before tasks are due and when overdue; escalate late tasks",
            timedelta(minutes=5), task_reminders),
        Job("sla_breaches", "Flag candidates over their stage's SLA; one digest per owner per day",
            timedelta(hours=1), sla_breaches),
    )
})


# --- interviews, referral payouts, nurture sequences and outreach --------------------------------------
# The Slack side of these jobs lives with its feature (commands/interviews.py, payouts.py, nurture.py, outreach.py).


def scorecard_requests(deps: Deps) -> str:
    from commands.interviews import request_scorecards

    return request_scorecards(deps)


def referral_payouts(deps: Deps) -> str:
    from commands.payouts import send_payout_approvals

    return send_payout_approvals(deps)


def nurture_steps(deps: Deps) -> str:
    from commands.nurture import run_nurture_steps

    return run_nurture_steps(deps)


def outreach_results(deps: Deps) -> str:
    from commands.outreach import settle_outreach

    return settle_outreach(deps)


JOBS.update({
    job.name: job
    for job in (
        Job("scorecard_requests", "After each interview, ask every interviewer for their scorecard (a task and a DM)",
            timedelta(minutes=10), scorecard_requests),
        Job("referral_payouts", "Send referral bonuses past their retention period to the payout approver",
            timedelta(hours=1), referral_payouts),
        Job("nurture_steps", "Send the nurture sequence steps that are due (drafts for those needing approval)",
            timedelta(minutes=5), nurture_steps),
        Job("outreach_results", "Stop outreach whose contact consent expired while it waited; tell each approved "
            "draft's thread whether its email went out", timedelta(minutes=1), outreach_results),
    )
})
