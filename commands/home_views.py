"""Block Kit for the App Home tab."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.services.referrals import ReferralStatusPage
from bot.templates import render
from commands.kit import MAX_VIEW_BLOCKS, Block, button, divider, fit_blocks, header, section
from commands.referral_views import build_status_blocks
from storage.models import OutboxMessage

ACTION_RETRY_DELIVERY = "outbox_retry"
MAX_PROBLEMS_SHOWN = 10


def build_home(*, referrals: ReferralStatusPage, failed_deliveries: Sequence[OutboxMessage] | None,
               failed_total: int = 0) -> dict[str, Any]:
    blocks: list[Block] = [header("talentbot"), section("Refer someone with `/refer`. "
                                                       "Your referrals and their progress are below.")]
    blocks += [divider(), *build_status_blocks(referrals)]
    if failed_deliveries:
        blocks += [divider(), section(render("home/delivery_problems.md.j2", total=failed_total))]
        for problem in failed_deliveries[:MAX_PROBLEMS_SHOWN]:
            blocks.append(section(render("home/delivery_problem_line.md.j2", message=problem),
                                  accessory=button("Try again", ACTION_RETRY_DELIVERY, str(problem.id))))
    return {"type": "home", "blocks": fit_blocks(blocks, MAX_VIEW_BLOCKS)}


