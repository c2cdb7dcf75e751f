"""Operator refunds (issue 16, item 4): `/refund <payment id>` from an operator in a private chat pays the bill's
amount back through PaySys; the bill stays paid, its cashback is taken back, and its payer is told."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import add_card, hot_water_to_code, registered
from bot.storage.models import Payment

OPERATOR = 1790
CARD = "8600 3100 0000 0117"


@pytest.fixture
async def refund_app(make_settings):
    process = await BotProcess(make_settings(CASHBACK_PERCENT="10", OPERATOR_REFUNDS=True, OPERATOR_IDS=str(OPERATOR))).start()
    yield process
    await process.stop()


async def paid(app, telegram, user_id: int, amount: str = "15000") -> int:
    user = await registered(telegram, user_id)
    await add_card(user)
    await hot_water_to_code(user, amount=amount)
    await user.send("666666")
    await user.wait_message("Paid")
    async with app.services.sessionmaker() as session:
        return await session.scalar(select(Payment.id).where(Payment.user_id == user_id, Payment.state == "paid"))


async def test_an_operator_refunds_a_paid_bill(refund_app, telegram, paysys):
    payment_id = await paid(refund_app, telegram, 1701)
    payer = telegram.user(1701)
    operator = await registered(telegram, OPERATOR)

    await operator.send(f"/refund {payment_id}")
    await operator.wait_message(f"Refund of payment {payment_id}: Горячая вода и отопление, 15,000 sum")
    number = await operator.send(CARD)
    summary = await operator.wait_message("Check the transfer")
    assert operator.message(number.message_id).deleted
    assert "Amount: 15,000 sum" in summary.text and "UZCARD •0117" in summary.text
    await operator.press("✅ Confirm")
    await operator.wait_message("15,000 sum sent to UZCARD •0117")

    await payer.wait_message(f"A refund of 15,000 sum for your payment #{payment_id} was sent")
    [prepare] = paysys.calls("prepare_remittance")
    assert prepare.params["amount"] == 1_500_000
    async with refund_app.services.sessionmaker() as session:
        bill = await session.get(Payment, payment_id)
    assert bill.state == "paid"  # the bill stays paid; the refund is its own row
    await payer.tap("💰 Cashback")
    assert "Cashback: 0 sum" in (await payer.wait_message("Cashback:")).text  # the bill's cashback went back

    await operator.send(f"/refund {payment_id}")  # a second refund of the same bill
    await operator.wait_message("That payment already has a refund")
    assert len(paysys.calls("prepare_remittance")) == 1


async def test_refund_is_refused_to_others_in_groups_and_for_bad_ids(refund_app, telegram, paysys):
    payment_id = await paid(refund_app, telegram, 1702)
    stranger = telegram.user(1702)
    await stranger.send(f"/refund {payment_id}")
    await stranger.wait_message("This command is for operators only")

    operator = await registered(telegram, OPERATOR)
    await operator.send_in_group(f"/refund {payment_id}")
    for typed, says in [("/refund", "Usage: /refund"), ("/refund abc", "Usage: /refund"),
                        ("/refund 99999", "There is no such payment"),
                        (f"/refund {payment_id + 1000}", "There is no such payment")]:
        await operator.send(typed)
        await operator.wait_message(says)
    assert not any("Refund of payment" in m.text for m in operator.bot_messages)  # not from the group either
    assert paysys.calls("prepare_remittance") == []


async def test_a_refund_above_payout_max_needs_manual_handling(make_settings, telegram, paysys):
    process = await BotProcess(make_settings(CASHBACK_PERCENT="10", OPERATOR_REFUNDS=True, OPERATOR_IDS=str(OPERATOR),
                                             PAYOUT_MAX=10_000)).start()
    try:
        payment_id = await paid(process, telegram, 1703)
        operator = await registered(telegram, OPERATOR)
        await operator.send(f"/refund {payment_id}")
        await operator.wait_message("This refund is above 10,000 sum: it needs manual handling")
        assert paysys.calls("prepare_remittance") == []
    finally:
        await process.stop()
