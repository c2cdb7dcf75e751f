"""Issue 21, item 5: the fixes, each reproduced first through the Telegram double (the chat a user sees)."""

from __future__ import annotations

import pytest

from bot.sandbox.scenarios import (
    add_card,
    hot_water_to_code,
    open_add_card,
    pay_text_service,
    registered,
    to_number_step,
)
from tests.e2e.ledger_rows import payments_of
from tests.e2e.test_cards import GOOD, saved_cards


def bot_texts(user) -> list[str]:
    return [m.text for m in user.bot_messages]


# ---- 1. escaping ------------------------------------------------------------------------------------------------


async def test_card_name_with_html_characters_in_the_duplicate_message(app, telegram, paylov):
    user = await registered(telegram, 2101)
    await add_card(user, GOOD, name="Tom & <Jerry>")
    await to_number_step(user)
    await user.send(GOOD)
    await user.wait_message("already saved as “Tom & <Jerry>”")
    assert not any("went wrong" in text for text in bot_texts(user))


# ---- 2. the same History filter twice --------------------------------------------------------------------------


async def test_same_history_filter_twice_leaves_one_message(app, telegram, paylov):
    user = await registered(telegram, 2102)
    await add_card(user)
    await pay_text_service(user, account="10000002", amount="7000")
    await user.tap("🧾 History")
    view = await user.wait_message("History —")
    for _press in range(2):
        query = await user.press("This month", message=view)
        await user.wait_for(lambda: user.answered(query))
    assert [m for m in user.bot_messages if "History —" in m.text] == [view]


# ---- 3. phone formats --------------------------------------------------------------------------------------------


async def open_beeline(user) -> None:
    await user.tap("💡 Pay bills")
    await user.wait_message("Choose a category")
    await user.send("beeline")
    await user.press("Beeline")
    await user.wait_message("Phone number — please type it")


@pytest.mark.parametrize("typed", ["+998 90 123 45 67", "+998 (90) 123-45-67", "90 123 45 67", "998901234567",
                                   "+998901234567", "(90) 123-45-67"])
async def test_phone_field_takes_the_formats_people_type(app, telegram, paylov, typed):
    user = await registered(telegram, 2103)
    await open_beeline(user)
    await user.send(typed)
    await user.wait_message("Type the amount")


async def test_phone_field_refuses_other_numbers_plainly(app, telegram, paylov):
    user = await registered(telegram, 2104)
    await open_beeline(user)
    for typed in ("+7 900 123 45 67", "+998 90 123 45", "8 800 555 35 35"):
        await user.send(typed)
        refused = await user.wait_message("+998")
        assert "Phone number" in refused.text and "90 123 45 67" in refused.text
    await user.send("+998 91 765 43 21")
    await user.wait_message("Type the amount")


# ---- 4. cancel texts ---------------------------------------------------------------------------------------------


async def test_cancel_at_the_code_step_says_the_payment_is_cancelled(app, telegram, paylov):
    user = await registered(telegram, 2105)
    await add_card(user)
    await hot_water_to_code(user)
    await user.send("/cancel")
    said = await user.wait_message("cancelled")
    assert "payment" in said.text and "not charged" in said.text and "Nothing was saved" not in said.text
    [payment] = await payments_of(app, 2105)
    assert payment.state == "failed" and paylov.calls("servicePayment/pay/") == []


async def test_cancel_on_a_search_result_closes_the_search(app, telegram, paylov):
    user = await registered(telegram, 2106)
    await user.send("горячая")
    await user.wait_message("Found for")
    await user.press("✖ Cancel")
    said = await user.wait_message("closed")
    assert "Search" in said.text and "cancelled" not in said.text and "charged" not in said.text


async def test_cancel_while_adding_a_card_says_so(app, telegram, paylov):
    user = await registered(telegram, 2107)
    await to_number_step(user)
    await user.send("/cancel")
    said = await user.wait_message("card")
    assert "Adding the card is cancelled" in said.text


# ---- 5. an expired card ------------------------------------------------------------------------------------------


async def test_expired_card_refused_then_another_card_is_asked_for(app, telegram, paylov):
    """Before: "To add another card, send its expiry", and the next card's number, sent as people do, was refused as
    "a card number outside Add a card" while the bot still waited for an expiry."""
    user = await registered(telegram, 2108)
    await to_number_step(user)
    await user.send("3333 3364 1580 4657")
    refused = await user.wait_message("has expired")
    assert "tap “➕ Add a card”" in refused.text and refused.labels == []  # no step waits behind it
    listing = await user.wait_message("You have no saved cards yet")
    sent = await user.send("8600 4954 7331 6478")  # no step takes it now: deleted, never echoed
    await user.wait_message("looked like a card number")
    assert user.message(sent.message_id).deleted
    await user.press("➕ Add a card", message=listing)
    await user.wait_message("send the card's expiry")
    early = await user.send(GOOD)  # the number first: deleted, and the expiry asked for by name
    await user.wait_message("the bank needs the expiry first")
    assert user.message(early.message_id).deleted
    await user.send("03/99")
    await user.wait_message("Now send the 16-digit card number")
    await user.send(GOOD)
    await user.wait_message("I sent a code")
    await user.send("666666")
    await user.wait_message("is saved")
    assert len(await saved_cards(app, 2108)) == 1
    assert len(paylov.calls("userCard/createUserCard/")) == 2


