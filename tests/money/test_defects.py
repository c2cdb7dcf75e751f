"""Each defect found in the payment core, reproduced through the Telegram double and the emulators: what the user
and the providers see once it is fixed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.sandbox import scenarios
from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import add_card, registered
from bot.settings import Settings
from bot.storage.models import Payment
from tests.conftest import BOT_TOKEN
from tests.e2e.ledger_rows import payments_of, states_of
from tests.money.test_races import ERROR_TEXT, said

FAST = dict(STATUS_CHECK_INTERVALS=[0.2], STATUS_WORKER_TICK=0.1, PROVIDER_READ_TIMEOUT=1.0)
CYRILLIC = re.compile("[А-Яа-яЁё]")


@pytest.fixture
async def payme_fast(make_settings: Callable[..., Settings]) -> AsyncIterator[Callable[..., BotProcess]]:
    started: list[BotProcess] = []

    async def start(**settings: object) -> BotProcess:
        process = await BotProcess(make_settings(CARD_VAULT="payme", **{**FAST, **settings})).start()
        started.append(process)
        return process

    yield start
    for process in started:
        await process.stop()


async def paylov_card_holder(make_settings: Callable[..., Settings], telegram, user_id: int):
    """A user with a card in Paylov's vault (added while CARD_VAULT=paylov), for tests that then run with Payme."""
    process = await BotProcess(make_settings()).start()
    try:
        user = await registered(telegram, user_id)
        await add_card(user)
    finally:
        await process.stop()
    return user


def messages_after(user, first) -> list:
    return user.bot_messages[user.bot_messages.index(first) + 1:] if first in user.bot_messages else []


async def test_intent_keys_are_128_bit_and_scoped_to_the_user(app, telegram, paylov):
    """A 32-bit key shared by all users collides within ~77 000 payments; another user's key is not ours."""
    user = await registered(telegram, 1301)
    await add_card(user)
    await scenarios.pay_text_service(user)
    [payment] = await payments_of(app, user.user_id)
    assert len(payment.intent_key) >= 32 and int(payment.intent_key, 16) >= 0

    other = await registered(telegram, 1302)
    await add_card(other)
    service = await app.services.catalogue.service(payment.service_id)
    card = (await app.services.cards.list(other.user_id))[0]
    mine = await app.services.payments.open(
        user_id=other.user_id, intent_key=payment.intent_key, service=service, account=dict(payment.account),
        account_display=[], amount=payment.amount, card_id=card.id)
    assert mine.user_id == other.user_id and mine.id != payment.id and mine.state == "draft"


async def test_a_payme_payment_never_sends_its_token_to_paylov(payme_fast, telegram, payme, paylov):
    """A 429 on removing the Confirm button used to leave the payment in draft and the user in the code step,
    where six digits sent the Payme token to Paylov as cardId."""
    bot = await payme_fast()
    user = await registered(telegram, 1303)
    await scenarios.add_payme_card(telegram, user, BOT_TOKEN)
    token = (await bot.services.cards.list(user.user_id))[0]
    telegram.fail_next("editMessageReplyMarkup", "429", retry_after=11)  # beyond what the session waits out
    await scenarios.hot_water_to_confirm(user, amount="7000")
    receipt = await user.wait_message("✅ Paid")
    await user.send("666666")
    await user.wait_for(lambda: user.bot_messages[-1] is not receipt)
    token_id = await bot.services.cards.provider_card_id(user.user_id, token.id)
    sent_to_paylov = [c.body for c in paylov.ledger if isinstance(c.body, dict) and c.body.get("cardId") == token_id]
    assert sent_to_paylov == []
    assert said(user, ERROR_TEXT) == 0
    assert len(payme.calls("receipts.pay")) == 1


