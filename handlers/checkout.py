"""The end of a payment, shared by Pay bills, My homes and History: the card, the summary, the confirm, the SMS
code (Paylov cards), and what became of the payment. The rail follows the chosen card: a Payme card is charged
on confirm, with no code. The steps other features enter too (the card question, the report) are in
bot/chat/checkout.py.
"""

from __future__ import annotations

from contextlib import suppress

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.i18n import gettext as _

from bot.chat.answers import alert, answer_now, rule_message
from bot.chat.answers import delete as delete_message
from bot.chat.answers import delete_secret
from bot.chat.answers import edit as edit_message
from bot.chat.cards import begin_adding
from bot.chat.checkout import ask_card, ask_new_amount, report
from bot.chat.filters import CurrentFlow, Registered
from bot.domain import forms
from bot.domain.cards import CardError, parse_otp
from bot.keyboards import menu as menu_kb
from bot.keyboards import pay as kb
from bot.keyboards.callbacks import PayAction, PayCb
from bot.providers.errors import ProviderError
from bot.services.cards import CardFlowError, CardsService
from bot.services.catalogue import CatalogueService, ServiceForm
from bot.services.payments import PaymentClosed, PaymentsService
from bot.services.users import Profile
from bot.settings import Settings
from bot.states import Pay
from bot.texts.cards import card_name
from bot.texts.labels import label, option_title, shown
from bot.texts.outcomes import provider_text, rule_text
from bot.texts.receipts import summary
from bot.webapp.server import WebAppServer


async def add_card(
    callback: CallbackQuery, state: FSMContext, flow: dict, cards: CardsService, callback_answer: CallbackAnswer,
    settings: Settings, profile: Profile, webapp: WebAppServer | None = None,
) -> None:
    await state.set_data({"resume_pay": flow})
    await begin_adding(callback, state, cards, callback_answer, settings, profile, webapp)


async def choose_card(callback: CallbackQuery, callback_data: PayCb, state: FSMContext, flow: dict,
                      catalogue: CatalogueService, cards: CardsService, callback_answer: CallbackAnswer) -> None:
    try:
        card = await cards.get(callback.from_user.id, callback_data.value)
        if not card.active:
            raise CardFlowError("card_inactive", name=card.name)
    except CardFlowError as error:
        alert(callback_answer, rule_text(error.code, **error.params))
        return
    form = await catalogue.form(flow["service_id"])
    display = _account_display(form, flow["answers"])
    await state.set_state(Pay.confirm)
    await state.update_data(card_id=card.id)
    text = summary(service=form.service.name, account_display=display, amount=flow["amount"],
                   card=card_name(card), can_cancel=form.service.can_cancel)
    await edit_message(callback, text, kb.confirm(flow["flow"]))


def _account_display(form: ServiceForm, answers: dict[str, str]) -> list[list[str]]:
    """Labels and known option titles in the user's language at the time of paying, as the receipt keeps them."""
    return [[label(field.name, field.title), shown(option_title(value), 80)]
            for field, value in forms.display(form.fields, answers)]


async def confirm(callback: CallbackQuery, state: FSMContext, flow: dict, catalogue: CatalogueService,
                  payments: PaymentsService, cards: CardsService, profile: Profile, bot: Bot,
                  callback_answer: CallbackAnswer) -> None:
    service = await catalogue.service(flow["service_id"])
    form = await catalogue.form(flow["service_id"])
    if service is None or not service.payable:
        alert(callback_answer, _("This service cannot be paid right now. Please try later."))
        return
    await answer_now(callback, callback_answer)
    try:
        payment = await payments.open(
            user_id=profile.id, intent_key=flow.get("intent") or flow["flow"], service=form.service,
            account=forms.account(form.fields, flow["answers"]),
            account_display=_account_display(form, flow["answers"]),
            amount=flow["amount"], card_id=flow["card_id"],
        )
    except CardFlowError as error:
        if error.code != "card_inactive":
            await callback.message.answer(_("This payment is closed."))
            return
        await callback.message.answer(rule_message(error.code, **error.params))  # the token died since it was chosen
        await ask_card(callback.message, state, cards, profile)
        return
    except PaymentClosed:
        await callback.message.answer(_("This payment is closed."))
        return
    except ProviderError as error:  # the card could not be checked at Payme: nothing was charged; Confirm again
        await callback.message.answer(provider_text(error), reply_markup=kb.confirm(flow["flow"]))
        return
    await state.update_data(payment_id=payment.id)
    with suppress(TelegramAPIError):  # the old Confirm button going away is cosmetic; the payment is not
        await callback.message.edit_reply_markup(reply_markup=None)
    async with ChatActionSender.typing(bot=bot, chat_id=callback.from_user.id):
        result = await payments.start(profile.id, payment.id, profile.phone)
    await report(callback.message, state, result, payments)


