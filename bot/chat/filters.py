"""Filters shared by several routers."""

from __future__ import annotations

import re
from typing import Any

from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject

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


# Every command some router handles; a name starting with a digit is no command (it may be a card number).
COMMANDS = frozenset({"start", "cancel", "help", "language", "refund"})
_COMMAND = re.compile(r"/([A-Za-z_][A-Za-z0-9_]{0,31})(?:@[A-Za-z0-9_]{3,32})?(?:\s|$)")


class UnknownCommand(Filter):
    """A command no router handles: answered as such at any step, never taken as a name, a search or a value."""

    async def __call__(self, message: Message) -> bool:
        if message.chat.type != "private":  # in a group, a command may be another bot's
            return False
        match = _COMMAND.match(message.text or "")
        return bool(match) and match.group(1).lower() not in COMMANDS
