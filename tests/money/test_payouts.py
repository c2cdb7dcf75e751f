"""Cashback and operator refunds on the PaySys rail, at the service level: the real PayoutsService and runner over
SQLite and PostgreSQL, against the PaySys emulator. Every PaySys call is counted in the emulator's own ledger."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.app import Services, open_services
from bot.domain.cards import CardError
from bot.domain.payments import PaymentState as S
from bot.money.ledger import Ledger, cashback_of
from bot.providers.paysys import PaysysRejected
from bot.sandbox import scenarios
from bot.sandbox.harness import BotProcess
from bot.settings import Settings
from bot.services.payouts import PayoutRefused, PayoutUnavailable
from bot.storage.models import CashbackEntry, OutboxMessage, Payment, User
from tests.e2e.ledger_rows import payments_of

COMPLETES = "8600 3100 0000 0117"
LATE = "8600310000000216"
FAILS = "8600310000000315"
REVERSES = "8600310000000414"
BLOCKED = "8600310000000513"
OPERATOR = 900
QUIET = dict(STATUS_CHECK_INTERVALS=[3600], STATUS_WORKER_TICK=3600)  # the tests drive every settlement
_keys = count(1)


def key() -> str:
    return f"intent-{next(_keys):032d}"


@pytest.fixture
async def hand(make_settings: Callable[..., Settings]) -> AsyncIterator[Services]:
    settings = make_settings(CASHBACK_PERCENT="1", OPERATOR_REFUNDS=True, OPERATOR_IDS=str(OPERATOR),
                             PAYOUT_MAX=500_000, PROVIDER_READ_TIMEOUT=1.0, **QUIET)
    async with open_services(settings) as services:
        yield services


async def user_with_bill(services: Services, user_id: int, amount: int = 250_000) -> int:
    """A user and one bill paid through the ledger's own moves (draft -> creating -> created -> paying -> paid),
    with the production ledger's cashback percent: its credit is the one the paid transition writes."""
    async with services.sessionmaker.begin() as session:
        if await session.get(User, user_id) is None:
            session.add(User(id=user_id, language="en", phone="+998901234567"))
    ledger = Ledger(services.sessionmaker, owner="bill-hand", lease=60,
                    cashback_percent=services.settings.CASHBACK_PERCENT)
    bill = await ledger.open(intent_key=key(), user_id=user_id, service_id="hot-water", service_name="Hot water",
                             account={"account": "10000002"}, account_display=[], amount=amount, card_id=None,
                             provider_card_id="paylov-card-of-a-test-bill", card_masked="860006******6311",
                             rail="paylov")
    bill = await ledger.claim(bill, S.draft, S.creating)
    bill = await ledger.move(bill, S.created, transaction_id=f"t-{bill.id}")
    bill = await ledger.claim(bill, S.created, S.paying)
    await ledger.move(bill, S.paid, tell="paid")
    return bill.id


async def backdate(services: Services, payment_id: int, by: timedelta) -> None:
    """The row as it would be `by` later: made and last changed that long ago."""
    async with services.sessionmaker.begin() as session:
        row = await session.get(Payment, payment_id)
        await session.execute(update(Payment).where(Payment.id == payment_id).values(
            created_at=row.created_at - by, updated_at=row.updated_at - by))


async def entries(services: Services, payment_id: int) -> dict[str, int]:
    async with services.sessionmaker() as session:
        rows = await session.execute(select(CashbackEntry.kind, CashbackEntry.amount).where(
            CashbackEntry.payment_id == payment_id))
        return dict(rows.all())


async def outbox(services: Services, payment_id: int) -> dict[str, tuple[str, str | None]]:
    async with services.sessionmaker() as session:
        rows = await session.execute(select(OutboxMessage.kind, OutboxMessage.state, OutboxMessage.lease_owner)
                                     .where(OutboxMessage.payment_id == payment_id))
        return {kind: (state, owner) for kind, state, owner in rows.all()}


