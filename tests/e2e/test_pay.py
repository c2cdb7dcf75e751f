"""Paying a bill end to end: the Telegram double, the real Dispatcher, the Paylov emulator."""

from __future__ import annotations

import pytest

from bot.sandbox import paylov_catalogue as catalogue
from bot.sandbox.scenarios import (
    add_card,
    choose_first_card_and_confirm,
    hot_water_to_code,
    pay_text_service,
    registered,
)
from tests.e2e.ledger_rows import events_of, payments_of


async def ready(telegram, user_id: int, card: bool = True):
    user = await registered(telegram, user_id)
    if card:
        await add_card(user)
    return user


async def open_electricity(user):
    await user.tap("💡 Pay bills")
    await user.wait_message("Choose a category")
    await user.press("Utilities")
    await user.wait_message("choose a service")
    await user.press("Плата за электроэнергию")
    return await user.wait_message("Region — choose one")


async def test_electricity_chain_full_payment(app, telegram, paylov):
    user = await ready(telegram, 801)
    regions = await open_electricity(user)
    assert regions.labels[:3] == ["Tashkent city", "Tashkent region", "Samarkand region"]

    await user.press("Tashkent region")
    districts = await user.wait_message("District — choose one")
    region_2 = [d["title"] for d in catalogue.DISTRICTS if d["filter"] == "2"]
    assert [label for label in districts.labels if label not in ("« Back", "✖ Cancel")] == region_2

    await user.press("27206 - Бекабадский ЭСП")
    await user.wait_message("Customer code — please type it")
    await user.send("2000002")
    info = await user.wait_message("Type the amount in sums, from 500 to 5,000,000")
    assert "Name: KARIMOVA NODIRA" in info.text and "Balance: 25,000 sum" in info.text
    assert "debt" not in info.text  # a credit balance is not a debt
    await user.send("12 500")
    await choose_first_card_and_confirm(user)
    summary = next(m for m in reversed(user.bot_messages) if "Check the payment" in m.text)
    assert "Region: Tashkent region" in summary.text and "cannot be reversed" in summary.text

    await user.send("666666")
    receipt = await user.wait_message("Paid")
    [create] = paylov.calls("servicePayment/create/")
    assert create.body["account"] == {"region": "2", "soato": "27206", "customer_code": "2000002"}
    assert create.body["amount"] == 12500 and type(create.body["amount"]) is int
    assert create.body["service_id"] == catalogue.ELECTRICITY and create.body["userId"] == "801"
    [pay] = paylov.calls("servicePayment/pay/")
    assert pay.body["transactionId"] == create.response["result"]["transactionId"]
    for shown in ("12,500 sum", pay.response["result"]["paymentRef"], pay.body["transactionId"], "92902804"):
        assert shown in receipt.text
    [payment] = await payments_of(app, 801)
    assert payment.state == "paid"
    assert await events_of(app, payment.id) == [
        (None, "draft"), ("draft", "creating"), ("creating", "created"), ("created", "paying"), ("paying", "paid")]


async def test_text_service_and_debt_button(app, telegram, paylov):
    user = await ready(telegram, 802)
    await user.tap("💡 Pay bills")
    await user.wait_message("Choose a category")
    await user.send("горячая")
    await user.wait_message("Found for")
    await user.press("Горячая вода и отопление")
    await user.wait_message("Account number — please type it")
    await user.send("10000001")
    info = await user.wait_message("Type the amount")
    assert "⚠️" in info.text and "Debt: 48,200 sum" in info.text
    await user.press("Pay the debt: 48,200 sum")
    await choose_first_card_and_confirm(user)
    await user.send("666666")
    await user.wait_message("Paid")
    [create] = paylov.calls("servicePayment/create/")
    assert create.body["amount"] == 48200 and create.body["account"] == {"account": "10000001"}
    assert len(paylov.calls("servicePayment/pay/")) == 1