async def test_a_refused_refund_is_tried_a_bounded_number_of_times_and_a_person_is_told(
        payme_fast, make_settings, telegram, payme, paylov):
    """Payme refusing receipts.cancel used to recurse 449 times into a RecursionError, tell the charged user "try
    again", and repeat the storm every pass while another user's payment waited behind it."""
    other = await paylov_card_holder(make_settings, telegram, 1305)
    bot = await payme_fast(OPERATOR_CHAT_ID=1399)
    operator = await registered(telegram, 1399)
    user = await registered(telegram, 1304)
    await scenarios.add_payme_card(telegram, user, BOT_TOKEN)
    await scenarios.hot_water_to_code(other)
    paylov.fail_next("servicePayment/pay/", "timeout")  # the other user's payment: charged, outcome unknown
    await other.send("666666")
    await paylov.wait_for_calls("servicePayment/pay/")

    for _ in range(20):
        payme.fail_next("receipts.cancel", "error", code=-31601)
    paylov.add_merchant_card(balance=1)  # the bill cannot be paid: the charge must be refunded
    await scenarios.hot_water_to_confirm(user, amount="7000")
    pending = await user.wait_message("taking longer than usual", timeout=20)
    note = await operator.wait_message("Refund needs a person")
    await other.wait_message("✅ Paid", timeout=10)

    [payment] = await payments_of(bot, user.user_id)
    assert payment.state == "refunding" and payment.refund_attempts == 5
    assert len(payme.calls("receipts.cancel")) == 5
    assert str(payment.id) in note.text and payment.receipt_id in note.text
    assert payment.receipt_id in pending.text
    assert said(user, ERROR_TEXT) == 0 and said(user, "try again") == 0 and said(user, "Try again") == 0


async def test_a_system_error_on_receipts_pay_is_checked_not_read_as_not_charged(payme_fast, telegram, payme, paylov):
    """-32400 used to be read as "not charged" though the card was debited; the user was told so in the
    provider's Russian text in an English chat."""
    bot = await payme_fast()
    user = await registered(telegram, 1306)
    await scenarios.add_payme_card(telegram, user, BOT_TOKEN)
    payme.fail_next("receipts.pay", "error", code=-32400, apply=True)
    await scenarios.hot_water_to_confirm(user, amount="7000")
    receipt = await user.wait_message("✅ Paid", timeout=10)
    [payment] = await payments_of(bot, user.user_id)
    assert payment.state == "paid" and payme.receipt(payment.receipt_id)["state"] == 4
    assert payme.calls("receipts.cancel") == []
    assert said(user, "not charged") == 0 and said(user, "was not charged") == 0
    assert not any(CYRILLIC.search(m.text) for m in messages_after(user, receipt) + [receipt]
                   if "Горячая" not in m.text)


async def test_a_processing_error_on_pay_is_checked_not_read_as_not_charged(make_settings, telegram, paylov):
    process = await BotProcess(make_settings(**FAST)).start()
    try:
        user = await registered(telegram, 1307)
        await add_card(user)
        await scenarios.hot_water_to_code(user)
        paylov.fail_next("servicePayment/pay/", "error", code="processing_error", apply=True)  # charged all the same
        await user.send("666666")
        await user.wait_message("✅ Paid", timeout=10)
        [payment] = await payments_of(process, user.user_id)
        assert payment.state == "paid" and paylov.transaction(payment.transaction_id)["status"] == "paid"
        assert said(user, "was not charged") == 0
        assert len(paylov.calls("servicePayment/pay/")) == 1
    finally:
        await process.stop()


async def test_a_settlement_pay_that_never_reached_paylov_is_refunded_at_give_up(payme_fast, telegram, payme, paylov):
    """Status `created` at the end proves we will not pay the bill (our pay is never sent again): refund, not
    "contact support" with the card charged."""
    bot = await payme_fast(STATUS_GIVE_UP_AFTER=2)
    user = await registered(telegram, 1308)
    await scenarios.add_payme_card(telegram, user, BOT_TOKEN)
    paylov.fail_next("servicePayment/pay/", "drop", apply=False)  # the settlement pay is lost before Paylov
    await scenarios.hot_water_to_confirm(user, amount="7000")
    await user.wait_message("back on the card", timeout=20)
    [payment] = await payments_of(bot, user.user_id)
    assert payment.state == "refunded"
    assert paylov.transaction(payment.transaction_id)["status"] == "created"
    assert len(payme.calls("receipts.cancel")) == 1
    assert said(user, "contact support") == 0


