"""Pay a bill: catalogue or search -> the provider's form -> account info -> amount; then `checkout` takes over
(card -> confirm -> code -> receipt). The first step and the amount question, which other features enter too, are
in bot/chat/pay.py.

The form is one state that loops: the engine picks the next field from the answers kept in FSM data.
"""

from __future__ import annotations

from decimal import Decimal

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.chat.answers import alert
from bot.chat.answers import edit as edit_message
from bot.chat.checkout import ask_card
from bot.chat.filters import CurrentFlow, Registered
from bot.chat.leaving import cancel_text
from bot.chat.pay import ask_amount, start_payment
from bot.domain import forms
from bot.domain.intents import new_flow
from bot.domain.money import AmountError, check_limits, parse_sums
from bot.keyboards import menu as menu_kb
from bot.keyboards import pay as kb
from bot.keyboards.callbacks import PayAction, PayCb
from bot.providers.errors import ProviderError, ProviderRejected
from bot.services.accounts import AccountsService
from bot.services.cards import CardsService
from bot.services.catalogue import CatalogueService, Service
from bot.services.homes import HomesService
from bot.services.payments import PaymentsService
from bot.services.users import Profile
from bot.states import Pay
from bot.texts.accounts import debt_text
from bot.texts.amounts import sums_number
from bot.texts.labels import category_name, label, option_title, shown
from bot.texts.outcomes import provider_text

UNKNOWN_ACCOUNT = {"account_not_found", "field_not_valid"}


# ---- catalogue -------------------------------------------------------------------------------------------------


async def start(message: Message, state: FSMContext, catalogue: CatalogueService, payments: PaymentsService,
                bot: Bot) -> None:
    await start_payment(message, state, catalogue, bot)


async def show_categories(callback: CallbackQuery, state: FSMContext, flow: dict, catalogue: CatalogueService) -> None:
    await state.set_state(Pay.browse)
    await state.update_data(view="categories", page=0, choices=[])
    await edit_message(callback, _("Choose a category, or type part of a service name to search."),
                kb.categories(flow["flow"], await catalogue.categories(), 0))


async def open_category(
    callback: CallbackQuery, callback_data: PayCb, state: FSMContext, flow: dict, catalogue: CatalogueService, callback_answer: CallbackAnswer) -> None:
    services = await catalogue.in_category(callback_data.value)
    if not services:
        alert(callback_answer, _("This category is empty now."))
        return
    await state.update_data(view="services", page=0, choices=[s.id for s in services])
    category = shown(category_name(services[0].category.name))
    await edit_message(callback, _("{category}: choose a service.").format(category=category),
                kb.services(flow["flow"], services, 0))


async def turn_page(
    callback: CallbackQuery, callback_data: PayCb, state: FSMContext, flow: dict, catalogue: CatalogueService
) -> None:
    page = callback_data.value
    await state.update_data(page=page)
    current = await state.get_state()
    if current == Pay.form.state:
        await _render_field(callback.message, state, catalogue, edit=True, page=page)
    elif flow.get("view") == "categories":
        await edit_message(callback, _("Choose a category, or type part of a service name to search."),
                    kb.categories(flow["flow"], await catalogue.categories(), page))
    else:
        services = await _choices(catalogue, flow)
        await edit_message(callback, _("Choose a service."), kb.services(flow["flow"], services, page))


async def search(message: Message, state: FSMContext, catalogue: CatalogueService) -> None:
    query = message.text.strip()
    data = await state.get_data()
    if len(query) < 2 or len(query) > 100:
        await message.answer(_("Type 2 to 100 letters of a service name, or choose a category above."))
        return
    found = [service for service in await catalogue.find(query)]
    if not found:
        await message.answer(
            _("Nothing found for “{query}”. Try another word, or choose a category.").format(query=shown(query, 60)),
            reply_markup=kb.categories(data["flow"], await catalogue.categories(), 0),
        )
        return
    await state.update_data(view="services", page=0, choices=[s.id for s in found])
    await message.answer(_("Found for “{query}”:").format(query=shown(query, 60)),
                         reply_markup=kb.services(data["flow"], found, 0))


async def search_from_menu(message: Message, state: FSMContext, catalogue: CatalogueService) -> None:
    """Typing a service name right in the menu starts a payment with that search."""
    await state.set_state(Pay.browse)
    await state.set_data({**new_flow(), "view": "services", "page": 0})
    await search(message, state, catalogue)


async def browse_hint(message: Message) -> None:
    await message.answer(_("Choose with the buttons, or type part of a service name to search."))


