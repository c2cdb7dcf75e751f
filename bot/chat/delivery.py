"""Sending what the outbox owes: Telegram's 429 waited out (or scheduled when long), 5xx and lost connections tried
again on the outbox's schedule, a user who blocked the bot dropped; the row is marked sent once Telegram took it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import Message

from bot.money.outbox import Outbox, Owed

logger = logging.getLogger(__name__)

INLINE_WAIT = 5.0  # seconds of retry_after waited in place; a longer pause is left to the outbox's schedule
INLINE_TRIES = 3


async def deliver(outbox: Outbox, owed: Owed, send: Callable[[], Awaitable[Message]]) -> bool:
    """Send one claimed message; True once Telegram has it."""
    for _ in range(INLINE_TRIES):
        try:
            message = await send()
        except TelegramRetryAfter as error:
            if error.retry_after > INLINE_WAIT:
                await outbox.retry(owed, error.retry_after)
                return False
            await asyncio.sleep(error.retry_after)
            continue
        except (TelegramForbiddenError, TelegramNotFound, TelegramBadRequest) as error:
            logger.warning("outbox %s for user %s dropped: %s", owed.id, owed.user_id, type(error).__name__)
            await outbox.drop(owed)
            return False
        except (TelegramServerError, TelegramNetworkError) as error:
            logger.warning("outbox %s for user %s: %s; trying again later", owed.id, owed.user_id,
                           type(error).__name__)
            await outbox.retry(owed)
            return False
        await outbox.sent(owed, message.message_id)
        return True
    await outbox.retry(owed)
    return False
