"""Conversations the tests, the benchmark and the demo share: a registered user, a saved card."""

from __future__ import annotations

from bot.sandbox.card_page_client import bind_card
from bot.sandbox.telegram import FakeUser

MENU_EN = [["💡 Pay bills", "💳 My cards"], ["🧾 History", "🏠 My homes"], ["🌐 Language", "❓ Help"]]


def labels(message) -> list[str]:
    return [button.text for row in message.buttons for button in row]


async def registered(telegram, user_id: int, language: str = "en", **kwargs) -> FakeUser:
    user = telegram.user(user_id, language_code=language, **kwargs)
    await user.send("/start")
    await user.wait_for(lambda: bool(user.bot_messages) and any("English" in label for label in labels(user.last)))
    names = {"en": "🇬🇧 English", "ru": "🇷🇺 Русский", "uz": "🇺🇿 O‘zbekcha"}
    await user.press(next(label for label in labels(user.last) if label.startswith(names[language])))
    await user.wait_for(lambda: user.reply_keyboard is not None and len(user.reply_keyboard) == 1)
    await user.tap(user.reply_keyboard[0][0])
    await user.wait_for(lambda: user.reply_keyboard is not None and len(user.reply_keyboard) >= 3)  # the menu
    return user


async def open_add_card(user: FakeUser) -> None:
    """From the menu: My cards, then "Add a card" (English)."""
    await user.tap("💳 My cards")
    await user.wait_for(lambda: "➕ Add a card" in user.last.labels)
    await user.press("➕ Add a card")


async def to_number_step(user: FakeUser, expiry: str = "03/99") -> None:
    """From the menu through the expiry (asked first) to the number step (English)."""
    await open_add_card(user)
    await user.wait_message("send the card's expiry")
    await user.send(expiry)
    await user.wait_message("Now send the 16-digit card number")


async def add_card(user: FakeUser, number: str = "8600 0691 9540 6311", name: str | None = None) -> None:
    """From the menu to a card saved at Paylov by an SMS code typed in the chat (English)."""
    await to_number_step(user)
    await user.send(number)
    await user.wait_message("I sent a code by SMS")
    await user.send("666666")
    await user.wait_message("is saved")
    if name:
        await user.send(name)
        await user.wait_message("Saved as")
        await user.wait_message("Your cards")
    else:
        await user.press("Skip")
        await user.wait_message("Your cards")


async def choose_card_and_confirm(user: FakeUser, card: str | None = None) -> None:
    """The first card, or the first whose label holds `card`; then the summary's Confirm."""
    await user.wait_message("Choose the card")
    await user.press(next(label for label in user.last.labels if card is None or card in label))
    await user.wait_message("Check the payment")
    await user.press("✅ Confirm")


async def choose_first_card_and_confirm(user: FakeUser) -> None:
    await choose_card_and_confirm(user)
    await user.wait_message("I sent a code by SMS")


async def hot_water_to_amount(user: FakeUser, *, account: str = "10000002"):
    """From the menu or the catalogue (a search typed right there) through the account of a hot-water payment; the
    amount's prompt."""
    await user.send("горячая")
    await user.press("Горячая вода и отопление")
    await user.send(account)
    return await user.wait_message("Type the amount")


async def hot_water_to_cards(user: FakeUser, *, account: str = "10000002", amount: str = "7000") -> None:
    """From the menu (search typed right there) through the account and the amount of a hot-water payment."""
    await hot_water_to_amount(user, account=account)
    await user.send(amount)


async def hot_water_to_confirm(user: FakeUser, *, account: str = "10000002", amount: str = "7000",
                               card: str | None = None) -> None:
    await hot_water_to_cards(user, account=account, amount=amount)
    await choose_card_and_confirm(user, card)


async def hot_water_to_code(user: FakeUser, *, account: str = "10000002", amount: str = "7000") -> None:
    """To the SMS-code prompt of a hot-water payment with a Paylov card."""
    await hot_water_to_confirm(user, account=account, amount=amount)
    await user.wait_message("I sent a code by SMS")


async def pay_service(user: FakeUser, *, query: str, service: str, account: str, amount: str) -> None:
    """A one-field service with an info method: search, account, amount, card, code, receipt."""
    await user.tap("💡 Pay bills")
    await user.wait_message("Choose a category")
    await user.send(query)
    await user.wait_message("Found for")
    await user.press(service)
    await user.wait_message("please type it")
    await user.send(account)
    await user.wait_message("Type the amount")
    await user.send(amount)
    await choose_first_card_and_confirm(user)
    await user.send("666666")
    await user.wait_message("✅ Paid")


async def pay_text_service(user: FakeUser, *, account: str = "10000001", amount: str = "15000") -> None:
    await pay_service(user, query="горячая", service="Горячая вода и отопление", account=account, amount=amount)


async def open_card_page(user: FakeUser) -> str:
    """CARD_VAULT=payme: "Add a card" answers with the card page's Mini App button; its address."""
    await open_add_card(user)
    message = await user.wait_message("Payme's secure page")
    return message.button("💳 Open the card page").web_app


async def open_card_page_in_any_language(user: FakeUser) -> str:
    """CARD_VAULT=payme, whatever the user's language: 💳 (My cards), then ➕ (Add a card); the page's address."""
    await user.tap(next(label for row in user.reply_keyboard for label in row if label.startswith("💳")))
    await user.wait_for(lambda: any(label.startswith("➕") for label in user.last.labels))
    await user.press(next(label for label in user.last.labels if label.startswith("➕")))
    await user.wait_for(lambda: any(button.web_app for row in user.last.buttons for button in row))
    return next(button.web_app for row in user.last.buttons for button in row if button.web_app)


async def add_payme_card(telegram, user: FakeUser, bot_token: str, number: str = "8600069195406311") -> None:
    """CARD_VAULT=payme: from the menu through the card page (its protocol over HTTP) to the card in the list."""
    url = await open_card_page(user)
    result = await bind_card(url, telegram.web_app_init_data(user.user_id, bot_token), number=number,
                             expire_mmyy="0399")
    if not result.body.get("ok"):
        raise AssertionError(f"the card page was refused: {result.body}")
    await user.wait_message("is added")


async def pay_with_payme_card(user: FakeUser, *, account: str = "10000002", amount: str = "7000") -> None:
    """A hot-water bill paid with the first (Payme) card: no SMS code per payment, straight to the receipt."""
    await hot_water_to_confirm(user, account=account, amount=amount)
    await user.wait_message("✅ Paid")


async def save_as_home_and_open(user: FakeUser) -> None:
    """Right after a receipt: save the account as "Home", then open it from My homes (English)."""
    await user.press("🏠 Save this account")
    await user.wait_message("What shall I call this account")
    await user.press("Home")
    await user.wait_message("Saved as “Home”")
    await user.tap("🏠 My homes")
    await user.wait_message("Your saved accounts")
    await user.press("Home · Горячая вода и отопление")
