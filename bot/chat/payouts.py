"""The card step of a payout, shared by a cashback withdrawal and an operator's refund: the message with the number
is deleted first, the number goes to PaySys in this update (held nowhere), and every refusal is explained with the
step kept or closed as it should be."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, ReplyMarkupUnion
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.i18n import gettext as _

from bot.chat.answers import delete_secret
from bot.domain.cards import CardError
from bot.domain.intents import new_flow
from bot.providers.errors import ProviderError, ProviderRejected
from bot.services.payouts import PayoutRefused, PayoutUnavailable, PayoutView
from bot.texts.cashback import paysys_refused_text, refused_text
from bot.texts.outcomes import provider_text, rule_text

# (card number as typed, intent key) -> the prepared payout
Prepare = Callable[[str, str], Awaitable[PayoutView]]


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
