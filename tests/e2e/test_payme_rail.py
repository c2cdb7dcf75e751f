"""Payme cards end to end: bound on the card page, paid through a Payme receipt, settled at Paylov with the
merchant's settlement card, refunded when the bill cannot be paid, and never charged twice."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.sandbox import paylov_catalogue as paylov_data
from bot.sandbox import scenarios
from bot.sandbox.card_page_client import PaymeError, bind_card
from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import registered
from bot.storage.models import Card
from tests.conftest import BOT_TOKEN
from tests.e2e.ledger_rows import payments_of, states_of

SEED_CARD = "8600069195406311"
POOR_CARD = "8600495473316478"  # 20 000 sum on it


async def add_payme_card(telegram, user, number: str = SEED_CARD) -> None:
    await scenarios.add_payme_card(telegram, user, BOT_TOKEN, number)


async def test_the_card_page_binds_a_card_the_bot_stores_as_a_payme_token(payme_app, telegram, payme):
    user = await registered(telegram, 901)
    url = await scenarios.open_card_page(user)
    assert url.startswith("http://127.0.0.1:") and "/card?lang=en" in url

    result = await bind_card(url, telegram.web_app_init_data(user.user_id, BOT_TOKEN), number=SEED_CARD,
                             expire_mmyy="0399")
    assert result.body == {"ok": True, "card": {"masked": "860006******6311", "name": "UZCARD •6311"},
                           "message": "The card UZCARD •6311 is added. You can return to the chat."}
    listed = await user.wait_message("is added")
    assert "UZCARD •6311" in listed.text and "Your cards" in listed.text

    async with payme_app.services.sessionmaker() as session:
        card = (await session.scalars(select(Card).where(Card.user_id == user.user_id))).one()
    assert (card.vault, card.masked_number, card.expire, card.active) == ("payme", "860006******6311", "9903", True)
    assert payme.calls("cards.check")[-1].auth == "id:key"  # confirmed server-side before saving
    # the browser's calls carried the merchant id only
    assert {entry.auth for entry in payme.calls("cards.create") + payme.calls("cards.verify")} == {"id"}


async def test_the_token_endpoint_refuses_a_forged_init_data_and_an_unverified_token(payme_app, telegram, payme):
    user = await registered(telegram, 902)
    url = await scenarios.open_card_page(user)
    forged = telegram.web_app_init_data(user.user_id, "1:another-bots-token")
    result = await bind_card(url, forged, number=SEED_CARD, expire_mmyy="0399")
    assert result.status == 401 and result.body["ok"] is False
    assert "Add a card" in result.body["message"]

    other = await bind_card(url, telegram.web_app_init_data(user.user_id, BOT_TOKEN), number=SEED_CARD,
                            expire_mmyy="0399", token_override="0" * 24 + "_unknown")
    assert other.status == 409 and other.body["error"] == "card_not_verified"
    assert "Payme has not confirmed this card" in other.body["message"]
    async with payme_app.services.sessionmaker() as session:
        assert (await session.scalars(select(Card).where(Card.user_id == user.user_id))).all() == []


async def test_a_bill_paid_with_a_payme_card_is_charged_in_tiyin_and_settled_with_the_settlement_card(
        payme_app, telegram, payme, paylov):
    user = await registered(telegram, 903)
    await add_payme_card(telegram, user)
    settlement_before = paylov.merchant_card_balance()
    await scenarios.hot_water_to_confirm(user, amount="7000")
    receipt_message = await user.wait_message("✅ Paid")

    [payment] = await payments_of(payme_app, user.user_id)
    assert (payment.rail, payment.state) == ("payme", "paid")
    assert await states_of(payme_app, payment.id) == ["draft", "charging", "charged", "settling", "paid"]
    [create] = payme.calls("receipts.create")
    assert create.body["params"]["amount"] == 700_000  # 7 000 sum in tiyin
    assert create.body["params"]["account"] == {"payment_id": str(payment.id)}
    assert "Горячая вода" in create.body["params"]["description"]
    [pay] = payme.calls("receipts.pay")
    assert pay.auth == "id:key" and pay.body["params"]["id"] == payment.receipt_id
    assert payme.receipt(payment.receipt_id)["state"] == 4
    # the bill at Paylov: created without the user's card, paid with the merchant's settlement card, no SMS code
    [paylov_create] = paylov.calls("servicePayment/create")
    assert "cardId" not in paylov_create.body and paylov_create.body["amount"] == 7000
    [paylov_pay] = paylov.calls("servicePayment/pay")
    assert paylov_pay.body["cardId"] == paylov_data.SETTLEMENT_CARD_ID and "otp" not in paylov_pay.body
    assert paylov.transaction(payment.transaction_id)["status"] == "paid"
    assert settlement_before - paylov.merchant_card_balance() == 700_000
    # the user's receipt shows both sides' references
    assert f"Payme receipt: {payment.receipt_id}" in receipt_message.text
    assert f"Transaction: {payment.transaction_id}" in receipt_message.text
    assert f"Payment reference: {payment.payment_ref}" in receipt_message.text

    await user.press("📱 Send the receipt by SMS", message=receipt_message)
    await user.wait_for(lambda: len(payme.calls("receipts.send")) == 1)
    assert payme.calls("receipts.send")[0].body["params"]["id"] == payment.receipt_id


async def test_a_failed_settlement_cancels_the_receipt_and_the_user_is_told(payme_app, telegram, payme, paylov):
    user = await registered(telegram, 904)
    await add_payme_card(telegram, user)
    # The bill cannot be paid: the settlement card has no money.
    paylov.add_merchant_card(balance=1)
    await scenarios.hot_water_to_confirm(user, amount="7000")
    told = await user.wait_message("Not paid")
    [payment] = await payments_of(payme_app, user.user_id)
    assert payment.state == "refunded"
    assert await states_of(payme_app, payment.id) == ["draft", "charging", "charged", "settling", "refunding",
                                                      "refunded"]
    assert [entry.body["params"]["id"] for entry in payme.calls("receipts.cancel")] == [payment.receipt_id]
    assert payme.receipt(payment.receipt_id)["state"] == 50
    assert "back on the card UZCARD •6311" in told.text
    token = (await payme_app.services.cards.list(user.user_id))[0]
    assert token.active


async def test_an_unclear_receipts_pay_is_resolved_without_a_second_charge(payme_app, telegram, payme, paylov):
    user = await registered(telegram, 905)
    await add_payme_card(telegram, user)
    async with payme_app.services.sessionmaker() as session:
        token = (await session.scalars(select(Card.provider_card_id).where(Card.user_id == user.user_id))).one()
    before = payme.card_balance(token)
    payme.fail_next("receipts.pay", "drop", apply=True)  # charged at Payme, the answer lost
    await scenarios.hot_water_to_confirm(user, amount="7000")
    await user.wait_message("✅ Paid")
    [payment] = await payments_of(payme_app, user.user_id)
    assert len(payme.calls("receipts.pay")) == 1  # never sent twice
    assert await states_of(payme_app, payment.id) == ["draft", "charging", "unknown", "charged", "settling", "paid"]
    assert before - payme.card_balance(token) == 700_000  # one charge


async def test_an_unclear_receipts_pay_that_never_charged_ends_not_charged(payme_app, telegram, payme):
    user = await registered(telegram, 906)
    await add_payme_card(telegram, user)
    payme.fail_next("receipts.pay", "drop", apply=False)  # lost before Payme acted
    await scenarios.hot_water_to_confirm(user, amount="7000")
    told = await user.wait_message("Not paid")
    assert "The payment did not go through." in told.text and "Your card was not charged." in told.text
    [payment] = await payments_of(payme_app, user.user_id)
    assert payment.state == "failed" and payment.error_code == "not_charged"
    assert len(payme.calls("receipts.pay")) == 1
    assert payme.receipt(payment.receipt_id)["state"] == 50  # cancelled: it can never be paid later


async def test_an_inactive_token_is_refused_and_marked(payme_app, telegram, payme):
    user = await registered(telegram, 907)
    await add_payme_card(telegram, user)
    async with payme_app.services.sessionmaker() as session:
        token = (await session.scalars(select(Card.provider_card_id).where(Card.user_id == user.user_id))).one()
    await payme_app.services.payme.cards_remove(token)  # gone at Payme behind the bot's back

    await scenarios.hot_water_to_confirm(user, amount="7000")
    await user.wait_message("no longer works at Payme")
    assert payme.calls("receipts.create") == []  # nothing was charged
    assert [p.state for p in await payments_of(payme_app, user.user_id)] == []

    await user.tap("💳 My cards")
    listed = await user.wait_message("Your cards")
    assert "no longer works at Payme" in listed.text
    assert listed.labels[0].startswith("⚠️")


async def test_removing_a_payme_card_removes_its_token_at_payme(payme_app, telegram, payme):
    user = await registered(telegram, 908)
    await add_payme_card(telegram, user)
    await user.tap("💳 My cards")
    await user.wait_message("Your cards")
    await user.press(user.last.labels[0])
    await user.press("🗑 Remove")
    await user.press("Yes, remove")
    await user.wait_message("was removed")
    [removed] = payme.calls("cards.remove")
    assert removed.auth == "id:key"
    assert await payme_app.services.cards.list(user.user_id) == []


async def test_adding_a_card_from_the_payment_returns_to_the_payment(payme_app, telegram, payme):
    user = await registered(telegram, 909)
    await scenarios.hot_water_to_cards(user)
    await user.wait_message("no saved cards yet")
    await user.press("➕ Add a card")
    message = await user.wait_message("Payme's secure page")
    result = await bind_card(message.button("💳 Open the card page").web_app,
                             telegram.web_app_init_data(user.user_id, BOT_TOKEN), number=SEED_CARD, expire_mmyy="0399")
    assert result.body["ok"]
    await user.wait_message("Choose the card to pay 7,000 sum")


@pytest.mark.parametrize("number, code, message", [
    ("8600060921090842", -31301, "SMS notifications are not connected"),  # seed 001: SMS not connected
    ("3333336415804657", -31301, "expired"),
    ("4444445987459073", -31301, "blocked"),
    ("8600143417770323", -32400, "Unknown system error"),
    ("8600134301849596", -31002, "Processing centre is unavailable"),  # the slow card: waits, then fails
])
async def test_each_refused_seed_card_is_refused_on_the_card_page_and_nothing_is_saved(
        payme_app, telegram, payme, number, code, message):
    user = await registered(telegram, 910)
    url = await scenarios.open_card_page(user)
    with pytest.raises(PaymeError) as refused:
        await bind_card(url, telegram.web_app_init_data(user.user_id, BOT_TOKEN), number=number, expire_mmyy="0399")
    assert refused.value.code == code and message in refused.value.message
    assert await payme_app.services.cards.list(user.user_id) == []


async def test_a_wrong_sms_code_on_the_card_page_binds_nothing(payme_app, telegram, payme):
    user = await registered(telegram, 911)
    url = await scenarios.open_card_page(user)
    with pytest.raises(PaymeError) as refused:
        await bind_card(url, telegram.web_app_init_data(user.user_id, BOT_TOKEN), number=SEED_CARD,
                        expire_mmyy="0399", code="123456")
    assert refused.value.code == -31103
    assert payme.calls("cards.check") == [] and await payme_app.services.cards.list(user.user_id) == []


async def test_a_poor_seed_card_is_refused_for_insufficient_funds_and_not_charged(payme_app, telegram, payme, paylov):
    user = await registered(telegram, 912)
    await add_payme_card(telegram, user, POOR_CARD)  # 20 000 sum on it
    await scenarios.hot_water_to_confirm(user, amount="25000")
    told = await user.wait_message("Not paid")
    assert "Not enough money on the card" in told.text
    [payment] = await payments_of(payme_app, user.user_id)
    assert payment.state == "failed" and payment.error_code == "-31303"
    assert payme.receipt(payment.receipt_id)["state"] == 50  # the unpaid receipt is cancelled
    assert paylov.calls("servicePayment/create") == []  # the bill was never touched


async def test_an_unclear_settlement_is_finished_by_the_worker_and_the_user_gets_the_receipt(
        make_settings, telegram, payme, paylov):
    process = await BotProcess(make_settings(CARD_VAULT="payme", PROVIDER_READ_TIMEOUT=1.0,
                                             STATUS_CHECK_INTERVALS=[0.2], STATUS_WORKER_TICK=0.1)).start()
    try:
        user = await registered(telegram, 913)
        await add_payme_card(telegram, user)
        # Paylov pays the bill but its answer is lost, and its status cannot be read at first (a 500, resent once).
        paylov.fail_next("servicePayment/pay", "500", apply=True)
        paylov.fail_next("transaction/status", "500")
        paylov.fail_next("transaction/status", "500")
        await scenarios.hot_water_to_confirm(user, amount="7000")
        receipt = await user.wait_message("✅ Paid")  # from the worker, once Paylov's status answers
        # "charged, not yet confirmed" comes first, unless the worker had the answer before it was sent: news the
        # user has not been sent yet is replaced by newer news (the outbox), never sent after it.
        pending = [m for m in user.bot_messages if "Your card was charged 7,000 sum" in m.text]
        assert len(pending) <= 1 and all(m.message_id < receipt.message_id for m in pending)
        [payment] = await payments_of(process, user.user_id)
        assert payment.state == "paid" and f"Payme receipt: {payment.receipt_id}" in receipt.text
        assert len(paylov.calls("servicePayment/pay")) == 1 and len(payme.calls("receipts.pay")) == 1
        assert await states_of(process, payment.id) == ["draft", "charging", "charged", "settling", "paid"]
    finally:
        await process.stop()


async def test_history_shows_a_payme_payment_with_the_user_s_card_not_the_settlement_card(
        payme_app, telegram, payme, paylov):
    user = await registered(telegram, 914)
    await add_payme_card(telegram, user)
    await scenarios.hot_water_to_confirm(user, amount="7000")
    await user.wait_message("✅ Paid")
    records = await payme_app.services.history.of(user.user_id)
    [entry] = records.entries
    assert (entry.state, entry.amount, entry.card) == ("paid", 7000, "860006******6311")


async def test_a_slow_refund_is_followed_by_the_worker_until_the_money_is_back(make_settings, telegram, payme, paylov):
    process = await BotProcess(make_settings(CARD_VAULT="payme", STATUS_CHECK_INTERVALS=[0.2],
                                             STATUS_WORKER_TICK=0.1)).start()
    try:
        user = await registered(telegram, 915)
        await add_payme_card(telegram, user)
        payme.cancel_settles_after = 3  # Payme keeps the cancel queued (21) for a while
        paylov.add_merchant_card(balance=1)  # the bill cannot be paid
        await scenarios.hot_water_to_confirm(user, amount="7000")
        first = await user.wait_message("on its way back")
        assert "UZCARD •6311" in first.text
        done = await user.wait_message("is back on the card")
        [payment] = await payments_of(process, user.user_id)
        assert payment.state == "refunded" and payme.receipt(payment.receipt_id)["state"] == 50
        assert len(payme.calls("receipts.cancel")) == 1
        assert done.message_id != first.message_id
    finally:
        await process.stop()


async def test_my_homes_shows_the_fresh_debt_and_confirms_once_before_a_payme_charge(payme_app, telegram, payme):
    user = await registered(telegram, 916)
    await add_payme_card(telegram, user)
    await scenarios.pay_with_payme_card(user, account="10000001", amount="1000")
    await scenarios.save_as_home_and_open(user)
    home = await user.wait_message("🏠 Home")
    assert "Debt: 48,200 sum" in home.text
    await user.press("Pay the debt: 48,200 sum")
    await user.wait_message("You paid this account on")  # paid a minute ago: asked before a second payment
    await user.press("Yes, pay again")  # the summary, nothing charged yet
    confirm = await user.wait_message("Check the payment")
    assert "Amount: 48,200 sum" in confirm.text
    assert [c.body["params"]["amount"] for c in payme.calls("receipts.create")] == [100_000]
    await user.press("✅ Confirm", message=confirm)  # the one tap that pays: no code for a Payme card
    receipt = await user.wait_message("✅ Paid")
    assert "Amount: 48,200 sum" in receipt.text and "Payme receipt:" in receipt.text
    assert [c.body["params"]["amount"] for c in payme.calls("receipts.create")] == [100_000, 4_820_000]


async def test_a_list_holds_cards_of_both_vaults_and_the_rail_follows_the_chosen_card(
        make_settings, telegram, payme, paylov):
    first = await BotProcess(make_settings()).start()  # CARD_VAULT=paylov
    try:
        user = await registered(telegram, 917)
        await scenarios.add_card(user, "8600 4954 7331 6478")  # at Paylov's vault, by SMS code in the chat
    finally:
        await first.stop()
    process = await BotProcess(make_settings(CARD_VAULT="payme")).start()
    try:
        await add_payme_card(telegram, user)
        listed = [(c.vault, c.masked) for c in await process.services.cards.list(user.user_id)]
        assert listed == [("paylov", "860049******6478"), ("payme", "860006******6311")]

        await scenarios.pay_text_service(user, account="10000002", amount="1000")  # first card: Paylov, SMS code
        await scenarios.hot_water_to_confirm(user, amount="2000", card="UZCARD •6311")  # the Payme card: a receipt, no code
        await user.wait_message("Payme receipt:")
        rails = [(p.rail, p.amount, p.state) for p in await payments_of(process, user.user_id)]
        assert rails == [("paylov", 1000, "paid"), ("payme", 2000, "paid")]
        assert [c.body["params"]["amount"] for c in payme.calls("receipts.create")] == [200_000]
    finally:
        await process.stop()


async def test_a_bill_that_cannot_be_settled_in_time_is_refunded(make_settings, telegram, payme, paylov):
    process = await BotProcess(make_settings(CARD_VAULT="payme", STATUS_CHECK_INTERVALS=[0.2],
                                             STATUS_GIVE_UP_AFTER=1.0, STATUS_WORKER_TICK=0.1)).start()
    try:
        user = await registered(telegram, 918)
        await add_payme_card(telegram, user)
        for _ in range(50):  # Paylov's create keeps failing: the bill is never even reserved
            paylov.fail_next("servicePayment/create", "500", apply=False)
        await scenarios.hot_water_to_confirm(user, amount="7000")
        back = await user.wait_message("is back on the card", timeout=10)
        # "charged, not yet confirmed" first, unless the refund overtook it before it was sent (the outbox)
        pending = [m for m in user.bot_messages if "Your card was charged 7,000 sum" in m.text]
        assert len(pending) <= 1 and all(m.message_id < back.message_id for m in pending)
        [payment] = await payments_of(process, user.user_id)
        assert payment.state == "refunded" and payment.error_code == "settlement_not_possible"
        assert paylov.calls("servicePayment/pay") == []  # nothing was ever paid at Paylov
    finally:
        await process.stop()


async def test_an_unclear_charge_is_settled_by_the_worker_and_the_user_told_once(make_settings, telegram, payme):
    process = await BotProcess(make_settings(CARD_VAULT="payme", STATUS_CHECK_INTERVALS=[0.2],
                                             STATUS_WORKER_TICK=0.1)).start()
    try:
        user = await registered(telegram, 919)
        await add_payme_card(telegram, user)
        payme.fail_next("receipts.pay", "drop", apply=False)  # the charge never reached Payme...
        payme.fail_next("receipts.get", "500")  # ...and Payme cannot say so at first (read resent once)
        payme.fail_next("receipts.get", "500")
        await scenarios.hot_water_to_confirm(user, amount="7000")
        pending = await user.wait_message("We don't know yet")
        [payment] = await payments_of(process, user.user_id)
        assert payment.receipt_id in pending.text
        told = await user.wait_message("Not paid")
        assert "The payment did not go through." in told.text and "Your card was not charged." in told.text
        [payment] = await payments_of(process, user.user_id)
        assert payment.state == "failed" and payme.receipt(payment.receipt_id)["state"] == 50
        assert len(payme.calls("receipts.pay")) == 1
    finally:
        await process.stop()


async def test_an_old_init_data_is_refused(payme_app, telegram, payme):
    import time

    user = await registered(telegram, 920)
    url = await scenarios.open_card_page(user)
    old = telegram.web_app_init_data(user.user_id, BOT_TOKEN, auth_date=int(time.time()) - 2 * 24 * 3600)
    result = await bind_card(url, old, number=SEED_CARD, expire_mmyy="0399")
    assert result.status == 401 and result.body["error"] == "bad_signature"
    assert await payme_app.services.cards.list(user.user_id) == []
