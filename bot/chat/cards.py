"""Adding a card, entered from My cards and from a payment waiting for one (its answers kept in FSM data under
`resume_pay`), and the chat's side of the card page: a saved Payme card is announced and the payment resumed.
The card number, expiry and code steps are in handlers/cards.py.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiogram import Bot, Dispatcher, html
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Chat, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.chat.answers import alert
from bot.chat.checkout import resume_after_card
from bot.keyboards import cards as kb
from bot.services.cards import CardFlowError, CardsService, CardView
from bot.services.users import Profile, UserService
from bot.settings import Settings
from bot.states import AddCard
from bot.texts.cards import card_name, list_text
from bot.texts.outcomes import rule_text
from bot.webapp.server import WebAppServer

logger = logging.getLogger(__name__)


async def begin_adding(
    callback: CallbackQuery, state: FSMContext, cards: CardsService, callback_answer: CallbackAnswer,
    settings: Settings, profile: Profile, webapp: WebAppServer | None = None,
) -> None:
    """Also entered from the pay flow, whose answers wait in FSM data under `resume_pay`."""
    try:
        await cards.ensure_unlocked(callback.from_user.id)
    except CardFlowError as error:
        alert(callback_answer, rule_text(error.code, **error.params))
        return
    if settings.CARD_VAULT == "payme":
        if webapp is None:
            alert(callback_answer, rule_text("payme_unavailable"))
            return
        # The page binds through a one-time session opened now for this user (bot.services.card_sessions).
        url = await webapp.open_page(callback.from_user.id, profile.language)
        await state.set_state(AddCard.page)
        await callback.message.answer(
            _("Cards are added on Payme's secure page: the number goes straight to Payme, the bot never sees it. "
              "Open the page, type the card and the SMS code, and I'll confirm here."),
            reply_markup=kb.card_page(url),
        )
        return
    await state.set_state(AddCard.expiry)  # the number comes last, so it can go to the bank at once
    await callback.message.answer(
        _("First send the card's expiry as on the card: MM/YY, e.g. 03/29. Then I'll ask for the number. "
          "I delete both messages right away."),
        reply_markup=kb.cancel_adding(),
    )


async def card_added(bot: Bot, dispatcher: Dispatcher, i18n: I18n, users: UserService, cards: CardsService,
                     user_id: int, card: CardView) -> None:
    """The card page saved a Payme card: say so in the chat, and go back to a payment that was waiting for it.
    The card is saved whatever Telegram answers: a refused notice does not keep a waiting payment from going on
    (its next question is sent all the same); what fails after that is raised to the card page's server, which
    logs it and answers the page that the card is added."""
    state = dispatcher.fsm.get_context(bot, chat_id=user_id, user_id=user_id)
    profile = await users.get(user_id)
    with i18n.context(), i18n.use_locale((profile and profile.language) or "en"):
        text = _("✅ The card {card} is added.").format(card=html.quote(card_name(card)))
        adding = await state.get_state() == AddCard.page.state  # not if the user has moved on meanwhile
        saved = (await state.get_data()).get("resume_pay") if adding else None
        if saved and profile is not None:
            message = await _notice(bot, user_id, text)
            await resume_after_card(message or _chat(bot, user_id), state, cards, profile, saved)
            return
        if adding:
            await state.clear()
        items = await cards.list(user_id)
        await bot.send_message(user_id, text + "\n\n" + list_text(items), reply_markup=kb.card_list(items))


async def _notice(bot: Bot, user_id: int, text: str) -> Message | None:
    try:
        return await bot.send_message(user_id, text)
    except TelegramAPIError as error:
        logger.warning("the notice of an added card was refused by Telegram (user %s): %s",
                       user_id, type(error).__name__)
        return None


def _chat(bot: Bot, user_id: int) -> Message:
    """Something to answer into the user's private chat when there is no message of ours to answer from."""
    return Message(message_id=0, date=datetime.now(UTC),
                   chat=Chat(id=user_id, type=ChatType.PRIVATE)).as_(bot)
