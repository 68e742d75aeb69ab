"""Block Kit for the admins' delivery problems: emails the mail job gave up on, each with "Try again"."""

from __future__ import annotations

from collections.abc import Sequence

from bot.templates import render
from commands.kit import Block, button, divider, section
from storage.models import EmailMessage

ACTION_RETRY_EMAIL = "email_retry"


def build_failed_email_blocks(emails: Sequence[EmailMessage], *, total: int, shown: int) -> list[Block]:
    """A heading with the count, then up to `shown` emails (newest first) with a Try again button each."""
    if not emails:
        return []
    blocks: list[Block] = [divider(), section(render("home/email_problems.md.j2", total=total))]
    for email in emails[:shown]:
        blocks.append(section(render("home/email_problem_line.md.j2", email=email),
                              accessory=button("Try again", ACTION_RETRY_EMAIL, str(email.id))))
    return blocks
