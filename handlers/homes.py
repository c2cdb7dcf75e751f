"""My homes: save an account after paying it, see its fresh balance, pay it again in two taps, be reminded."""

from __future__ import annotations


from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.i18n import gettext as _

from bot.chat.answers import alert, answer_now, rule_message
from bot.chat.answers import edit as edit_message
from bot.chat.checkout import ask_card, report
from bot.chat.filters import Registered
from bot.chat.pay import ask_amount
from bot.domain.intents import flow_for, new_flow
from bot.keyboards import homes as kb
from bot.keyboards import menu as menu_kb
from bot.keyboards import pay as pay_kb
from bot.keyboards.callbacks import HomeAction, HomeCb
from bot.providers.errors import ProviderError
from bot.services.accounts import AccountsService
from bot.services.cards import CardFlowError, CardsService
from bot.services.catalogue import CatalogueService
from bot.services.homes import HomeError, HomesService, HomeView
from bot.services.payments import PaymentClosed, PaymentsService
from bot.services.users import Profile
from bot.states import Homes, Pay
from bot.texts.accounts import home_text, homes_list, paid_again_question
from bot.texts.cards import card_name
from bot.texts.labels import shown
from bot.texts.receipts import summary

ERRORS = {
    "duplicate": lambda p: _("This account is already saved as “{name}”.").format(name=shown(str(p["name"]))),
    "bad_name": lambda p: _("A name is 1 to {max} characters. Please send another one.").format(max=p["max"]),
    "not_found": lambda p: _("This saved account is not available."),
}


def error_text(error: HomeError) -> str:
    return ERRORS.get(error.code, ERRORS["not_found"])(error.params)


# ---- saving after a payment ----------------------------------------------------------------------------------


async def offer_name(callback: CallbackQuery, callback_data: HomeCb, state: FSMContext, homes: HomesService,
                     profile: Profile, callback_answer: CallbackAnswer) -> None:
    existing = await homes.saved_as(profile.id, callback_data.id)
    if existing:
        alert(callback_answer, _("This account is already saved as “{name}”.").format(name=existing))
        return
    await state.set_state(Homes.name)
    await state.set_data({"payment_id": callback_data.id})
    await callback.message.answer(_("How shall I call this account? Pick a name or type your own."),
                                  reply_markup=kb.names(callback_data.id))


async def suggested_name(callback: CallbackQuery, callback_data: HomeCb, state: FSMContext, homes: HomesService,
                         profile: Profile, callback_answer: CallbackAnswer) -> None:
    name = str(kb.SUGGESTED_NAMES[callback_data.day % len(kb.SUGGESTED_NAMES)])
    await _save(callback.message, state, homes, profile, callback_data.id, name, callback_answer)


async def typed_name(message: Message, state: FSMContext, homes: HomesService, profile: Profile) -> None:
    data = await state.get_data()
    await _save(message, state, homes, profile, data.get("payment_id", 0), message.text, None)


async def _save(message: Message, state: FSMContext, homes: HomesService, profile: Profile, payment_id: int,
                name: str, callback_answer: CallbackAnswer | None) -> None:
    try:
        home = await homes.save(profile.id, payment_id, name)
    except HomeError as error:
        if error.code == "bad_name":
            await message.answer(error_text(error), reply_markup=kb.names(payment_id))
            return
        await state.clear()
        if callback_answer is not None:
            alert(callback_answer, error_text(error))
        else:
            await message.answer(error_text(error), reply_markup=menu_kb.main_menu())
        return
    await state.clear()
    await message.answer(_("Saved as “{name}”. Find it in 🏠 My homes next time.").format(name=shown(home.name)),
                         reply_markup=menu_kb.main_menu())


# ---- list and one home -----------------------------------------------------------------------------------------


async def show(message: Message, state: FSMContext, homes: HomesService, profile: Profile) -> None:
    await state.clear()
    items = await homes.list(profile.id)
    if not items:
        await message.answer(_("No saved accounts yet. After a payment, tap “🏠 Save this account”."),
                             reply_markup=menu_kb.main_menu())
        return
    await message.answer(homes_list(items), reply_markup=kb.listing(items))


async def back_to_list(callback: CallbackQuery, homes: HomesService, profile: Profile) -> None:
    items = await homes.list(profile.id)
    await edit_message(callback, homes_list(items) if items else _("No saved accounts yet."), kb.listing(items))


async def open_home(callback: CallbackQuery, callback_data: HomeCb, homes: HomesService, profile: Profile,
                    catalogue: CatalogueService, accounts: AccountsService, bot: Bot,
                    callback_answer: CallbackAnswer) -> None:
    home = await _home_or_alert(homes, profile, callback_data.id, callback_answer)
    if home is None:
        return
    await answer_now(callback, callback_answer)
    async with ChatActionSender.typing(bot=bot, chat_id=callback.from_user.id):
        text, debt, payable = await home_text(home, catalogue, accounts)
    await edit_message(callback, text, kb.home(home, debt=debt, payable=payable))




