"""How handlers answer: button presses through aiogram's CallbackAnswerMiddleware (one answer per press),
edits that fall back to a new message, deletes that tolerate a message already gone."""

from __future__ import annotations

import asyncio
from html import unescape

from aiogram import Bot, html
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.texts.outcomes import rule_text

DELETE_PAUSES = (1, 2, 4, 8, 16)  # seconds between tries after a 5xx
MAX_RETRY_AFTER = 30


def alert(answer: CallbackAnswer, text: str) -> None:
    """A pop-up the user must dismiss: for presses that cannot be carried out. Alerts are plain text: a text made
    for an HTML message (a quoted provider answer with & or <) is shown as the user would read it there."""
    answer.text = unescape(text)[:200]
    answer.show_alert = True


async def answer_now(callback: CallbackQuery, answer: CallbackAnswer) -> None:
    """Before a slow provider call: stop the button's spinner now, not when the call ends."""
    answer.disable()
    await callback.answer()


async def edit(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Show the answer in place of the pressed message; a new message if it cannot be edited (too old, gone). A
    press that changes nothing (the same button twice) leaves the message as it is: no second copy."""
    try:
        await callback.message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as error:
        if not_modified(error):
            return
        await callback.message.answer(text, reply_markup=markup)


def not_modified(error: TelegramBadRequest) -> bool:
    """Telegram's answer to an edit that would show exactly what is shown."""
    return "message is not modified" in str(error)


def rule_message(code: str, **params: object) -> str:
    """rule_text for a message (HTML): its values are names users typed or providers sent. Alerts are plain text
    and take rule_text as it is."""
    return rule_text(code, **{name: html.quote(str(value)) for name, value in params.items()})


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


def unknown_command_text() -> str:
    """The commands there are, for a command there is not."""
    return "\n".join([
        _("Unknown command. /help lists what I can do."),
        "/start — " + _("Main menu"),
        "/cancel — " + _("Cancel the current step"),
        "/language — " + _("Change the language"),
        "/help — " + _("Help"),
    ])