# ---- the cashback ledger ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount, percent, tiyin", [
    (250_000, Decimal(1), 250_000), (15_105, Decimal("0.5"), 7_552), (1, Decimal("0.5"), 0), (7_000, Decimal(0), 0),
    (999, Decimal("0.33"), 329)])
def test_cashback_is_a_percent_of_the_bill_in_tiyin_rounded_down(amount, percent, tiyin):
    assert cashback_of(amount, percent) == tiyin


async def test_a_paid_bill_is_credited_once_in_its_paid_transition(hand):
    bill = await user_with_bill(hand, 3001, amount=15_105)
    assert await entries(hand, bill) == {"credit": 15_105}  # 1 % of 15 105 sum = 151.05 sum
    view = await hand.payouts.cashback(3001)
    assert view.balance_tiyin == 15_105 and [e.kind for e in view.recent] == ["credit"]
    assert view.recent[0].service_name == "Hot water" and not view.can_withdraw  # below 1 000 sum
    async with hand.sessionmaker.begin() as session:  # the database refuses a second credit for one payment
        with pytest.raises(IntegrityError):
            session.add(CashbackEntry(user_id=3001, payment_id=bill, kind="credit", amount=1, reason="again"))
            await session.flush()
    assert (await hand.payouts.cashback(3001)).balance_tiyin == 15_105


async def test_a_bill_paid_in_the_chat_earns_cashback(make_settings, telegram, paylov):
    """The production wiring: a Paylov payment through the bot; its paid transition writes the credit."""
    process = await BotProcess(make_settings(CASHBACK_PERCENT="0.5", **QUIET)).start()
    try:
        user = await scenarios.registered(telegram, 3002)
        await scenarios.add_card(user)
        await scenarios.pay_text_service(user, amount="15105")
        [payment] = await payments_of(process, 3002)
        assert payment.state == "paid"
        assert await entries(process.services, payment.id) == {"credit": 7_552}
        assert (await process.services.payouts.cashback(3002)).balance_tiyin == 7_552
    finally:
        await process.stop()


# ---- withdrawals -------------------------------------------------------------------------------------------------


async def test_a_withdrawal_prepared_then_confirmed_is_paid_from_the_hold(hand, paysys):
    await user_with_bill(hand, 3010)  # 2 500 sum of cashback
    limits = await hand.payouts.withdraw_limits(3010)
    assert (limits.min_sums, limits.max_sums) == (1_000, 2_500)
    prepared = await hand.payouts.prepare(3010, 2_000, COMPLETES, key())
    assert prepared.state == S.prepared and prepared.outcome == "prepared"
    assert (prepared.recipient_name, prepared.card_masked) == ("ALIYEV VALI", "860031******0117")
    assert (prepared.total_tiyin, prepared.commission) == (201_000, "0.5")  # as PaySys returned it
    assert (await hand.payouts.cashback(3010)).balance_tiyin == 50_000  # the 2 000 sum are held
    assert not (await hand.payouts.cashback(3010)).can_withdraw  # one open payout

    paid = await hand.payouts.confirm(3010, prepared.id)
    assert paid.state == S.paid and paid.completed_at is not None
    assert await entries(hand, paid.id) == {"hold": -200_000, "release": 200_000, "debit": -200_000}
    assert (await hand.payouts.cashback(3010)).balance_tiyin == 50_000
    held = paysys.payout(paid.partner_id)
    assert (held["status"], held["amount"], held["debited"]) == (1, 200_000, True)
    assert str(held["transaction_id"]) == paid.transaction_id
    assert len(paysys.calls("confirm_remittance")) == 1
    assert await outbox(hand, paid.id) == {}  # seen in the chat: nothing owed


async def test_the_card_number_is_never_stored(hand, paysys):
    await user_with_bill(hand, 3011)
    prepared = await hand.payouts.prepare(3011, 1_000, COMPLETES, key())
    async with hand.sessionmaker() as session:
        row = await session.get(Payment, prepared.id)
    assert "8600310000000117" not in repr([getattr(row, c.key) for c in Payment.__table__.columns])
    assert paysys.calls("prepare_remittance")[0].body["params"]["card_number"] == "8600310000000117"


