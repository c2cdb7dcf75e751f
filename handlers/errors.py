"""Errors: the user gets a polite answer in their language; the trace goes to the log."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

logger = logging.getLogger(__name__)


async def unexpected(event: ErrorEvent, bot: Bot) -> None:
    logger.error("unhandled error in update %s", event.update.update_id, exc_info=event.exception)
    update = event.update
    chat_id = None
    if update.message:
        chat_id = update.message.chat.id
    elif update.callback_query:
        chat_id = update.callback_query.from_user.id
        try:
            await update.callback_query.answer()
        except Exception:  # noqa: BLE001 - the callback may be too old to answer; the message below still goes out
            logger.debug("could not answer the callback query", exc_info=True)
    if chat_id is not None:
        await bot.send_message(chat_id, _("Sorry, something went wrong on our side. Please try again."))


def create_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(unexpected)
    return router
