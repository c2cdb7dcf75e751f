"""Reconciliation of the PaySys payout rail (issue 15, item 5): the day's `cash2card.statement` against our `paysys`
rows. Payouts are made at the emulator through the real client; our rows are what the ledger would hold for them
(the payout flows that write them come with the cashback issue). A clean day, then one mismatch of each kind, through
the report, the command (with and without Payme) and the operator's daily message."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.domain.payouts import new_partner_id
from bot.jobs.reconciliation import ReconcileWorker
from bot.money.reconcile import Report, reconcile
from bot.money.reconcile_paysys import (
    PAYOUT_AMOUNT_DIFFERS,
    PAYOUT_MISSING,
    PAYOUT_NOT_OURS,
    PAYOUT_REVERSED,
    PAYOUT_STATUS_DIFFERS,
)
from bot.providers.paysys import PaysysClient
from bot.providers.paysys_models import Sender
from bot.runtime.reconcile import run_reconcile
from bot.services.history import TASHKENT
from bot.storage.models import Payment
from tests.e2e.conftest import OPERATOR

USER = 5301
COMPLETES = "8600310000000117"
FAILS = "8600310000000315"
REVERSES = "8600310000000414"
SENDER = Sender(last_name="TESTOV", first_name="TEST")


def the_day(provider_clock):
    return datetime.fromtimestamp(provider_clock.now, TASHKENT).date()


async def payout_at_paysys(client: PaysysClient, card: str, sums: int, *, confirm: bool = True,
                           cancel: bool = False) -> tuple[int, int, int]:
    """(partner id, PaySys transaction id, status) of a payout made at the emulator."""
    partner_id = new_partner_id()
    prepared = await client.prepare_remittance(partner_id, card, sums * 100, SENDER)
    status = 0
    if confirm:
        status = int((await client.confirm_remittance(prepared.transaction_id)).status)
    elif cancel:
        assert await client.cancel(prepared.transaction_id)
        status = 2
    return partner_id, prepared.transaction_id, status


async def our_row(app, provider_clock, partner_id: int, sums: int, state: str, transaction_id: int | None) -> int:
    """The ledger's row of a payout, as the payout rail keeps it."""
    services = app.services
    await services.users.set_language(USER, "en")
    async with services.sessionmaker.begin() as session:
        row = Payment(
            intent_key=uuid.uuid4().hex, user_id=USER, service_id="cashback", service_name="Cashback",
            account={}, account_display=[], amount=sums, provider_card_id="", card_masked="860031******0117",
            state=state, rail="paysys", partner_id=partner_id,
            transaction_id=str(transaction_id) if transaction_id is not None else None,
            created_at=datetime.fromtimestamp(provider_clock.now, UTC),
        )
        session.add(row)
        await session.flush()
        return row.id


async def reconcile_day(app, provider_clock, *, payme: bool = True) -> Report:
    services = app.services
    return await reconcile(the_day(provider_clock), payme=services.payme if payme else None,
                           paylov=services.paylov, paysys=services.paysys, sessionmaker=services.sessionmaker)


def kinds(report: Report) -> list[tuple[str, int | None]]:
    return [(m.kind, m.payment_id) for m in report.mismatches]


async def test_a_clean_day(app, provider_clock, capsys):
    client = app.services.paysys
    done = await payout_at_paysys(client, COMPLETES, 4000)
    failed = await payout_at_paysys(client, FAILS, 2000)
    cancelled = await payout_at_paysys(client, COMPLETES, 3000, confirm=False, cancel=True)
    await our_row(app, provider_clock, done[0], 4000, "paid", done[1])
    await our_row(app, provider_clock, failed[0], 2000, "failed", failed[1])
    await our_row(app, provider_clock, cancelled[0], 3000, "failed", cancelled[1])
    await our_row(app, provider_clock, new_partner_id(), 1500, "failed", None)  # refused at prepare: PaySys has none

    report = await reconcile_day(app, provider_clock)

    assert report.clean
    assert (report.payouts, report.payout_rows) == (3, 4)
    assert report.text().splitlines()[0].endswith("3 PaySys payouts, 4 payout rows, 0 mismatches")
    assert await run_reconcile(app.settings, the_day(provider_clock)) == 0
    assert capsys.readouterr().out == report.text() + "\n"