async def test_mobile_without_info(app, telegram, paylov):
    user = await ready(telegram, 803)
    await user.tap("💡 Pay bills")
    await user.wait_message("Choose a category")
    await user.send("beeline")
    await user.press("Beeline")
    prompt = await user.wait_message("Phone number — please type it")
    assert "901234567" in prompt.text  # an example of the expected shape
    for typed, says in [("93 123 45 67", "does not look right"), ("90123", "must be 9 digits; you typed 5"),
                        ("abc", "only digits")]:
        await user.send(typed)
        await user.wait_message(says)
    await user.send("90 123 45 67")
    await user.wait_message("Type the amount in sums, from 1,000 to 1,000,000")
    assert paylov.calls("servicePayment/info/") == []
    for typed, says in [("999", "smallest amount for this service is 1,000"),
                        ("2000000", "largest amount for this service is 1,000,000"),
                        ("15000.50", "whole sums"), ("lots", "as a number"), ("0", "more than zero")]:
        await user.send(typed)
        await user.wait_message(says)
    await user.send("5000")
    await choose_first_card_and_confirm(user)
    await user.send("666666")
    await user.wait_message("Paid")
    [create] = paylov.calls("servicePayment/create/")
    assert create.body["account"] == {"phone": "901234567"} and create.body["amount"] == 5000


@pytest.mark.parametrize("query, finds", [
    ("elektr", "Плата за электроэнергию"), ("газ", "Hududgaz: Tabiiy gaz"), ("СУВ", "Sovuq suv"),
    ("internet", "Uzonline Internet"),
])
async def test_search_in_latin_and_cyrillic(app, telegram, paylov, query, finds):
    user = await ready(telegram, 804, card=False)
    await user.send(query)  # right from the menu
    found = await user.wait_message("Found for")
    assert finds in found.labels


async def test_inactive_hidden_and_unavailable_refused(app, telegram, paylov):
    user = await ready(telegram, 805, card=False)
    await user.send("Старый тариф")
    await user.wait_message("Nothing found")
    await user.send("ta'mirlash")
    found = await user.wait_message("Found for")
    assert found.labels[0] == "⛔ Issiq suv (ta'mirlash)"
    await user.press("⛔ Issiq suv (ta'mirlash)")
    await user.wait_for(lambda: any("cannot be paid right now" in alert for alert in user.alerts))
    assert paylov.calls("servicePayment/fields/") == []


async def test_unknown_account_goes_back_to_the_number(app, telegram, paylov):
    user = await ready(telegram, 806, card=False)
    await user.send("sovuq")
    await user.press("Sovuq suv")
    await user.wait_message("Account number — please type it")
    await user.send("99999999")
    await user.wait_message("does not know this account")
    await user.send("20000001")
    await user.wait_message("Debt: 7,350.40 sum — pay 7,351 sum")  # -7350.40: Paylov takes whole sums


async def test_back_at_each_step(app, telegram, paylov):
    user = await ready(telegram, 807)
    await open_electricity(user)
    await user.press("Tashkent city")
    await user.wait_message("District — choose one")
    await user.press("« Back")
    await user.wait_for(lambda: "Tashkent region" in user.last.labels)
    await user.press("Samarkand region")
    districts = await user.wait_message("District — choose one")
    assert "18203 - Самаркандский ЭСП" in districts.labels and "26280 - Алмазарский ЭСП" not in districts.labels
    await user.press("« Back")
    await user.press("Tashkent city")
    await user.press("26280 - Алмазарский ЭСП")
    await user.wait_message("Customer code — please type it")
    await user.send("1000001")
    await user.wait_message("Type the amount")
    await user.send("20000")
    await user.wait_message("Choose the card")
    await user.press("« Back")
    await user.wait_for(lambda: "Type the amount" in user.last.text)
    await user.send("30000")
    await user.wait_message("Choose the card")
    await user.press(user.last.labels[0])
    await user.wait_message("Check the payment")
    await user.press("« Back")
    await user.wait_message("Choose the card")
    await user.press(user.last.labels[0])
    summary = await user.wait_message("Check the payment")
    assert "30,000 sum" in summary.text and "26280 - Алмазарский ЭСП" in summary.text
    await user.press("✖ Cancel")
    await user.wait_message("payment is cancelled")
    assert paylov.calls("servicePayment/create/") == []