async def test_a_late_completion_is_settled_by_check_remittance_and_told(hand, paysys):
    await user_with_bill(hand, 3020)
    prepared = await hand.payouts.prepare(3020, 1_500, LATE, key())
    pending = await hand.payouts.confirm(3020, prepared.id)
    assert pending.state == S.unknown and pending.outcome == "pending"
    assert (await hand.payouts.cashback(3020)).balance_tiyin == 100_000  # still held
    await hand.payments.check(prepared.id)  # the runner, before PaySys completes: still in progress
    assert (await hand.payouts.payout(3020, prepared.id)).state == S.unknown
    paysys.settle()
    await hand.payments.check(prepared.id)
    paid = await hand.payouts.payout(3020, prepared.id)
    assert paid.state == S.paid
    assert await entries(hand, paid.id) == {"hold": -150_000, "release": 150_000, "debit": -150_000}
    assert len(paysys.calls("confirm_remittance")) == 1 and len(paysys.calls("check_remittance")) == 2
    assert (await outbox(hand, paid.id))["payout_paid"][0] == "pending"


async def test_a_failed_payout_releases_the_hold(hand, paysys):
    await user_with_bill(hand, 3030)
    prepared = await hand.payouts.prepare(3030, 2_500, FAILS, key())
    failed = await hand.payouts.confirm(3030, prepared.id)
    assert failed.state == S.failed and failed.outcome == "failed" and failed.error_code == "payout_error"
    assert await entries(hand, failed.id) == {"hold": -250_000, "release": 250_000}
    assert (await hand.payouts.cashback(3030)).balance_tiyin == 250_000
    assert (await hand.payouts.cashback(3030)).can_withdraw


async def test_a_reversal_after_completion_gives_the_cashback_back(hand, paysys):
    await user_with_bill(hand, 3040)
    prepared = await hand.payouts.prepare(3040, 2_000, REVERSES, key())
    paid = await hand.payouts.confirm(3040, prepared.id)
    assert paid.state == S.paid
    worker = hand.payouts.as_hand("worker")
    assert await worker.recheck_completed() == []  # not yet reversed: asked again an interval later
    async with hand.sessionmaker.begin() as session:  # the next look is due
        await session.execute(update(Payment).where(Payment.id == paid.id).values(next_check_at=None))
    paysys.settle()
    [reversed_] = await worker.recheck_completed()
    assert reversed_.state == S.reversed and reversed_.outcome == "reversed"
    assert await entries(hand, paid.id) == {"hold": -200_000, "release": 200_000, "debit": -200_000,
                                            "reversal": 200_000}
    assert (await hand.payouts.cashback(3040)).balance_tiyin == 250_000
    assert (await outbox(hand, paid.id))["payout_reversed"][0] == "pending"
    assert await worker.recheck_completed() == []  # reversed once


async def test_a_payout_cancelled_by_the_user(hand, paysys):
    await user_with_bill(hand, 3050)
    prepared = await hand.payouts.prepare(3050, 1_000, COMPLETES, key())
    cancelled = await hand.payouts.cancel(3050, prepared.id)
    assert cancelled.state == S.failed and cancelled.outcome == "cancelled" and cancelled.error_code == "cancelled"
    assert paysys.payout(prepared.partner_id)["status"] == 2
    assert (await hand.payouts.cashback(3050)).balance_tiyin == 250_000
    again = await hand.payouts.confirm(3050, prepared.id)  # an old Confirm: the row as it is, no call
    assert again.state == S.failed and paysys.calls("confirm_remittance") == []


