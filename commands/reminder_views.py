"""Block Kit for the SLA digest (task reminders themselves use commands.task_views.build_reminder)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.services.reminders import SlaDigest
from bot.templates import render
from commands.kit import Block, context, message, section


def _days(delta: timedelta) -> str:
    days = delta / timedelta(days=1)
    return f"{days:g}" if days < 1 else str(int(days))


def build_sla_digest(digest: SlaDigest, *, now: datetime, recruiting_channel: str) -> dict[str, Any]:
    total = digest.total
    headline = render("tasks/sla_digest.md.j2", total=total, to_channel=digest.recipient == recruiting_channel)
    lines = [render("tasks/sla_digest_line.md.j2", breach=breach, sla_days=_days(breach.sla),
                    days_in_stage=int((now - breach.stage_entered_at) / timedelta(days=1)))
             for breach in digest.breaches]
    blocks: list[Block] = [section(headline), section("\n".join(lines))]
    if total > len(digest.breaches):
        blocks.append(context(render("tasks/sla_digest_more.md.j2", more=total - len(digest.breaches))))
    return message(headline, blocks)
