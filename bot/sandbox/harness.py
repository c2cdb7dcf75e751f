"""The bot as a process runs it — production wiring, long polling — started and stopped in-process.

Tests, the benchmark and the demo use it; stop() then start() again is a restart on the same database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import date

from aiogram import Dispatcher

from bot.app import Services, build_bot, build_dispatcher, open_services
from bot.settings import Settings


class BotProcess:
    def __init__(self, settings: Settings, *, today: Callable[[], date] | None = None,
                 on_services: Callable[[Services], None] | None = None) -> None:
        self.settings = settings
        self.today = today
        self.on_services = on_services  # called once the services (sandboxes too) are up, before any job or update
        self.services: Services | None = None
        self.dispatcher: Dispatcher | None = None
        self._stack: AsyncExitStack | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> BotProcess:
        self._stack = AsyncExitStack()
        try:
            self.services = await self._stack.enter_async_context(open_services(self.settings, today=self.today))
            if self.on_services is not None:
                self.on_services(self.services)
            bot = build_bot(self.services.settings)
            self._stack.push_async_callback(bot.session.close)
            self.dispatcher = build_dispatcher(self.services.settings, self.services)
            started = asyncio.Event()
            self.dispatcher.startup.register(started.set)
            self._task = asyncio.create_task(
                self.dispatcher.start_polling(bot, handle_signals=False, polling_timeout=2,
                                              tasks_concurrency_limit=self.services.settings.UPDATE_CONCURRENCY)
            )
            waiter = asyncio.create_task(started.wait())
            await asyncio.wait({waiter, self._task}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
            if self._task.done():  # polling died during start-up: surface its error
                waiter.cancel()
                await self._task
        except Exception:  # nothing started is left running: the emulators and the database close again
            self._task = None
            await self._stack.aclose()
            raise
        return self

    async def stop(self) -> None:
        """A graceful stop: updates in hand are finished first."""
        await self._halt(cancel=False)

    async def crash(self) -> None:
        """Dies like a killed process: updates in hand are cut off wherever they are."""
        await self._halt(cancel=True)

    async def _halt(self, *, cancel: bool) -> None:
        if self._task is None:
            return
        in_hand = set(self.dispatcher._handle_update_tasks)  # aiogram keeps no public handle on them
        if cancel:
            for task in in_hand:
                task.cancel()
        if not self._task.done():
            try:
                await self.dispatcher.stop_polling()
            except RuntimeError:  # polling has already ended
                pass
            await asyncio.wait_for(self._task, 30)
        await asyncio.gather(*in_hand, return_exceptions=True)
        self._task = None
        await self._stack.aclose()

    async def restart(self) -> None:
        await self.stop()
        await self.start()
