"""How handlers answer: button presses through aiogram's CallbackAnswerMiddleware (one answer per press),
edits that fall back to a new message, deletes that tolerate a message already gone."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer


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


async def delete(message: Message, bot: Bot) -> None:
    """Remove a message (a typed card number or code); one already gone or too old is left alone."""
    try:
        await bot.delete_message(message.chat.id, message.message_id)
    except TelegramBadRequest:
        pass
