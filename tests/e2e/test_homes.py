"""My homes and monthly reminders, through the Telegram double and the Paylov emulator."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from bot.sandbox import paylov_catalogue as catalogue
from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import add_card, pay_text_service, registered
from bot.storage.models import Home
from tests.e2e.ledger_rows import payments_of


async def homes_of(process, user_id: int) -> list[Home]:
    async with process.services.sessionmaker() as session:
        return list(await session.scalars(select(Home).where(Home.user_id == user_id).order_by(Home.id)))


async def save_last_payment(user, name: str) -> None:
    await user.press("🏠 Save this account")
    await user.wait_message("What shall I call this account")
    if name in ("Home", "Parents", "Dacha"):
        await user.press(name)
    else:
        await user.send(name)
    await user.wait_message(f"Saved as “{name}”")


async def test_save_list_open_rename_delete_and_duplicates(app, telegram, paylov):
    user = await registered(telegram, 1301)
    await add_card(user)
    await pay_text_service(user, account="10000002", amount="1000")
    await save_last_payment(user, "Home")

    await pay_text_service(user, account="10000002", amount="2000")
    await user.press("🏠 Save this account")
    await user.wait_for(lambda: "This account is already saved as “Home”." in user.alerts)
    assert [h.name for h in await homes_of(app, 1301)] == ["Home"]

    await user.tap("🏠 My homes")
    listing = await user.wait_message("Your saved accounts")
    assert listing.labels == ["Home · Горячая вода и отопление"]
    infos = len(paylov.calls("servicePayment/info/"))
    await user.press("Home · Горячая вода и отопление")
    opened = await user.wait_message("🏠 Home")
    assert "Balance: 12,000 sum" in opened.text and "Account number: 10000002" in opened.text
    assert len(paylov.calls("servicePayment/info/")) == infos + 1  # the balance is asked afresh
    assert "Other amount" in opened.labels

    await user.press("✏️ Rename")
    await user.wait_message("Send the new name")
    await user.send("Flat in Yunusabad")
    await user.wait_message("Renamed to “Flat in Yunusabad”")
    await user.press("Flat in Yunusabad · Горячая вода и отопление")
    await user.wait_message("🏠 Flat in Yunusabad")
    await user.press("🗑 Delete")
    await user.wait_message("Delete the saved account")
    await user.press("Yes, delete")
    await user.wait_message("was deleted")
    assert await homes_of(app, 1301) == []


async def test_pay_the_debt_in_two_taps_with_a_default_card(make_settings, telegram, paylov):
    """A home not paid in the last three days; one that was asks first (tests/e2e/test_repeat_payments.py)."""
    today = Today(date(2000, 1, 1))
    process = await BotProcess(make_settings(), today=today).start()
    try:
        user = await registered(telegram, 1302)
        await add_card(user)
        await pay_text_service(user, account="10000001", amount="1000")
        await save_last_payment(user, "Parents")
        [paid] = await payments_of(process, 1302)
        today.value = datetime.strptime(paid.paid_at, "%Y-%m-%d %H:%M:%S").date() + timedelta(days=4)
        await user.tap("🏠 My homes")
        await user.wait_message("Your saved accounts")
        creates = len(paylov.calls("servicePayment/create/"))

        taps = 0
        await user.press("Parents · Горячая вода и отопление")
        taps += 1
        home = await user.wait_message("🏠 Parents")
        assert "Debt: 48,200 sum" in home.text
        await user.press("Pay the debt: 48,200 sum")
        taps += 1
        await user.wait_message("I sent a code by SMS")
        assert taps == 2
        [create] = paylov.calls("servicePayment/create/")[creates:]
        assert create.body["amount"] == 48200 and create.body["account"] == {"account": "10000001"}
        await user.send("666666")
        await user.wait_message("✅ Paid")
    finally:
        await process.stop()


async def test_other_amount_goes_through_the_usual_steps(app, telegram, paylov):
    user = await registered(telegram, 1303)
    await add_card(user)
    await pay_text_service(user, account="10000002", amount="1000")
    await save_last_payment(user, "Dacha")
    await user.tap("🏠 My homes")
    await user.press("Dacha · Горячая вода и отопление")
    await user.wait_message("🏠 Dacha")
    await user.press("Other amount")
    await user.wait_message("pay again?")  # paid minutes ago: asked first (tests/e2e/test_repeat_payments.py)
    await user.press("Yes, pay again")
    await user.wait_message("Type the amount")
    await user.send("3000")
    await user.wait_message("Choose the card")
    await user.press(user.last.labels[0])
    await user.press("✅ Confirm")
    await user.send("666666")
    await user.wait_message("✅ Paid")
    assert paylov.calls("servicePayment/create/")[-1].body["amount"] == 3000


async def test_saved_account_of_an_inactive_service(make_settings, telegram, paylov, monkeypatch):
    process = await BotProcess(make_settings(CATALOGUE_TTL=0)).start()
    try:
        user = await registered(telegram, 1304)
        await add_card(user)
        await pay_text_service(user, account="10000002", amount="1000")
        await save_last_payment(user, "Home")
        hot = next(s for s in catalogue.SERVICES if s["service_id"] == catalogue.HOT_WATER)
        monkeypatch.setitem(hot, "is_active", False)  # the provider withdrew the service
        await user.tap("🏠 My homes")
        await user.press("Home · Горячая вода и отопление")
        opened = await user.wait_message("no longer offered")
        assert "Other amount" not in opened.labels and "🗑 Delete" in opened.labels
    finally:
        await process.stop()


class Today:
    def __init__(self, value: date) -> None:
        self.value = value

    def __call__(self) -> date:
        return self.value


async def test_monthly_reminder_once_per_month_across_restarts_and_opt_out(make_settings, telegram, paylov):
    today = Today(date(2026, 12, 5))
    process = await BotProcess(make_settings(REMINDER_TICK=3600), today=today).start()
    try:
        user_en = await registered(telegram, 1306)
        await add_card(user_en)
        await pay_text_service(user_en, account="10000001", amount="1000")
        await save_last_payment(user_en, "Home")
        await user_en.tap("🏠 My homes")
        await user_en.press("Home · Горячая вода и отопление")
        await user_en.wait_message("🏠 Home")
        await user_en.press("🔕 Remind me monthly")
        await user_en.wait_message("On which day")
        await user_en.press("5")
        await user_en.wait_message("on day 5 of every month")

        def reminders() -> list:
            return [m for m in user_en.bot_messages if m.text.startswith("🔔 Monthly reminder")]

        worker = lambda: process.dispatcher["reminder_worker"]  # noqa: E731
        assert await worker().send_due() == 1
        reminder = await user_en.wait_message("🔔 Monthly reminder")
        assert "Debt: 48,200 sum" in reminder.text and "Pay the debt: 48,200 sum" in reminder.labels
        assert await worker().send_due() == 0

        await process.restart()
        assert await worker().send_due() == 0
        assert len(reminders()) == 1

        today.value = date(2027, 1, 5)
        assert await worker().send_due() == 1
        await user_en.wait_for(lambda: len(reminders()) == 2)
        await user_en.press("🔕 Stop these reminders")
        await user_en.wait_message("No more reminders")

        today.value = date(2027, 2, 5)
        assert await worker().send_due() == 0
        assert len(reminders()) == 2
    finally:
        await process.stop()