async def test_a_payout_not_confirmed_in_five_minutes_is_cancelled_by_the_job(hand, paysys):
    await user_with_bill(hand, 3060)
    prepared = await hand.payouts.prepare(3060, 1_000, COMPLETES, key())
    worker = hand.payouts.as_hand("worker")
    assert await worker.expire_prepared() == []  # not yet
    await backdate(hand, prepared.id, timedelta(minutes=5, seconds=1))
    [expired] = await worker.expire_prepared()
    assert expired.state == S.failed and expired.error_code == "expired" and expired.outcome == "cancelled"
    assert paysys.payout(prepared.partner_id)["status"] == 2 and len(paysys.calls("cancel")) == 1
    assert (await hand.payouts.cashback(3060)).balance_tiyin == 250_000
    assert (await outbox(hand, prepared.id))["payout_cancelled"][0] == "pending"
    assert await worker.expire_prepared() == []
    assert (await hand.payouts.confirm(3060, prepared.id)).state == S.failed  # too late: no confirm
    assert paysys.calls("confirm_remittance") == []


async def test_a_confirm_after_the_window_cancels_instead(hand, paysys):
    await user_with_bill(hand, 3061)
    prepared = await hand.payouts.prepare(3061, 1_000, COMPLETES, key())
    await backdate(hand, prepared.id, timedelta(minutes=6))
    late = await hand.payouts.confirm(3061, prepared.id)
    assert late.state == S.failed and late.error_code == "expired"
    assert paysys.calls("confirm_remittance") == [] and paysys.payout(prepared.partner_id)["status"] == 2


async def test_a_lost_confirm_answer_is_settled_by_check_remittance_without_a_second_confirm(hand, paysys):
    await user_with_bill(hand, 3070)
    prepared = await hand.payouts.prepare(3070, 1_000, COMPLETES, key())
    paysys.fail_next("confirm_remittance", "drop", apply=True)  # the payout is made; its answer is lost
    paid = await hand.payouts.confirm(3070, prepared.id)
    assert paid.state == S.paid
    assert len(paysys.calls("confirm_remittance")) == 1 and len(paysys.calls("check_remittance")) == 1
    assert paysys.payout(prepared.partner_id)["status"] == 1
    assert (await hand.payouts.cashback(3070)).balance_tiyin == 150_000


async def test_a_lost_confirm_answer_left_unknown_is_settled_by_the_runner(hand, paysys):
    await user_with_bill(hand, 3071)
    prepared = await hand.payouts.prepare(3071, 1_000, COMPLETES, key())
    paysys.fail_next("confirm_remittance", "drop", apply=True)
    paysys.fail_next("check_remittance", "drop")
    paysys.fail_next("check_remittance", "drop")  # the read's one resend is lost too
    pending = await hand.payouts.confirm(3071, prepared.id)
    assert pending.state == S.unknown
    async with hand.sessionmaker.begin() as session:  # its check is due
        await session.execute(update(Payment).where(Payment.id == prepared.id).values(next_check_at=None))
    results = await hand.payments.as_hand("worker").settle_due()
    assert [r.payment.id for r in results] == [prepared.id]
    paid = await hand.payouts.payout(3071, prepared.id)
    assert paid.state == S.paid and len(paysys.calls("confirm_remittance")) == 1
    assert (await outbox(hand, prepared.id))["payout_paid"][0] == "pending"


async def test_a_confirm_refused_before_sending_fails_and_releases(hand, paysys):
    await user_with_bill(hand, 3072)
    prepared = await hand.payouts.prepare(3072, 1_000, COMPLETES, key())
    paysys.deposit = 0  # -20020: the deposit cannot pay it; nothing sent, the payout stays prepared at PaySys
    failed = await hand.payouts.confirm(3072, prepared.id)
    assert failed.state == S.failed and failed.error_code == "-20020"
    assert paysys.payout(prepared.partner_id)["status"] == 2  # tidied: cancelled, never sendable
    assert (await hand.payouts.cashback(3072)).balance_tiyin == 250_000


