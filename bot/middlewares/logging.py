"""One structured line per update: user, update type, handler, duration."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.types import TelegramObject, Update

from bot.storage.update_scope import one_update

logger = logging.getLogger("bot.updates")

_TRACE = "log_trace"


class UpdateLogMiddleware(BaseMiddleware):
    """Outer, on updates, the first of ours: times the whole update (the wait for the user's lock too), writes the
    line, and holds what the update has read (bot.storage.update_scope)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not logger.isEnabledFor(logging.INFO):  # the line is not written: nothing to time or trace
            with one_update():
                return await handler(event, data)
        trace: dict[str, str] = {}
        data[_TRACE] = trace
        started = time.perf_counter()
        outcome = "ok"
        try:
            with one_update():
                return await handler(event, data)
        except Exception:
            outcome = "error"
            raise
        finally:
            sender = data.get("event_from_user")
            logger.info(
                "update id=%s user=%s type=%s handler=%s outcome=%s duration_ms=%.1f",
                event.update_id if isinstance(event, Update) else "-",
                sender.id if sender else "-",
                event.event_type if isinstance(event, Update) else type(event).__name__,
                trace.get("handler", "none"),  # no handler matched (or the update failed before one could)
                outcome,
                (time.perf_counter() - started) * 1000,
            )


class HandlerNameMiddleware(BaseMiddleware):
    """Inner: only here does aiogram know which handler matched."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        matched: HandlerObject | None = data.get("handler")
        trace = data.get(_TRACE)
        if matched is not None and trace is not None:
            callback = matched.callback
            trace["handler"] = f"{callback.__module__}.{getattr(callback, '__qualname__', callback)}"
        return await handler(event, data)
