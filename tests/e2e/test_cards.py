"""My cards through the Telegram double and the Paylov emulator's card vault."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import add_card, labels, open_add_card, registered, to_number_step
from bot.storage.models import Card

GOOD = "8600 0691 9540 6311"
GOOD_2 = "8600 4954 7331 6478"


async def saved_cards(app, user_id: int) -> list[Card]:
    async with app.services.sessionmaker() as session:
        return list(await session.scalars(select(Card).where(Card.user_id == user_id).order_by(Card.id)))


async def test_happy_path_saves_what_the_provider_returned(app, telegram, paylov):
    user = await registered(telegram, 701, phone="+998901110011")
    await to_number_step(user)

    number_message = await user.send(GOOD)
    prompt = await user.wait_message("I sent a code by SMS to")
    assert any(call.params.get("message_id") == number_message.message_id for call in telegram.calls_of("deleteMessage"))
    assert next(m for m in user.messages if m.message_id == number_message.message_id).deleted
    assert "0011" in prompt.text and "+998901110011" not in prompt.text
    [create] = paylov.calls("userCard/createUserCard/")
    assert create.body == {
        "userId": "701", "cardNumber": "8600069195406311", "expireDate": "9903", "phoneNumber": "+998901110011",
    }

    await user.send("666666")
    await user.wait_message("Card UZCARD •6311 is saved")
    await user.send("Salary card")
    await user.wait_message("Saved as “Salary card”")
    listing = await user.wait_message("Your cards")
    assert "⭐ UZCARD •6311 · Salary card · 03/99" in listing.text

    [card] = await saved_cards(app, 701)
    provider_card = paylov.calls("userCard/confirmUserCardCreate/")[0].response["result"]["card"]
    assert (card.provider_card_id, card.masked_number, card.expire, card.is_default) == (
        provider_card["cardId"], "860006******6311", "9903", True,
    )
    assert card.owner == provider_card["owner"]


@pytest.mark.parametrize(
    "number, says, then",
    [
        ("3333 3364 1580 4657", "has expired", "To add another card, tap “➕ Add a card”"),
        ("4444 4459 8745 9073", "is blocked", "To add another card, tap “➕ Add a card”"),
        ("8600 0609 2109 0842", "SMS notifications are not connected", "To add another card, tap “➕ Add a card”"),
        ("8600 1434 1777 0323", "The payment provider had an internal error", "Send the card number again"),
    ],
)
async def test_seed_test_cards_refused_with_a_plain_message(app, telegram, paylov, number, says, then):
    user = await registered(telegram, 702)
    await to_number_step(user)
    await user.send(number)
    message = await user.wait_message(says)
    assert then in message.text
    assert await saved_cards(app, 702) == []


async def test_slow_card_shows_waiting_and_does_not_freeze_others(app, telegram, paylov):
    slow = await registered(telegram, 703)
    other = await registered(telegram, 704)
    await to_number_step(slow)
    await slow.send("8600 1343 0184 9596")
    await slow.wait_message("Checking the card with the bank")
    await slow.wait_for(lambda: "typing" in slow.chat_actions)

    await other.send("/help")
    await other.wait_message("/cancel")
    assert not any("processing center" in m.text for m in slow.bot_messages)  # the slow one is still waiting

    await slow.wait_message("processing center reported an error", timeout=10)
    assert await saved_cards(app, 703) == []


async def test_rules_checked_before_any_provider_call(app, telegram, paylov):
    user = await registered(telegram, 705)
    await open_add_card(user)
    await user.wait_message("send the card's expiry")
    for typed, says in [("13/30", "no such month"), ("01/20", "already expired"), ("soon", "month and year")]:
        await user.send(typed)
        await user.wait_message(says)
    await user.send("03 99")
    await user.wait_message("Now send the 16-digit card number")
    for typed, says in [
        ("8600 0691 9540 631", "16 digits"),
        ("8600 0691 9540 6312", "check digit"),
        ("4111 1111 1111 1111", "Only UzCard"),
        ("8600 O691 954O 6311", "only digits"),
    ]:
        await user.send(typed)
        await user.wait_message(says)
    await user.send(GOOD)
    await user.wait_message("I sent a code")
    assert len(paylov.calls("userCard/createUserCard/")) == 1


async def test_wrong_codes_lock_adding_and_the_lock_survives_a_restart(app, telegram, paylov):
    user = await registered(telegram, 706)
    await to_number_step(user, expiry="0399")
    await user.send(GOOD)
    await user.wait_message("I sent a code")

    await user.send("271828")
    await user.wait_message("Wrong code. Tries left: 2")
    await user.send("314159")
    await user.wait_message("Wrong code. Tries left: 1")
    await user.send("271828")
    await user.wait_message("Adding cards is locked for 15 min")

    await app.restart()

    await user.tap("💳 My cards")
    await user.wait_for(lambda: "➕ Add a card" in user.last.labels)
    await user.press("➕ Add a card")
    await user.wait_for(lambda: any("locked" in alert for alert in user.alerts))
    assert await saved_cards(app, 706) == []


async def test_expired_code_and_a_new_one(make_settings, telegram, paylov, provider_clock):
    process = await BotProcess(make_settings(CARD_CODE_RESEND_WAIT=30)).start()
    try:
        user = await registered(telegram, 707)
        await to_number_step(user)
        await user.send(GOOD)
        await user.wait_message("I sent a code")

        await user.press("🔁 New code (type the number again)")
        await user.wait_for(lambda: any("new code in" in alert for alert in user.alerts))

        provider_clock.advance(600)  # the SMS code is long dead at the provider
        await user.send("666666")
        await user.wait_message("The code has expired")

        process.services.settings.CARD_CODE_RESEND_WAIT = 0
        await user.press("🔁 New code (type the number again)")
        await user.wait_message("Send the card number again")
        await user.send(GOOD)
        await user.wait_message("I sent a code")
        assert len(paylov.calls("userCard/createUserCard/")) == 2
        await user.send("666666")
        await user.wait_message("is saved")
        assert len(await saved_cards(process, 707)) == 1
    finally:
        await process.stop()


async def test_duplicate_card_is_not_saved_twice(app, telegram, paylov):
    user = await registered(telegram, 708)
    await add_card(user, GOOD, name="Main")
    await to_number_step(user)
    await user.send(GOOD)
    await user.wait_message("already saved as “Main”")
    assert len(paylov.calls("userCard/createUserCard/")) == 1
    assert len(await saved_cards(app, 708)) == 1


async def test_default_and_remove(app, telegram, paylov):
    user = await registered(telegram, 709)
    await add_card(user, GOOD, name="First")
    await add_card(user, GOOD_2, name="Second")
    first, second = await saved_cards(app, 709)
    assert (first.is_default, second.is_default) == (True, False)

    await user.tap("💳 My cards")
    listing = await user.wait_message("Your cards")
    assert labels(listing)[:2] == ["⭐ UZCARD •6311 · First · 03/99", "UZCARD •6478 · Second · 03/99"]
    await user.press("UZCARD •6478 · Second · 03/99")
    opened = await user.wait_message("Expires: 03/99")
    assert opened.text.startswith("UZCARD •6478 · Second\n")
    await user.press("⭐ Make default")
    await user.wait_for(lambda: "⭐ UZCARD •6478 · Second · 03/99" in labels(user.last))

    await user.press("UZCARD •6311 · First · 03/99")
    opened = await user.wait_message("Expires: 03/99")
    assert opened.text.startswith("UZCARD •6311 · First\n")
    await user.press("🗑 Remove")
    await user.wait_message("Remove the card UZCARD •6311 · First?")
    await user.press("Yes, remove")
    await user.wait_message("was removed")

    [left] = await saved_cards(app, 709)
    assert (left.name, left.is_default) == ("Second", True)
    [delete] = paylov.calls("userCard/deleteUserCard/")
    assert delete.query == {"userCardId": first.provider_card_id}


async def test_another_users_forged_callback_is_refused(app, telegram, paylov):
    owner = await registered(telegram, 710)
    await add_card(owner, GOOD, name="Mine")
    [card] = await saved_cards(app, 710)

    thief = await registered(telegram, 711)
    await thief.tap("💳 My cards")
    await thief.wait_message("no saved cards")
    for action in ("open", "def", "rm", "rmy"):
        await thief.press_data(f"card:{action}:{card.id}", message=thief.last)
        await thief.wait_for(lambda: thief.alerts.count("This card is not available.") >= 1)
    await thief.wait_for(lambda: thief.alerts.count("This card is not available.") == 4)
    assert paylov.calls("userCard/deleteUserCard/") == []
    assert [c.name for c in await saved_cards(app, 710)] == ["Mine"]


async def test_cancel_mid_flow_leaves_nothing(app, telegram, paylov):
    user = await registered(telegram, 712)
    await to_number_step(user)
    await user.send("/cancel")
    await user.wait_message("Adding the card is cancelled")
    await user.send("03/99")
    await user.wait_message("looked like a confirmation code or a card expiry")
    number = await user.send(GOOD)  # after /cancel a number is no longer taken: deleted, never sent to the bank
    await user.wait_message("looked like a card number")
    assert user.message(number.message_id).deleted
    assert paylov.calls("userCard/createUserCard/") == []
    assert await saved_cards(app, 712) == []

    await to_number_step(user)
    await user.press("✖ Cancel")
    await user.wait_message("Nothing was saved")


async def test_unexpected_input_keeps_each_adding_step(app, telegram, paylov):
    user = await registered(telegram, 713)
    await open_add_card(user)
    await user.wait_message("send the card's expiry")
    await user.send_photo()
    await user.wait_message("expiry as text")
    await user.send("03/99")
    await user.wait_message("Now send the 16-digit card number")
    await user.send_sticker()
    await user.wait_message("card number as text")
    await user.send(GOOD)
    await user.wait_message("I sent a code")
    await user.send_sticker()
    await user.wait_message("6-digit code")
    await user.send("12ab")
    await user.wait_message("The code has 6 digits")
    await user.send("666666")
    await user.wait_message("is saved")
    await user.send_photo()
    await user.wait_message("name for the card")
    await user.send("x" * 100)
    await user.wait_message("1 to 32 characters")
    await asyncio.wait_for(user.press("Skip"), 5)
    await user.wait_message("Your cards")


async def test_provider_timeout_keeps_the_step_and_saves_nothing(make_settings, telegram, paylov):
    process = await BotProcess(make_settings(PROVIDER_READ_TIMEOUT=0.5)).start()
    try:
        user = await registered(telegram, 714)
        await to_number_step(user)
        await user.send("8600 1343 0184 9596")  # answers only after slow_delay
        await user.wait_message("slow to answer")
        assert await saved_cards(process, 714) == []
        await user.send("8600 1343 0184 9596")  # the step is kept (the expiry too): the number again retries
        await user.wait_message("Checking the card")
    finally:
        await process.stop()
