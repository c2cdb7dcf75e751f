"""Operator refunds: `/refund <payment id>` from an OPERATOR_IDS user in a private chat with the bot. The money goes
back through a PaySys payout to the card the operator types (deleted at once, sent to PaySys in the same update);
the paid bill stays paid, the cashback it earned is taken back, and its payer is told through the outbox."""

from __future__ import annotations

from aiogram import Bot, F, Router, html
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.chat.answers import alert
from bot.chat.answers import edit as edit_message
from bot.chat.payouts import decide, prepare_with_card
from bot.domain.intents import new_flow
from bot.keyboards import cashback as kb
from bot.keyboards.callbacks import RefundAction, RefundCb
from bot.services.payouts import PayoutRefused, PayoutsService
from bot.states import Refund
from bot.texts.cashback import outcome_text, refund_target_text, refused_text


async def refund(message: Message, command: CommandObject, state: FSMContext, payouts: PayoutsService) -> None:
    if message.chat.type != "private":
        await message.answer(_("This command works only in a private chat with the bot."))
        return
    if not payouts.is_operator(message.from_user.id):
        await message.answer(refused_text(PayoutRefused("not_operator")))
        return
    argument = (command.args or "").strip()
    if not argument.isdigit() or len(argument) > 9:
        await message.answer(html.quote(_("Usage: /refund <payment id>, e.g. /refund 125.")))
        return
    try:
        target = await payouts.refund_target(message.from_user.id, int(argument))
    except PayoutRefused as error:
        await message.answer(refused_text(error))
        return
    await state.set_state(Refund.card)
    await state.set_data({"refund_of": target.payment_id, "intent": new_flow()["intent"]})
    await message.answer(refund_target_text(target), reply_markup=kb.refund_quit())


async def card_typed(message: Message, state: FSMContext, payouts: PayoutsService, bot: Bot) -> None:
    bill = (await state.get_data())["refund_of"]
    payout = await prepare_with_card(
        message, state, bot, lambda card, intent: payouts.refund_prepare(message.from_user.id, bill, card, intent),
        retry_markup=kb.refund_quit())
    if payout is None:
        return
    if payout.outcome == "prepared":
        await state.set_state(Refund.confirm)
        await message.answer(outcome_text(payout), reply_markup=kb.refund_confirm(payout.id))
        return
    await state.clear()
    await message.answer(outcome_text(payout))


async def decide_refund(callback: CallbackQuery, callback_data: RefundCb, state: FSMContext, payouts: PayoutsService,
                 bot: Bot, callback_answer: CallbackAnswer) -> None:
    operator = callback.from_user.id
    if callback.message.chat.type != "private" or not payouts.is_operator(operator):
        alert(callback_answer, refused_text(PayoutRefused("not_operator")))
        return
    step = payouts.refund_confirm if callback_data.action == RefundAction.confirm else payouts.refund_cancel
    await decide(callback, state, payouts, bot, callback_answer, callback_data.id, step, Refund.confirm)


async def quit_refund(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await edit_message(callback, _("The refund is cancelled. Nothing was sent."), None)


async def step_hint(message: Message, state: FSMContext) -> None:
    if await state.get_state() == Refund.card.state:
        await message.answer(_("Please send the card number as text, 16 digits."), reply_markup=kb.refund_quit())
    else:
        await message.answer(_("Please use the buttons: Confirm or Cancel."))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(refund, Command("refund"))
    router.callback_query.register(quit_refund, RefundCb.filter(F.action == RefundAction.quit), Refund())
    decisions = F.action.in_({RefundAction.confirm, RefundAction.cancel})
    router.callback_query.register(decide_refund, RefundCb.filter(decisions))
    router.message.register(card_typed, Refund.card, F.text)
    router.message.register(step_hint, Refund())
    return router