# ---- paying from a home ----------------------------------------------------------------------------------------


async def pay_debt(callback: CallbackQuery, callback_data: HomeCb, state: FSMContext, homes: HomesService,
                   profile: Profile, catalogue: CatalogueService, accounts: AccountsService, cards: CardsService,
                   payments: PaymentsService, bot: Bot, callback_answer: CallbackAnswer) -> None:
    """The fresh debt with the default card. A Paylov card: this tap is the confirmation and the SMS code follows.
    A Payme card has no code, so this tap shows the summary and Confirm charges. Two presses of one button are one
    intent: the flow and its key are derived from the button's message, the amount and the card. A home paid in
    the last days is asked about first (the provider's debt may not count that payment yet); "Yes" comes back here
    as `debt_again`, "No" reopens the home."""
    home = await _home_or_alert(homes, profile, callback_data.id, callback_answer)
    if home is None:
        return
    await answer_now(callback, callback_answer)
    async with ChatActionSender.typing(bot=bot, chat_id=callback.from_user.id):
        text, debt, payable = await home_text(home, catalogue, accounts)
        if not payable or not debt:
            await callback.message.answer(text + "\n" + _("There is no debt to pay now."),
                                          reply_markup=kb.home(home, debt=debt, payable=payable))
            return
        form = await catalogue.form(home.service_id)
        if not form.service.min_amount <= debt <= form.service.max_amount:
            await callback.message.answer(_("The debt is outside this service's limits; use “Other amount”."))
            return
        if home.paid is not None and callback_data.action != HomeAction.debt_again:
            await callback.message.answer(paid_again_question(home.paid), reply_markup=kb.pay_again(home))
            return
        default = next((card for card in await cards.list(profile.id) if card.is_default), None)
        ids = flow_for(profile.id, "home", home.id, callback.message.message_id, debt,
                       default.id if default else None)
        await state.clear()
        await state.set_data({**ids, "service_id": home.service_id, "answers": home.account, "amount": debt,
                              "debt": debt})
        if default is None:
            await ask_card(callback.message, state, cards, profile)
            return
        shown_summary = summary(service=form.service.name, account_display=home.account_display, amount=debt,
                                card=card_name(default), can_cancel=form.service.can_cancel)
        if default.vault == "payme":
            await state.set_state(Pay.confirm)
            await state.update_data(card_id=default.id)
            await callback.message.answer(shown_summary, reply_markup=pay_kb.confirm(ids["flow"]))
            return
        try:
            payment = await payments.open(user_id=profile.id, intent_key=ids["intent"], service=form.service,
                                          account=home.account, account_display=home.account_display, amount=debt,
                                          card_id=default.id)
        except CardFlowError as error:  # the default card no longer works: choose another
            await callback.message.answer(rule_message(error.code, **error.params))
            await ask_card(callback.message, state, cards, profile)
            return
        except PaymentClosed:
            await callback.message.answer(_("This payment is closed."))
            return
        await state.update_data(card_id=default.id, payment_id=payment.id)
        await callback.message.answer(shown_summary)
        result = await payments.start(profile.id, payment.id, profile.phone)
    await report(callback.message, state, result, payments)


async def other_amount(callback: CallbackQuery, callback_data: HomeCb, state: FSMContext, homes: HomesService,
                       profile: Profile, catalogue: CatalogueService, accounts: AccountsService, bot: Bot,
                       callback_answer: CallbackAnswer) -> None:
    """The amount question with the account's fresh info. A home paid in the last days is asked about first, once
    per flow: "Yes" comes back here as `other_again`, "No" reopens the home."""
    try:
        home = await homes.get(profile.id, callback_data.id)
        form = await catalogue.form(home.service_id)
    except HomeError as error:
        alert(callback_answer, error_text(error))
        return
    await answer_now(callback, callback_answer)
    if home.paid is not None and callback_data.action != HomeAction.other_again:
        await callback.message.answer(paid_again_question(home.paid),
                                      reply_markup=kb.pay_again(home, HomeAction.other_again))
        return
    info = None
    if form.service.has_info:
        try:
            info = await accounts.lookup(form, home.account)
        except ProviderError:
            info = None
    await state.clear()
    await state.set_data({**new_flow(), "service_id": home.service_id, "answers": home.account})
    await ask_amount(callback.message, state, form, info, edit=False, paid=home.paid)


# ---- managing ---------------------------------------------------------------------------------------------------


async def ask_rename(callback: CallbackQuery, callback_data: HomeCb, state: FSMContext, homes: HomesService,
                     profile: Profile, callback_answer: CallbackAnswer) -> None:
    home = await _home_or_alert(homes, profile, callback_data.id, callback_answer)
    if home is None:
        return
    await state.set_state(Homes.rename)
    await state.set_data({"home_id": home.id})
    await callback.message.answer(_("Send the new name for “{name}”.").format(name=shown(home.name)))


