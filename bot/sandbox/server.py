"""What every provider emulator shares: a free loopback port, the ledger tests wait on, and injected faults."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

Mode = Literal["timeout", "drop", "500"]


@dataclass(frozen=True)
class Fault:
    key: str  # a path suffix (Paylov) or a JSON-RPC method (Payme)
    mode: Mode
    apply: bool  # whether the call takes effect before its answer is withheld


class EmulatorServer:
    def __init__(self) -> None:
        self.base_url = ""
        self.ledger: list[Any] = []
        self._faults: list[Fault] = []
        self._released = asyncio.Event()  # set at stop(): answers held by a "timeout" fault end
        self._recorded = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    async def _listen(self, app: web.Application, host: str, port: int, path: str = "") -> str:
        self._released.clear()
        # No access log: it would print paths and queries. A short shutdown: held requests are released at stop().
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}{path}"
        return self.base_url

    async def stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def calls(self, key: str) -> list[Any]:
        raise NotImplementedError

    async def wait_for_calls(self, key: str, count: int = 1, timeout: float = 5.0) -> list[Any]:
        """Until the ledger holds `count` such calls; woken by each request, never polled."""
        async with self._recorded:
            await asyncio.wait_for(self._recorded.wait_for(lambda: len(self.calls(key)) >= count), timeout)
        return self.calls(key)

    def fail_next(self, key: str, mode: Mode, *, apply: bool = True) -> None:
        """The next such call fails; several faults queue up for successive calls."""
        if mode not in ("timeout", "drop", "500"):
            raise ValueError(f"unknown fault mode {mode!r}")
        self._faults.append(Fault(key, mode, apply))

    async def _append(self, entry: Any) -> None:
        async with self._recorded:
            self.ledger.append(entry)
            self._recorded.notify_all()

    def _pop_fault(self, applies: Callable[[Fault], bool]) -> Fault | None:
        for index, fault in enumerate(self._faults):
            if applies(fault):
                return self._faults.pop(index)
        return None
