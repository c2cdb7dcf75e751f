"""Telegram's 429 waited out. Beyond about 30 messages a second per bot (shared by every replica) or one a second per
chat, Telegram answers 429 "Too Many Requests: retry after N" and does nothing. A request middleware on the Bot's
session (bot.app.build_bot) waits those N seconds and sends the same request again, so every caller (a handler, the
outbox sender, the reminders) gets the answer instead of the error.

Bounded: at most `tries` sends of one request, and never more than `max_wait` seconds waited for it in total. A wait
that would go past that is not started: the TelegramRetryAfter reaches the caller at once, as it did before this
middleware (the outbox then schedules the message for later, a handler's error is handled as any other). A 429 never
did the work, so sending the same request again cannot do it twice.

Registered first on the session: aiogram wraps request middlewares in registration order (the first is the
outermost), so each try passes through the others again (the test-mode line is put on the original text each time,
never twice).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[Any]]

TRIES = 3  # sends of one request: the first and two more after a 429
# Seconds waited for one request in total. Half the default UPDATE_DEADLINE (20 s), so a handler in webhook mode has
# time left to finish; far inside an outbox claim (PAYING_STALE_AFTER, at least 38 s), so a receipt being waited for
# is never taken and sent by another replica as well. A longer pause goes back to the caller (the outbox schedules it).
MAX_WAIT = 10.0


class RetryAfterMiddleware(BaseRequestMiddleware):
    def __init__(self, *, tries: int = TRIES, max_wait: float = MAX_WAIT, sleep: Sleep = asyncio.sleep) -> None:
        if tries < 1:
            raise ValueError("tries must be at least 1")
        if max_wait < 0:
            raise ValueError("max_wait must not be negative")
        self._tries = tries
        self._max_wait = max_wait
        self._sleep = sleep

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        waited = 0.0
        for attempt in range(1, self._tries + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                seconds = max(float(error.retry_after), 0.0)
                if attempt == self._tries or waited + seconds > self._max_wait:
                    raise
                # The method and the seconds only: the request's text may be anything the user wrote or will read.
                logger.warning("Telegram answered 429 to %s: waiting %g s before try %d of %d",
                               method.__api_method__, seconds, attempt + 1, self._tries)
                await self._sleep(seconds)
                waited += seconds
        raise AssertionError("unreachable")  # the loop returns or raises
