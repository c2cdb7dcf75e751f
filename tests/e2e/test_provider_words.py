"""What the user reads when a provider fails, worded by what happened (not reached, slow, refused, an answer we
could not read), and the provider's Russian labels and categories on an Uzbek screen: through the Telegram double,
with the emulators' fault injection (bot/sandbox/faults.py)."""

from __future__ import annotations

import re
import socket

from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import registered

CYRILLIC = re.compile(r"[\u0400-\u04FF]")
HOT_WATER = "Горячая вода и отопление"  # the provider's own service name: shown as it is, in any language
ELECTRICITY = "Плата за электроэнергию"


def ours(text: str) -> str:
    """A screen without what is the provider's by design: the service name and a quoted detail “…”."""
    text = text.replace(HOT_WATER, "").replace(ELECTRICITY, "")
    return re.sub(r"“[^”]*”", "“”", text)


def closed_port() -> int:
    """A loopback port nothing listens on: a connection there is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def to_hot_water_account(user, language: str = "en") -> None:
    await user.tap({"en": "💡 Pay bills", "uz": "💡 To‘lovlar"}[language])
    await user.wait_message()
    await user.send("горячая")
    await user.press(HOT_WATER)
    await user.wait_message({"en": "Account number — please type it", "uz": "“Hisob raqami” maydonini"}[language])


async def test_a_provider_that_refuses_connections_is_not_reachable_in_uzbek(make_settings, telegram):
    process = await BotProcess(make_settings(PAYLOV_BASE_URL=f"http://127.0.0.1:{closed_port()}")).start()
    try:
        user = await registered(telegram, 1201, "uz")
        await user.tap("💡 To‘lovlar")
        told = await user.wait_message("To‘lov tizimi bilan hozir bog‘lanib bo‘lmayapti")
        assert "Hech narsa amalga oshirilmadi" in told.text
        assert "uzoq vaqt javob bermayapti" not in told.text  # not "slow": it never answered at all
        assert not CYRILLIC.search(told.text)
    finally:
        await process.stop()


async def test_a_provider_that_does_not_answer_in_time_is_slow(make_settings, telegram, paylov):
    process = await BotProcess(make_settings(PROVIDER_READ_TIMEOUT=0.5)).start()
    try:
        user = await registered(telegram, 1202)
        await to_hot_water_account(user)
        paylov.fail_next("servicePayment/info/", "timeout", apply=False)
        await user.send("10000002")
        told = await user.wait_message("Account number — please type it")
        assert "⚠️ The payment provider is slow to answer." in told.text
        assert [e.fault for e in paylov.calls("servicePayment/info/")] == ["timeout"]
    finally:
        await process.stop()


async def test_http_500_is_an_answer_we_could_not_read_not_a_slow_provider(app, telegram, paylov):
    user = await registered(telegram, 1203)
    await to_hot_water_account(user)
    paylov.fail_next("servicePayment/info/", "500", apply=False)
    paylov.fail_next("servicePayment/info/", "500", apply=False)  # info is a read: the client asks twice
    await user.send("10000002")
    told = await user.wait_message("Account number — please type it")
    assert ("⚠️ We could not get a clear answer from the payment provider. No money was taken; please try again in "
            "a minute.") in told.text
    assert "slow" not in told.text
    assert [(e.status, e.fault) for e in paylov.calls("servicePayment/info/")] == [(500, "500"), (500, "500")]

    await user.send("10000002")  # the same step again, and now it answers
    await user.wait_message("Type the amount")


async def test_a_known_refusal_is_told_in_uzbek_with_no_russian(app, telegram, paylov):
    user = await registered(telegram, 1204, "uz")
    await to_hot_water_account(user, "uz")
    paylov.fail_next("servicePayment/info/", "error", code="unknown_error")  # Paylov: "Неизвестная системная ошибка"
    await user.send("10000002")
    told = await user.wait_message("To‘lov tizimida ichki xatolik yuz berdi.")
    [info] = paylov.calls("servicePayment/info/")
    assert info.response["error"]["message"] == "Неизвестная системная ошибка"
    assert not CYRILLIC.search(ours(told.text)), told.text
    assert "Неизвестная" not in told.text  # a known code needs no detail


async def test_an_unknown_refusal_quotes_the_provider_only_as_a_detail(app, telegram, paylov):
    user = await registered(telegram, 1205, "uz")
    await to_hot_water_account(user, "uz")
    paylov.fail_next("servicePayment/info/", "error", code="server_error")
    paylov.fail_next("servicePayment/info/", "error", code="not_found")  # a code we have no words for: "Не найдено"
    await user.send("10000002")
    await user.wait_message("To‘lov tizimida nosozlik yuz berdi.")  # server_error: known
    await user.send("10000002")
    told = await user.wait_message("To‘lov tizimi so‘rovni rad etdi. Uning javobi: “Не найдено”")
    assert "Provayder" not in told.text
    assert not CYRILLIC.search(ours(told.text)), told.text


async def test_an_uzbek_users_pay_screens_show_known_labels_and_categories_in_uzbek(app, telegram, paylov):
    user = await registered(telegram, 1206, "uz")
    await user.tap("💡 To‘lovlar")
    categories = await user.wait_message("Kategoriyani tanlang")
    assert {"Kommunal xizmatlar", "Gaz va issiqlik", "Internet", "Mobil aloqa"} <= set(categories.labels)
    assert not [label for label in categories.labels if CYRILLIC.search(label)]

    await user.press("Kommunal xizmatlar")
    services = await user.wait_message("Kommunal xizmatlar: xizmatni tanlang.")
    assert ELECTRICITY in services.labels  # a service's name is the provider's own, shown as it is
    await user.press(ELECTRICITY)
    regions = await user.wait_message("“Viloyat” — kerakli variantni tanlang")
    assert {"Toshkent shahri", "Toshkent viloyati", "Samarqand viloyati"} <= set(regions.labels)
    assert not CYRILLIC.search(ours(regions.text)) and not [b for b in regions.labels if CYRILLIC.search(b)]

    await user.press("Toshkent shahri")
    districts = await user.wait_message("“Tuman” — kerakli variantni tanlang")
    assert "Viloyat: Toshkent shahri" in districts.text
    assert not CYRILLIC.search(ours(districts.text)), districts.text
    assert "26280 - Алмазарский ЭСП" in districts.labels  # a branch we do not know stays as the provider wrote it
    await user.press("26280 - Алмазарский ЭСП")
    code = await user.wait_message("“Abonent kodi” maydonini to‘ldiring")
    assert "Viloyat: Toshkent shahri" in code.text and "Tuman: 26280 - Алмазарский ЭСП" in code.text
