"""A card number sent where none is asked for (the menu, an account step, the expiry step): deleted at once, never
echoed back, and the step goes on. Only the steps that ask for one take card numbers: "Add a card" and the card
of a withdrawal or a refund."""

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


async def secret_in_the_menu(message: Message, bot: Bot) -> None:
    await delete_secret(message, bot, _("the code"))
    await message.answer(_("That looked like a confirmation code or a card expiry, so I deleted it: nothing is "
                           "waiting for one now. To search, type a service name."))


def create_router() -> Router:
    """Right after the commands: before any step could read the number as its own input."""
    router = Router(name=__name__)
    router.message.register(card_number_elsewhere, F.text.func(holds_card_number) | F.caption.func(holds_card_number),
                            ~StateFilter(AddCard.number, Cashback.card, Refund.card))
    # Where free text is a search (the menu, the catalogue), a code or an expiry would be echoed as a query.
    router.message.register(secret_in_the_menu, F.text.func(looks_like_code_or_expiry),
                            StateFilter(None, Pay.browse))
    return router