async def test_an_unclear_confirm_refusal_is_checked_not_failed(hand, paysys):
    await user_with_bill(hand, 3073)
    prepared = await hand.payouts.prepare(3073, 1_000, COMPLETES, key())
    paysys.fail_next("confirm_remittance", "error", code="system", apply=True)  # -32400 after doing the work
    paid = await hand.payouts.confirm(3073, prepared.id)
    assert paid.state == S.paid and len(paysys.calls("confirm_remittance")) == 1


async def test_two_concurrent_confirms_make_one_confirm_remittance(hand, paysys):
    await user_with_bill(hand, 3080)
    prepared = await hand.payouts.prepare(3080, 1_000, COMPLETES, key())
    hold = paysys.hold_next("confirm_remittance")
    first = asyncio.create_task(hand.payouts.confirm(3080, prepared.id))
    await hold.reached()
    async with open_services(hand.settings) as second_replica:
        second = await second_replica.payouts.confirm(3080, prepared.id)
    assert second.state == S.confirming and second.outcome == "pending"
    hold.release()
    assert (await first).state == S.paid
    assert len(paysys.calls("confirm_remittance")) == 1
    assert await entries(hand, prepared.id) == {"hold": -100_000, "release": 100_000, "debit": -100_000}


async def test_two_concurrent_withdrawals_of_one_user_open_one_payout(hand, paysys):
    await user_with_bill(hand, 3090)
    async with open_services(hand.settings) as second_replica:
        results = await asyncio.gather(hand.payouts.prepare(3090, 2_000, COMPLETES, key()),
                                       second_replica.payouts.prepare(3090, 2_000, COMPLETES, key()),
                                       return_exceptions=True)
    refused = [r for r in results if isinstance(r, PayoutRefused)]
    prepared = [r for r in results if not isinstance(r, BaseException)]
    assert len(prepared) == 1 and [r.code for r in refused] == ["payout_open"]
    assert len(paysys.calls("prepare_remittance")) == 1
    assert (await hand.payouts.cashback(3090)).balance_tiyin == 50_000


async def test_the_database_allows_one_open_cashback_payout_per_user(hand):
    await user_with_bill(hand, 3091)
    first = await hand.payouts.prepare(3091, 1_000, COMPLETES, key())
    async with hand.sessionmaker.begin() as session:
        row = await session.get(Payment, first.id)
        with pytest.raises(IntegrityError):
            session.add(Payment(**{c.key: getattr(row, c.key) for c in Payment.__table__.columns
                                   if c.key not in ("id", "partner_id", "intent_key", "transaction_id")},
                                intent_key=key(), partner_id=1))
            await session.flush()


async def test_the_same_intent_twice_is_one_payout(hand, paysys):
    await user_with_bill(hand, 3092)
    intent = key()
    first = await hand.payouts.prepare(3092, 1_000, COMPLETES, intent)
    again = await hand.payouts.prepare(3092, 1_000, COMPLETES, intent)
    assert again.id == first.id and len(paysys.calls("prepare_remittance")) == 1


@pytest.mark.parametrize("amount, card, error", [
    (1_000, "8600 3100 0000 0118", "luhn"), (1_000, "4111 1111 1111 1111", "brand"),
    (1_000, "8600 3100 0000", "length"), (999, COMPLETES, "below_min"), (2_501, COMPLETES, "above_balance"),
])
async def test_bad_input_is_refused_before_anything_is_sent(hand, paysys, amount, card, error):
    await user_with_bill(hand, 3100)
    with pytest.raises((CardError, PayoutRefused)) as refused:
        await hand.payouts.prepare(3100, amount, card, key())
    assert refused.value.code == error
    assert paysys.ledger == [] and (await hand.payouts.cashback(3100)).balance_tiyin == 250_000
    assert await hand.payouts.payouts(3100) == []


