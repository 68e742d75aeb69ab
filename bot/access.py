"""Who may do what. Services take an Actor and refuse with AccessDenied; the UI only mirrors this."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.workspace import SLACK_USERGROUP_HANDLE, SLACK_USERGROUP_ID, RolesConfig

logger = logging.getLogger(__name__)


class Role(StrEnum):
    ADMIN = "admin"
    RECRUITER = "recruiter"
    EMPLOYEE = "employee"


class AccessDenied(Exception):
    """A refused action; the message is shown to the person, so it explains without leaking."""


@dataclass(frozen=True)
class Actor:
    user_id: str
    roles: frozenset[Role]

    @property
    def sees_pipeline(self) -> bool:
        return bool(self.roles & {Role.ADMIN, Role.RECRUITER})

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    def require_pipeline_access(self) -> None:
        if not self.sees_pipeline:
            raise AccessDenied("Only recruiters and admins can see candidates. "
                               "You can see your own referrals with `/refer status`.")


SYSTEM = Actor(user_id="system", roles=frozenset({Role.ADMIN}))

# Resolves a user-group reference (S… id or @handle) to its members' user IDs.
GroupResolver = Callable[[str], Iterable[str]]


class RoleDirectory:
    """Turns the configured role members (users and user groups) into an Actor for a Slack user.

    User-group membership comes from Slack and changes rarely, so it is cached for `ttl_seconds`;
    when Slack cannot be asked, the last known membership is kept rather than locking recruiters out.
    """

    def __init__(self, roles: RolesConfig, resolve_group: GroupResolver, *, ttl_seconds: float = 300.0):
        self._roles = roles
        self._resolve_group = resolve_group
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._members: dict[Role, frozenset[str]] = {}
        self._loaded_at = float("-inf")

    def actor(self, user_id: str) -> Actor:
        members = self._current_members()
        roles = {role for role, users in members.items() if user_id in users}
        roles.add(Role.EMPLOYEE)
        return Actor(user_id=user_id, roles=frozenset(roles))

    def members(self, role: Role) -> frozenset[str]:
        return self._current_members().get(role, frozenset())

    def _current_members(self) -> dict[Role, frozenset[str]]:
        with self._lock:
            if time.monotonic() - self._loaded_at > self._ttl:
                self._members = self._load(previous=self._members)
                self._loaded_at = time.monotonic()
            return self._members

    def _load(self, previous: dict[Role, frozenset[str]]) -> dict[Role, frozenset[str]]:
        loaded: dict[Role, frozenset[str]] = {}
        for role, entries in ((Role.ADMIN, self._roles.admins), (Role.RECRUITER, self._roles.recruiters)):
            users: set[str] = set()
            for entry in entries:
                if SLACK_USERGROUP_ID.match(entry) or SLACK_USERGROUP_HANDLE.match(entry):
                    try:
                        users.update(self._resolve_group(entry))
                    except Exception:
                        logger.warning("could not resolve user group %s; keeping last known members", entry,
                                       exc_info=True)
                        users.update(previous.get(role, frozenset()))
                else:
                    users.add(entry)
            loaded[role] = frozenset(users)
        return loaded
