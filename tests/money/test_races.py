"""Races on one payment: two settlements, a handler and a worker, two presses of every button that pays, and a
second process that runs only the worker. Each provider call of each step happens once, always.

A "second hand" here is a second set of services over the same database and providers (`open_services`), as a
second replica has; the bot process in `tests/crash` is a real second process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from bot.app import Services, open_services
from bot.sandbox import scenarios
from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import add_card, registered
from bot.settings import Settings
from tests.conftest import BOT_TOKEN
from tests.e2e.ledger_rows import payments_of, states_of

QUIET_WORKER = dict(STATUS_CHECK_INTERVALS=[3600], STATUS_WORKER_TICK=3600)  # the tests drive every settlement
ERROR_TEXT = "something went wrong"


@pytest.fixture
async def payme_bot(make_settings: Callable[..., Settings]) -> AsyncIterator[BotProcess]:
    process = await BotProcess(make_settings(CARD_VAULT="payme", **QUIET_WORKER)).start()
    yield process
    await process.stop()


@pytest.fixture
async def paylov_bot(make_settings: Callable[..., Settings]) -> AsyncIterator[BotProcess]:
    process = await BotProcess(make_settings(PROVIDER_READ_TIMEOUT=1.0, **QUIET_WORKER)).start()
    yield process
    await process.stop()


@pytest.fixture
async def second_hand(make_settings: Callable[..., Settings]) -> AsyncIterator[Services]:
    async with open_services(make_settings(CARD_VAULT="payme", PROVIDER_READ_TIMEOUT=1.0, **QUIET_WORKER)) as hand:
        yield hand


def said(user, text: str) -> int:
    return sum(text in m.text for m in user.bot_messages)


async def charged_payme_payment(bot: BotProcess, telegram, paylov, user_id: int):
    """A Payme payment whose card is charged and whose bill is not yet paid (the first settlement never started)."""
    user = await registered(telegram, user_id)
    await scenarios.add_payme_card(telegram, user, BOT_TOKEN)
    paylov.fail_next("servicePayment/create/", "drop", apply=False)
    await scenarios.hot_water_to_confirm(user, amount="7000")
    await user.wait_message("Your card was charged")
    [payment] = await payments_of(bot, user_id)
    assert payment.state == "charged"
    return user, payment


async def test_two_settlements_of_one_charged_payment_pay_the_bill_once(payme_bot, second_hand, telegram, paylov):
    user, payment = await charged_payme_payment(payme_bot, telegram, paylov, 1201)
    creates_before = len(paylov.calls("servicePayment/create/"))
    balance_before = paylov.merchant_card_balance()
    hold = paylov.hold_next("servicePayment/create/")
    first = asyncio.create_task(payme_bot.services.payments.check(payment.id))
    await hold.reached()  # the first settlement is inside Paylov's create
    await second_hand.payments.check(payment.id)  # the second one, at the same moment
    hold.release()
    await first

    [row] = await payments_of(payme_bot, user.user_id)
    settlement_pays = [c for c in paylov.calls("servicePayment/pay/") if c.status == 200]
    assert len(paylov.calls("servicePayment/create/")) - creates_before == 1
    assert len(settlement_pays) == 1
    assert row.state == "paid" and row.transaction_id == settlement_pays[0].body["transactionId"]
    assert paylov.transaction(row.transaction_id)["status"] == "paid"
    assert balance_before - paylov.merchant_card_balance() == 700_000  # tiyin: the bill paid once


async def test_handler_and_worker_on_one_unknown_payment_settle_it_once(paylov_bot, second_hand, telegram, paylov):
    user = await registered(telegram, 1202)
    await add_card(user)
    await scenarios.hot_water_to_code(user)
    paylov.fail_next("servicePayment/pay/", "timeout")  # charged; the answer never comes
    hold = paylov.hold_next("servicePayment/transaction/status/")
    await user.send("666666")
    await hold.reached()  # the handler asks the status of its unknown payment
    [payment] = await payments_of(paylov_bot, user.user_id)
    worker = await second_hand.payments.check(payment.id)  # the worker finds the same row at the same moment
    hold.release()
    await user.wait_message("✅ Paid")

    [payment] = await payments_of(paylov_bot, user.user_id)
    assert worker.outcome != "paid" or worker.payment.state == "paid"
    assert payment.state == "paid" and payment.next_check_at is None
    assert (await states_of(paylov_bot, payment.id))[-2:] == ["unknown", "paid"]
    assert said(user, "✅ Paid") == 1 and said(user, ERROR_TEXT) == 0
    assert len(paylov.calls("servicePayment/pay/")) == 1


async def test_two_presses_of_confirm_make_one_payment(paylov_bot, telegram, paylov):
    user = await registered(telegram, 1203)
    await add_card(user)
    await scenarios.hot_water_to_cards(user)
    await user.wait_message("Choose the card")
    await user.press(user.last.labels[0])
    summary = await user.wait_message("Check the payment")
    await asyncio.gather(user.press("✅ Confirm", message=summary), user.press("✅ Confirm", message=summary))
    await user.wait_message("I sent a code")
    await user.send("666666")
    await user.wait_message("✅ Paid")
    assert len(paylov.calls("servicePayment/create/")) == 1 and len(paylov.calls("servicePayment/pay/")) == 1
    assert len(await payments_of(paylov_bot, user.user_id)) == 1


async def test_a_code_sent_twice_pays_once(paylov_bot, telegram, paylov):
    user = await registered(telegram, 1204)
    await add_card(user)
    await scenarios.hot_water_to_code(user)
    await asyncio.gather(user.send("666666"), user.send("666666"))
    receipt = await user.wait_message("✅ Paid")
    # the second message is handled after the first (one chat's updates in order): its answer follows the receipt
    await user.wait_for(lambda: user.bot_messages[-1] is not receipt)
    assert len(paylov.calls("servicePayment/pay/")) == 1
    assert said(user, ERROR_TEXT) == 0


async def saved_home(user) -> None:
    """The hot-water account 10000001 (debt 48 200) saved as "Home", and its card opened in My homes."""
    await scenarios.save_as_home_and_open(user)
    await user.wait_message("Debt: 48,200 sum")


async def test_two_presses_of_pay_the_debt_with_a_paylov_card_send_one_code(paylov_bot, telegram, paylov):
    user = await registered(telegram, 1205)
    await add_card(user)
    await scenarios.pay_text_service(user, account="10000001", amount="1000")
    await saved_home(user)
    creates = len(paylov.calls("servicePayment/create/"))
    await user.press("Pay the debt: 48,200 sum", message=user.last)
    question = await user.wait_message("pay again?")  # the home was paid minutes ago: the bot asks first
    await asyncio.gather(user.press("Yes, pay again", message=question),
                         user.press("Yes, pay again", message=question))
    await user.wait_message("I sent a code")
    await user.send("666666")
    receipt = await user.wait_message("✅ Paid")
    assert "Amount: 48,200 sum" in receipt.text
    assert len(paylov.calls("servicePayment/create/")) - creates == 1
    assert [c.body.get("otp") for c in paylov.calls("servicePayment/pay/")] == ["666666", "666666"]  # 2 bills
    assert said(user, ERROR_TEXT) == 0


async def test_two_presses_of_pay_the_debt_and_two_confirms_with_a_payme_card_charge_once(
        payme_bot, telegram, payme):
    user = await registered(telegram, 1206)
    await scenarios.add_payme_card(telegram, user, BOT_TOKEN)
    await scenarios.pay_with_payme_card(user, account="10000001", amount="1000")
    await saved_home(user)
    await user.press("Pay the debt: 48,200 sum", message=user.last)
    question = await user.wait_message("pay again?")  # the home was paid minutes ago: the bot asks first
    await asyncio.gather(user.press("Yes, pay again", message=question),
                         user.press("Yes, pay again", message=question))

    def summaries():
        return [m for m in user.bot_messages if "Check the payment" in m.text and "48,200" in m.text]

    await user.wait_for(lambda: len(summaries()) == 2)
    await asyncio.gather(*(user.press("✅ Confirm", message=m) for m in summaries()))
    receipt = await user.wait_message("✅ Paid")
    assert "Amount: 48,200 sum" in receipt.text
    assert [c.body["params"]["amount"] for c in payme.calls("receipts.create")] == [100_000, 4_820_000]
    assert len(payme.calls("receipts.pay")) == 2  # the first bill and this one: once each
    assert said(user, ERROR_TEXT) == 0
