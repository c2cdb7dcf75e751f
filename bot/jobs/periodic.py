"""A background job of the bot process: one pass every tick until stopped (settlement, reminders, reconciliation).

A pass that raises is logged and tried again next tick, so one bad provider answer never ends the job; its work
lives in the database, so a restart loses none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

logger = logging.getLogger(__name__)


class Periodic:
    name = "periodic"
    wait_first = False  # True: the first pass comes one tick after start

    def __init__(self, *, tick: float) -> None:
        self._tick = tick
        self._stopped = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def run_pass(self) -> float | None:
        """One pass; returns how long to wait before the next one (None: a tick)."""
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopped.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        if self.wait_first and await self._rest(self._tick):
            return
        while True:
            try:
                wait = await self.run_pass()
            except Exception:
                logger.exception("%s pass failed", self.name)
                wait = None
            if await self._rest(self._tick if wait is None else wait):
                return

    async def _rest(self, seconds: float) -> bool:
        """Sleeps, or wakes at stop(); True when stopped."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)
        return self._stopped.is_set()
