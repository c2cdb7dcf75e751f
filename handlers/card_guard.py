"""A card number sent where none is asked for (the menu, an account step, the expiry step): deleted at once, never
echoed back, and the step goes on. Only "Add a card" at its number step takes card numbers."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.chat.answers import delete_secret
from bot.domain.cards import holds_card_number
from bot.states import AddCard


async def card_number_elsewhere(message: Message, bot: Bot) -> None:
    await delete_secret(message, bot, _("the card number"))
    await message.answer(_("That looked like a card number, so I deleted your message. Please never send card "
                           "numbers in the chat except in “Add a card”. Send what I asked for and we go on."))


def create_router() -> Router:
    """Right after the commands: before any step could read the number as its own input."""
    router = Router(name=__name__)
    router.message.register(card_number_elsewhere, F.text.func(holds_card_number) | F.caption.func(holds_card_number),
                            ~StateFilter(AddCard.number))
    return router
