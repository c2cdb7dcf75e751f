"""Paying twice by mistake, and retrying a refusal for money, through the Telegram double and the Paylov emulator.

A home paid in the last days says so in My homes, on its card and in its reminder, and "Pay the debt" or "Other
amount" asks before a new payment; an account typed in Pay bills shows its payment of the last days before the amount;
a payment refused for money offers another card or another amount instead of the same again."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import (add_card, add_payme_card, hot_water_to_amount, hot_water_to_code,
                                   hot_water_to_confirm, pay_text_service, registered)
from bot.texts.formats import day_month, money
from tests.conftest import BOT_TOKEN
from tests.e2e.ledger_rows import payments_of

HOME = "Home · Горячая вода и отопление"
PAY_DEBT = f"Pay the debt: {money(48200, 'en')}"  # the account's debt at the provider, which does not change


def paid_day(payment) -> date:
    return datetime.strptime(payment.paid_at, "%Y-%m-%d %H:%M:%S").date()  # Paylov's payedAt, Tashkent time


async def pay_and_save_home(user, *, amount: str = "1000") -> None:
    await pay_text_service(user, account="10000001", amount=amount)  # the account owes 48 200
    await user.press("🏠 Save this account")
    await user.press("Home")  # the suggested names under the name question
    await user.wait_message("“Home”")


async def test_a_home_paid_today_says_so_and_asks_before_paying_again(app, telegram, paylov):
    user = await registered(telegram, 2201)
    await add_card(user)
    await pay_and_save_home(user)
    [first] = await payments_of(app, 2201)
    paid_line = f"Paid on {day_month(paid_day(first))}: {money(1000, 'en')}"

    await user.tap("🏠 My homes")
    listing = await user.wait_message("Your saved accounts")
    assert f"Home · ✅ {paid_line}" in listing.text
    await user.press(HOME)
    card = await user.wait_message("🏠 Home")
    assert f"✅ {paid_line}" in card.text
    assert "may not show this payment yet" in card.text  # the provider still reports the old debt
    creates = len(paylov.calls("servicePayment/create/"))

    await user.press(PAY_DEBT)
    asked = await user.wait_message("You paid this account on")
    assert f"You paid this account on {day_month(paid_day(first))} ({money(1000, 'en')}) — pay again?" in asked.text
    assert asked.labels == ["Yes, pay again", "No"]
    await user.press("No")
    await user.wait_message("🏠 Home")
    assert len(paylov.calls("servicePayment/create/")) == creates  # no new payment, so no SMS code either
    assert len(await payments_of(app, 2201)) == 1
    assert not any("I sent a code by SMS" in m.text for m in user.bot_messages[-2:])

    await user.press(PAY_DEBT)
    await user.wait_message("You paid this account on")
    await user.press("Yes, pay again")
    await user.wait_message("I sent a code by SMS")
    [create] = paylov.calls("servicePayment/create/")[creates:]
    assert create.body["amount"] == 48200
    await user.send("666666")
    await user.wait_message("✅ Paid")
    assert [p.state for p in await payments_of(app, 2201)] == ["paid", "paid"]

    await user.tap("🏠 My homes")
    listing = await user.wait_message("Your saved accounts")
    assert f"Paid on {day_month(paid_day(first))}: {money(48200, 'en')}" in listing.text  # the newest payment


class Today:
    def __init__(self, value: date) -> None:
        self.value = value

    def __call__(self) -> date:
        return self.value


async def test_paid_days_ago_is_old_news_and_the_reminder_says_paid(make_settings, telegram, paylov):
    today = Today(date(2000, 1, 1))
    process = await BotProcess(make_settings(REMINDER_TICK=3600), today=today).start()
    try:
        user = await registered(telegram, 2202)
        await add_card(user)
        await pay_and_save_home(user)
        [first] = await payments_of(process, 2202)
        paid = paid_day(first)

        # Still recent up to three days on: the reminder that day says it was paid (reminder days run 1 to 28).
        today.value = next(paid + timedelta(days=n) for n in (3, 2, 1, 0) if (paid + timedelta(days=n)).day <= 28)
        await user.tap("🏠 My homes")
        await user.press(HOME)
        await user.wait_message("🏠 Home")
        await user.press("🔕 Remind me monthly")
        await user.wait_message("On which day")
        await user.press(str(today.value.day))
        await user.wait_message("of every month")
        assert await process.dispatcher["reminder_worker"].send_due() == 1
        reminder = await user.wait_message("🔔 Monthly reminder")
        assert f"✅ Paid on {day_month(paid)}: {money(1000, 'en')}" in reminder.text

        today.value = paid + timedelta(days=4)  # four days on: no mark, and the debt is paid in two taps again
        await user.tap("🏠 My homes")
        listing = await user.wait_message("Your saved accounts")
        assert "Paid on" not in listing.text
        await user.press(HOME + " 🔔")
        card = await user.wait_message("🏠 Home")
        assert "Paid on" not in card.text
        await user.press(PAY_DEBT)
        await user.wait_message("I sent a code by SMS")
    finally:
        await process.stop()


async def test_refused_for_money_offers_another_amount_or_another_card(app, telegram, paylov):
    user = await registered(telegram, 2203)
    await add_card(user, "8600 4954 7331 6478", name="Small")  # 20 000 sum on it
    await add_card(user, "8600 0691 9540 6311", name="Big")
    creates = len(paylov.calls("servicePayment/create/"))

    await hot_water_to_code(user, account="10000001", amount="30000")  # the first card: Small
    await user.send("666666")
    failed = await user.wait_message("Not paid")
    assert "Not enough money on the card." in failed.text
    assert failed.labels == ["💳 Another card", "✏️ Change the amount", "✖ Cancel"]

    await user.press("✏️ Change the amount")
    await user.wait_message("Type the amount")
    assert failed.labels == []  # the old buttons are gone
    await user.send("15000")
    await user.wait_message("Choose the card")
    await user.press(next(label for label in user.last.labels if "Small" in label))
    await user.wait_message("Check the payment")
    await user.press("✅ Confirm")
    await user.wait_message("I sent a code by SMS")
    await user.send("666666")
    await user.wait_message("✅ Paid")

    await hot_water_to_code(user, account="10000001", amount="30000")  # Small has 5 000 left now
    await user.send("666666")
    failed = await user.wait_message("Not paid")
    await user.press("💳 Another card")
    await user.wait_message("Choose the card")
    await user.press(next(label for label in user.last.labels if "Big" in label))
    summary = await user.wait_message("Check the payment")
    assert "30 000" in summary.text or "30,000" in summary.text
    await user.press("✅ Confirm")
    await user.wait_message("I sent a code by SMS")
    await user.send("666666")
    await user.wait_message("✅ Paid")

    amounts = [call.body["amount"] for call in paylov.calls("servicePayment/create/")[creates:]]
    assert amounts == [30000, 15000, 30000, 30000]
    states = [(p.amount, p.state, p.error_code) for p in await payments_of(app, 2203)]
    assert states == [(30000, "failed", "insufficient_funds"), (15000, "paid", None),
                      (30000, "failed", "insufficient_funds"), (30000, "paid", None)]


async def test_other_refusals_keep_try_again(app, telegram, paylov):
    user = await registered(telegram, 2204)
    await add_card(user)
    await hot_water_to_code(user)
    paylov.fail_next("servicePayment/pay/", "error", code="card_is_blocked")
    await user.send("666666")
    failed = await user.wait_message("Not paid")
    assert failed.labels == ["🔁 Try again", "✖ Cancel"]


async def test_a_payme_card_refused_for_money_offers_another_amount(payme_app, telegram, payme, paylov):
    user = await registered(telegram, 2205)
    await add_payme_card(telegram, user, BOT_TOKEN, "8600495473316478")  # 20 000 sum on it
    await hot_water_to_confirm(user, account="10000001", amount="30000")
    failed = await user.wait_message("Not paid")
    assert "Not enough money on the card." in failed.text
    assert failed.labels == ["💳 Another card", "✏️ Change the amount", "✖ Cancel"]
    await user.press("✏️ Change the amount")
    await user.wait_message("Type the amount")
    await user.send("15000")
    await user.wait_message("Choose the card")
    await user.press(user.last.labels[0])
    await user.wait_message("Check the payment")
    await user.press("✅ Confirm")  # a Payme card: no code, Confirm charges
    await user.wait_message("✅ Paid")
    assert [(p.amount, p.state, p.error_code) for p in await payments_of(payme_app, 2205)] == [
        (30000, "failed", "-31303"), (15000, "paid", None)]


async def test_other_amount_of_a_home_paid_today_asks_once_before_paying_again(app, telegram, paylov):
    user = await registered(telegram, 2206)
    await add_card(user)
    await pay_and_save_home(user)
    [first] = await payments_of(app, 2206)
    question = f"You paid this account on {day_month(paid_day(first))} ({money(1000, 'en')}) — pay again?"
    creates = len(paylov.calls("servicePayment/create/"))

    await user.tap("🏠 My homes")
    await user.press(HOME)
    await user.wait_message("🏠 Home")
    await user.press("Other amount")
    asked = await user.wait_message("You paid this account on")
    assert question in asked.text
    assert asked.labels == ["Yes, pay again", "No"]
    await user.press("No")
    await user.wait_message("🏠 Home")
    assert len(paylov.calls("servicePayment/create/")) == creates  # no new payment, so no SMS code either
    assert len(await payments_of(app, 2206)) == 1
    assert not any("Type the amount" in m.text or "I sent a code by SMS" in m.text for m in user.bot_messages[-2:])

    await user.press("Other amount")
    await user.wait_message("You paid this account on")
    asked_before = sum(question in m.text for m in user.bot_messages)
    await user.press("Yes, pay again")
    amount = await user.wait_message("Type the amount")
    assert f"✅ Paid on {day_month(paid_day(first))}: {money(1000, 'en')}" in amount.text
    await user.send("3000")
    await user.wait_message("Choose the card")
    await user.press(user.last.labels[0])
    await user.wait_message("Check the payment")
    await user.press("✅ Confirm")
    await user.wait_message("I sent a code by SMS")
    await user.send("666666")
    await user.wait_message("✅ Paid")
    assert sum(question in m.text for m in user.bot_messages) == asked_before  # asked once in this flow
    [create] = paylov.calls("servicePayment/create/")[creates:]
    assert create.body["amount"] == 3000
    assert [(p.amount, p.state) for p in await payments_of(app, 2206)] == [(1000, "paid"), (3000, "paid")]


async def test_the_catalogue_shows_a_payment_made_in_the_last_days_beside_the_account(app, telegram, paylov):
    user = await registered(telegram, 2207)
    await add_card(user)
    await pay_text_service(user, account="10000001", amount="1000")  # not saved as a home
    [first] = await payments_of(app, 2207)
    paid_line = f"✅ Paid on {day_month(paid_day(first))}: {money(1000, 'en')}"

    await user.tap("💡 Pay bills")
    await user.wait_message("Choose a category")
    amount = await hot_water_to_amount(user, account="10000001")
    assert paid_line in amount.text
    assert amount.text.index(paid_line) < amount.text.index("Type the amount")  # seen before the amount is typed
    assert "Pay the debt" in " ".join(amount.labels)  # no question here: the account was typed deliberately

    await user.tap("💡 Pay bills")  # another account of the same service: nothing was paid for it
    await user.wait_message("Choose a category")
    other = await hot_water_to_amount(user, account="10000002")
    assert "Paid on" not in other.text
    assert len(await payments_of(app, 2207)) == 1


async def test_paying_from_history_shows_the_recent_payment_beside_the_account(app, telegram, paylov):
    """History's only pay button ("💡 Pay a bill", on a month without payments) opens the catalogue: the account
    typed there shows its payment of the last days as the menu's Pay bills does."""
    user = await registered(telegram, 2208)
    await add_card(user)
    await pay_text_service(user, account="10000001", amount="1000")
    [first] = await payments_of(app, 2208)

    await user.tap("🧾 History")
    await user.wait_message("🧾 History")
    await user.press("Last month")
    await user.wait_for(lambda: "No payments in" in user.last.text)
    await user.press("💡 Pay a bill")
    await user.wait_message("Choose a category")
    amount = await hot_water_to_amount(user, account="10000001")
    assert f"✅ Paid on {day_month(paid_day(first))}: {money(1000, 'en')}" in amount.text
