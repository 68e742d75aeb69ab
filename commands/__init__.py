"""Slack surfaces: one module per feature, each with a `register(app, deps)`."""

from __future__ import annotations

from slack_bolt import App
from starlette.routing import BaseRoute

from bot.deps import Deps
from commands import (
    admin,
    candidates,
    errors,
    home,
    interviews,
    nurture,
    outreach,
    payouts,
    positions,
    questions,
    referrals,
    tasks,
)


def register_all(app: App, deps: Deps) -> None:
    errors.register(app, deps)
    referrals.register(app, deps)
    candidates.register(app, deps)
    home.register(app, deps)
    admin.register(app, deps)
    tasks.register(app, deps)
    positions.register(app, deps)
    interviews.register(app, deps)
    payouts.register(app, deps)
    # Before questions: outreach answers the stale answers' "Draft follow-up" button.
    outreach.register(app, deps)
    questions.register(app, deps)
    nurture.register(app, deps)


def http_routes(deps: Deps) -> list[BaseRoute]:
    """Routes for people outside Slack on the bot's HTTP server (bot/server.py mounts them)."""
    routes: list[BaseRoute] = []
    routes += nurture.engagement_routes(deps)
    routes += outreach.unsubscribe_routes(deps)
    return routes
