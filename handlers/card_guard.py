"""A card number sent where none is asked for (the menu, an account step): deleted at once, never echoed back, and
the step goes on. Only the steps of "Add a card" (its expiry step deletes a number sent too early and asks for the
expiry) and the card of a withdrawal or a refund take card numbers."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.chat.answers import delete_secret
from bot.domain.cards import holds_card_number, looks_like_code_or_expiry
from bot.states import AddCard, Cashback, Pay, Refund


async def card_number_elsewhere(message: Message, bot: Bot) -> None:
    await delete_secret(message, bot, _("the card number"))
    await message.answer(_("That looked like a card number, so I deleted your message. Please never send card "
                           "numbers in the chat except in “Add a card”. Send what I asked for and we go on."))


async def secret_out_of_step(message: Message, bot: Bot) -> None:
    await delete_secret(message, bot, _("the code"))
    await message.answer(_("That looked like a confirmation code or a card expiry, so I deleted it: this step does "
                           "not need one. Send what I asked for, or open the menu."))


# Steps whose own handler takes (and judges) a short number or an expiry: an account, an amount, a code, the card.
TAKES_DIGITS = (Pay.form, Pay.amount, Pay.code, AddCard.expiry, AddCard.number, AddCard.code, Cashback.amount,
                Cashback.card, Refund.card)


def create_router() -> Router:
    """Right after the commands: before any step could read the number as its own input."""
    router = Router(name=__name__)
    router.message.register(card_number_elsewhere, F.text.func(holds_card_number) | F.caption.func(holds_card_number),
                            ~StateFilter(AddCard.number, AddCard.expiry, Cashback.card, Refund.card))
    # A code or an expiry typed at a step that takes no such thing (the menu's search would echo it as a query).
    router.message.register(secret_out_of_step, F.text.func(looks_like_code_or_expiry), ~StateFilter(*TAKES_DIGITS))
    return router
