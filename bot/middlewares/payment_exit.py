"""Leaving a payment by any path closes it: a draft or a payment waiting for its SMS code is closed as not charged
when the conversation no longer holds it (another menu, a command, My homes, History, a new payment)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.types import TelegramObject


class PaymentExitMiddleware(BaseMiddleware):
    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        state: FSMContext | None = data.get("state")
        user = data.get("event_from_user")
        before = (await state.get_data()).get("payment_id") if state is not None else None
        result = await handler(event, data)
        if before is not None and user is not None:
            after = (await state.get_data()).get("payment_id")
            if after != before:
                await data["payments"].abandon(user.id, before)
        return result
