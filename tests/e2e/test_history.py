"""History: our ledger merged with the provider's, by month and service, with totals and receipts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from babel.dates import format_date

from bot.sandbox import paylov_catalogue as catalogue
from bot.sandbox.scenarios import add_card, hot_water_to_code, pay_service, registered
from bot.services.history import TASHKENT

HOT = dict(query="горячая", service="Горячая вода и отопление")
GAS = dict(query="gaz", service="Hududgaz: Tabiiy gaz")


def month_label(day: date) -> str:
    return format_date(day.replace(day=1), "LLLL y", locale="en")


def provider_totals(paylov, month: tuple[int, int]) -> dict[str, int]:
    """What the emulator itself recorded as paid in that month, per service id."""
    totals: dict[str, int] = defaultdict(int)
    for entry in paylov.calls("servicePayment/pay/"):
        if entry.status == 200:
            tx = paylov.transaction(entry.body["transactionId"])
            paid = datetime.strptime(entry.response["result"]["payedAt"], "%Y-%m-%d %H:%M:%S")
            if (paid.year, paid.month) == month:
                totals[tx["service"]] += tx["amount"]
    return totals


async def test_history_by_month_and_service(app, telegram, paylov, provider_clock):
    user = await registered(telegram, 1201)
    await add_card(user)
    today = datetime.now(TASHKENT).date()  # the bot's months are Tashkent months
    last_month_day = today.replace(day=1) - timedelta(days=1)
    real_now = provider_clock.now
    provider_clock.now = datetime.combine(last_month_day, time(12)).timestamp()
    await pay_service(user, **HOT, account="10000001", amount="10000")
    await pay_service(user, **GAS, account="4000000001", amount="30000")
    provider_clock.now = real_now
    await pay_service(user, **HOT, account="10000002", amount="7000")
    await pay_service(user, **GAS, account="4000000002", amount="5000")
    outside = paylov.add_outside_payment("1201", catalogue.GAS, 12000, datetime.now(TASHKENT).replace(tzinfo=None),
                                         "986034******8885",
                                         "BOTIROV TEMURBEK")

    this_month = (today.year, today.month)
    last_month = (last_month_day.year, last_month_day.month)
    assert provider_totals(paylov, this_month) == {catalogue.HOT_WATER: 7000, catalogue.GAS: 5000}
    assert provider_totals(paylov, last_month) == {catalogue.HOT_WATER: 10000, catalogue.GAS: 30000}

    await user.tap("🧾 History")
    view = await user.wait_message(f"History — {month_label(today)}")
    assert "Горячая вода и отопление: 7,000 sum" in view.text
    assert "Hududgaz: Tabiiy gaz: 17,000 sum" in view.text  # 5 000 here + 12 000 paid outside the bot
    assert "Total: 24,000 sum" in view.text
    entries = [label for label in view.labels if label.startswith("✅")]
    assert len(entries) == 3 and sum("12,000 sum" in label for label in entries) == 1

    await user.press("Last month")
    await user.wait_for(lambda: f"History — {month_label(last_month_day)}" in user.last.text)
    assert "Total: 40,000 sum" in user.last.text

    await user.press("📅 Pick a month")
    await user.wait_message("Pick a month")
    await user.press(month_label(today))
    await user.wait_for(lambda: "Total: 24,000 sum" in user.last.text)

    await user.press("Service: all")
    await user.wait_message("Which service?")
    await user.press("Hududgaz: Tabiiy gaz")
    await user.wait_for(lambda: "Service: Hududgaz" in " ".join(user.last.labels))
    assert "Total: 17,000 sum" in user.last.text
    assert len([label for label in user.last.labels if label.startswith("✅")]) == 2

    outside_label = next(label for label in user.last.labels if "12,000 sum" in label)
    await user.press(outside_label)
    await user.wait_message("outside this bot")
    assert outside in user.last.text
    await user.press("« Back")
    await user.wait_for(lambda: "Total: 17,000 sum" in user.last.text)
    ours = next(label for label in user.last.labels if "5,000 sum" in label)
    await user.press(ours)
    receipt = await user.wait_message("Payment reference")
    assert "4000000002" in receipt.text and "5,000 sum" in receipt.text


async def test_failed_and_empty_history(app, telegram, paylov):
    user = await registered(telegram, 1202)
    await user.tap("🧾 History")
    empty = await user.wait_message("not paid anything yet")
    assert "💡 Pay a bill" in empty.labels
    await user.press("💡 Pay a bill")
    await user.wait_message("Choose a category")

    await add_card(user, "8600 4954 7331 6478")  # 20 000 sum on it
    await hot_water_to_code(user, amount="30000")
    await user.send("666666")
    await user.wait_message("Not paid")
    await user.tap("🧾 History")
    view = await user.wait_message("History —")
    [failed] = [label for label in view.labels if label.startswith("❌")]
    await user.press(failed)
    detail = await user.wait_message("Not paid")
    assert "not charged" in detail.text and "pay it again" in detail.text
