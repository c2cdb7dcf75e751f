"""My cards: list, add by SMS code, make default, remove. Where adding starts, and the card page's message, are in
bot/chat/cards.py (a payment waiting for a card enters there too)."""

from __future__ import annotations

import time

from aiogram import Bot, F, Router, html
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.i18n import gettext as _

from bot.chat.answers import alert, answer_now, rule_message
from bot.chat.answers import delete_secret
from bot.chat.answers import edit as edit_message
from bot.chat.cards import begin_adding
from bot.chat.checkout import resume_after_card
from bot.chat.filters import Registered
from bot.domain.cards import CardError, holds_card_number
from bot.keyboards import cards as kb
from bot.keyboards import menu as menu_kb
from bot.keyboards.callbacks import AddCardAction, AddCardCb, CardAction, CardCb
from bot.providers.errors import ProviderError, ProviderRejected
from bot.services.cards import CardFlowError, CardsService, CardView
from bot.services.users import Profile
from bot.settings import Settings
from bot.states import AddCard
from bot.texts import formats
from bot.texts.cards import card_name, card_text, list_text
from bot.texts.outcomes import provider_text, rule_text
from bot.webapp.server import WebAppServer

# Provider codes after which the typed card itself is the problem: ask for another number.
CARD_REFUSED = {
    "card_expired", "card_is_blocked", "card_is_blocked_in_processing_center", "sms_not_active",
    "card_has_no_phone", "phone_not_match", "invalid_card", "pan_not_valid", "card_not_found_in_processing_center",
    "card_is_not_supported",
}


async def show_cards(message: Message, state: FSMContext, profile: Profile, cards: CardsService) -> None:
    await state.clear()
    try:
        items = await cards.refresh(profile.id)  # Payme tokens are asked whether they still work
    except ProviderError:
        items = await cards.list(profile.id)
    await message.answer(list_text(items), reply_markup=kb.card_list(items))


async def back_to_list(callback: CallbackQuery, cards: CardsService) -> None:
    items = await cards.list(callback.from_user.id)
    await edit_message(callback, list_text(items), kb.card_list(items))


async def open_card(callback: CallbackQuery, callback_data: CardCb, cards: CardsService, callback_answer: CallbackAnswer) -> None:
    card = await _card_or_alert(cards, callback, callback_data.id, callback_answer)
    if card is None:
        return
    await edit_message(callback, card_text(card), kb.card_actions(card))


async def make_default(callback: CallbackQuery, callback_data: CardCb, cards: CardsService, callback_answer: CallbackAnswer) -> None:
    try:
        card = await cards.make_default(callback.from_user.id, callback_data.id)
    except CardFlowError as error:
        alert(callback_answer, rule_text(error.code))
        return
    callback_answer.text = _("“{name}” is now the default card.").format(name=card.name)
    items = await cards.list(callback.from_user.id)
    await edit_message(callback, list_text(items), kb.card_list(items))


async def ask_remove(callback: CallbackQuery, callback_data: CardCb, cards: CardsService, callback_answer: CallbackAnswer) -> None:
    card = await _card_or_alert(cards, callback, callback_data.id, callback_answer)
    if card is None:
        return
    await edit_message(
        callback,
        _("Remove the card {card}?").format(card=html.quote(card_name(card))),
        kb.confirm_remove(card),
    )


async def remove(callback: CallbackQuery, callback_data: CardCb, cards: CardsService, bot: Bot, callback_answer: CallbackAnswer) -> None:
    if await _card_or_alert(cards, callback, callback_data.id, callback_answer) is None:
        return
    await answer_now(callback, callback_answer)
    try:
        async with ChatActionSender.typing(bot=bot, chat_id=callback.from_user.id):
            card = await cards.remove(callback.from_user.id, callback_data.id)
    except CardFlowError as error:
        await callback.message.answer(rule_text(error.code))
        return
    except ProviderError as error:
        await callback.message.answer(provider_text(error))
        return
    items = await cards.list(callback.from_user.id)
    text = _("The card “{name}” was removed.").format(name=html.quote(card.name)) + "\n\n" + list_text(items)
    await edit_message(callback, text, kb.card_list(items))