async def typed_rename(message: Message, state: FSMContext, homes: HomesService, profile: Profile) -> None:
    data = await state.get_data()
    try:
        home = await homes.rename(profile.id, data.get("home_id", 0), message.text)
    except HomeError as error:
        await message.answer(error_text(error))
        if error.code != "bad_name":
            await state.clear()
        return
    await state.clear()
    await message.answer(_("Renamed to “{name}”.").format(name=shown(home.name)), reply_markup=menu_kb.main_menu())
    items = await homes.list(profile.id)
    await message.answer(homes_list(items), reply_markup=kb.listing(items))


async def ask_delete(callback: CallbackQuery, callback_data: HomeCb, homes: HomesService, profile: Profile,
                     callback_answer: CallbackAnswer) -> None:
    home = await _home_or_alert(homes, profile, callback_data.id, callback_answer)
    if home is None:
        return
    await edit_message(callback, _("Delete the saved account “{name}”?").format(name=shown(home.name)),
                kb.confirm_delete(home))


async def delete(callback: CallbackQuery, callback_data: HomeCb, homes: HomesService, profile: Profile,
                 callback_answer: CallbackAnswer) -> None:
    try:
        home = await homes.delete(profile.id, callback_data.id)
    except HomeError as error:
        alert(callback_answer, error_text(error))
        return
    items = await homes.list(profile.id)
    text = _("“{name}” was deleted.").format(name=shown(home.name))
    await edit_message(callback, text, kb.listing(items) if items else None)


async def ask_day(callback: CallbackQuery, callback_data: HomeCb, homes: HomesService, profile: Profile,
                  callback_answer: CallbackAnswer) -> None:
    home = await _home_or_alert(homes, profile, callback_data.id, callback_answer)
    if home is None:
        return
    await edit_message(callback, _("On which day of the month shall I send “{name}”'s balance?").format(
        name=shown(home.name)), kb.days(home))


async def set_day(callback: CallbackQuery, callback_data: HomeCb, homes: HomesService, profile: Profile,
                  callback_answer: CallbackAnswer) -> None:
    try:
        home = await homes.set_reminder(profile.id, callback_data.id, callback_data.day)
    except HomeError as error:
        alert(callback_answer, error_text(error))
        return
    items = await homes.list(profile.id)
    await edit_message(callback, _("I'll send the balance of “{name}” on day {day} of every month.").format(
        name=shown(home.name), day=home.reminder_day), kb.listing(items))


async def reminders_off(callback: CallbackQuery, callback_data: HomeCb, homes: HomesService, profile: Profile,
                        callback_answer: CallbackAnswer) -> None:
    try:
        home = await homes.set_reminder(profile.id, callback_data.id, None)
    except HomeError as error:
        alert(callback_answer, error_text(error))
        return
    callback_answer.text = _("No more reminders for “{name}”.").format(name=home.name)
    try:
        await callback.message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest:
        pass
    await callback.message.answer(_("No more reminders for “{name}”.").format(name=shown(home.name)))


async def name_hint(message: Message) -> None:
    await message.answer(_("Please send the name as text."))


async def _home_or_alert(homes: HomesService, profile: Profile, home_id: int,
                         callback_answer: CallbackAnswer) -> HomeView | None:
    """The user's own home, or a pop-up saying it is not available (a forged or stale button)."""
    try:
        return await homes.get(profile.id, home_id)
    except HomeError as error:
        alert(callback_answer, error_text(error))
        return None



def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(Registered())
    router.callback_query.filter(Registered())
    cb = HomeCb.filter
    router.message.register(show, F.text == menu_kb.HOMES)
    router.callback_query.register(offer_name, cb(F.action == HomeAction.save))
    router.callback_query.register(suggested_name, cb(F.action == HomeAction.name))
    router.callback_query.register(back_to_list, cb(F.action == HomeAction.back))
    router.callback_query.register(open_home, cb(F.action == HomeAction.open))
    router.callback_query.register(pay_debt, cb(F.action.in_({HomeAction.debt, HomeAction.debt_again})))
    router.callback_query.register(other_amount, cb(F.action.in_({HomeAction.other, HomeAction.other_again})))
    router.callback_query.register(ask_rename, cb(F.action == HomeAction.rename))
    router.callback_query.register(ask_delete, cb(F.action == HomeAction.delete))
    router.callback_query.register(delete, cb(F.action == HomeAction.delete_yes))
    router.callback_query.register(ask_day, cb(F.action == HomeAction.remind))
    router.callback_query.register(set_day, cb(F.action == HomeAction.remind_day))
    router.callback_query.register(reminders_off, cb(F.action == HomeAction.remind_off))
    router.message.register(typed_name, Homes.name, F.text)
    router.message.register(typed_rename, Homes.rename, F.text)
    router.message.register(name_hint, Homes.name)
    router.message.register(name_hint, Homes.rename)
    return router
