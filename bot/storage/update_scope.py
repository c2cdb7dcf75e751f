"""What one update has read from the database, for the length of that update only.

Handlers and middlewares ask for the FSM state, its data and the sender's profile several times per update; one read
is enough. Nothing outlives the update: another replica may change the rows between two updates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import NamedTuple


class UserRow(NamedTuple):
    id: int
    language: str | None
    phone: str | None


@dataclass
class UpdateScope:
    fsm: dict[str, tuple[str | None, dict]] = field(default_factory=dict)  # per FSM key: (state, data)
    users: dict[int, UserRow | None] = field(default_factory=dict)  # per user id: the row, or None for no row


_scope: ContextVar[UpdateScope | None] = ContextVar("update_scope", default=None)


@contextmanager
def one_update() -> Iterator[UpdateScope]:
    """Around one update's handling (bot.middlewares.logging, the first of our middlewares)."""
    token = _scope.set(UpdateScope())
    try:
        yield _scope.get()
    finally:
        _scope.reset(token)


def current() -> UpdateScope | None:
    return _scope.get()
