"""Commands that work from any step: /cancel, /help, /language."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.chat.onboarding import ask_language
from bot.keyboards import menu as kb
from bot.services.payments import PaymentsService
from bot.services.users import Profile


async def cancel(
    message: Message, state: FSMContext, profile: Profile | None, payments: PaymentsService
) -> None:
    await state.clear()  # a payment waiting for its code is closed on the way out (PaymentExitMiddleware)
    if not (profile and profile.registered):
        await ask_language(message, state)
        return
    await message.answer(_("Cancelled. Nothing was saved. What would you like to do?"), reply_markup=kb.main_menu())


async def help_(message: Message, profile: Profile | None) -> None:
    markup = kb.main_menu() if profile and profile.registered else None
    await message.answer(_("help.text"), reply_markup=markup)


async def language(message: Message, state: FSMContext, profile: Profile | None) -> None:
    await state.clear()
    await ask_language(message, state)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(cancel, Command("cancel"))
    router.message.register(help_, Command("help"))
    router.message.register(language, Command("language"))
    return router
