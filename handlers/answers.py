"""Answers to button presses go through aiogram's CallbackAnswerMiddleware: one answer per press, always."""

from __future__ import annotations

from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer


def alert(answer: CallbackAnswer, text: str) -> None:
    """A pop-up the user must dismiss: for presses that cannot be carried out."""
    answer.text = text[:200]
    answer.show_alert = True


async def answer_now(callback: CallbackQuery, answer: CallbackAnswer) -> None:
    """Before a slow provider call: stop the button's spinner now, not when the call ends."""
    answer.disable()
    await callback.answer()
