"""Issue 14, item 2: the expiry is asked first, then the number, so the number goes to createUserCard in the update
that brought it and waits nowhere. A new SMS code therefore needs the number again, and the button says so.
The expiry message is deleted too (item 1)."""

from __future__ import annotations

from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import open_add_card, registered

GOOD = "8600 0691 9540 6311"


async def test_the_number_goes_to_the_bank_in_the_update_that_brought_it(make_settings, telegram, paylov):
    process = await BotProcess(make_settings(CARD_CODE_RESEND_WAIT=0)).start()
    try:
        user = await registered(telegram, 741, phone="+998901110041")
        await open_add_card(user)
        await user.wait_message("send the card's expiry")

        expiry = await user.send("03/99")
        await user.wait_message("Got the expiry. Now send the 16-digit card number")
        assert not any("03/99" in m.text for m in user.bot_messages)
        assert next(m for m in user.messages if m.message_id == expiry.message_id).deleted
        assert paylov.calls("userCard/createUserCard/") == []

        number = await user.send(GOOD)
        await user.wait_message("I sent a code by SMS")
        assert next(m for m in user.messages if m.message_id == number.message_id).deleted
        [create] = paylov.calls("userCard/createUserCard/")
        assert create.body["cardNumber"] == "8600069195406311" and create.body["expireDate"] == "9903"
        # Between the number and the code prompt the bot said nothing else: no step held the number.
        after = [m.text for m in user.messages if m.from_bot and m.message_id > number.message_id]
        assert all("expiry" not in text for text in after)

        assert "🔁 New code (type the number again)" in user.last.labels
        await user.press("🔁 New code (type the number again)")
        await user.wait_message("I don't keep card numbers. Send the card number again")
        await user.send(GOOD)
        await user.wait_message("I sent a code by SMS")
        assert len(paylov.calls("userCard/createUserCard/")) == 2
        await user.send("666666")
        await user.wait_message("Card UZCARD •6311 is saved")
    finally:
        await process.stop()


async def test_the_expiry_survives_a_restart_and_the_number_is_asked_after_it(make_settings, telegram, paylov):
    """The expiry waits sealed in the FSM storage (not as typed), so another process can go on with it."""
    first = await BotProcess(make_settings()).start()
    user = await registered(telegram, 742, phone="+998901110042")
    await open_add_card(user)
    await user.wait_message("send the card's expiry")
    await user.send("03/99")
    await user.wait_message("Now send the 16-digit card number")
    await first.stop()

    second = await BotProcess(make_settings()).start()
    try:
        await user.send(GOOD)
        await user.wait_message("I sent a code by SMS")
        [create] = paylov.calls("userCard/createUserCard/")
        assert create.body["expireDate"] == "9903"
    finally:
        await second.stop()


async def test_a_bad_expiry_is_deleted_and_asked_again(app, telegram, paylov):
    user = await registered(telegram, 743)
    await open_add_card(user)
    await user.wait_message("send the card's expiry")
    typed = await user.send("13/99")
    await user.wait_message("month")
    assert next(m for m in user.messages if m.message_id == typed.message_id).deleted
    await user.send("03/99")
    await user.wait_message("Now send the 16-digit card number")
