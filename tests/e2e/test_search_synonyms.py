"""Everyday words find the services whose catalogue names say it another way (свет → "Плата за электроэнергию"),
in whichever language the user chose, through the Telegram double and the Paylov emulator's catalogue."""

from __future__ import annotations

import pytest

from bot.sandbox.scenarios import registered

ELECTRICITY = "Плата за электроэнергию"
HOT_WATER = "Горячая вода и отопление"
COLD_WATER = "Sovuq suv"
GAS = "Hududgaz: Tabiiy gaz"
WASTE = "Чиқинди олиб кетиш (Maxsustrans)"
MOBILE = "Beeline"


async def found(user, query: str) -> list[str]:
    """The service buttons the bot answers a typed query with (its search reply, in the user's language)."""
    await user.send(query)
    reply = await user.wait_message()
    return [label.removeprefix("⛔ ") for label in reply.labels]


@pytest.mark.parametrize("language, user_id", [("ru", 2101), ("uz", 2102), ("en", 2103)])
async def test_everyday_words_find_services_in_each_language(app, telegram, language, user_id):
    user = await registered(telegram, user_id, language)
    assert (await found(user, "свет"))[0] == ELECTRICITY
    assert (await found(user, "tok"))[0] == ELECTRICITY
    assert (await found(user, "light"))[0] == ELECTRICITY
    hot = await found(user, "hot water")
    assert hot[0] == HOT_WATER and COLD_WATER not in hot  # "hot water" is not any water
    assert HOT_WATER in await found(user, "issiq suv")
    assert HOT_WATER in await found(user, "горячая вода")
    water = await found(user, "water")
    assert COLD_WATER in water and HOT_WATER in water
    assert (await found(user, "gas"))[0] == GAS
    assert WASTE in await found(user, "мусор") and WASTE in await found(user, "waste")
    assert MOBILE in await found(user, "mobil aloqa")
