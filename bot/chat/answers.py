"""How handlers answer: button presses through aiogram's CallbackAnswerMiddleware (one answer per press),
edits that fall back to a new message, deletes that tolerate a message already gone."""

from __future__ import annotations

import asyncio

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

DELETE_PAUSES = (1, 2, 4, 8, 16)  # seconds between tries after a 5xx
MAX_RETRY_AFTER = 30


def alert(answer: CallbackAnswer, text: str) -> None:
    """A pop-up the user must dismiss: for presses that cannot be carried out."""
    answer.text = text[:200]
    answer.show_alert = True


async def answer_now(callback: CallbackQuery, answer: CallbackAnswer) -> None:
    """Before a slow provider call: stop the button's spinner now, not when the call ends."""
    answer.disable()
    await callback.answer()


async def edit(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Show the answer in place of the pressed message; a new message if it cannot be edited
    ("message is not modified", or too old)."""
    try:
        await callback.message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest:
        await callback.message.answer(text, reply_markup=markup)


async def delete(message: Message, bot: Bot) -> bool:
    """Remove a message that may hold a card number or a code: Telegram's 429 is waited out and a 5xx tried again
    (five tries over about half a minute). False when Telegram keeps it for good: the caller asks the user to delete
    it; a message already gone counts as deleted."""
    for pause in DELETE_PAUSES:
        try:
            await bot.delete_message(message.chat.id, message.message_id)
            return True
        except TelegramRetryAfter as error:
            await asyncio.sleep(min(error.retry_after, MAX_RETRY_AFTER))
        except (TelegramServerError, TelegramNetworkError):
            await asyncio.sleep(pause)
        except TelegramBadRequest as error:
            return "not found" in str(error).lower()
    return False


async def delete_secret(message: Message, bot: Bot, what: str) -> None:
    """Delete a message with card data or a code; if Telegram will not, ask the user to (`what` says what it holds)."""
    if not await delete(message, bot):
        await message.answer(_("I could not delete your message with {what}. Please delete it yourself: press and "
                               "hold it, then Delete.").format(what=what))