async def test_a_429_on_the_settlement_pay_is_tried_again_later_not_refunded(payme_fast, telegram, payme, paylov):
    bot = await payme_fast()
    user = await registered(telegram, 1309)
    await scenarios.add_payme_card(telegram, user, BOT_TOKEN)
    paylov.fail_next("servicePayment/pay/", "429", retry_after=1)
    await scenarios.hot_water_to_confirm(user, amount="7000")
    await user.wait_message("✅ Paid", timeout=10)
    [payment] = await payments_of(bot, user.user_id)
    assert payment.state == "paid"
    assert payme.calls("receipts.cancel") == []
    assert [c.status for c in paylov.calls("servicePayment/pay/")] == [429, 200]


@pytest.mark.parametrize("leave", ["🏠 My homes", "🧾 History", "💳 My cards", "/language", "/start", "/cancel"])
async def test_leaving_a_payment_by_any_path_closes_it(app, telegram, paylov, leave):
    user = await registered(telegram, 1310)
    await add_card(user)
    await scenarios.hot_water_to_code(user)
    [payment] = await payments_of(app, user.user_id)
    assert payment.state == "created"
    await (user.tap(leave) if not leave.startswith("/") else user.send(leave))
    answer = await user.wait_message()
    await user.send("666666")  # the code from the SMS can no longer pay it
    # one chat's updates are handled in order: this answer comes after the leaving update is done
    await user.wait_for(lambda: user.bot_messages[-1] is not answer)
    [payment] = await payments_of(app, user.user_id)
    assert (payment.state, payment.error_code) == ("failed", "cancelled_by_user")
    assert paylov.calls("servicePayment/pay/") == []


async def test_a_payment_nobody_finished_is_closed_after_half_an_hour(app, telegram, paylov):
    user = await registered(telegram, 1311)
    await add_card(user)
    await scenarios.hot_water_to_code(user)
    [payment] = await payments_of(app, user.user_id)
    async with app.services.sessionmaker.begin() as session:  # half an hour passes
        await session.execute(update(Payment).where(Payment.id == payment.id).values(
            updated_at=datetime.now(UTC) - timedelta(minutes=31)))
    closed = await app.services.payments.close_abandoned()
    assert [p.id for p in closed] == [payment.id]
    [payment] = await payments_of(app, user.user_id)
    assert (payment.state, payment.error_code) == ("failed", "abandoned")


async def test_a_row_that_cannot_be_settled_never_stops_the_others(make_settings, telegram, paylov, payme):
    """One payment whose settlement raises is logged and asked about later; the next one is settled in the same
    pass."""
    fine = await paylov_card_holder(make_settings, telegram, 1313)
    bot = await BotProcess(make_settings(CARD_VAULT="payme", STATUS_CHECK_INTERVALS=[3600],
                                         STATUS_WORKER_TICK=3600, PROVIDER_READ_TIMEOUT=1.0)).start()
    try:
        broken = await registered(telegram, 1312)
        await scenarios.add_payme_card(telegram, broken, BOT_TOKEN)
        paylov.fail_next("servicePayment/create/", "drop", apply=False)
        await scenarios.hot_water_to_confirm(broken, amount="7000")
        await broken.wait_message("Your card was charged")
        await scenarios.hot_water_to_code(fine)
        paylov.fail_next("servicePayment/pay/", "timeout")  # charged, no answer
        paylov.fail_next("servicePayment/transaction/status/", "timeout")  # and the first status unanswered too
        await fine.send("666666")
        await fine.wait_message("We don't know yet", timeout=10)
    finally:
        await bot.stop()
    # A worker without the Payme rail cannot settle the Payme payment: it raises, and must not stop the pass.
    without_payme = await BotProcess(make_settings(PAYLOV_SETTLEMENT_CARD_ID=None, STATUS_CHECK_INTERVALS=[0.1],
                                                   STATUS_WORKER_TICK=0.1, PROVIDER_READ_TIMEOUT=1.0)).start()
    try:
        [unsettled] = await payments_of(without_payme, broken.user_id)
        async with without_payme.services.sessionmaker.begin() as session:  # both are due now
            await session.execute(update(Payment).values(next_check_at=datetime.now(UTC) - timedelta(seconds=1)))
        await fine.wait_message("✅ Paid", timeout=10)
        [paid] = await payments_of(without_payme, fine.user_id)
        [still] = await payments_of(without_payme, broken.user_id)
        assert paid.state == "paid" and still.state == unsettled.state == "charged"
        assert await states_of(without_payme, still.id) == ["draft", "charging", "charged", "settling", "charged"]
    finally:
        await without_payme.stop()
