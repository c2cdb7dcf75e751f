"""The steps of a payout shared by a cashback withdrawal and an operator's refund. The card step: the message with
the number is deleted first, the number goes to PaySys in this update (held nowhere), and every refusal is explained
with the step kept or closed as it should be. Confirm or Cancel: carried out once, an old button shows where the
payout is now."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message, ReplyMarkupUnion
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.i18n import gettext as _

from bot.chat.answers import alert, answer_now, delete_secret
from bot.chat.answers import edit as edit_message
from bot.domain.cards import CardError
from bot.domain.intents import new_flow
from bot.providers.errors import ProviderError, ProviderRejected
from bot.services.payouts import PayoutRefused, PayoutsService, PayoutUnavailable, PayoutView
from bot.texts.cashback import outcome_text, paysys_refused_text, refused_text
from bot.texts.outcomes import provider_text, rule_text

# (card number as typed, intent key) -> the prepared payout
Prepare = Callable[[str, str], Awaitable[PayoutView]]
# (acting user, payout id) -> the payout after Confirm or Cancel
Decide = Callable[[int, int], Awaitable[PayoutView]]


async def prepare_with_card(message: Message, state: FSMContext, bot: Bot, prepare: Prepare, *,
                            retry_markup: ReplyMarkupUnion, closed_markup: ReplyMarkupUnion | None = None,
                            ) -> PayoutView | None:
    """The payout PaySys prepared, or None when the user was told why not (the step kept for another number, or
    closed by a rule)."""
    await delete_secret(message, bot, _("the card number"))
    intent = (await state.get_data())["intent"]
    try:
        async with ChatActionSender.typing(bot=bot, chat_id=message.chat.id):
            return await prepare(message.text or "", intent)
    except CardError as error:
        await message.answer(rule_text(error.code) + "\n" + _("(I deleted your message for safety.)"),
                             reply_markup=retry_markup)
    except PayoutRefused as error:
        await state.clear()
        await message.answer(refused_text(error), reply_markup=closed_markup)
    except ProviderRejected as error:  # PaySys refused: nothing was sent; another card is another payout
        await state.update_data(intent=new_flow()["intent"])
        await message.answer(paysys_refused_text(error), reply_markup=retry_markup)
    except (PayoutUnavailable, ProviderError) as error:
        await state.update_data(intent=new_flow()["intent"])
        await message.answer(provider_text(error) + "\n" + _("Send the card number again to retry."),
                             reply_markup=retry_markup)
    return None


async def decide(callback: CallbackQuery, state: FSMContext, payouts: PayoutsService, bot: Bot,
                 callback_answer: CallbackAnswer, payout_id: int, step: Decide, confirm_state: State) -> None:
    """Confirm or Cancel of a prepared payout. An old button (the payout moved on) shows where it is now."""
    user_id = callback.from_user.id
    try:
        current = await payouts.payout(user_id, payout_id)
    except PayoutRefused as error:
        alert(callback_answer, refused_text(error))
        return
    if current.outcome != "prepared":
        alert(callback_answer, _("This button is no longer active."))
        await edit_message(callback, outcome_text(current), None)
        return
    await answer_now(callback, callback_answer)
    async with ChatActionSender.typing(bot=bot, chat_id=user_id):
        payout = await step(user_id, payout_id)
    if await state.get_state() == confirm_state.state:
        await state.clear()
    await edit_message(callback, outcome_text(payout), None)
