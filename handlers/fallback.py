"""Last in line: anything no step claimed gets a hint, never silence."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.chat.answers import alert, unknown_command_text
from bot.chat.onboarding import ask_language
from bot.keyboards import menu as kb
from bot.services.users import Profile


async def any_message(message: Message, state: FSMContext, profile: Profile | None) -> None:
    if not (profile and profile.registered):
        await ask_language(message, state)
        return
    if message.text and message.text.startswith("/"):
        await message.answer(unknown_command_text(), reply_markup=kb.main_menu())
        return
    await message.answer(_("Please use the menu buttons below."), reply_markup=kb.main_menu())


async def stale_button(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    alert(callback_answer, _("This button is no longer active."))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(any_message)
    router.callback_query.register(stale_button)
    return router
