"""aiogram's CallbackAnswerMiddleware, except that a press too old to answer is not an error for the user."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer, CallbackAnswerMiddleware

logger = logging.getLogger(__name__)


class QuietCallbackAnswer(CallbackAnswerMiddleware):
    async def answer(self, event: CallbackQuery, callback_answer: CallbackAnswer) -> None:
        try:
            await super().answer(event, callback_answer)
        except TelegramBadRequest as error:  # the spinner has already timed out on the user's side
            logger.debug("callback query %s not answered: %s", event.id, error.message)