async def test_above_payout_max_and_a_second_withdrawal_are_refused(hand, paysys):
    await user_with_bill(hand, 3101, amount=60_000_000)  # 600 000 sum of cashback
    with pytest.raises(PayoutRefused) as refused:
        await hand.payouts.prepare(3101, 500_001, COMPLETES, key())
    assert refused.value.code == "above_max" and refused.value.params == {"max_sums": 500_000}
    assert (await hand.payouts.withdraw_limits(3101)).max_sums == 500_000
    await hand.payouts.prepare(3101, 1_000, COMPLETES, key())
    with pytest.raises(PayoutRefused) as refused:
        await hand.payouts.prepare(3101, 1_000, COMPLETES, key())
    assert refused.value.code == "payout_open" and len(paysys.calls("prepare_remittance")) == 1


async def test_a_refused_prepare_fails_and_releases(hand, paysys):
    await user_with_bill(hand, 3110)
    with pytest.raises(PaysysRejected) as refused:
        await hand.payouts.prepare(3110, 1_000, BLOCKED, key())
    assert refused.value.number == -20012
    [row] = await hand.payouts.payouts(3110)
    assert row.state == S.failed and row.error_code == "-20012"
    assert (await hand.payouts.cashback(3110)).balance_tiyin == 250_000


async def test_a_prepare_that_never_arrived_fails_and_releases(hand, paysys):
    await user_with_bill(hand, 3111)
    paysys.fail_next("prepare_remittance", "429", retry_after=60)  # longer than the client waits
    with pytest.raises(PayoutUnavailable) as unavailable:
        await hand.payouts.prepare(3111, 1_000, COMPLETES, key())
    assert unavailable.value.payout.state == S.failed
    assert (await hand.payouts.cashback(3111)).balance_tiyin == 250_000


@pytest.mark.parametrize("apply", [True, False])
async def test_a_lost_prepare_answer_is_never_confirmed(hand, paysys, apply):
    """Found at PaySys (status 0): cancelled, since the user never saw what it would send. Not found: failed."""
    await user_with_bill(hand, 3112)
    paysys.fail_next("prepare_remittance", "drop", apply=apply)
    pending = await hand.payouts.prepare(3112, 1_000, COMPLETES, key())
    assert pending.state == S.unknown and pending.outcome == "pending"
    await hand.payments.check(pending.id)
    failed = await hand.payouts.payout(3112, pending.id)
    assert failed.state == S.failed and failed.error_code == "not_prepared"
    assert paysys.calls("confirm_remittance") == []
    assert len(paysys.calls("cancel")) == (1 if apply else 0)
    if apply:
        assert paysys.payout(pending.partner_id)["status"] == 2
    assert (await hand.payouts.cashback(3112)).balance_tiyin == 250_000
    assert (await outbox(hand, pending.id))["payout_failed"][0] == "pending"


async def test_a_dead_confirm_claim_is_settled_by_the_runner(hand, paysys):
    await user_with_bill(hand, 3113)
    prepared = await hand.payouts.prepare(3113, 1_000, LATE, key())
    async with hand.sessionmaker.begin() as session:  # a holder that died inside confirm, after PaySys took it
        await session.execute(update(Payment).where(Payment.id == prepared.id).values(
            state="confirming", payout_step="confirm", lease_owner="dead", lease_until=prepared.created_at))
    await paysys_confirm_directly(hand, paysys, prepared)
    paysys.settle()
    results = await hand.payments.as_hand("worker").settle_due()
    assert [r.outcome for r in results] == ["paid"]
    assert (await hand.payouts.payout(3113, prepared.id)).state == S.paid
    assert len(paysys.calls("confirm_remittance")) == 1


async def paysys_confirm_directly(hand, paysys, prepared) -> None:
    """The dead holder's confirm, as PaySys received it."""
    await hand.paysys.confirm_remittance(int(prepared.transaction_id))


# ---- operator refunds ------------------------------------------------------------------------------------------


