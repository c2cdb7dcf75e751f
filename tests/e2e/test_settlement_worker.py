"""The settlement worker: a payment whose pay got no answer is settled through transaction/status on a schedule."""

from __future__ import annotations

import pytest

from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import (
    add_card,
    hot_water_to_code,
    registered,
)

FAST = dict(PROVIDER_READ_TIMEOUT=1.0, STATUS_CHECK_INTERVALS=[0.2], STATUS_GIVE_UP_AFTER=30, STATUS_WORKER_TICK=0.1)


@pytest.fixture
async def fast_app(make_settings):
    process = await BotProcess(make_settings(**FAST)).start()
    yield process
    await process.stop()


async def pay_with_lost_answer(user, paylov, *, settle_after: int | None, apply: bool = True) -> str:
    await hot_water_to_code(user, account="10000002", amount="7000")
    transaction_id = paylov.calls("servicePayment/create/")[-1].response["result"]["transactionId"]
    if settle_after:
        paylov.settle_after(transaction_id, settle_after)
    paylov.fail_next("servicePayment/pay/", "timeout", apply=apply)
    await user.send("666666")
    await user.wait_message("We don't know yet", timeout=10)
    return transaction_id


def receipts(user) -> int:
    return sum("✅ Paid" in m.text for m in user.bot_messages)


async def test_settles_as_paid_after_three_status_calls(fast_app, telegram, paylov):
    user = await registered(telegram, 1101)
    await add_card(user)
    transaction_id = await pay_with_lost_answer(user, paylov, settle_after=3)
    receipt = await user.wait_message("✅ Paid", timeout=10)
    assert transaction_id in receipt.text
    assert len(paylov.calls("transaction/status/")) == 3
    assert len(paylov.calls("servicePayment/pay/")) == 1
    await paylov.wait_for_calls("transaction/status/", 3)
    assert receipts(user) == 1


async def test_settles_across_a_restart(fast_app, telegram, paylov):
    user = await registered(telegram, 1102)
    await add_card(user)
    await pay_with_lost_answer(user, paylov, settle_after=4)
    await paylov.wait_for_calls("transaction/status/", 2)
    await fast_app.restart()
    await user.wait_message("✅ Paid", timeout=10)
    assert len(paylov.calls("transaction/status/")) == 4
    assert len(paylov.calls("servicePayment/pay/")) == 1
    assert receipts(user) == 1


async def test_never_settles_ends_with_the_support_message(make_settings, telegram, paylov):
    # Long enough for the handler's own first status check to come before it, even on a loaded machine.
    process = await BotProcess(make_settings(**{**FAST, "STATUS_GIVE_UP_AFTER": 4})).start()
    try:
        user = await registered(telegram, 1103)
        await add_card(user)
        transaction_id = await pay_with_lost_answer(user, paylov, settle_after=None, apply=False)
        support = await user.wait_message("contact support", timeout=10)
        assert transaction_id in support.text
        calls = len(paylov.calls("transaction/status/"))
        await process.restart()  # a restart does not start asking again
        assert len(paylov.calls("transaction/status/")) == calls
        assert len(paylov.calls("servicePayment/pay/")) == 1
    finally:
        await process.stop()
