"""Cashback through the chat (issue 16): credited by a paid bill, withdrawn to a card through the PaySys emulator,
and every bad input refused with nothing sent to PaySys. The outcomes that arrive later (late completion, a reversal,
a lost answer, the 5-minute timeout) are in test_cashback_later.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import add_card, hot_water_to_code, registered
from bot.storage.models import Payment

PERCENT = "10"  # of a 15 000-sum bill: 1 500 sum, enough to withdraw (from 1 000)
COMPLETES = "8600 3100 0000 0117"
FAILS = "8600 3100 0000 0315"
BLOCKED = "8600 3100 0000 0513"


@pytest.fixture
async def cashback_app(make_settings):
    process = await BotProcess(make_settings(CASHBACK_PERCENT=PERCENT)).start()
    yield process
    await process.stop()


async def paid_bill(telegram, user_id: int, amount: str = "15000"):
    """A registered user with a card who paid one hot-water bill in the chat."""
    user = await registered(telegram, user_id)
    await add_card(user)
    await hot_water_to_code(user, amount=amount)
    await user.send("666666")
    await user.wait_message("Paid")
    return user


async def open_cashback(user):
    await user.tap("💰 Cashback")
    return await user.wait_message("Cashback:")


async def to_card_step(user, amount: str | None = None):
    await open_cashback(user)
    await user.press("💸 Withdraw")
    await user.wait_message("How much to withdraw?")
    if amount is None:
        await user.press(next(label for label in user.last.labels if label.startswith("All:")))
    else:
        await user.send(amount)
    await user.wait_message("Send the number of the UzCard or HUMO card")


async def test_a_paid_bill_earns_cashback_shown_in_the_menu(cashback_app, telegram):
    user = await paid_bill(telegram, 1601)
    screen = await open_cashback(user)
    assert "Cashback: 1,500 sum" in screen.text
    assert "You get 10% back from every paid bill" in screen.text
    assert "+1,500 sum — Горячая вода и отопление" in screen.text
    assert "💸 Withdraw" in screen.labels


async def test_no_cashback_button_when_the_feature_is_off(app, telegram):
    user = await registered(telegram, 1602)
    assert "💰 Cashback" not in [label for row in user.reply_keyboard for label in row]


async def test_a_withdrawal_completes(cashback_app, telegram, paysys):
    user = await paid_bill(telegram, 1603)
    await to_card_step(user)
    number = await user.send(COMPLETES)
    summary = await user.wait_message("Check the transfer")
    assert user.message(number.message_id).deleted
    assert "Recipient: ALIYEV VALI" in summary.text and "Card: UZCARD •0117" in summary.text
    assert "Amount: 1,500 sum" in summary.text and "fee is on us" in summary.text
    [prepare] = paysys.calls("prepare_remittance")
    assert prepare.params["amount"] == 150_000 and prepare.params["card_number"] == "8600310000000117"

    await user.press("✅ Confirm")
    await user.wait_message("1,500 sum sent to UZCARD •0117")
    assert len(paysys.calls("confirm_remittance")) == 1
    screen = await open_cashback(user)
    assert "Cashback: 0 sum" in screen.text and "💸 Withdraw" not in screen.labels


async def test_a_failed_withdrawal_gives_the_balance_back(cashback_app, telegram, paysys):
    user = await paid_bill(telegram, 1604)
    await to_card_step(user, "1200")
    await user.send(FAILS)
    await user.wait_message("Check the transfer")
    await user.press("✅ Confirm")
    await user.wait_message("did not go through. The amount is back on your cashback balance")
    screen = await open_cashback(user)
    assert "Cashback: 1,500 sum" in screen.text


async def test_the_user_cancels_and_paysys_is_told(cashback_app, telegram, paysys):
    user = await paid_bill(telegram, 1605)
    await to_card_step(user)
    await user.send(COMPLETES)
    await user.wait_message("Check the transfer")
    await user.press("✖ Cancel")
    await user.wait_message("The withdrawal is cancelled. 1,500 sum stays on your cashback balance")
    assert len(paysys.calls("cancel")) == 1 and paysys.calls("confirm_remittance") == []
    assert "Cashback: 1,500 sum" in (await open_cashback(user)).text


async def test_two_confirm_presses_at_once_make_one_payout(cashback_app, telegram, paysys):
    user = await paid_bill(telegram, 1606)
    await to_card_step(user)
    await user.send(COMPLETES)
    summary = await user.wait_message("Check the transfer")
    data = summary.button("✅ Confirm").callback_data
    await asyncio.gather(user.press_data(data, message=summary), user.press_data(data, message=summary))
    await user.wait_message("1,500 sum sent")
    assert len(paysys.calls("confirm_remittance")) == 1
    assert len(paysys.calls("prepare_remittance")) == 1


@pytest.mark.parametrize("typed, says", [
    ("8600 3100 0000 0118", "check digit"),  # Luhn fails
    ("4111 1111 1111 1111", "Only UzCard"),  # not UzCard/HUMO
    ("8600 3100 0000", "16 digits"),
])
async def test_a_bad_card_number_is_refused_before_paysys(cashback_app, telegram, paysys, typed, says):
    user = await paid_bill(telegram, 1607)
    await to_card_step(user)
    sent = await user.send(typed)
    await user.wait_message(says)
    assert user.message(sent.message_id).deleted
    assert paysys.calls("prepare_remittance") == []
    await user.send(COMPLETES)  # the step is kept
    await user.wait_message("Check the transfer")


async def test_amounts_out_of_bounds_and_text_where_a_button_is_expected(cashback_app, telegram, paysys):
    user = await paid_bill(telegram, 1608)
    await open_cashback(user)
    await user.press("💸 Withdraw")
    await user.wait_message("From 1,000 to 1,500 sum")
    for typed, says in [("999", "Withdrawals start from 1,000 sum"), ("1501", "At most 1,500 sum"),
                        ("abc", "as a number"), ("1000.50", "whole sums")]:
        await user.send(typed)
        await user.wait_message(says)
    await user.send("1000")
    await user.wait_message("Send the number of the UzCard or HUMO card to receive 1,000 sum")
    await user.send(COMPLETES)
    await user.wait_message("Check the transfer")
    await user.send("yes")
    await user.wait_message("Please use the buttons: Confirm or Cancel")
    assert paysys.calls("confirm_remittance") == []


async def test_payout_max_caps_the_amount(make_settings, telegram, paysys):
    process = await BotProcess(make_settings(CASHBACK_PERCENT=PERCENT, PAYOUT_MAX=1200)).start()
    try:
        user = await paid_bill(telegram, 1609)
        await open_cashback(user)
        await user.press("💸 Withdraw")
        await user.wait_message("From 1,000 to 1,200 sum")
        await user.send("1300")
        await user.wait_message("At most 1,200 sum")
        assert paysys.calls("prepare_remittance") == []
    finally:
        await process.stop()


async def test_a_second_withdraw_while_one_is_open_and_an_old_confirm(cashback_app, telegram, paysys):
    user = await paid_bill(telegram, 1610)
    await to_card_step(user, "1000")
    await user.send(COMPLETES)
    summary = await user.wait_message("Check the transfer")
    confirm = summary.button("✅ Confirm").callback_data
    screen = await open_cashback(user)
    assert "A withdrawal of 1,000 sum is under way" in screen.text and "💸 Withdraw" not in screen.labels

    await user.press("✅ Confirm", message=summary)
    await user.wait_message("1,000 sum sent")
    await user.press_data(confirm, message=summary)  # the old button again
    await user.wait_for(lambda: "This button is no longer active." in user.alerts)
    assert len(paysys.calls("confirm_remittance")) == 1


async def test_paysys_refusing_the_card_releases_the_balance(cashback_app, telegram, paysys):
    user = await paid_bill(telegram, 1611)
    await to_card_step(user)
    await user.send(BLOCKED)
    await user.wait_message("refused this card")
    await user.send(COMPLETES)  # another card, another payout
    await user.wait_message("Check the transfer")
    assert len(paysys.calls("prepare_remittance")) == 2


# ---- outcomes that come later: the worker settles them and the chat is told ----------------------------------------

LATE = "8600 3100 0000 0216"
REVERSES = "8600 3100 0000 0414"
FAST = dict(STATUS_CHECK_INTERVALS=[0.2], STATUS_WORKER_TICK=0.1, PROVIDER_READ_TIMEOUT=1.0)


@pytest.fixture
async def worker_app(make_settings):
    process = await BotProcess(make_settings(CASHBACK_PERCENT=PERCENT, **FAST)).start()
    yield process
    await process.stop()


async def confirmed(user, card: str):
    await to_card_step(user)
    await user.send(card)
    await user.wait_message("Check the transfer")
    await user.press("✅ Confirm")


async def test_a_late_completion_is_told_when_it_completes(worker_app, telegram, paysys):
    user = await paid_bill(telegram, 1620)
    await confirmed(user, LATE)
    await user.wait_message("is being processed. I'll write as soon as it is done")
    paysys.settle()
    await user.wait_message("Your cashback withdrawal of 1,500 sum to the card UZCARD •0216 is complete")
    assert len(paysys.calls("confirm_remittance")) == 1
    assert "Cashback: 0 sum" in (await open_cashback(user)).text


async def test_a_reversal_after_completion_gives_the_balance_back_and_is_told(worker_app, telegram, paysys):
    user = await paid_bill(telegram, 1621)
    await confirmed(user, REVERSES)
    await user.wait_message("1,500 sum sent to UZCARD •0414")
    paysys.settle()  # the bank sends it back: status 3
    await user.wait_message("was returned by the bank. The money is back on your cashback balance")
    assert "Cashback: 1,500 sum" in (await open_cashback(user)).text


async def test_a_lost_confirm_answer_is_settled_by_asking_not_by_a_second_payout(worker_app, telegram, paysys):
    user = await paid_bill(telegram, 1622)
    await to_card_step(user)
    await user.send(COMPLETES)
    await user.wait_message("Check the transfer")
    paysys.fail_next("confirm_remittance", "drop", apply=True)  # PaySys sends the money; its answer is lost
    await user.press("✅ Confirm")
    await user.wait_message("1,500 sum sent to UZCARD •0117")  # check_remittance said completed
    assert len(paysys.calls("confirm_remittance")) == 1 and len(paysys.calls("prepare_remittance")) == 1
    assert [c.params["partner_transaction_id"] for c in paysys.calls("check_remittance")] == [
        paysys.calls("prepare_remittance")[0].params["partner_transaction_id"]]


async def test_a_withdrawal_not_confirmed_in_five_minutes_is_cancelled(worker_app, telegram, paysys):
    user = await paid_bill(telegram, 1623)
    await to_card_step(user)
    await user.send(COMPLETES)
    summary = await user.wait_message("Check the transfer")
    confirm = summary.button("✅ Confirm").callback_data
    async with worker_app.services.sessionmaker.begin() as session:  # five minutes pass
        five = timedelta(minutes=5, seconds=1)
        row = await session.scalar(select(Payment).where(Payment.rail == "paysys"))
        await session.execute(update(Payment).where(Payment.id == row.id).values(
            created_at=row.created_at - five, updated_at=row.updated_at - five))
    await user.wait_message("was not confirmed within 5 minutes, so I cancelled it")
    assert len(paysys.calls("cancel")) == 1
    await user.press_data(confirm, message=summary)  # too late: nothing is sent
    await user.wait_for(lambda: "This button is no longer active." in user.alerts)
    assert paysys.calls("confirm_remittance") == []
    assert "Cashback: 1,500 sum" in (await open_cashback(user)).text


async def test_a_payout_opens_from_history_with_its_receipt(cashback_app, telegram, paysys):
    user = await paid_bill(telegram, 1624)
    await confirmed(user, COMPLETES)
    await user.wait_message("1,500 sum sent")
    await user.tap("🧾 History")
    listing = await user.wait_message("History")
    label = next(label for label in listing.labels if "Cashback withdrawal" in label)
    assert "1,500 sum" in label
    await user.press(label)
    receipt = await user.wait_message("Sent")
    assert "Cashback withdrawal" in receipt.text and "Card: UZCARD •0117" in receipt.text
    assert "Recipient: ALIYEV VALI" in receipt.text and "PaySys transaction: " in receipt.text
