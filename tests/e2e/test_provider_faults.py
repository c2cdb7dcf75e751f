"""Each fault the provider emulators make on command (bot/sandbox/faults.py) reaching the bot: the real Dispatcher
through the Telegram double, what the user is told, and what the provider's ledger holds.

Written to today's behaviour. Where that is wrong, the test states the right behaviour and is a strict xfail whose
reason says what happens instead, for the issues that fix it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.sandbox import scenarios
from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import add_card, hot_water_to_code, registered
from bot.storage.models import Card
from tests.conftest import BOT_TOKEN
from tests.e2e.ledger_rows import events_of, payments_of, states_of

RICH = 500_000_000  # tiyin on 8600 0691 9540 6311, at Paylov and at Payme
HOT_WATER_7000 = 700_000  # the scenarios' hot-water payment, in tiyin


async def paylov_card_id(paylov) -> str:
    """The Paylov cardId of the card the last add_card saved."""
    return paylov.calls("userCard/confirmUserCardCreate/")[-1].response["result"]["card"]["cardId"]


async def payme_token(app, user_id: int) -> str:
    async with app.services.sessionmaker() as session:
        return (await session.scalars(select(Card.provider_card_id).where(Card.user_id == user_id))).one()


async def to_hot_water_account(user) -> None:
    await user.send("горячая")
    await user.press("Горячая вода и отопление")
    await user.wait_message("Account number — please type it")


# ---- Paylov: info ----------------------------------------------------------------------------------------------------


async def test_paylov_info_429_asks_for_the_account_again_and_a_retry_works(app, telegram, paylov):
    user = await registered(telegram, 1101)
    await to_hot_water_account(user)
    paylov.fail_next("servicePayment/info/", "429", retry_after=30)  # longer than any client waits in place
    await user.send("10000002")
    told = await user.wait_message("Account number — please type it")
    # The wording depends on how the client reads a 429 (a rejection with Paylov's "Слишком много запросов", or a
    # provider that is busy): either way a warning, the same step again, never the catch-all apology.
    assert "⚠️" in told.text and "something went wrong" not in told.text
    [info] = paylov.calls("servicePayment/info/")
    assert (info.status, info.fault, info.response["error"]["code"]) == (429, "429", "too_many_requests")

    await user.send("10000002")
    await user.wait_message("Type the amount")
    assert [(e.status, e.fault) for e in paylov.calls("servicePayment/info/")] == [(429, "429"), (200, None)]


async def test_paylov_info_garbage_is_an_answer_we_could_not_read(app, telegram, paylov):
    user = await registered(telegram, 1102)
    await to_hot_water_account(user)
    paylov.fail_next("servicePayment/info/", "garbage", apply=False)  # an HTML page with HTTP 200
    await user.send("10000002")
    told = await user.wait_message("Account number — please type it")
    assert ("⚠️ We could not get a clear answer from the payment provider. No money was taken; please try again in a "
            "minute.") in told.text
    [info] = paylov.calls("servicePayment/info/")
    assert (info.status, info.fault) == (200, "garbage") and "<html>" in info.response

    await user.send("10000002")
    await user.wait_message("Type the amount")


# ---- Paylov: pay -----------------------------------------------------------------------------------------------------


async def test_paylov_pay_error_code_is_told_and_nothing_is_charged(app, telegram, paylov):
    user = await registered(telegram, 1103)
    await add_card(user)  # 5 000 000 sum on it: only the fault can say "not enough money"
    card_id = await paylov_card_id(paylov)
    await hot_water_to_code(user)
    paylov.fail_next("servicePayment/pay/", "error", code="insufficient_funds")
    await user.send("666666")
    failed = await user.wait_message("Not paid")
    assert "Not enough money on the card." in failed.text and "Your card was not charged." in failed.text
    assert "💳 Another card" in failed.labels  # a refusal for money: another card or amount, not the same again

    [pay] = paylov.calls("servicePayment/pay/")
    assert (pay.status, pay.fault, pay.response["error"]["code"]) == (400, "error", "insufficient_funds")
    assert paylov.transaction(pay.body["transactionId"])["status"] == "created"
    assert paylov.card_balance("1103", card_id) == RICH
    [payment] = await payments_of(app, 1103)
    assert (payment.state, payment.error_code) == ("failed", "insufficient_funds")


async def test_paylov_pay_429_is_not_charged_and_said_so(app, telegram, paylov):
    """A 429 is a refusal before any work: "not charged" is the right reading."""
    user = await registered(telegram, 1104)
    await add_card(user)
    card_id = await paylov_card_id(paylov)
    await hot_water_to_code(user)
    paylov.fail_next("servicePayment/pay/", "429", retry_after=60)
    await user.send("666666")
    await user.wait_message("card was not charged")
    [pay] = paylov.calls("servicePayment/pay/")
    assert (pay.status, pay.fault) == (429, "429")
    assert paylov.transaction(pay.body["transactionId"])["status"] == "created"
    assert paylov.card_balance("1104", card_id) == RICH
    assert paylov.calls("transaction/status/") == []  # a refusal needs no asking


@pytest.mark.parametrize("apply", [False, True], ids=["drop_before_the_charge", "drop_after_the_charge"])
async def test_paylov_pay_dropped_is_settled_by_asking_never_by_resending(make_settings, telegram, paylov, apply):
    process = await BotProcess(make_settings(STATUS_CHECK_INTERVALS=[0.1], STATUS_GIVE_UP_AFTER=2,
                                             STATUS_WORKER_TICK=0.1)).start()
    try:
        user = await registered(telegram, 1105)
        await add_card(user)
        card_id = await paylov_card_id(paylov)
        await hot_water_to_code(user)
        paylov.fail_next("servicePayment/pay/", "drop", apply=apply)
        await user.send("666666")
        if apply:  # charged, the answer lost: transaction/status finds the payment
            receipt = await user.wait_message("✅ Paid", timeout=10)
            [pay] = paylov.calls("servicePayment/pay/")
            assert pay.body["transactionId"] in receipt.text
            assert paylov.card_balance("1105", card_id) == RICH - HOT_WATER_7000  # once
        else:  # lost before Paylov acted: "created" proves nothing, so the bot asks until it gives up
            await user.wait_message("contact support with the transaction ID", timeout=10)
            assert not [m for m in user.bot_messages if "✅ Paid" in m.text or "Not paid" in m.text]
            assert paylov.card_balance("1105", card_id) == RICH
            assert len(paylov.calls("transaction/status/")) >= 1
        [pay] = paylov.calls("servicePayment/pay/")  # never sent twice
        assert (pay.status, pay.fault) == (0, "drop")
        assert paylov.transaction(pay.body["transactionId"])["status"] == ("paid" if apply else "created")
        [payment] = await payments_of(process, 1105)
        assert ("paying", "unknown") in await events_of(process, payment.id)
        assert payment.state == ("paid" if apply else "unknown")
        assert (payment.gave_up_at is None) is apply
    finally:
        await process.stop()


@pytest.mark.parametrize("apply", [False, True], ids=["held_before_the_charge", "held_after_the_charge"])
async def test_paylov_pay_held_then_released_ends_in_the_receipt(app, telegram, paylov, apply):
    user = await registered(telegram, 1106)
    await add_card(user)
    card_id = await paylov_card_id(paylov)
    await hot_water_to_code(user)
    hold = paylov.hold_next("servicePayment/pay/", apply=apply)
    await user.send("666666")
    await hold.reached()
    # the moment a crash test kills the bot: our ledger says `paying`; the charge happened only with apply=True
    [payment] = await payments_of(app, 1106)
    assert payment.state == "paying"
    assert (paylov.card_balance("1106", card_id) < RICH) is apply
    assert not [m for m in user.bot_messages if "✅ Paid" in m.text]

    hold.release()
    receipt = await user.wait_message("✅ Paid")
    [pay] = paylov.calls("servicePayment/pay/")
    assert (pay.status, pay.fault) == (200, "hold")
    assert pay.response["result"]["paymentRef"] in receipt.text
    assert paylov.card_balance("1106", card_id) == RICH - HOT_WATER_7000  # once
    assert paylov.calls("transaction/status/") == []  # answered: nothing to ask
    [payment] = await payments_of(app, 1106)
    assert payment.state == "paid"


# ---- Payme -----------------------------------------------------------------------------------------------------------


async def payme_user(telegram, user_id: int):
    user = await registered(telegram, user_id)
    await scenarios.add_payme_card(telegram, user, BOT_TOKEN)
    return user


async def test_payme_receipts_create_error_is_told_and_nothing_is_charged(payme_app, telegram, payme, paylov):
    user = await payme_user(telegram, 1111)
    token = await payme_token(payme_app, 1111)
    payme.fail_next("receipts.create", "error", code=-32400)
    await scenarios.hot_water_to_confirm(user, amount="7000")
    failed = await user.wait_message("Not paid")
    assert "The payment provider had an internal error. Please try again later." in failed.text  # a known code
    assert "Your card was not charged." in failed.text

    [create] = payme.calls("receipts.create")
    assert (create.status, create.fault, create.response["error"]["code"]) == (200, "error", -32400)
    assert payme.calls("receipts.pay") == [] and paylov.calls("servicePayment/create/") == []
    assert payme.card_balance(token) == RICH
    [payment] = await payments_of(payme_app, 1111)
    assert (payment.state, payment.error_code, payment.receipt_id) == ("failed", "-32400", None)


async def test_payme_receipts_create_garbage_is_not_charged(payme_app, telegram, payme, paylov):
    user = await payme_user(telegram, 1112)
    token = await payme_token(payme_app, 1112)
    payme.fail_next("receipts.create", "garbage")  # the receipt is made at Payme, its answer is cut short
    await scenarios.hot_water_to_confirm(user, amount="7000")
    failed = await user.wait_message("Not paid")
    assert "The payment provider did not answer." in failed.text and "Your card was not charged." in failed.text

    [create] = payme.calls("receipts.create")
    assert (create.status, create.fault) == (200, "garbage")
    assert payme.calls("receipts.pay") == [] and paylov.calls("servicePayment/create/") == []
    assert payme.card_balance(token) == RICH  # the receipt nobody knows the id of is never paid
    [payment] = await payments_of(payme_app, 1112)
    assert (payment.state, payment.error_code) == ("failed", "provider_unavailable")


async def test_payme_receipts_pay_429_cancels_the_receipt_and_is_not_charged(payme_app, telegram, payme):
    user = await payme_user(telegram, 1113)
    token = await payme_token(payme_app, 1113)
    payme.fail_next("receipts.pay", "429", retry_after=10)
    await scenarios.hot_water_to_confirm(user, amount="7000")
    failed = await user.wait_message("Not paid")
    assert "Your card was not charged." in failed.text
    [pay] = payme.calls("receipts.pay")
    assert (pay.status, pay.fault) == (429, "429")
    [payment] = await payments_of(payme_app, 1113)
    assert payme.receipt(payment.receipt_id)["state"] == 50  # cancelled: nothing can pay it later
    assert payme.card_balance(token) == RICH


async def test_payme_cards_check_garbage_before_paying_keeps_the_card_and_pays(payme_app, telegram, payme, paylov):
    user = await payme_user(telegram, 1114)
    token = await payme_token(payme_app, 1114)
    payme.fail_next("cards.check", "garbage", apply=False)
    await scenarios.hot_water_to_confirm(user, amount="7000")
    await user.wait_message("✅ Paid")
    assert [(e.status, e.fault) for e in payme.calls("cards.check")][-1] == (200, "garbage")  # not asked again
    assert len(payme.calls("receipts.pay")) == 1
    assert payme.card_balance(token) == RICH - HOT_WATER_7000
    [payment] = await payments_of(payme_app, 1114)
    assert await states_of(payme_app, payment.id) == ["draft", "charging", "charged", "settling", "paid"]


async def test_payme_cards_check_error_in_my_cards_shows_the_list_as_last_known(payme_app, telegram, payme):
    user = await payme_user(telegram, 1115)
    payme.fail_next("cards.check", "error", code=-32400)
    await user.tap("💳 My cards")
    listed = await user.wait_message("Your cards")
    assert "UZCARD •6311" in listed.text and "no longer works" not in listed.text
    assert [(e.status, e.fault) for e in payme.calls("cards.check")][-1] == (200, "error")


async def test_payme_cards_check_error_before_paying_is_told_in_the_users_words(payme_app, telegram, payme):
    user = await payme_user(telegram, 1116)
    token = await payme_token(payme_app, 1116)
    payme.fail_next("cards.check", "error", code=-31002)
    await scenarios.hot_water_to_confirm(user, amount="7000")
    told = await user.wait_message()
    assert [(e.status, e.fault) for e in payme.calls("cards.check")][-1] == (200, "error")
    assert payme.calls("receipts.create") == [] and payme.card_balance(token) == RICH
    assert "something went wrong on our side" not in told.text
    assert "The bank's processing center reported an error. Please try again later." in told.text
