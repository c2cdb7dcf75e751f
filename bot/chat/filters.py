"""Filters shared by several routers."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, TelegramObject

from bot.keyboards.callbacks import PayCb


class Registered(Filter):
    """The sender chose a language and shared a phone; features are closed before that."""

    async def __call__(self, event: TelegramObject, profile: Any = None) -> bool:
        return bool(profile and profile.registered)


class CurrentFlow(Filter):
    """The button belongs to the payment conversation in progress; otherwise the fallback says it is closed."""

    async def __call__(self, callback: CallbackQuery, callback_data: PayCb, state: FSMContext) -> bool | dict:
        data = await state.get_data()
        return {"flow": data} if data.get("flow") == callback_data.flow else False
