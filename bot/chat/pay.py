"""The steps of Pay bills that other features enter: a new payment at the catalogue (History), and the amount
question after the account is known (My homes' "Other amount"). The rest of the flow is in handlers/pay.py."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.i18n import gettext as _

from bot.domain.intents import new_flow
from bot.keyboards import menu as menu_kb
from bot.keyboards import pay as kb
from bot.providers.errors import ProviderError
from bot.services.accounts import AccountInfo
from bot.services.catalogue import CatalogueService, ServiceForm
from bot.services.homes import Paid
from bot.states import Pay
from bot.texts.accounts import info_text, paid_text
from bot.texts.amounts import sums_number
from bot.texts.labels import shown
from bot.texts.outcomes import provider_text


async def start_payment(message: Message, state: FSMContext, catalogue: CatalogueService, bot: Bot) -> None:
    """A new payment at the catalogue: from the menu's Pay button and from History's "💡 Pay a bill"."""
    await state.clear()  # a payment still waiting for its code is closed on the way out (PaymentExitMiddleware)
    await state.set_state(Pay.browse)
    ids = new_flow()
    flow = ids["flow"]
    await state.set_data({**ids, "view": "categories", "page": 0})
    try:
        async with ChatActionSender.typing(bot=bot, chat_id=message.chat.id):
            categories = await catalogue.categories()
    except ProviderError as error:
        await state.clear()
        await message.answer(provider_text(error), reply_markup=menu_kb.main_menu())
        return
    await message.answer(
        _("Choose a category, or type part of a service name to search."),
        reply_markup=kb.categories(flow, categories, 0),
    )


async def ask_amount(message: Message, state: FSMContext, form: ServiceForm, info: AccountInfo | None,
                      *, edit: bool, paid: Paid | None = None) -> None:
    """`paid`: this account's payment in the last days, shown before the amount is typed (the provider's debt may
    not count it yet)."""
    data = await state.get_data()
    await state.set_state(Pay.amount)
    # our own numbers (the exact debt as a string); provider texts stay out of FSM data
    await state.update_data(debt=info.debt if info else None,
                            owed=str(info.owed) if info and info.debt and info.owed is not None else None)
    lines = [f"<b>{shown(form.service.name)}</b>"]
    if paid is not None:
        lines.append(paid_text(paid))
    lines += info_text(form, info)
    lines.append(_("Type the amount in sums, from {min} to {max}.").format(
        min=sums_number(form.service.min_amount), max=sums_number(form.service.max_amount)))
    markup = kb.amount(data["flow"], info.debt if info else None)
    if edit:
        try:
            await message.edit_text("\n".join(lines), reply_markup=markup)
            return
        except TelegramBadRequest:
            pass
    await message.answer("\n".join(lines), reply_markup=markup)
