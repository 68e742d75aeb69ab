"""Slack surfaces: one module per feature, each with a `register(app, deps)`."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps
from commands import admin, candidates, errors, home, interviews, payouts, positions, questions, referrals, tasks


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
    questions.register(app, deps)