# ---- adding a card --------------------------------------------------------------------------------------------


async def start_adding(
    callback: CallbackQuery, state: FSMContext, cards: CardsService, callback_answer: CallbackAnswer,
    settings: Settings, profile: Profile, webapp: WebAppServer | None = None,
) -> None:
    await state.set_data({})
    await begin_adding(callback, state, cards, callback_answer, settings, profile, webapp)


async def expiry_typed(message: Message, state: FSMContext, cards: CardsService, bot: Bot) -> None:
    """First step: the expiry, sealed into the FSM data until the number comes (it is never kept as typed)."""
    await delete_secret(message, bot, _("the expiry"))
    try:
        sealed = cards.accept_expiry(message.text)
    except CardError as error:
        text = rule_text(error.code)
        if error.code == "expiry_past":  # the next thing expected is another card's expiry: say so
            text += "\n" + _("To add another card, send its expiry (MM/YY); then I'll ask for its number.")
        await message.answer(text + "\n" + _("(I deleted your message for safety.)"), reply_markup=kb.cancel_adding())
        return
    await state.update_data(expiry=sealed)
    await state.set_state(AddCard.number)
    await message.answer(
        _("Got the expiry. Now send the 16-digit card number (UzCard 8600… or HUMO 9860…). I delete your message "
          "right away and pass the number straight to the bank."),
        reply_markup=kb.cancel_adding(),
    )


async def number_at_expiry(message: Message, bot: Bot) -> None:
    """A card number sent where its expiry is asked (after a refused card people send the next card's number): it
    goes at once, and the user hears what comes first, not a warning about numbers outside "Add a card"."""
    await delete_secret(message, bot, _("the card number"))
    await message.answer(_("That looked like a card number, so I deleted it: the bank needs the expiry first. Send "
                           "this card's expiry (MM/YY), then I'll ask for its number."), reply_markup=kb.cancel_adding())


async def number_typed(message: Message, state: FSMContext, cards: CardsService, profile: Profile, bot: Bot) -> None:
    """The number goes to the bank in this very update: it waits nowhere, not even in memory."""
    await delete_secret(message, bot, _("the card number"))  # first of all: the text holds a card number
    try:
        cards.check_number(message.text)
    except CardError as error:
        await message.answer(
            rule_text(error.code) + "\n" + _("(I deleted your message for safety.)"), reply_markup=kb.cancel_adding()
        )
        return
    await _send_code(message, state, cards, profile, bot, message.text)


async def photo_at_number(message: Message, bot: Bot) -> None:
    """A picture of a card holds its number too: it goes, and the user is asked to type the number."""
    await delete_secret(message, bot, _("the photo of the card"))
    await message.answer(_("I deleted the photo: a picture of a card should not stay in a chat. Please type the "
                           "16-digit number instead."), reply_markup=kb.cancel_adding())


async def number_hint(message: Message, bot: Bot) -> None:
    await message.answer(_("Please send the card number as text, 16 digits."), reply_markup=kb.cancel_adding())


async def _send_code(
    message: Message, state: FSMContext, cards: CardsService, profile: Profile, bot: Bot, number_text: str | None
) -> None:
    sealed_expiry = (await state.get_data()).get("expiry")
    waiting = await message.answer(_("Checking the card with the bank…"))
    try:
        async with ChatActionSender.typing(bot=bot, chat_id=message.chat.id):
            sent = await cards.send_code(profile.id, profile.phone, number_text, sealed_expiry)
    except CardFlowError as error:
        if error.code == "duplicate":
            await waiting.edit_text(rule_message(error.code, **error.params))
            await _finish(message, state, cards, profile)
        elif error.code == "locked":
            await _leave(message, state, cards, profile, rule_message(error.code, **error.params))
        else:  # the sealed expiry is too old: start again from it
            await state.set_state(AddCard.expiry)
            await waiting.edit_text(rule_message(error.code, **error.params), reply_markup=kb.cancel_adding())
        return
    except ProviderRejected as error:
        if error.code in CARD_REFUSED:
            # This card cannot be added: the step ends here (no expiry is awaited for a card that was refused), and
            # the user is back where another card is chosen or added: the card list, or the payment's card question.
            await waiting.edit_text(
                provider_text(error) + "\n" + _("To add another card, tap “➕ Add a card”."), reply_markup=None)
            await _finish(message, state, cards, profile)
        else:
            await _number_again(waiting, state, provider_text(error))
        return
    except ProviderError as error:
        await _number_again(waiting, state, provider_text(error))
        return
    await state.set_state(AddCard.code)
    await state.update_data(cid=sent.cid, sent_at=time.time())
    await waiting.edit_text(
        _("I sent a code by SMS to {phone}. Type the 6 digits here.").format(
            phone=html.quote(formats.phone(sent.phone))),
        reply_markup=kb.code_prompt(),
    )