async def test_an_operator_refund_debits_the_bills_cashback_and_tells_the_payer(hand, paysys):
    bill = await user_with_bill(hand, 3200, amount=30_000)  # 300 sum of cashback
    target = await hand.payouts.refund_target(OPERATOR, bill)
    assert (target.user_id, target.amount_sums, target.cashback_tiyin) == (3200, 30_000, 30_000)
    prepared = await hand.payouts.refund_prepare(OPERATOR, bill, COMPLETES, key())
    assert prepared.kind == "refund" and prepared.refund_of == bill and prepared.operator_id == OPERATOR
    assert prepared.state == S.prepared and prepared.amount_sums == 30_000
    paid = await hand.payouts.refund_confirm(OPERATOR, prepared.id)
    assert paid.state == S.paid and paysys.payout(paid.partner_id)["amount"] == 3_000_000
    async with hand.sessionmaker() as session:
        assert (await session.get(Payment, bill)).state == "paid"  # the bill stays paid
    assert await entries(hand, paid.id) == {"debit": -30_000}
    assert (await hand.payouts.cashback(3200)).balance_tiyin == 0
    assert (await outbox(hand, paid.id))["refund_sent"] == ("pending", None)  # any sender: the payer is not here
    with pytest.raises(PayoutRefused) as refused:
        await hand.payouts.refund_prepare(OPERATOR, bill, COMPLETES, key())
    assert refused.value.code == "already_refunded"
    assert (await hand.payouts.payout(3200, paid.id)).id == paid.id  # the payer's History


async def test_refunds_are_refused_to_others_and_above_payout_max(hand, paysys):
    bill = await user_with_bill(hand, 3210)
    big = await user_with_bill(hand, 3210, amount=500_001)
    for operator, payment, code in ((3210, bill, "not_operator"), (OPERATOR, big, "manual_handling"),
                                    (OPERATOR, 999_999, "not_found")):
        with pytest.raises(PayoutRefused) as refused:
            await hand.payouts.refund_prepare(operator, payment, COMPLETES, key())
        assert refused.value.code == code
    assert paysys.ledger == []


async def test_a_cancelled_refund_allows_another(hand, paysys):
    bill = await user_with_bill(hand, 3220)
    first = await hand.payouts.refund_prepare(OPERATOR, bill, COMPLETES, key())
    assert (await hand.payouts.refund_cancel(OPERATOR, first.id)).state == S.failed
    second = await hand.payouts.refund_prepare(OPERATOR, bill, COMPLETES, key())
    assert second.state == S.prepared and second.id != first.id


# ---- wiring ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given, percent", [(None, Decimal(1)), ("0", Decimal(0)), ("0.5", Decimal("0.5"))])
async def test_sandbox_mode_shows_cashback_unless_the_percent_is_set(make_settings, given, percent):
    values = {"PROVIDERS": "sandbox"} | ({} if given is None else {"CASHBACK_PERCENT": given})
    async with open_services(make_settings(**values)) as services:
        assert services.settings.CASHBACK_PERCENT == percent
        assert services.payouts.enabled is (percent > 0)
        assert services.payouts.cashback_percent == percent


# ---- the worker tells what the chat did not see ------------------------------------------------------------------


async def test_the_worker_settles_a_late_payout_and_tells_the_user_once(make_settings, telegram, paysys):
    fast = dict(STATUS_CHECK_INTERVALS=[0.2], STATUS_WORKER_TICK=0.1, PROVIDER_READ_TIMEOUT=1.0)
    process = await BotProcess(make_settings(CASHBACK_PERCENT="1", **fast)).start()
    try:
        user = await scenarios.registered(telegram, 3300)
        services = process.services
        await user_with_bill(services, 3300)
        prepared = await services.payouts.prepare(3300, 1_000, LATE, key())
        assert (await services.payouts.confirm(3300, prepared.id)).state == S.unknown
        paysys.settle()
        await user.wait_message("Your cashback withdrawal of 1,000 sum to the card UZCARD •0216 is complete")
        assert (await services.payouts.payout(3300, prepared.id)).state == S.paid
        assert (await outbox(services, prepared.id))["payout_paid"][0] == "sent"
        assert len(paysys.calls("confirm_remittance")) == 1
        assert sum("is complete" in m.text for m in user.bot_messages) == 1
    finally:
        await process.stop()


