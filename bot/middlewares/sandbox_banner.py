"""The "TEST MODE — no real money" line. With PROVIDERS=sandbox every payment is emulated and the seed's test cards
are accepted; when that bot talks to the real Telegram, real people see it, so every message it sends (each payment
summary, receipt and payment notice among them, whoever sends it: a handler or the worker's outbox) starts with
that line, in the user's language. One place: a request middleware on the Bot's session (bot.app.build_bot)."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import EditMessageCaption, EditMessageText, SendMessage, SendPhoto, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.utils.i18n import gettext as _

from bot.settings import Settings, is_loopback_url

# The text field of each method that carries a message's words.
TEXT_FIELDS: dict[type, str] = {SendMessage: "text", EditMessageText: "text", EditMessageCaption: "caption",
                                 SendPhoto: "caption"}


def shows_test_mode(settings: Settings) -> bool:
    """Emulated money in front of real people: PROVIDERS=sandbox and a Bot API that is not on loopback, or
    TEST_MODE_BANNER=always (a loopback Bot API server that is still the real Telegram, and the tests)."""
    if settings.PROVIDERS != "sandbox":
        return False
    return settings.TEST_MODE_BANNER == "always" or not is_loopback_url(settings.TELEGRAM_API_URL)


def banner() -> str:
    try:
        return "🧪 " + _("TEST MODE — no real money")
    except LookupError:  # sent outside any user's conversation (no i18n context): English
        return "🧪 TEST MODE — no real money"


class SandboxBanner(BaseRequestMiddleware):
    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        name = TEXT_FIELDS.get(type(method))
        text = getattr(method, name, None) if name else None
        # Explicit entities count offsets from the start: such a message (none today) is left as it is.
        if isinstance(text, str) and not getattr(method, "entities", None) and not getattr(
                method, "caption_entities", None):
            method = method.model_copy(update={name: f"{banner()}\n{text}"})
        return await make_request(bot, method)
