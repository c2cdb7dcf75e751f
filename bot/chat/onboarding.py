"""The language question: where onboarding starts, and where /cancel, /language, the menu and the fallback send a
user who has not finished it."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.keyboards import menu as kb
from bot.services.users import suggest_language
from bot.states import Onboarding


async def ask_language(message: Message, state: FSMContext) -> None:
    await state.set_state(Onboarding.language)
    suggested = suggest_language(message.from_user.language_code if message.from_user else None)
    await message.answer(_("Choose your language:"), reply_markup=kb.language_choice(suggested))
