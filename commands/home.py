"""The App Home tab, published when someone opens it and after anything done from it."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.services.board import pipeline_board, task_page
from bot.services.referrals import my_referrals
from commands.candidate_views import read_move_value
from commands.candidates import move_application, refusals_shown_in_a_modal
from commands.home_views import (
    ACTION_HOME_FILTER,
    ACTION_HOME_MOVE,
    ACTION_HOME_PAGE,
    ACTION_HOME_REFRESH,
    ALL_POSITIONS,
    MAX_PROBLEMS_SHOWN,
    PAGE_CHECKLISTS,
    PAGE_POSITIONS,
    PAGE_REFERRALS,
    PAGE_STALE,
    PAGE_TASKS,
    REFERRALS_PAGE,
    build_home,
    read_page_value,
)
from storage import queries
from storage.db import Database
from storage.models import OutboxStatus


@dataclass
class HomeState:
    """Where someone is on their tab: the board's position filter and the page of each list."""

    position_id: int | None = None
    offsets: dict[str, int] = field(default_factory=dict)


# Kept in memory, per database (so per deployment, and per test): a restart or another web process shows
# the first pages of the unfiltered board again, which loses nothing. Every publish (a Done clicked on the
# tab is handled in commands/tasks.py) reads it, so paging and the filter survive redraws.
_STATES: WeakKeyDictionary[Database, dict[str, HomeState]] = WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def home_state(deps: Deps, user_id: str) -> HomeState:
    with _STATES_LOCK:
        return _STATES.setdefault(deps.db, {}).setdefault(user_id, HomeState())


def publish_home(deps: Deps, client: WebClient, user_id: str) -> None:
    actor = deps.roles.actor(user_id)
    state = home_state(deps, user_id)
    now = deps.clock()
    with deps.db.read() as session:
        board = pipeline_board(session, actor=actor, config=deps.config, now=now, position_id=state.position_id,
                               stale_offset=state.offsets.get(PAGE_STALE, 0),
                               positions_offset=state.offsets.get(PAGE_POSITIONS, 0),
                               checklists_offset=state.offsets.get(PAGE_CHECKLISTS, 0))
        tasks = task_page(session, actor=actor, offset=state.offsets.get(PAGE_TASKS, 0))
        referrals = my_referrals(session, actor=actor, limit=REFERRALS_PAGE,
                                 offset=state.offsets.get(PAGE_REFERRALS, 0))
        if not referrals.items and referrals.offset:
            referrals = my_referrals(session, actor=actor, limit=REFERRALS_PAGE)
        failed = queries.failed_outbox_messages(session, limit=MAX_PROBLEMS_SHOWN) if actor.is_admin else None
        failed_total = queries.count_outbox(session, OutboxStatus.FAILED) if actor.is_admin else 0
        failed_emails = queries.failed_emails(session, limit=MAX_PROBLEMS_SHOWN) if actor.is_admin else []
        failed_emails_total = queries.count_emails(session, OutboxStatus.FAILED) if failed_emails else 0
    client.views_publish(user_id=user_id, view=build_home(referrals=referrals, failed_deliveries=failed,
                                                          failed_total=failed_total, board=board, tasks=tasks,
                                                          now=now, nonce=secrets.token_hex(3),
                                                          failed_emails=failed_emails,
                                                          failed_emails_total=failed_emails_total))


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            publish_home(deps, client, event["user"])

    @app.action(ACTION_HOME_REFRESH)
    def refresh(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        publish_home(deps, client, body["user"]["id"])

    @app.action(ACTION_HOME_FILTER)
    def filter_board(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]
        value = (action.get("selected_option") or {}).get("value") or ALL_POSITIONS
        state = home_state(deps, user_id)
        state.position_id = None if value == ALL_POSITIONS else int(value)
        state.offsets.pop(PAGE_STALE, None)
        publish_home(deps, client, user_id)

    @app.action(ACTION_HOME_PAGE)
    def turn_page(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]
        page, offset = read_page_value(action["value"])
        home_state(deps, user_id).offsets[page] = max(offset, 0)
        publish_home(deps, client, user_id)

    @app.action(ACTION_HOME_MOVE)
    def move_from_home(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        actor = deps.roles.actor(body["user"]["id"])
        application_id, stage = read_move_value(action["selected_option"]["value"])
        with refusals_shown_in_a_modal(client, body):
            move_application(deps, actor, application_id=application_id, stage=stage)
        publish_home(deps, client, actor.user_id)