async def typed_code(message: Message, state: FSMContext, payments: PaymentsService, profile: Profile,
                     bot: Bot) -> None:
    await delete_secret(message, bot, _("the code"))  # whatever happens next, a code does not stay in the chat
    data = await state.get_data()
    if data.get("payment_id") is None:  # the payment got its outcome meanwhile (told by the worker): no code step
        await state.clear()
        await message.answer(_("This payment is closed."), reply_markup=menu_kb.main_menu())
        return
    try:
        otp = parse_otp(message.text)
    except CardError:
        await message.answer(_("The code has 6 digits. Please type it again."), reply_markup=kb.code(data["flow"]))
        return
    waiting = await message.answer(_("Paying…"))
    async with ChatActionSender.typing(bot=bot, chat_id=message.chat.id):
        result = await payments.pay(profile.id, data["payment_id"], otp, profile.phone)
    await delete_message(waiting, bot)
    await report(message, state, result, payments)


async def code_hint(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    await message.answer(_("Please type the 6-digit code from the SMS."), reply_markup=kb.code(data["flow"]))


async def again(callback: CallbackQuery, state: FSMContext, flow: dict, catalogue: CatalogueService,
                payments: PaymentsService, cards: CardsService, profile: Profile, bot: Bot,
                callback_answer: CallbackAnswer) -> None:
    """A new intent with the same answers: the failed payment stays failed in the ledger."""
    await confirm(callback, state, flow, catalogue, payments, cards, profile, bot, callback_answer)


async def other_card(callback: CallbackQuery, state: FSMContext, flow: dict, cards: CardsService, profile: Profile,
                     callback_answer: CallbackAnswer) -> None:
    """After a refusal for money: the same amount with another card (the failure's buttons go, its text stays)."""
    await answer_now(callback, callback_answer)
    with suppress(TelegramAPIError):
        await callback.message.edit_reply_markup(reply_markup=None)
    await ask_card(callback.message, state, cards, profile)


async def other_amount(callback: CallbackQuery, state: FSMContext, flow: dict, catalogue: CatalogueService,
                       callback_answer: CallbackAnswer) -> None:
    """After a refusal for money: another amount for the same account, then the card."""
    await answer_now(callback, callback_answer)
    with suppress(TelegramAPIError):
        await callback.message.edit_reply_markup(reply_markup=None)
    await ask_new_amount(callback.message, state, await catalogue.form(flow["service_id"]))


def create_router() -> Router:
    """Included before `pay`, whose last handler closes any other payment button."""
    router = Router(name=__name__)
    router.message.filter(Registered())
    router.callback_query.filter(Registered())
    cb = PayCb.filter
    router.callback_query.register(choose_card, cb(F.action == PayAction.card), CurrentFlow(), Pay.card)
    router.callback_query.register(add_card, cb(F.action == PayAction.add_card), CurrentFlow(), Pay.card)
    router.callback_query.register(confirm, cb(F.action == PayAction.confirm), CurrentFlow(), Pay.confirm)
    router.callback_query.register(again, cb(F.action == PayAction.again), CurrentFlow(), Pay.confirm)
    router.callback_query.register(other_card, cb(F.action == PayAction.other_card), CurrentFlow(), Pay.confirm)
    router.callback_query.register(other_amount, cb(F.action == PayAction.other_amount), CurrentFlow(), Pay.confirm)
    router.message.register(typed_code, Pay.code, F.text)
    router.message.register(code_hint, Pay.code)
    return router