async def test_expiry_in_the_past_asks_for_another_cards_expiry(app, telegram, paylov):
    user = await registered(telegram, 2113)
    await open_add_card(user)
    await user.wait_message("send the card's expiry")
    await user.send("01/20")
    said = await user.wait_message("already expired")
    assert "To add another card, send its expiry" in said.text
    await user.send(GOOD)
    await user.wait_message("the bank needs the expiry first")
    await user.send("03/99")
    await user.wait_message("Now send the 16-digit card number")


# ---- 6. /language in the middle of a payment -------------------------------------------------------------------


@pytest.mark.parametrize("asked_by", ["/language", "🌐 Language"])
async def test_language_at_the_code_step_closes_the_payment_and_says_so(app, telegram, paylov, asked_by):
    user = await registered(telegram, 2109)
    await add_card(user)
    await hot_water_to_code(user)
    await user.send(asked_by)
    said = await user.wait_message("cancelled")
    assert "Горячая вода и отопление" in said.text and "not charged" in said.text
    [payment] = await payments_of(app, 2109)
    assert payment.state == "failed" and payment.error_code == "cancelled_by_user"
    await user.press("🇬🇧 English ✓")
    await user.wait_message("Done")
    await user.tap("🧾 History")
    view = await user.wait_message("History —")
    [entry] = [label for label in view.labels if "Горячая вода" in label]
    assert entry.startswith("❌")
    await user.press(entry)
    opened = await user.wait_message("Not paid")
    assert "You cancelled this payment" in opened.text


# ---- 7. menu buttons at text steps -------------------------------------------------------------------------------


async def test_menu_button_at_the_card_name_step_opens_the_menu_item(app, telegram, paylov):
    user = await registered(telegram, 2110)
    await to_number_step(user)
    await user.send(GOOD)
    await user.wait_message("I sent a code")
    await user.send("666666")
    await user.wait_message("Give it a name")
    await user.tap("💡 Pay bills")
    await user.wait_message("Choose a category")
    [card] = await saved_cards(app, 2110)
    assert card.name != "💡 Pay bills"


@pytest.mark.parametrize("step", ["search", "account", "amount", "code", "card_code", "phone", "home_name"])
async def test_menu_button_is_never_taken_as_typed_input(app, telegram, paylov, step):
    user = await registered(telegram, 2111)
    await add_card(user)
    if step == "search":
        await user.tap("💡 Pay bills")
        await user.wait_message("Choose a category")
    elif step == "account":
        await user.send("горячая")
        await user.press("Горячая вода и отопление")
        await user.wait_message("Account number — please type it")
    elif step == "amount":
        await user.send("горячая")
        await user.press("Горячая вода и отопление")
        await user.send("10000002")
        await user.wait_message("Type the amount")
    elif step == "code":
        await hot_water_to_code(user)
    elif step == "card_code":
        await to_number_step(user)
        await user.send("8600 4954 7331 6478")
        await user.wait_message("I sent a code")
    elif step == "phone":
        await open_beeline(user)
    elif step == "home_name":
        await pay_text_service(user, account="10000002", amount="7000")
        await user.press("🏠 Save this account")
        await user.wait_message("What shall I call this account")
    # Pay bills: its router comes last, after every step's handlers (cards, homes, checkout, the pay form).
    await user.tap("💡 Pay bills")
    await user.wait_message("Choose a category")
    assert not any("Pay bills" in text for text in bot_texts(user))  # never echoed back as a name or a value
    assert await user.send("горячая") and await user.wait_message("Found for")  # the menu's item is open
    if step == "code":
        [payment] = await payments_of(app, 2111)
        assert payment.state == "failed" and paylov.calls("servicePayment/pay/") == []
    if step == "home_name":
        await user.tap("🏠 My homes")
        await user.wait_message("No saved accounts yet")


# ---- 8. unknown commands -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["menu", "search", "card_name"])
async def test_unknown_command_is_answered_as_such(app, telegram, paylov, where):
    user = await registered(telegram, 2112)
    if where == "search":
        await user.tap("💡 Pay bills")
        await user.wait_message("Choose a category")
    elif where == "card_name":
        await to_number_step(user)
        await user.send(GOOD)
        await user.wait_message("I sent a code")
        await user.send("666666")
        await user.wait_message("Give it a name")
    await user.send("/unknowncommand")
    said = await user.wait_message("Unknown command")
    for command in ("/start", "/cancel", "/language", "/help"):
        assert command in said.text
    assert not any("unknowncommand" in text for text in bot_texts(user))
    if where == "card_name":
        [card] = await saved_cards(app, 2112)
        assert card.name != "/unknowncommand"