async def choose_service(
    callback: CallbackQuery, callback_data: PayCb, state: FSMContext, flow: dict,
    catalogue: CatalogueService, bot: Bot, callback_answer: CallbackAnswer) -> None:
    choices = flow.get("choices") or []
    if not 0 <= callback_data.value < len(choices):
        alert(callback_answer, _("This button is no longer active."))
        return
    service = await catalogue.service(choices[callback_data.value])
    if service is None:
        alert(callback_answer, _("This service is no longer offered."))
        return
    if not service.payable:
        alert(callback_answer, _("{name} cannot be paid right now. Please try later.").format(name=service.name[:100]))
        return
    try:
        async with ChatActionSender.typing(bot=bot, chat_id=callback.from_user.id):
            await catalogue.form(service.id)
    except ProviderError as error:
        alert(callback_answer, provider_text(error)[:190])
        return
    await state.set_state(Pay.form)
    await state.update_data(service_id=service.id, answers={}, page=0)
    await _render_field(callback.message, state, catalogue, edit=True)


# ---- the form --------------------------------------------------------------------------------------------------


async def _render_field(message: Message, state: FSMContext, catalogue: CatalogueService, *,
                        edit: bool = False, page: int = 0, note: str | None = None) -> None:
    data = await state.get_data()
    form = await catalogue.form(data["service_id"])
    answers = data.get("answers", {})
    field = forms.next_field(form.fields, answers)
    flow = data["flow"]
    head = [f"<b>{shown(form.service.name)}</b>"]
    for known, value in forms.display(form.fields, answers):
        head.append(f"{label(known.name, known.title)}: {shown(option_title(value), 80)}")
    if note:
        head.append(note)
    if field.type == "select":
        options = forms.options(field, answers)
        if not options:
            text = "\n".join(head + [_("There is nothing to choose for {label} with the answers above. "
                                       "Go back and change them.").format(label=label(field.name, field.title))])
            markup = kb.text_step(flow, optional=False)
        else:
            text = "\n".join(head + [_("Choose {label}:").format(label=label(field.name, field.title))])
            markup = kb.options(flow, options, page, optional=not field.required)
    else:
        example = forms.example(field)
        ask = _("Type {label}.").format(label=label(field.name, field.title))
        if example:
            ask += " " + _("For example: {example}").format(example=shown(example))
        text = "\n".join(head + [ask])
        markup = kb.text_step(flow, optional=not field.required)
    if edit:
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest:
            pass
    await message.answer(text, reply_markup=markup)


async def choose_option(
    callback: CallbackQuery, callback_data: PayCb, state: FSMContext, flow: dict,
    catalogue: CatalogueService, accounts: AccountsService, homes: HomesService, profile: Profile, bot: Bot,
    callback_answer: CallbackAnswer) -> None:
    form = await catalogue.form(flow["service_id"])
    field = forms.next_field(form.fields, flow.get("answers", {}))
    if field is None or field.type != "select":
        alert(callback_answer, _("This button is no longer active."))
        return
    try:
        answers = forms.choose(field, flow.get("answers", {}), callback_data.value, form.fields)
    except forms.FieldError:
        alert(callback_answer, _("This button is no longer active."))
        return
    await state.update_data(answers=answers, page=0)
    await _after_answer(callback.message, state, catalogue, accounts, homes, profile, bot, edit=True)


async def typed_value(
    message: Message, state: FSMContext, catalogue: CatalogueService, accounts: AccountsService,
    homes: HomesService, profile: Profile, bot: Bot,
) -> None:
    data = await state.get_data()
    form = await catalogue.form(data["service_id"])
    answers = data.get("answers", {})
    field = forms.next_field(form.fields, answers)
    if field.type == "select":
        await message.answer(_("Please choose with the buttons above."))
        return
    try:
        value = forms.parse(field, message.text)
    except forms.FieldError as error:
        text = _field_error(field, error)
        if forms.is_phone(field):
            text += "\n" + _phone_hint(field)
        await message.answer(text)
        return
    await state.update_data(answers={**answers, field.name: value})
    await _after_answer(message, state, catalogue, accounts, homes, profile, bot, edit=False)


async def form_hint(message: Message) -> None:
    await message.answer(_("Please answer with text or the buttons above."))


async def skip_field(
    callback: CallbackQuery, state: FSMContext, flow: dict, catalogue: CatalogueService,
    accounts: AccountsService, homes: HomesService, profile: Profile, bot: Bot,
    callback_answer: CallbackAnswer) -> None:
    form = await catalogue.form(flow["service_id"])
    field = forms.next_field(form.fields, flow.get("answers", {}))
    try:
        answers = forms.skip(field, flow.get("answers", {}))
    except (forms.FieldError, AttributeError):
        alert(callback_answer, _("This field is required."))
        return
    await state.update_data(answers=answers)
    await _after_answer(callback.message, state, catalogue, accounts, homes, profile, bot, edit=True)


