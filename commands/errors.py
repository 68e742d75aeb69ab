"""The one error path: refusals become an ephemeral explanation, surprises a logged reference."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.access import AccessDenied
from bot.deps import Deps
from bot.services.candidates import NotFound
from bot.services.interviews import InterviewRefused
from bot.services.outreach import DraftRefused
from bot.services.outreach_mail import OutreachBlocked
from bot.services.payouts import PayoutRefused
from bot.services.pipeline import StageMoveRefused
from bot.templates import render

logger = logging.getLogger(__name__)


def user_of(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if isinstance(user, dict):
        return user.get("id")
    return body.get("user_id") or (body.get("event") or {}).get("user")


def tell_user(client: WebClient, body: dict[str, Any], text: str) -> None:
    """Say something only the acting person sees: via response_url when Slack gave one, else by DM."""
    response_url = body.get("response_url") or next(
        (r.get("response_url") for r in body.get("response_urls", []) if r.get("response_url")), None
    )
    if response_url:
        WebhookClient(response_url).send(text=text, response_type="ephemeral", replace_original=False)
        return
    user_id = user_of(body)
    if user_id:
        client.chat_postMessage(channel=user_id, text=text)


def explain_refusal(error: Exception) -> str | None:
    if isinstance(error, AccessDenied):
        return render("errors/access_denied.md.j2", reason=str(error))
    if isinstance(error, NotFound):
        return f":mag: {error}"
    if isinstance(error, InterviewRefused | PayoutRefused | DraftRefused | OutreachBlocked):
        return f":no_entry_sign: {error}"
    if isinstance(error, StageMoveRefused):
        return render("candidates/move_refused.md.j2", reason=str(error))
    return None


def answer_error(error: Exception, body: dict[str, Any], client: WebClient) -> None:
    """Tell the person what went wrong: an explanation for refusals, a logged reference for the rest."""
    text = explain_refusal(error)
    if text is None:
        reference = secrets.token_hex(4)
        logger.error("unhandled error (reference %s) for %s", reference, body.get("type"), exc_info=error)
        text = render("errors/unexpected.md.j2", reference=reference)
    try:
        tell_user(client, body, text)
    except Exception:
        logger.exception("could not tell the user about an error")


def register(app: App, deps: Deps) -> None:
    app.error(answer_error)
