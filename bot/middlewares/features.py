"""Which optional features this deployment shows, set for each update (the menu reads it while it is built)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from bot.keyboards.menu import cashback_shown


class FeaturesMiddleware(BaseMiddleware):
    def __init__(self, *, cashback: bool) -> None:
        self._cashback = cashback

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        token = cashback_shown.set(self._cashback)
        try:
            return await handler(event, data)
        finally:
            cashback_shown.reset(token)
