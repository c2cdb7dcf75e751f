"""Commands that work from any step: /cancel, /help, /language; any other command is answered as unknown there too,
never taken as a step's input."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.chat.answers import unknown_command_text
from bot.chat.filters import Registered, UnknownCommand
from bot.chat.leaving import cancel_text, close_payment
from bot.chat.onboarding import ask_language
from bot.keyboards import menu as kb
from bot.services.payments import PaymentsService
from bot.services.users import Profile


async def cancel(
    message: Message, state: FSMContext, profile: Profile | None, payments: PaymentsService
) -> None:
    if not (profile and profile.registered):
        await state.clear()
        await ask_language(message, state)
        return
    text = await cancel_text(payments, message.from_user.id, await state.get_state(), await state.get_data())
    await state.clear()
    await message.answer(text + "\n" + _("What would you like to do?"), reply_markup=kb.main_menu())


async def help_(message: Message, profile: Profile | None) -> None:
    markup = kb.main_menu() if profile and profile.registered else None
    await message.answer(_("help.text"), reply_markup=markup)


async def language(message: Message, state: FSMContext, payments: PaymentsService) -> None:
    """A payment waiting for its code is closed here and the user told, before the language question."""
    closed = await close_payment(payments, message.from_user.id, await state.get_data())
    await state.clear()
    if closed is not None:
        await message.answer(closed)
    await ask_language(message, state)


async def unknown_command(message: Message) -> None:
    await message.answer(unknown_command_text())  # the step in progress, if any, goes on


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(cancel, Command("cancel"))
    router.message.register(help_, Command("help"))
    router.message.register(language, Command("language"))
    router.message.register(unknown_command, UnknownCommand(), Registered())
    return router
