"""The bot process stops at each state of a payment and starts again on the same database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import add_card, registered
from bot.storage.models import Payment


async def payment_states(app, user_id: int) -> list[str]:
    async with app.services.sessionmaker() as session:
        return list(await session.scalars(select(Payment.state).where(Payment.user_id == user_id)))


async def to_amount(user):
    await user.tap("💡 Pay bills")
    await user.wait_message("Choose a category")
    await user.send("горячая")
    await user.press("Горячая вода и отопление")
    await user.wait_message("Account number — please type it")
    await user.send("10000002")
    await user.wait_message("Type the amount")


STEPS = ["browse", "form", "amount", "card", "confirm", "code"]


@pytest.mark.parametrize("stop_at", STEPS)
async def test_restart_at_each_step_continues(app, telegram, paylov, stop_at):
    user = await registered(telegram, 900 + STEPS.index(stop_at))
    await add_card(user)
    await user.tap("💡 Pay bills")
    await user.wait_message("Choose a category")
    if stop_at == "browse":
        await app.restart()
    await user.send("горячая")
    await user.press("Горячая вода и отопление")
    await user.wait_message("Account number — please type it")
    if stop_at == "form":
        await app.restart()
    await user.send("10000002")
    await user.wait_message("Type the amount")
    if stop_at == "amount":
        await app.restart()
    await user.send("7000")
    await user.wait_message("Choose the card")
    if stop_at == "card":
        await app.restart()
    await user.press(user.last.labels[0])
    await user.wait_message("Check the payment")
    if stop_at == "confirm":
        await app.restart()
    await user.press("✅ Confirm")
    await user.wait_message("I sent a code")
    if stop_at == "code":
        await app.restart()
    await user.send("666666")
    await user.wait_message("Paid")
    assert len(paylov.calls("servicePayment/create/")) == 1
    assert len(paylov.calls("servicePayment/pay/")) == 1
    assert await payment_states(app, user.user_id) == ["paid"]


async def test_stopped_while_paying_is_settled_once_its_claim_expires(make_settings, telegram, paylov):
    """The handler stops with pay sent and no answer recorded: once its claim expires the status decides and the
    user is told. (tests/crash kills a real process at the same point.)"""
    app = await BotProcess(make_settings(PROVIDER_CONNECT_TIMEOUT=0.5, PROVIDER_READ_TIMEOUT=1.0,
                                         PAYING_STALE_AFTER=5, STATUS_WORKER_TICK=0.2)).start()
    user = await registered(telegram, 920)
    await add_card(user)
    await to_amount(user)
    await user.send("7000")
    await user.wait_message("Choose the card")
    await user.press(user.last.labels[0])
    await user.press("✅ Confirm")
    await user.wait_message("I sent a code")
    paylov.fail_next("servicePayment/pay/", "timeout")  # the charge happens; its answer never comes
    await user.send("666666")
    await paylov.wait_for_calls("servicePayment/pay/")
    await app.crash()
    assert await payment_states(app, 920) == ["paying"]

    await app.start()
    try:
        receipt = await user.wait_message("Paid", timeout=15)
        assert "7,000 sum" in receipt.text
        assert len(paylov.calls("servicePayment/pay/")) == 1
        assert await payment_states(app, 920) == ["paid"]
        assert sum("Paid" in m.text for m in user.bot_messages) == 1
    finally:
        await app.stop()