async def _number_again(waiting: Message, state: FSMContext, reason: str) -> None:
    """The bank did not take the number this time; the expiry is kept, the number was never kept."""
    await state.set_state(AddCard.number)
    await waiting.edit_text(reason + "\n" + _("Send the card number again to retry."), reply_markup=kb.cancel_adding())


async def code_typed(message: Message, state: FSMContext, cards: CardsService, profile: Profile, bot: Bot) -> None:
    await delete_secret(message, bot, _("the code"))  # the code is a secret too; keep the chat clean of it
    data = await state.get_data()
    user_id = message.from_user.id
    try:
        async with ChatActionSender.typing(bot=bot, chat_id=message.chat.id):
            card = await cards.confirm(user_id, data["cid"], message.text)
    except CardError as error:
        await message.answer(rule_text(error.code), reply_markup=kb.code_prompt())
        return
    except CardFlowError as error:
        if error.code in ("locked", "duplicate"):
            await _leave(message, state, cards, profile, rule_message(error.code, **error.params))
        else:
            await message.answer(rule_message(error.code, **error.params), reply_markup=kb.code_prompt())
        return
    except ProviderRejected as error:
        if error.code == "otp_expired":
            await message.answer(
                _("The code has expired. Tap “New code” and type the card number again."), reply_markup=kb.code_prompt()
            )
        elif error.code == "too_many_attempts":
            await _leave(message, state, cards, profile, rule_text("locked", minutes=15))
        else:
            await message.answer(provider_text(error), reply_markup=kb.code_prompt())
        return
    except ProviderError as error:
        await message.answer(provider_text(error), reply_markup=kb.code_prompt())
        return
    await state.set_state(AddCard.name)
    await state.update_data(card_id=card.id, cid=None, expiry=None)
    await message.answer(
        _("✅ Card {masked} is saved.").format(masked=html.quote(formats.card(card.vendor, card.masked)))
        + "\n"
        + _("Give it a name, e.g. “Salary card”, or tap Skip."),
        reply_markup=kb.skip_name(),
    )


async def resend_code(
    callback: CallbackQuery, state: FSMContext, settings: Settings, callback_answer: CallbackAnswer
) -> None:
    """A new code means a new createUserCard, which needs the number: it is asked again, as the button says."""
    data = await state.get_data()
    wait_left = int(data.get("sent_at", 0) + settings.CARD_CODE_RESEND_WAIT - time.time())
    if wait_left > 0:
        alert(callback_answer, _("You can ask for a new code in {seconds} s.").format(seconds=wait_left))
        return
    await answer_now(callback, callback_answer)
    await state.set_state(AddCard.number)
    await state.update_data(cid=None)
    await callback.message.answer(
        _("For your safety I don't keep card numbers. Send the card number again and I'll ask the bank for a new "
          "code."),
        reply_markup=kb.cancel_adding(),
    )


async def name_typed(message: Message, state: FSMContext, cards: CardsService, profile: Profile) -> None:
    data = await state.get_data()
    try:
        card = await cards.rename(message.from_user.id, data["card_id"], message.text)
    except CardFlowError as error:
        await message.answer(rule_message(error.code, **error.params), reply_markup=kb.skip_name())
        return
    await message.answer(_("Saved as “{name}”.").format(name=html.quote(card.name)), reply_markup=menu_kb.main_menu())
    await _finish(message, state, cards, profile)