async def test_the_worker_cancels_an_unconfirmed_payout_and_tells_the_user(make_settings, telegram, paysys):
    fast = dict(STATUS_WORKER_TICK=0.1)
    process = await BotProcess(make_settings(CASHBACK_PERCENT="1", **fast)).start()
    try:
        user = await scenarios.registered(telegram, 3301, language="ru")
        services = process.services
        await user_with_bill(services, 3301)
        prepared = await services.payouts.prepare(3301, 1_000, COMPLETES, key())
        await backdate(services, prepared.id, timedelta(minutes=5, seconds=1))
        await user.wait_message("не был подтверждён в течение 5 минут")
        assert (await services.payouts.payout(3301, prepared.id)).error_code == "expired"
        assert paysys.payout(prepared.partner_id)["status"] == 2
        assert (await services.payouts.cashback(3301)).balance_tiyin == 250_000
    finally:
        await process.stop()


async def test_a_refund_is_told_to_the_payer_not_the_operator(make_settings, telegram, paysys):
    process = await BotProcess(make_settings(OPERATOR_REFUNDS=True, OPERATOR_IDS=str(OPERATOR),
                                             STATUS_WORKER_TICK=0.1)).start()
    try:
        payer = await scenarios.registered(telegram, 3302)
        services = process.services
        bill = await user_with_bill(services, 3302, amount=7_000)
        prepared = await services.payouts.refund_prepare(OPERATOR, bill, COMPLETES, key())
        assert (await services.payouts.refund_confirm(OPERATOR, prepared.id)).state == S.paid
        await payer.wait_message(f"A refund of 7,000 sum for your payment #{bill} was sent to the card "
                                 "UZCARD •0117")
        assert await entries(services, prepared.id) == {}  # no cashback percent: nothing to take back
    finally:
        await process.stop()


async def test_a_dead_holders_confirm_that_never_arrived_is_cancelled_not_sent(hand, paysys):
    """Status 0 after a confirm whose answer nobody saw: PaySys cancels only an unconfirmed payout, so a cancel
    settles it without any risk of sending it."""
    await user_with_bill(hand, 3114)
    prepared = await hand.payouts.prepare(3114, 1_000, COMPLETES, key())
    async with hand.sessionmaker.begin() as session:  # died after claiming, before the confirm left
        await session.execute(update(Payment).where(Payment.id == prepared.id).values(
            state="confirming", payout_step="confirm", lease_owner="dead", lease_until=prepared.created_at))
    [result] = await hand.payments.as_hand("worker").settle_due()
    assert result.payment.state == S.failed and result.payment.error_code == "not_confirmed"
    assert paysys.calls("confirm_remittance") == [] and paysys.payout(prepared.partner_id)["status"] == 2
    assert (await hand.payouts.cashback(3114)).balance_tiyin == 250_000
    assert (await outbox(hand, prepared.id))["payout_failed"][0] == "pending"


async def test_a_slow_payout_after_a_lost_confirm_answer_is_not_cancelled(hand, paysys):
    await user_with_bill(hand, 3115)
    prepared = await hand.payouts.prepare(3115, 1_000, LATE, key())
    paysys.fail_next("confirm_remittance", "drop", apply=True)  # confirmed (in progress); the answer lost
    pending = await hand.payouts.confirm(3115, prepared.id)
    assert pending.state == S.unknown  # status 0: the cancel was refused (the confirm took)
    assert len(paysys.calls("cancel")) == 1 and paysys.payout(prepared.partner_id)["confirmed"]
    paysys.settle()
    await hand.payments.check(prepared.id)
    assert (await hand.payouts.payout(3115, prepared.id)).state == S.paid
    assert len(paysys.calls("cancel")) == 1 and len(paysys.calls("confirm_remittance")) == 1
