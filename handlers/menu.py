"""The main menu. Features not built yet say so in the user's language."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.chat.filters import Registered
from bot.chat.leaving import close_payment
from bot.chat.onboarding import ask_language
from bot.keyboards import menu as kb
from bot.services.payments import PaymentsService


async def help_(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("help.text"), reply_markup=kb.main_menu())


async def language(message: Message, state: FSMContext, payments: PaymentsService) -> None:
    """As /language: a payment waiting for its code is closed and the user told."""
    closed = await close_payment(payments, message.from_user.id, await state.get_data())
    await state.clear()
    if closed is not None:
        await message.answer(closed)
    await ask_language(message, state)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(Registered())
    router.message.register(language, F.text == kb.LANGUAGE)
    router.message.register(help_, F.text == kb.HELP)
    return router
