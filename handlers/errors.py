"""Errors: the user gets a polite answer in their language; the trace goes to the log."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

logger = logging.getLogger(__name__)


async def unexpected(event: ErrorEvent, bot: Bot) -> None:
    # The traceback names the type and the place; no exception message is printed (bot/runtime/logs.py).
    logger.error("unhandled %s in update %s", type(event.exception).__name__, event.update.update_id,
                 exc_info=event.exception)
    update = event.update
    chat_id = None
    if update.message:
        chat_id = update.message.chat.id
    elif update.callback_query:  # the press itself is answered by CallbackAnswerMiddleware
        chat_id = update.callback_query.from_user.id
    if chat_id is not None:
        await bot.send_message(chat_id, _("Sorry, something went wrong on our side. Please try again."))


def create_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(unexpected)
    return router
