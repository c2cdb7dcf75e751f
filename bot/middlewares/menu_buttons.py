"""A main-menu button is never a step's input. The reply keyboard stays on screen during text steps (a card's name,
an account, an amount, a code), and its buttons send their label as text: without this, "💡 Pay bills" tapped at
the card-name step named the card "💡 Pay bills". Set on every router (handlers.build_routers), it lets a menu
label through as if no step were in progress, so only the menu's own handlers match it and they open the item (each
clears the step on entry; a payment waiting for its code is closed on the way out, PaymentExitMiddleware)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject

from bot.keyboards.menu import is_menu_button


class MenuButtonsFirst(BaseMiddleware):
    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        profile = data.get("profile")
        if (isinstance(event, Message) and data.get("raw_state") is not None and profile is not None
                and profile.registered and is_menu_button(event.text)):
            data["raw_state"] = None  # what state filters read: the steps' handlers do not match, the menu's do
        return await handler(event, data)
