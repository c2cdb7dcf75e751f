"""The end of a payment that Pay bills, My homes and History all reach: the card question, the way back to it from
adding a card, and the report of what became of the payment. The handlers of the steps between (choose a card,
confirm, type the code) are in handlers/checkout.py.
"""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import InlineKeyboardMarkup, Message, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.intents import new_flow
from bot.domain.retry import refused_for_money
from bot.keyboards import homes as homes_kb
from bot.keyboards import menu as menu_kb
from bot.keyboards import pay as kb
from bot.services.cards import CardsService
from bot.services.catalogue import ServiceForm
from bot.chat.delivery import deliver
from bot.services.payments import TOLD, PaymentsService, PayResult
from bot.services.users import Profile
from bot.states import Pay
from bot.texts import formats
from bot.texts.amounts import sums_number
from bot.texts.labels import shown
from bot.texts.receipts import failure, failure_reason, outcome_text, pending


async def ask_card(message: Message, state: FSMContext, cards: CardsService, profile: Profile) -> None:
    data = await state.get_data()
    await state.set_state(Pay.card)
    items = await cards.list(profile.id)
    text = (_("Choose the card to pay {amount} sum with:").format(amount=sums_number(data["amount"]))
            if items else _("You have no saved cards yet. Add one and I'll bring you back to this payment."))
    await message.answer(text, reply_markup=kb.cards(data["flow"], items))


async def ask_new_amount(message: Message, state: FSMContext, form: ServiceForm) -> None:
    """After a refusal for money: the amount question again, for the same account; a card is chosen after it."""
    data = await state.get_data()
    await state.set_state(Pay.amount)
    lines = [f"<b>{shown(form.service.name)}</b>", _("Type the amount in sums, from {min} to {max}.").format(
        min=sums_number(form.service.min_amount), max=sums_number(form.service.max_amount))]
    await message.answer("\n".join(lines), reply_markup=kb.amount(data["flow"], data.get("debt")))


async def resume_after_card(message: Message, state: FSMContext, cards: CardsService, profile: Profile,
                            saved: dict[str, Any]) -> None:
    """Back from adding a card to the payment, with every answer still there."""
    await state.set_state(Pay.card)
    await state.set_data(saved)
    await ask_card(message, state, cards, profile)


async def report(message: Message, state: FSMContext, result: PayResult, payments: PaymentsService) -> None:
    """Tell the user what became of the payment, and leave the conversation where the next step is. A money outcome
    is the outbox's message, sent here by the hand that made it (with this conversation's buttons), or by a worker
    if this process dies first; never twice."""
    payment = result.payment
    data = await state.get_data()
    flow = data.get("flow", "")
    if result.outcome in ("pending", "new_code", "wrong_code", "not_charged") and payment.rail == "paylov":
        await state.set_state(Pay.code)  # only a Paylov card has a code to type
    if result.outcome == "pending" and payment.rail != "paylov":  # another hand is charging it right now
        await state.clear()
        await message.answer(pending(payment), reply_markup=menu_kb.main_menu())
    elif result.outcome == "pending":
        await message.answer(_("I sent a code by SMS to {phone}. Type it to pay {amount} sum.").format(
            phone=shown(formats.phone(payment.otp_phone) or "—"), amount=sums_number(payment.amount)),
            reply_markup=kb.code(flow))
    elif result.outcome == "new_code":
        await message.answer(_("The code has expired; that attempt was not charged. I sent a new code to {phone}. "
                               "Type it to pay.").format(phone=shown(formats.phone(payment.otp_phone) or "—")),
                             reply_markup=kb.code(flow))
    elif result.outcome == "wrong_code":
        await message.answer(_("Wrong code. Tries left: {left}.").format(left=result.tries_left),
                             reply_markup=kb.code(flow))
    elif result.outcome == "not_charged":
        await message.answer(_("The payment did not go through and your card was not charged. "
                               "Type the code again to retry."), reply_markup=kb.code(flow))
    elif result.outcome == "failed":
        await state.set_state(Pay.confirm)
        ids = new_flow()  # a new intent: the failed payment stays failed in the ledger
        await state.update_data(**ids, payment_id=None)
        retry = kb.money_refused if refused_for_money(payment.error_code) else kb.try_again
        await tell(message, payments, result, failure(payment, failure_reason(payment)), retry(ids["flow"]))
    elif result.outcome in TOLD:
        await state.clear()
        await tell(message, payments, result, outcome_text(result), told_markup(result))
    else:
        await state.clear()
        await message.answer(pending(payment), reply_markup=menu_kb.main_menu())


async def tell(message: Message, payments: PaymentsService, result: PayResult, text: str,
               markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None) -> None:
    """The outbox's message for this outcome, if it is still ours to send; a payment already told says so."""
    owed = await payments.outbox.claim(result.payment.id, result.outcome)
    if owed is not None:
        await deliver(payments.outbox, owed, lambda: message.answer(text, reply_markup=markup))
        return
    if (await payments.outbox.states(result.payment.id)).get(result.outcome) in (None, "sent", "dropped"):
        await message.answer(_("This payment is closed."), reply_markup=menu_kb.main_menu())


def told_markup(result: PayResult) -> InlineKeyboardMarkup | ReplyKeyboardMarkup:
    """The buttons under a money outcome, whoever sends it: a receipt offers to save the account."""
    if result.outcome == "paid":
        return homes_kb.save_offer(result.payment.id, sms=result.payment.rail == "payme")  # Payme texts receipts
    return menu_kb.main_menu()