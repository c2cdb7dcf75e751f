"""Callback data is the client's to forge: a value out of range is "this button is no longer active", never an error
from the database (a 20-digit id used to raise OverflowError there)."""

from __future__ import annotations

import pytest

from bot.sandbox.scenarios import add_card, registered

FORGED = [
    "card:open:99999999999999999999",
    "rcpt:99999999999999999999",
    "home:open:-1:0",
    "hist:v:99999999999:0:0:0",
    "pay:zz-not-a-flow:ok:0",
]


@pytest.mark.parametrize("data", FORGED)
async def test_forged_callback_data_is_an_old_button(app, telegram, data):
    user = await registered(telegram, 1400 + FORGED.index(data))
    await add_card(user)
    query = await user.press_data(data, message=user.last)
    await user.wait_for(lambda: user.answered(query))
    assert user.alerts[-1] == "This button is no longer active."
    assert not any("something went wrong" in m.text for m in user.bot_messages)
