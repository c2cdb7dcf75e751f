"""Locale from the saved language; before one is saved, a suggestion from Telegram's language_code.

Not FSMI18nMiddleware: it keeps the locale in FSM data, which state.clear() wipes.
"""

from __future__ import annotations

from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18nMiddleware

from bot.services.users import suggest_language


class ProfileI18nMiddleware(I18nMiddleware):
    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        profile = data.get("profile")
        if profile and profile.language:
            return profile.language
        sender = data.get("event_from_user")
        return suggest_language(sender.language_code if sender else None)