async def test_escaping_and_long_provider_texts(app, telegram, paylov):
    user = await ready(telegram, 808, card=False)
    await open_electricity(user)
    await user.press("Tashkent city")
    await user.press("26290 - Яшнабадский ЭСП")
    await user.wait_message("Customer code — please type it")
    await user.send("1000003")
    info = await user.wait_message("Type the amount")
    assert "<Яшнабад> & Co" in info.text and "…" in info.text


async def test_no_card_add_one_and_resume(app, telegram, paylov):
    user = await ready(telegram, 809, card=False)
    await user.send("горячая")
    await user.press("Горячая вода и отопление")
    await user.send("10000002")
    await user.wait_message("Type the amount")
    await user.send("7000")
    await user.wait_message("no saved cards yet")
    await user.press("➕ Add a card")
    await user.wait_message("send the card's expiry")
    await user.send("03/99")
    await user.wait_message("16-digit card number")
    await user.send("8600 0691 9540 6311")
    await user.wait_message("I sent a code")
    await user.send("666666")
    await user.wait_message("is saved")
    await user.press("Skip")
    back = await user.wait_message("Choose the card to pay 7,000 sum")
    await user.press(back.labels[0])
    summary = await user.wait_message("Check the payment")
    assert "Account number: <b>10000002</b>" in summary.html or "Account number: 10000002" in summary.text


async def test_wrong_codes_then_cancelled(app, telegram, paylov):
    user = await ready(telegram, 810)
    await hot_water_to_code(user, account="10000002", amount="7000")
    await user.send("271828")
    await user.wait_message("Wrong code. Tries left: 2")
    await user.send("314159")
    await user.wait_message("Wrong code. Tries left: 1")
    await user.send("271828")
    await user.wait_message("Three wrong codes")
    [payment] = await payments_of(app, 810)
    assert payment.state == "failed"


async def test_expired_code_starts_a_new_create(app, telegram, paylov, provider_clock):
    user = await ready(telegram, 811)
    await hot_water_to_code(user, account="10000002", amount="7000")
    provider_clock.advance(600)  # the SMS code lives 120 s at the provider
    await user.send("666666")
    await user.wait_message("that attempt was not charged")
    await user.send("666666")
    await user.wait_message("Paid")
    assert len(paylov.calls("servicePayment/create/")) == 2
    assert [e.status for e in paylov.calls("servicePayment/pay/")] == [400, 200]


async def test_insufficient_funds(app, telegram, paylov):
    user = await registered(telegram, 812)
    await add_card(user, "8600 4954 7331 6478")  # 20 000 sum on it
    await hot_water_to_code(user, account="10000002", amount="30000")
    await user.send("666666")
    failed = await user.wait_message("Not paid")
    assert "Not enough money on the card" in failed.text
    assert "💳 Another card" in failed.labels and "🔁 Try again" not in failed.labels  # the same card fails again


@pytest.mark.parametrize("mode", ["timeout", "drop", "500"])
async def test_pay_without_an_answer_is_settled_by_status(make_settings, telegram, paylov, mode):
    from bot.sandbox.harness import BotProcess

    process = await BotProcess(make_settings(PROVIDER_READ_TIMEOUT=1.0)).start()
    try:
        user = await ready(telegram, 813)
        await hot_water_to_code(user, account="10000002", amount="7000")
        paylov.fail_next("servicePayment/pay/", mode)
        await user.send("666666")
        await user.wait_message("Paid", timeout=10)
        assert len(paylov.calls("servicePayment/pay/")) == 1
        assert len(paylov.calls("transaction/status/")) == 1
        [payment] = await payments_of(process, 813)
        assert ("paying", "unknown") in await events_of(process, payment.id)
        assert payment.state == "paid"
    finally:
        await process.stop()


