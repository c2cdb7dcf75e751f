"""One StatesGroup per conversation."""

from aiogram.fsm.state import State, StatesGroup


class Onboarding(StatesGroup):
    language = State()
    phone = State()


class AddCard(StatesGroup):
    page = State()  # CARD_VAULT=payme: waiting for the card page to hand over a token
    number = State()
    expiry = State()
    code = State()
    name = State()


class Pay(StatesGroup):
    browse = State()
    form = State()
    amount = State()
    card = State()
    confirm = State()
    code = State()


class Homes(StatesGroup):
    name = State()
    rename = State()


class Cashback(StatesGroup):
    amount = State()
    card = State()  # the card number goes to PaySys in the update that brings it
    confirm = State()


class Refund(StatesGroup):
    card = State()  # an operator's refund: the recipient's card number
    confirm = State()
