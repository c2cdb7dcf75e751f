"""What every provider emulator shares: a free loopback port, the ledger tests wait on, and the faults of
`bot.sandbox.faults`, applied in one place (`_respond`) so Paylov and Payme fail the same way.

An emulator supplies the normal answer as `work()` -> (status, payload), a ledger entry factory, and three small
hooks in its own protocol: `_reply` (its JSON answer), `_fault_answer` (its error envelope for "error" and "429")
and `_check_code` (which codes it documents). Everything else about a fault happens here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from bot.sandbox.faults import Fault, Hold, Mode

# The answer an emulator would give without a fault: (HTTP status, JSON payload).
Work = Callable[[], Awaitable[tuple[int, Any]]]
# A ledger entry from (status the client got, response, fault mode or None).
Entry = Callable[[int, Any, "str | None"], Any]

# mode "garbage" without the work done: a page a proxy or a maintenance screen answers with HTTP 200.
GARBAGE_PAGE = ("<!DOCTYPE html><html><head><title>Maintenance</title></head>"
                "<body><h1>The service is under maintenance</h1><p>Please try again later.</p></body></html>")


class EmulatorServer:
    SERVER_ERROR_PAGE = "<h1>Server Error (500)</h1>"
    HEADERS: dict[str, str] = {}  # added to every answer a fault makes (Payme: CORS)

    def __init__(self) -> None:
        self.base_url = ""
        self.ledger: list[Any] = []
        self._faults: list[Fault] = []
        self._holds: list[Hold] = []  # every hold ordered, so that stop() lets each one go
        self._released = asyncio.Event()  # set at stop(): answers held by a "timeout" fault end
        self._recorded = asyncio.Condition()
        self._in_flight = 0  # requests received and not yet answered or dropped
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
        """Every hold is released unanswered (proceed=False), holds not yet reached leave the queue, and every
        "timeout" ends; then the server closes. Other queued faults stay for a later start()."""
        for hold in self._holds:
            hold.release(proceed=False)
        self._holds.clear()
        self._faults = [fault for fault in self._faults if fault.mode != "hold"]
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- test controls -------------------------------------------------------------------------------------------

    def calls(self, key: str) -> list[Any]:
        raise NotImplementedError

    async def wait_for_calls(self, key: str, count: int = 1, timeout: float = 5.0) -> list[Any]:
        """Until the ledger holds `count` such calls; woken by each request, never polled."""
        async with self._recorded:
            await asyncio.wait_for(self._recorded.wait_for(lambda: len(self.calls(key)) >= count), timeout)
        return self.calls(key)

    async def settled(self, timeout: float = 5.0) -> None:
        """Until every request received is answered or dropped (a parked hold or a "timeout" is still in flight):
        e.g. after releasing a hold whose client has gone, the moment its work is done."""
        async with self._recorded:
            await asyncio.wait_for(self._recorded.wait_for(lambda: self._in_flight == 0), timeout)

    def fail_next(self, key: str, mode: Mode, *, apply: bool | None = None, code: str | int | None = None,
                  retry_after: int | str | datetime = 1) -> None:
        """The next such call fails; several faults queue up for successive calls.

        `apply`: whether the work is done before the failure (default: True, but False for "error" and "429").
        `code`: mode "error" (required) and "429" (optional): the provider's documented error code.
        `retry_after`: mode "429": seconds, an HTTP date, or a datetime sent as one. A hold: `hold_next`.
        """
        if mode == "hold":
            raise ValueError("a hold is ordered with hold_next(), which returns the Hold to release")
        if apply is None:
            apply = mode not in ("error", "429")
        if mode == "429" and apply:
            raise ValueError("a 429 never does the work: apply must be False")
        if code is not None and mode not in ("error", "429"):
            raise ValueError(f"code is for the 'error' and '429' modes, not {mode!r}")
        if code is not None:
            self._check_code(code)
        if isinstance(retry_after, datetime):
            retry_after = format_datetime(retry_after.astimezone(UTC), usegmt=True)
        if isinstance(retry_after, bool) or not isinstance(retry_after, (int, str)) or retry_after == "":
            raise ValueError("retry_after is whole seconds or an HTTP date")
        self._faults.append(Fault(key, mode, apply, code, retry_after))

    def hold_next(self, key: str, *, apply: bool = False) -> Hold:
        """The next such call parks until the test releases it: before the work (apply=False) or after the work
        is done but before the answer (apply=True). `await hold.reached()` waits for that moment."""
        hold = Hold()
        self._faults.append(Fault(key, "hold", apply, hold=hold))
        self._holds.append(hold)
        return hold

    # ---- what an emulator supplies -----------------------------------------------------------------------------------

    def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> web.StreamResponse:
        """The emulator's JSON answer."""
        raise NotImplementedError

    def _fault_answer(self, fault: Fault, request: web.Request, body: Any) -> tuple[int, Any]:
        """Modes "error" and "429": (status, the emulator's error envelope for fault.code or its 429 default)."""
        raise NotImplementedError

    def _check_code(self, code: str | int) -> None:
        """Refuses (ValueError) an error code the provider does not document, so a typo fails at the test's line."""

    # ---- the one place a fault happens -------------------------------------------------------------------------------

    async def _respond(self, request: web.Request, fault: Fault | None, work: Work, entry: Entry,
                       body: Any = None) -> web.StreamResponse:
        self._in_flight += 1
        try:
            return await self._answer(request, fault, work, entry, body)
        finally:
            async with self._recorded:
                self._in_flight -= 1
                self._recorded.notify_all()

    async def _answer(self, request: web.Request, fault: Fault | None, work: Work, entry: Entry,
                      body: Any) -> web.StreamResponse:
        if fault is None:
            status, payload = await work()
            await self._append(entry(status, payload, None))
            return self._reply(status, payload)
        mode = fault.mode
        if mode == "hold":
            return await self._held(request, fault, work, entry)
        done = await work() if fault.apply else None
        if mode == "500":
            await self._append(entry(500, None, mode))
            return web.Response(status=500, text=self.SERVER_ERROR_PAGE, content_type="text/html",
                                headers=self.HEADERS)
        if mode in ("error", "429"):
            status, payload = self._fault_answer(fault, request, body)
            await self._append(entry(status, payload, mode))
            return self._reply(status, payload, {"Retry-After": str(fault.retry_after)} if mode == "429" else None)
        if mode == "garbage":
            text, content_type = _garbage(done)
            await self._append(entry(200, text, mode))
            return web.Response(status=200, text=text, content_type=content_type, headers=self.HEADERS)
        await self._append(entry(0, None, mode))  # drop, timeout: the client gets nothing
        if mode == "timeout":
            await self._released.wait()  # the client gives up first; released at stop()
        return _hang_up(request)

    async def _held(self, request: web.Request, fault: Fault, work: Work, entry: Entry) -> web.StreamResponse:
        """In the ledger from the moment it parks, with status 0 until (and unless) it is answered."""
        hold = fault.hold
        assert hold is not None
        done = await work() if fault.apply else None
        parked = entry(0, None, "hold")
        await self._append(parked)
        if not await hold.park():
            return _hang_up(request)  # nothing more is done
        if done is None:
            done = await work()
        status, payload = done
        if request.transport is None or request.transport.is_closing():  # the client gave up: finish quietly
            return _hang_up(request)
        await self._replace(parked, entry(status, payload, "hold"))
        return self._reply(status, payload)

    # ---- ledger ----------------------------------------------------------------------------------------------------

    async def _append(self, entry: Any) -> None:
        async with self._recorded:
            self.ledger.append(entry)
            self._recorded.notify_all()

    async def _replace(self, old: Any, new: Any) -> None:
        async with self._recorded:
            for index, entry in enumerate(self.ledger):
                if entry is old:
                    self.ledger[index] = new
                    break
            self._recorded.notify_all()

    def _pop_fault(self, applies: Callable[[Fault], bool]) -> Fault | None:
        for index, fault in enumerate(self._faults):
            if applies(fault):
                return self._faults.pop(index)
        return None


def _garbage(done: tuple[int, Any] | None) -> tuple[str, str]:
    """With the work done, its answer cut in half (a proxy cut it short); without, an HTML page. Never JSON."""
    if done is None:
        return GARBAGE_PAGE, "text/html"
    text = json.dumps(done[1], ensure_ascii=False)
    return text[:max(1, len(text) // 2)], "application/json"


def _hang_up(request: web.Request) -> web.StreamResponse:
    if request.transport is not None:  # None when the client has already hung up
        request.transport.close()
    # aiohttp finds the connection closed when it writes this, and drops it quietly.
    return web.Response(status=504)
