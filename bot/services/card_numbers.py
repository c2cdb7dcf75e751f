"""Where a typed card waits between the number step and the provider call: process memory only.

The number and the expiry as typed may never sit in the database, the FSM storage or a log. Paylov's
createUserCard needs both together, and a new SMS code needs createUserCard again, so they live here for a few
minutes at most, dropped on success, /cancel or timeout. A restart forgets them and the user types the number
again: that is the price of never writing it down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class TypedCard:
    number: str
    expire_yymm: str | None
    deadline: float

    def __repr__(self) -> str:  # never print a number, even in a debugger or a traceback
        return "TypedCard(<hidden>)"


class PendingCards:
    def __init__(self, ttl: float = 600, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._cards: dict[int, TypedCard] = {}

    def put_number(self, user_id: int, number: str) -> None:
        self._cards[user_id] = TypedCard(number, None, self._clock() + self._ttl)

    def put_expiry(self, user_id: int, expire_yymm: str) -> None:
        card = self.get(user_id)
        if card is not None:
            card.expire_yymm = expire_yymm

    def get(self, user_id: int) -> TypedCard | None:
        card = self._cards.get(user_id)
        if card is not None and self._clock() > card.deadline:
            del self._cards[user_id]
            return None
        return card

    def drop(self, user_id: int) -> None:
        self._cards.pop(user_id, None)

    def __repr__(self) -> str:
        return f"PendingCards({len(self._cards)} waiting)"
