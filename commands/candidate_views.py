"""Block Kit for the candidate card and the recruiting post once someone owns the candidate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.services.candidates import CandidateSummary
from bot.templates import render
from commands.kit import Block, context, divider, modal, section, truncate

TIMELINE_LABELS = {
    "candidate.created": "Candidate created",
    "referral.submitted": "Referral submitted",
    "consent.granted": "Consent recorded",
    "consent.not_regranted": "Consent not renewed (the candidate had revoked it)",
    "application.created": "Added to a position",
    "candidate.owner_assigned": "Owner assigned",
    "candidate.details_added": "Contact details added",
    "referral.credit_moved": "Referral credit moved",
}


def build_candidate_modal(summary: CandidateSummary, *, now: datetime) -> dict[str, Any]:
    blocks: list[Block] = [section(render("candidates/card_profile.md.j2", candidate=summary.candidate))]
    if summary.referrals:
        blocks.append(section(render("candidates/card_referrals.md.j2", referrals=summary.referrals)))
    blocks.append(section(render("candidates/card_consents.md.j2", consents=summary.consents, now=now)))
    if summary.timeline:
        blocks += [divider(), section("*Timeline*")]
        for activity in summary.timeline:
            label = TIMELINE_LABELS.get(activity.kind, activity.kind)
            blocks.append(context(f"{activity.occurred_at:%-d %b %Y %H:%M} UTC · {label} · <@{activity.actor}>"
                                  if activity.actor != "system" else
                                  f"{activity.occurred_at:%-d %b %Y %H:%M} UTC · {label}"))
    return modal(title=truncate(summary.candidate.full_name, 24), blocks=blocks)


def build_owned_post(blocks: list[Block], *, owner_slack_id: str) -> list[Block]:
    """The recruiting post after "Assign to me": the button goes, the owner is shown."""
    updated: list[Block] = []
    for block in blocks:
        if block.get("type") == "actions":
            kept = [e for e in block.get("elements", []) if e.get("action_id") != "candidate_assign_me"]
            updated.append(context(f"Owner: <@{owner_slack_id}>"))
            if kept:
                updated.append({**block, "elements": kept})
            continue
        updated.append(block)
    return updated