async def skip_name(callback: CallbackQuery, state: FSMContext, cards: CardsService, profile: Profile) -> None:
    await edit_message(callback, _("The card is saved."), None)
    await _finish(callback.message, state, cards, profile)


async def cancel_adding(callback: CallbackQuery, state: FSMContext, cards: CardsService, profile: Profile) -> None:
    await edit_message(callback, _("Adding the card is cancelled. Nothing was saved."), None)
    await _finish(callback.message, state, cards, profile)


async def _finish(message: Message, state: FSMContext, cards: CardsService, profile: Profile) -> None:
    """Back to the payment that sent the user here, or to the card list."""
    saved = (await state.get_data()).get("resume_pay")
    if saved:
        await resume_after_card(message, state, cards, profile, saved)
        return
    await state.clear()
    items = await cards.list(profile.id)
    await message.answer(list_text(items), reply_markup=kb.card_list(items))


async def step_hint(message: Message, state: FSMContext) -> None:
    current = await state.get_state()
    hints = {
        AddCard.page.state: _("Please add the card on the page: tap “Open the card page” above."),
        AddCard.expiry.state: _("Please send the expiry as text, like 03/29."),
        AddCard.code.state: _("Please type the 6-digit code from the SMS."),
        AddCard.name.state: _("Please send a name for the card as text, or tap Skip."),
    }
    await message.answer(hints.get(current, _("Please use the buttons.")))


async def stale_add_button(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    alert(callback_answer, _("This button is no longer active."))


async def _leave(message: Message, state: FSMContext, cards: CardsService, profile: Profile, text: str) -> None:
    """The card cannot be added now: say why, then back to where the user came from."""
    await message.answer(text, reply_markup=menu_kb.main_menu())
    if (await state.get_data()).get("resume_pay"):
        await _finish(message, state, cards, profile)
    else:
        await state.clear()




async def _card_or_alert(cards: CardsService, callback: CallbackQuery, card_id: int,
                         callback_answer: CallbackAnswer) -> CardView | None:
    """The presser's own card, or a pop-up saying it is not available (a forged or stale button)."""
    try:
        return await cards.get(callback.from_user.id, card_id)
    except CardFlowError as error:
        alert(callback_answer, rule_text(error.code))
        return None


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(Registered())
    router.callback_query.filter(Registered())

    router.message.register(show_cards, F.text == menu_kb.CARDS)
    router.callback_query.register(back_to_list, CardCb.filter(F.action == CardAction.back))
    router.callback_query.register(open_card, CardCb.filter(F.action == CardAction.open))
    router.callback_query.register(make_default, CardCb.filter(F.action == CardAction.default))
    router.callback_query.register(ask_remove, CardCb.filter(F.action == CardAction.remove))
    router.callback_query.register(remove, CardCb.filter(F.action == CardAction.remove_yes))
    router.callback_query.register(start_adding, CardCb.filter(F.action == CardAction.add))

    router.callback_query.register(cancel_adding, AddCardCb.filter(F.action == AddCardAction.cancel), AddCard())
    router.callback_query.register(resend_code, AddCardCb.filter(F.action == AddCardAction.resend), AddCard.code)
    router.callback_query.register(skip_name, AddCardCb.filter(F.action == AddCardAction.skip_name), AddCard.name)
    router.callback_query.register(stale_add_button, AddCardCb.filter())

    router.message.register(number_at_expiry, AddCard.expiry, F.text.func(holds_card_number))
    router.message.register(expiry_typed, AddCard.expiry, F.text)
    router.message.register(number_typed, AddCard.number, F.text)
    router.message.register(photo_at_number, AddCard.number, F.photo | F.document)
    router.message.register(number_hint, AddCard.number)
    router.message.register(code_typed, AddCard.code, F.text)
    router.message.register(name_typed, AddCard.name, F.text)
    router.message.register(step_hint, AddCard())
    return router
