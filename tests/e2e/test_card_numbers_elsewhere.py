"""A card number typed where none is asked for is deleted at once and never echoed: in the menu (where text is a
search), at an account step, at the expiry step; a photo at the number step is deleted too."""

from __future__ import annotations

from bot.sandbox.scenarios import add_card, open_add_card, registered, to_number_step

NUMBER = "8600 4954 7331 6478"
DIGITS = NUMBER.replace(" ", "")


def echoed(user) -> bool:
    return any(DIGITS in m.text.replace(" ", "").replace("-", "") for m in user.bot_messages)


async def test_in_the_menu_it_is_deleted_not_searched(app, telegram):
    user = await registered(telegram, 1501)
    sent = await user.send(NUMBER)
    answer = await user.wait_message("looked like a card number")
    assert user.message(sent.message_id).deleted
    assert not echoed(user) and "Nothing found" not in answer.text


async def test_at_an_account_step_it_is_deleted_and_the_step_goes_on(app, telegram, paylov):
    user = await registered(telegram, 1502)
    await add_card(user)
    await user.send("горячая")
    await user.press("Горячая вода и отопление")
    await user.wait_message("Account number — please type it")
    sent = await user.send(NUMBER.replace(" ", "-"))
    await user.wait_message("looked like a card number")
    assert user.message(sent.message_id).deleted and not echoed(user)
    assert [c for c in paylov.calls("servicePayment/info/")] == []  # never sent anywhere as an account
    await user.send("10000002")  # the step is still the account number
    await user.wait_message("Type the amount")


async def test_at_the_expiry_step_a_number_is_deleted(app, telegram):
    user = await registered(telegram, 1503)
    await open_add_card(user)
    await user.wait_message("send the card's expiry")
    again = await user.send(NUMBER)
    await user.wait_message("looked like a card number")
    assert user.message(again.message_id).deleted and not echoed(user)


async def test_a_photo_at_the_number_step_is_deleted_with_a_hint(app, telegram):
    user = await registered(telegram, 1504)
    await to_number_step(user)
    photo = await user.send_photo()
    await user.wait_message("I deleted the photo")
    assert user.message(photo.message_id).deleted


async def test_a_code_or_expiry_typed_in_the_menu_is_deleted_not_searched(app, telegram, paylov):
    """Issue 14, item 3's chat scan: the search echoed "Nothing found for “666666”" and kept the message."""
    user = await registered(telegram, 1505)
    for typed in ("666666", "666 666", "03/99"):
        sent = await user.send(typed)
        await user.wait_message("That looked like a confirmation code or a card expiry")
        assert user.message(sent.message_id).deleted and not any(typed in m.text for m in user.bot_messages)
    await user.send("горячая")  # a real search still works
    await user.wait_message("Found for “горячая”")
