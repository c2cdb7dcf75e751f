"""Failures a test can order from any double (the provider emulators and the Telegram double).

A fault is queued for the next request that matches its key (a Paylov path suffix, a Payme or PaySys method, a Bot
API method); several queue up for successive requests. The double records the request in its ledger with what the
client got, so a test sees both the fault and what the bot did about it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

# timeout: no answer until the double stops. drop: the connection is closed without an answer. 500: an HTML server
# error page. 429: too many requests, with Retry-After. error: the provider's own error envelope with `code`.
# garbage: HTTP 200 with a body that is not the protocol's JSON. hold: parked until the test releases it.
Mode = Literal["timeout", "drop", "500", "429", "error", "garbage", "hold"]
MODES: tuple[str, ...] = ("timeout", "drop", "500", "429", "error", "garbage", "hold")


class Hold:
    """A request parked by the double until the test lets it go: the moment to kill a process mid-call."""

    def __init__(self) -> None:
        self._reached = asyncio.Event()
        self._released = asyncio.Event()
        self.proceed = True

    @property
    def is_reached(self) -> bool:
        return self._reached.is_set()

    async def reached(self, timeout: float = 10.0) -> None:
        """Until the held request has arrived (and, with apply=True, its work is done)."""
        await asyncio.wait_for(self._reached.wait(), timeout)

    def release(self, *, proceed: bool = True) -> None:
        """Let the request go on (answer as usual) or, with proceed=False, close its connection unanswered.
        The first release decides: a later one (say, the double's stop()) changes nothing."""
        if self._released.is_set():
            return
        self.proceed = proceed
        self._released.set()

    async def park(self) -> bool:
        """Called by the double: marks the hold reached and waits; returns whether to go on and answer."""
        self._reached.set()
        await self._released.wait()
        return self.proceed


@dataclass(frozen=True)
class Fault:
    key: str
    mode: Mode
    apply: bool = True  # whether the call takes effect before the answer is withheld (or before a hold)
    code: str | int | None = None  # mode "error": the provider's error code
    retry_after: str | int = 1  # mode "429": seconds, or an HTTP date
    hold: Hold | None = field(default=None, compare=False)  # mode "hold"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown fault mode {self.mode!r}")
        if self.mode == "error" and self.code is None:
            raise ValueError("an 'error' fault needs the provider's error code")