async def test_one_mismatch_of_each_kind(app, provider_clock, paysys, capsys):
    client = app.services.paysys
    not_ours = await payout_at_paysys(client, COMPLETES, 1000)  # money sent that no row of ours accounts for
    missing = await our_row(app, provider_clock, new_partner_id(), 1200, "paid", 99_999_999)
    amount = await payout_at_paysys(client, COMPLETES, 4000)
    amount_row = await our_row(app, provider_clock, amount[0], 5000, "paid", amount[1])
    status = await payout_at_paysys(client, COMPLETES, 2500)
    status_row = await our_row(app, provider_clock, status[0], 2500, "failed", status[1])
    reversed_ = await payout_at_paysys(client, REVERSES, 3500)
    reversed_row = await our_row(app, provider_clock, reversed_[0], 3500, "paid", reversed_[1])
    paysys.settle()  # the reversing card's payout comes back: status 3

    report = await reconcile_day(app, provider_clock)

    assert kinds(report) == [
        (PAYOUT_NOT_OURS, None), (PAYOUT_MISSING, missing), (PAYOUT_AMOUNT_DIFFERS, amount_row),
        (PAYOUT_STATUS_DIFFERS, status_row), (PAYOUT_REVERSED, reversed_row),
    ]
    lines = {m.kind: m.line() for m in report.mismatches}
    assert f"transaction {not_ours[1]}" in lines[PAYOUT_NOT_OURS]
    assert f"no payout of ours has id {not_ours[0]}" in lines[PAYOUT_NOT_OURS]
    assert "1 200 sums (ledger: paid) is not in PaySys's statement" in lines[PAYOUT_MISSING]
    assert "ledger 5 000 sums; PaySys 4 000 sums" in lines[PAYOUT_AMOUNT_DIFFERS]
    assert "PaySys: 1 (completed); ledger: failed" in lines[PAYOUT_STATUS_DIFFERS]
    assert "3 500 sums to 860031******0414 came back after completion (ledger: paid)" in lines[PAYOUT_REVERSED]
    # The missing one was looked up by our id before it was reported (it might sit on another day's statement).
    assert [c.params["partner_transaction_id"] for c in paysys.calls("check_remittance")] == [
        int(next(r.partner_id for r in await rows(app) if r.id == missing))]

    assert await run_reconcile(app.settings, the_day(provider_clock)) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("5 mismatches")
    assert all(kind + ": payment" in out for kind in lines)


async def rows(app) -> list[Payment]:
    async with app.services.sessionmaker() as session:
        return list(await session.scalars(select(Payment)))


async def test_payouts_are_reconciled_without_payme(make_settings, app, provider_clock, capsys):
    client = app.services.paysys
    not_ours = await payout_at_paysys(client, COMPLETES, 1000)
    day = the_day(provider_clock)

    assert await run_reconcile(make_settings(PAYME_BASE_URL=None), day) == 1
    out = capsys.readouterr().out
    assert "Payme receipts" not in out and "1 PaySys payouts, 0 payout rows, 1 mismatch" in out
    assert f"payout_not_ours: payment —, transaction {not_ours[1]}" in out

    assert await run_reconcile(make_settings(PAYME_BASE_URL=None, PAYSYS_BASE_URL=None), day) == 2
    assert capsys.readouterr().err.startswith("error: nothing to reconcile")


async def test_the_command_says_so_when_paysys_does_not_answer(make_settings, paysys, provider_clock, capsys):
    await paysys.stop()
    assert await run_reconcile(make_settings(PAYME_BASE_URL=None), the_day(provider_clock)) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: a provider did not answer: ")


async def test_the_daily_report_includes_the_payouts(app, bot, operator, provider_clock):
    client = app.services.paysys
    await payout_at_paysys(client, COMPLETES, 1000)
    services = app.services
    clock = [datetime.combine(the_day(provider_clock) + timedelta(days=1), datetime.min.time(), TASHKENT)
             .replace(hour=7)]
    worker = ReconcileWorker(bot, payme=None, paylov=services.paylov, paysys=services.paysys,
                             sessionmaker=services.sessionmaker, chat_id=OPERATOR, hour=6, tick=600,
                             now=lambda: clock[0])
    report = await worker.run_due()
    assert [m.kind for m in report.mismatches] == [PAYOUT_NOT_OURS]
    await operator.wait_for(lambda: any(m.text.startswith("Reconciliation ") for m in operator.bot_messages))
    [sent] = [m.text for m in operator.bot_messages if m.text.startswith("Reconciliation ")]
    assert sent == report.text() and "payout_not_ours" in sent
