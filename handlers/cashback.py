"""Cashback: the balance, the last credits, and a withdrawal to any UzCard/HUMO card through PaySys.

The card number is asked last and goes to cash2card.prepare_remittance in the update that brought it (deleted from
the chat first, kept nowhere); the user then sees the recipient's name PaySys returns and confirms or cancels.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.chat.answers import alert
from bot.chat.answers import edit as edit_message
from bot.chat.filters import Registered
from bot.chat.payouts import decide, prepare_with_card
from bot.domain.intents import new_flow
from bot.domain.money import AmountError, check_limits, parse_sums
from bot.keyboards import cashback as kb
from bot.keyboards import menu as menu_kb
from bot.keyboards.callbacks import PayoutAction, PayoutCb
from bot.services.payouts import PayoutRefused, PayoutsService, PayoutView
from bot.services.users import Profile
from bot.states import Cashback
from bot.texts.amounts import sums_number
from bot.texts.cashback import cashback_text, outcome_text, refused_text


async def show(message: Message, state: FSMContext, profile: Profile, payouts: PayoutsService) -> None:
    await state.clear()
    view = await payouts.cashback(profile.id)
    await message.answer(cashback_text(view, payouts.cashback_percent), reply_markup=kb.cashback(view.can_withdraw))


async def withdraw(callback: CallbackQuery, state: FSMContext, payouts: PayoutsService,
                   callback_answer: CallbackAnswer) -> None:
    view = await payouts.cashback(callback.from_user.id)
    if view.open_payout is not None:
        alert(callback_answer, refused_text(PayoutRefused("payout_open")))
        return
    limits = await payouts.withdraw_limits(callback.from_user.id)
    if not view.can_withdraw or limits.max_sums < limits.min_sums:
        alert(callback_answer, refused_text(PayoutRefused("below_min", min_sums=limits.min_sums)))
        return
    await state.set_state(Cashback.amount)
    await state.set_data({"intent": new_flow()["intent"]})
    await callback.message.answer(
        _("How much to withdraw? From {min} to {max} sum.").format(min=sums_number(limits.min_sums),
                                                                    max=sums_number(limits.max_sums)),
        reply_markup=kb.amount(limits.max_sums))


async def amount_typed(message: Message, state: FSMContext, payouts: PayoutsService) -> None:
    limits = await payouts.withdraw_limits(message.from_user.id)
    try:
        amount = check_limits(parse_sums(message.text), limits.min_sums, limits.max_sums)
    except AmountError as error:
        await message.answer(_amount_error(error, limits.min_sums, limits.max_sums),
                             reply_markup=kb.amount(limits.max_sums))
        return
    await _ask_card(message, state, amount)


async def amount_all(callback: CallbackQuery, state: FSMContext, payouts: PayoutsService,
                     callback_answer: CallbackAnswer) -> None:
    limits = await payouts.withdraw_limits(callback.from_user.id)
    if limits.max_sums < limits.min_sums:
        alert(callback_answer, refused_text(PayoutRefused("below_min", min_sums=limits.min_sums)))
        return
    await _ask_card(callback.message, state, limits.max_sums)


async def _ask_card(message: Message, state: FSMContext, amount: int) -> None:
    await state.set_state(Cashback.card)
    await state.update_data(amount=amount)
    await message.answer(
        _("Send the number of the UzCard or HUMO card to receive {amount} sum. I delete your message right away and "
          "pass the number straight to the transfer service.").format(amount=sums_number(amount)),
        reply_markup=kb.quit_step())


async def card_typed(message: Message, state: FSMContext, payouts: PayoutsService, profile: Profile,
                     bot: Bot) -> None:
    """The number goes to PaySys now, in this update: it is never kept."""
    amount = (await state.get_data())["amount"]
    payout = await prepare_with_card(
        message, state, bot, lambda card, intent: payouts.prepare(profile.id, amount, card, intent),
        retry_markup=kb.quit_step(), closed_markup=menu_kb.main_menu())
    if payout is not None:
        await _show(message, state, payout)


async def _show(message: Message, state: FSMContext, payout: PayoutView) -> None:
    if payout.outcome == "prepared":
        await state.set_state(Cashback.confirm)
        await message.answer(outcome_text(payout), reply_markup=kb.confirm(payout.id))
        return
    await state.clear()
    await message.answer(outcome_text(payout), reply_markup=menu_kb.main_menu())


async def confirm(callback: CallbackQuery, callback_data: PayoutCb, state: FSMContext, payouts: PayoutsService,
                  bot: Bot, callback_answer: CallbackAnswer) -> None:
    await decide(callback, state, payouts, bot, callback_answer, callback_data.id, payouts.confirm, Cashback.confirm)


async def cancel(callback: CallbackQuery, callback_data: PayoutCb, state: FSMContext, payouts: PayoutsService,
                 bot: Bot, callback_answer: CallbackAnswer) -> None:
    await decide(callback, state, payouts, bot, callback_answer, callback_data.id, payouts.cancel, Cashback.confirm)


async def quit_withdrawal(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await edit_message(callback, _("The withdrawal is cancelled. Nothing was sent."), None)


async def step_hint(message: Message, state: FSMContext) -> None:
    hints = {
        Cashback.amount.state: _("Please type the amount as a number, e.g. 15000 or 15 000."),
        Cashback.card.state: _("Please send the card number as text, 16 digits."),
        Cashback.confirm.state: _("Please use the buttons: Confirm or Cancel."),
    }
    await message.answer(hints.get(await state.get_state(), _("Please use the buttons.")))


def _amount_error(error: AmountError, minimum: int, maximum: int) -> str:
    limits = dict(min=sums_number(minimum), max=sums_number(maximum))
    return {
        "below_min": _("Withdrawals start from {min} sum.").format(**limits),
        "above_max": _("At most {max} sum can be withdrawn now.").format(**limits),
        "whole_sums": _("Please type whole sums, without tiyin: e.g. 15000."),
        "positive": _("The amount must be more than zero."),
    }.get(error.code, _("Please type the amount as a number, e.g. 15000 or 15 000."))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(Registered())
    router.callback_query.filter(Registered())

    router.message.register(show, F.text == menu_kb.CASHBACK)
    router.callback_query.register(withdraw, PayoutCb.filter(F.action == PayoutAction.withdraw))
    router.callback_query.register(amount_all, PayoutCb.filter(F.action == PayoutAction.all), Cashback.amount)
    router.callback_query.register(quit_withdrawal, PayoutCb.filter(F.action == PayoutAction.quit), Cashback())
    router.callback_query.register(confirm, PayoutCb.filter(F.action == PayoutAction.confirm))
    router.callback_query.register(cancel, PayoutCb.filter(F.action == PayoutAction.cancel))

    router.message.register(amount_typed, Cashback.amount, F.text)
    router.message.register(card_typed, Cashback.card, F.text)
    router.message.register(step_hint, Cashback())
    return router
