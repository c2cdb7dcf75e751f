"""Onboarding: language, then the user's own phone, then the menu. A returning user goes straight to the menu."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.chat.answers import alert
from bot.chat.onboarding import ask_language
from bot.keyboards import menu as kb
from bot.keyboards.callbacks import LanguageCb
from bot.services.users import Profile, UserService, suggest_language
from bot.states import Onboarding


async def start(message: Message, state: FSMContext, profile: Profile | None) -> None:
    if profile and profile.registered:
        await state.clear()
        await message.answer(_("Welcome back! What would you like to do?"), reply_markup=kb.main_menu())
        return
    await ask_language(message, state)


async def choose_language(
    callback: CallbackQuery,
    callback_data: LanguageCb,
    state: FSMContext,
    users: UserService,
    i18n: I18n, callback_answer: CallbackAnswer) -> None:
    if callback_data.code not in kb.LANGUAGE_NAMES:
        alert(callback_answer, _("This button is no longer active."))
        return
    profile = await users.set_language(callback.from_user.id, callback_data.code)
    with i18n.use_locale(profile.language):
        if callback.message:
            await callback.message.edit_text(
                _("Language: {name}").format(name=kb.LANGUAGE_NAMES[profile.language])
            )
        if profile.phone:
            await state.clear()
            await callback.message.answer(_("Done. What would you like to do?"), reply_markup=kb.main_menu())
        else:
            await state.set_state(Onboarding.phone)
            await callback.message.answer(_("onboarding.phone"), reply_markup=kb.share_phone())


async def language_hint(message: Message) -> None:
    suggested = suggest_language(message.from_user.language_code if message.from_user else None)
    await message.answer(
        _("Please choose a language with the buttons:"), reply_markup=kb.language_choice(suggested)
    )


async def own_contact(message: Message, state: FSMContext, users: UserService) -> None:
    if message.contact.user_id != message.from_user.id:
        await message.answer(
            _("This is someone else's contact. Please share your own number with the button below."),
            reply_markup=kb.share_phone(),
        )
        return
    await users.set_phone(message.from_user.id, message.contact.phone_number)
    await state.clear()
    await message.answer(_("Thank you! You're all set. What would you like to do?"), reply_markup=kb.main_menu())


async def phone_hint(message: Message) -> None:
    await message.answer(
        _("Please tap the button below to share your phone number."), reply_markup=kb.share_phone()
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(start, CommandStart())
    router.callback_query.register(choose_language, LanguageCb.filter())
    router.message.register(language_hint, Onboarding.language)
    router.message.register(own_contact, Onboarding.phone, F.contact)
    router.message.register(phone_hint, Onboarding.phone)
    return router