async def _after_answer(message: Message, state: FSMContext, catalogue: CatalogueService,
                        accounts: AccountsService, homes: HomesService, profile: Profile, bot: Bot, *,
                        edit: bool) -> None:
    """The account is complete: its info, and this user's payment of it in the last days, before the amount."""
    data = await state.get_data()
    form = await catalogue.form(data["service_id"])
    if forms.next_field(form.fields, data["answers"]) is not None:
        await _render_field(message, state, catalogue, edit=edit)
        return
    account = forms.account(form.fields, data["answers"])
    paid = await homes.paid_recently(profile.id, form.service.id, account)
    if not form.service.has_info:
        await ask_amount(message, state, form, None, edit=edit, paid=paid)
        return
    try:
        async with ChatActionSender.typing(bot=bot, chat_id=message.chat.id):
            info = await accounts.lookup(form, account)
    except ProviderRejected as error:
        if error.code in UNKNOWN_ACCOUNT:
            await state.update_data(answers=forms.back(form.fields, data["answers"]))
            await _render_field(message, state, catalogue, note="⚠️ " + _(
                "The provider does not know this account. Please check it and type it again."))
            return
        await _render_field_error(message, state, catalogue, provider_text(error))
        return
    except ProviderError as error:
        await _render_field_error(message, state, catalogue, provider_text(error))
        return
    await ask_amount(message, state, form, info, edit=False, paid=paid)


async def _render_field_error(message, state, catalogue, text: str) -> None:
    data = await state.get_data()
    form = await catalogue.form(data["service_id"])
    await state.update_data(answers=forms.back(form.fields, data["answers"]))
    await _render_field(message, state, catalogue, note="⚠️ " + text)


def _phone_hint(field: forms.Field) -> str:
    """Which shape a phone field takes: any spacing, with or without +998 (forms.phone_digits)."""
    digits = (forms.example(field) or "").removeprefix("+").removeprefix(forms.COUNTRY_CODE)
    if len(digits) != forms.PHONE_DIGITS or not digits.isdigit():
        digits = "901234567"
    example = f"{digits[:2]} {digits[2:5]} {digits[5:7]} {digits[7:]}"
    return _("Type an Uzbek number, with or without +998: e.g. +998 {example}.").format(example=shown(example))


def _field_error(field: forms.Field, error: forms.FieldError) -> str:
    name = label(field.name, field.title)
    params = getattr(error, "params", {}) or {}
    code = error.code
    if code == "digits_only":
        return _("{label}: only digits, please.").format(label=name)
    if code == "length":  # what is needed and what came: "must be 9 digits; you typed 16"
        length, typed = params.get("length") or 0, params.get("typed", "?")
        if field.content is forms.Content.number:
            text = ngettext("{label} must be {length} digit; you typed {typed}.",
                            "{label} must be {length} digits; you typed {typed}.", length)
        else:
            text = ngettext("{label} must be {length} character; you typed {typed}.",
                            "{label} must be {length} characters; you typed {typed}.", length)
        return text.format(label=name, length=length, typed=typed)
    if code == "pattern":
        example = params.get("example") or forms.example(field)
        text = _("{label} does not look right.").format(label=name)
        return text + (" " + _("For example: {example}").format(example=shown(example)) if example else "")
    if code == "too_long":
        return _("That is too long for {label}.").format(label=name)
    return _("Please type {label}.").format(label=name)


# ---- account info and amount -------------------------------------------------------------------------------


async def typed_amount(message: Message, state: FSMContext, catalogue: CatalogueService, cards: CardsService,
                       profile: Profile) -> None:
    data = await state.get_data()
    form = await catalogue.form(data["service_id"])
    try:
        amount = parse_sums(message.text)
        check_limits(amount, form.service.min_amount, form.service.max_amount)
    except AmountError as error:
        await message.answer(_amount_error(error, form.service))
        return
    await state.update_data(amount=amount)
    await ask_card(message, state, cards, profile)


async def pay_debt(callback: CallbackQuery, state: FSMContext, flow: dict, catalogue: CatalogueService,
                   cards: CardsService, profile: Profile, callback_answer: CallbackAnswer) -> None:
    form = await catalogue.form(flow["service_id"])
    debt = flow.get("debt")
    try:
        check_limits(debt, form.service.min_amount, form.service.max_amount)
    except (AmountError, TypeError) as error:
        alert(callback_answer, _amount_error(error, form.service) if isinstance(error, AmountError) else
                              _("This button is no longer active."))
        return
    await state.update_data(amount=debt)
    await ask_card(callback.message, state, cards, profile)