async def test_pay_lost_before_it_arrived_is_never_resent(make_settings, telegram, paylov):
    from bot.sandbox.harness import BotProcess

    # The give-up comes after the handler's own first status check (1 s read timeout), even on a loaded machine.
    process = await BotProcess(make_settings(PROVIDER_READ_TIMEOUT=1.0, STATUS_CHECK_INTERVALS=[0.1],
                                             STATUS_GIVE_UP_AFTER=4, STATUS_WORKER_TICK=0.1)).start()
    try:
        user = await ready(telegram, 814)
        await hot_water_to_code(user, account="10000002", amount="7000")
        paylov.fail_next("servicePayment/pay/", "timeout", apply=False)
        await user.send("666666")
        await user.wait_message("We don't know yet", timeout=10)
        await user.wait_message("contact support with the transaction ID", timeout=10)
        assert len(paylov.calls("servicePayment/pay/")) == 1
        assert len(paylov.calls("transaction/status/")) >= 2
    finally:
        await process.stop()


async def test_double_tap_on_confirm_creates_one_transaction(app, telegram, paylov):
    user = await ready(telegram, 815)
    await user.send("горячая")
    await user.press("Горячая вода и отопление")
    await user.send("10000002")
    await user.wait_message("Type the amount")
    await user.send("7000")
    await user.wait_message("Choose the card")
    await user.press(user.last.labels[0])
    summary = await user.wait_message("Check the payment")
    await user.press("✅ Confirm", message=summary)
    await user.press_data(summary.button("✅ Confirm").callback_data, message=summary)
    await user.wait_message("I sent a code")
    await user.wait_for(lambda: "This payment is closed." in user.alerts)
    assert len(paylov.calls("servicePayment/create/")) == 1
    assert len(await payments_of(app, 815)) == 1


async def test_old_button_of_a_finished_payment_is_closed(app, telegram, paylov):
    user = await ready(telegram, 816)
    await pay_text_service(user)
    old = next(m for m in reversed(user.bot_messages) if "Type the amount" in m.text)
    await user.press("✖ Cancel", message=old)
    await user.wait_for(lambda: "This payment is closed." in user.alerts)


async def test_unexpected_input_keeps_each_pay_step(app, telegram, paylov):
    user = await ready(telegram, 817)
    await user.tap("💡 Pay bills")
    await user.wait_message("Choose a category")
    await user.send_sticker()
    await user.wait_message("Choose with the buttons")
    await user.send("x")
    await user.wait_message("Type 2 to 100 letters")
    await user.press("Utilities")
    await user.press("Плата за электроэнергию")
    await user.wait_message("Region — choose one")
    await user.send("Tashkent")
    await user.wait_message("choose with the buttons above")
    await user.send_photo()
    await user.wait_message("answer with text or the buttons")
    await user.press("Tashkent city")
    await user.press("26280 - Алмазарский ЭСП")
    await user.wait_message("Customer code — please type it")
    await user.send_sticker()
    await user.wait_message("answer with text or the buttons")
    await user.send("1000001")
    await user.wait_message("Type the amount")
    await user.send_sticker()
    await user.wait_message("amount as a number")
    await user.send("20000")
    await user.wait_message("Choose the card")
    await user.send("the first one")
    await user.wait_message("use the buttons above")
    await user.press(next(m for m in reversed(user.bot_messages) if "Choose the card" in m.text).labels[0])
    await user.wait_message("Check the payment")
    await user.send("yes")
    await user.wait_message("use the buttons above")
    await user.press("✅ Confirm")
    await user.wait_message("I sent a code")
    await user.send_sticker()
    await user.wait_message("6-digit code")
    await user.send("12")
    await user.wait_message("The code has 6 digits")
    await user.send("666666")
    await user.wait_message("Paid")
    assert len(paylov.calls("servicePayment/pay/")) == 1