def _amount_error(error: AmountError, service: Service) -> str:
    limits = dict(min=sums_number(service.min_amount), max=sums_number(service.max_amount))
    return {
        "below_min": _("The smallest amount for this service is {min} sum.").format(**limits),
        "above_max": _("The largest amount for this service is {max} sum.").format(**limits),
        "whole_sums": _("Please type whole sums, without tiyin: e.g. 15000."),
        "positive": _("The amount must be more than zero."),
    }.get(error.code, _("Please type the amount as a number, e.g. 15000 or 15 000."))


async def amount_hint(message: Message) -> None:
    await message.answer(_("Please type the amount as a number, e.g. 15000 or 15 000."))


# ---- back, cancel, stale -------------------------------------------------------------------------------------


async def back(callback: CallbackQuery, state: FSMContext, flow: dict, catalogue: CatalogueService,
               cards: CardsService, profile: Profile, callback_answer: CallbackAnswer) -> None:
    current = await state.get_state()
    if current == Pay.form.state:
        form = await catalogue.form(flow["service_id"])
        answers = flow.get("answers", {})
        if not answers:
            await show_categories(callback, state, flow, catalogue)
            return
        await state.update_data(answers=forms.back(form.fields, answers), page=0)
        await _render_field(callback.message, state, catalogue, edit=True)
    elif current == Pay.amount.state:
        form = await catalogue.form(flow["service_id"])
        await state.set_state(Pay.form)
        await state.update_data(answers=forms.back(form.fields, flow["answers"]), page=0)
        await _render_field(callback.message, state, catalogue, edit=True)
    elif current == Pay.card.state:
        form = await catalogue.form(flow["service_id"])
        await state.set_state(Pay.amount)
        lines = [f"<b>{shown(form.service.name)}</b>"]
        if flow.get("debt"):
            owed = flow.get("owed")
            lines.append("⚠️ <b>" + debt_text(flow["debt"], Decimal(owed) if owed else None) + "</b>")
        lines.append(_("Type the amount in sums, from {min} to {max}.").format(
            min=sums_number(form.service.min_amount), max=sums_number(form.service.max_amount)))
        await edit_message(callback, "\n".join(lines), kb.amount(flow["flow"], flow.get("debt")))
    elif current == Pay.confirm.state:
        await callback.message.delete()
        await ask_card(callback.message, state, cards, profile)
    else:
        alert(callback_answer, _("This button is no longer active."))


async def cancel(callback: CallbackQuery, state: FSMContext, flow: dict, payments: PaymentsService,
                 profile: Profile) -> None:
    """Worded by the step: a search closed, a setup closed, or a payment cancelled before any pay call."""
    text = await cancel_text(payments, profile.id, await state.get_state(), flow)
    await state.clear()
    await edit_message(callback, text, None)
    await callback.message.answer(_("What would you like to do?"), reply_markup=menu_kb.main_menu())


async def closed(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    alert(callback_answer, _("This payment is closed."))


async def step_hint(message: Message) -> None:
    await message.answer(_("Please use the buttons above."))




async def _choices(catalogue: CatalogueService, flow: dict) -> list[Service]:
    services = []
    for service_id in flow.get("choices", []):
        service = await catalogue.service(service_id)
        if service is not None:
            services.append(service)
    return services


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(Registered())
    router.callback_query.filter(Registered())
    cb = PayCb.filter

    router.message.register(start, F.text == menu_kb.PAY)
    router.callback_query.register(cancel, cb(F.action == PayAction.cancel), CurrentFlow())
    router.callback_query.register(back, cb(F.action == PayAction.back), CurrentFlow())
    router.callback_query.register(show_categories, cb(F.action == PayAction.categories), CurrentFlow(), Pay.browse)
    router.callback_query.register(open_category, cb(F.action == PayAction.category), CurrentFlow(), Pay.browse)
    router.callback_query.register(turn_page, cb(F.action == PayAction.page), CurrentFlow())
    router.callback_query.register(choose_service, cb(F.action == PayAction.service), CurrentFlow(), Pay.browse)
    router.callback_query.register(choose_option, cb(F.action == PayAction.option), CurrentFlow(), Pay.form)
    router.callback_query.register(skip_field, cb(F.action == PayAction.skip), CurrentFlow(), Pay.form)
    router.callback_query.register(pay_debt, cb(F.action == PayAction.debt), CurrentFlow(), Pay.amount)
    router.callback_query.register(closed, cb())

    router.message.register(search_from_menu, StateFilter(None), F.text, ~F.text.startswith("/"))
    router.message.register(search, Pay.browse, F.text)
    router.message.register(browse_hint, Pay.browse)
    router.message.register(typed_value, Pay.form, F.text)
    router.message.register(form_hint, Pay.form)
    router.message.register(typed_amount, Pay.amount, F.text)
    router.message.register(amount_hint, Pay.amount)
    router.message.register(step_hint, Pay.card)
    router.message.register(step_hint, Pay.confirm)
    return router
