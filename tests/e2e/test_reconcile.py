"""Reconciliation of the Payme rail: the ledger is built through the real services, each mismatch is made the way it
happens (a provider call we never recorded, a cancel at Payme, a drained settlement card, an edited row), and the
report, the command's exit code and the daily message to the operator are checked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.jobs.reconciliation import (
    ReconcileWorker,
    split_message,
    start_reconciler,
    stop_reconciler,
)
from bot.money.ledger import PaymentView
from bot.money.reconcile import (
    AMOUNT_DIFFERS,
    CHARGED_NOT_SETTLED,
    REFUND_PENDING,
    SETTLED_NOT_CHARGED,
    Report,
    reconcile,
)
from bot.providers.payme import PaymeClient
from bot.runtime.reconcile import run_reconcile
from bot.sandbox import paylov_catalogue as data
from bot.services.history import TASHKENT
from bot.storage.models import Payment, Reconciliation
from tests.e2e.conftest import OPERATOR

PHONE = "+998901234567"


@dataclass(frozen=True)
class Payer:
    user_id: int
    card_id: int
    token: str


async def payme_token(client: PaymeClient) -> str:
    """A verified Payme token of the seed's test card, bound as the card page would bind it."""
    card = await client.cards_create("8600069195406311", "0399")
    await client.cards_get_verify_code(card.token)
    return (await client.cards_verify(card.token, "666666")).token


async def payer(app, user_id: int = 5101) -> Payer:
    services = app.services
    await services.users.set_language(user_id, "en")
    await services.users.set_phone(user_id, PHONE)
    token = await payme_token(services.payme)
    card = await services.cards.add_payme_card(user_id, token)
    return Payer(user_id, card.id, token)


async def open_payment(app, who: Payer, amount: int = 7000) -> PaymentView:
    service = await app.services.catalogue.service(data.HOT_WATER)
    return await app.services.payments.open(
        user_id=who.user_id, intent_key=uuid.uuid4().hex, service=service, account={"account": "10000002"},
        account_display=[["Account", "10000002"]], amount=amount, card_id=who.card_id)


async def pay(app, who: Payer, amount: int = 7000, outcome: str = "paid") -> PaymentView:
    draft = await open_payment(app, who, amount)
    result = await app.services.payments.start(who.user_id, draft.id, PHONE)
    assert result.outcome == outcome
    return result.payment


def provider_day(provider_clock) -> date:
    """The Tashkent day the emulators' clock (fixed during a test) stamps receipts and transactions with."""
    return datetime.fromtimestamp(provider_clock.now, TASHKENT).date()


async def reconcile_day(app, provider_clock) -> Report:
    services = app.services
    return await reconcile(provider_day(provider_clock), payme=services.payme, paylov=services.paylov,
                           paysys=services.paysys, sessionmaker=services.sessionmaker)


def found(report: Report) -> list[tuple[str, int | None, str | None]]:
    return [(m.kind, m.payment_id, m.receipt_id) for m in report.mismatches]


async def test_a_clean_day_reports_clean(app, paylov, provider_clock, capsys):
    who = await payer(app)
    payments = [await pay(app, who, amount) for amount in (7000, 12_000, 500)]
    # Paid at Paylov by another app (or on the Paylov rail): not ours to reconcile.
    paylov.add_outside_payment("1001", data.HOT_WATER, 5000, datetime.fromtimestamp(provider_clock.now, TASHKENT),
                               "860006******6311", "ALIYEV VALI")

    report = await reconcile_day(app, provider_clock)

    assert report.clean
    assert (report.receipts, report.transactions, report.ledger_rows) == (3, 4, 3)
    assert report.text().splitlines() == [
        (f"Reconciliation {provider_day(provider_clock)} (Tashkent): 3 Payme receipts, 4 Paylov transactions, "
         "3 ledger rows, 0 PaySys payouts, 0 payout rows, 0 mismatches"),
        "clean",
    ]
    assert all(p.state == "paid" for p in payments)
    assert await run_reconcile(app.settings, provider_day(provider_clock)) == 0
    assert capsys.readouterr().out == report.text() + "\n"


async def test_a_charge_without_a_settlement(app, provider_clock, capsys):
    who = await payer(app)
    settled = await pay(app, who)
    draft = await open_payment(app, who, 9000)  # never started: no settlement will ever be made for it
    client = app.services.payme
    # Receipts paid at Payme that our ledger never recorded: one for the draft, a second one for the settled bill.
    lost = await client.receipts_create(900_000, {"payment_id": str(draft.id)})
    await client.receipts_pay(lost.id, who.token)
    second = await client.receipts_create(700_000, {"payment_id": str(settled.id)})
    await client.receipts_pay(second.id, who.token)

    report = await reconcile_day(app, provider_clock)

    assert sorted(found(report)) == sorted([(CHARGED_NOT_SETTLED, draft.id, lost.id),
                                            (CHARGED_NOT_SETTLED, settled.id, second.id)])
    by_receipt = {m.receipt_id: m.detail for m in report.mismatches}
    assert "9 000 sums; no settlement transaction (ledger: draft)" in by_receipt[lost.id]
    assert "a second receipt" in by_receipt[second.id]
    assert await run_reconcile(app.settings, provider_day(provider_clock)) == 1
    out = capsys.readouterr().out
    assert "2 mismatches" in out.splitlines()[0]
    assert out.count("charged_not_settled: ") == 2


async def test_a_settlement_without_a_charge(app, payme, provider_clock):
    who = await payer(app)
    await pay(app, who)
    payment = await pay(app, who)
    client = app.services.payme
    await client.receipts_cancel(payment.receipt_id)  # cancelled at Payme behind the bot's back: 21, then 50
    assert await client.receipts_check(payment.receipt_id) == 50

    report = await reconcile_day(app, provider_clock)

    assert found(report) == [(SETTLED_NOT_CHARGED, payment.id, payment.receipt_id)]
    assert report.mismatches[0].transaction_id == payment.transaction_id
    assert "bill paid 7 000 sums at Paylov; receipt in state 50 (ledger: paid)" in report.mismatches[0].detail
    assert payme.receipt(payment.receipt_id)["state"] == 50


async def test_an_amount_that_differs(app, provider_clock):
    who = await payer(app)
    await pay(app, who)
    payment = await pay(app, who, 7000)
    async with app.services.sessionmaker.begin() as session:
        (await session.get(Payment, payment.id)).amount = 7001

    report = await reconcile_day(app, provider_clock)

    assert found(report) == [(AMOUNT_DIFFERS, payment.id, payment.receipt_id)]
    assert report.mismatches[0].detail == "ledger 7 001 sums; receipt 7 000, Paylov 7 000 sums"


async def test_a_refund_under_way(app, payme, paylov, provider_clock):
    who = await payer(app)
    await pay(app, who)
    payme.cancel_settles_after = 10**6  # Payme keeps the cancel queued (21)
    paylov.add_merchant_card(balance=1)  # the settlement card cannot pay the next bill: the charge is cancelled
    payment = await pay(app, who, outcome="refunding")
    assert payme.receipt(payment.receipt_id)["state"] == 21

    report = await reconcile_day(app, provider_clock)

    assert found(report) == [(REFUND_PENDING, payment.id, payment.receipt_id)]
    assert report.mismatches[0].detail == "receipt 7 000 sums in state 21; ledger: refunding"


async def test_more_than_a_page_of_receipts_is_all_read(app, payme, provider_clock):
    client = app.services.payme
    token = await payme_token(client)
    receipts = [await client.receipts_create(100_000, {"payment_id": str(90_000 + n)}) for n in range(55)]
    await client.receipts_pay(receipts[0].id, token)  # the oldest: listed last, on the second page
    provider_clock.advance(-86_400)
    yesterday = await client.receipts_create(100_000, {"payment_id": "80000"})
    await client.receipts_pay(yesterday.id, token)
    provider_clock.advance(86_400)

    report = await reconcile_day(app, provider_clock)

    assert report.receipts == 55
    assert found(report) == [(CHARGED_NOT_SETTLED, None, receipts[0].id)]
    assert [(c.body["params"]["count"], c.body["params"]["offset"]) for c in payme.calls("receipts.get_all")] == [
        (50, 0), (50, 50)]


async def test_the_command_without_payme_or_with_a_provider_down(make_settings, payme, capsys):
    day = date(2025, 3, 14)
    assert await run_reconcile(make_settings(PAYME_BASE_URL=None, PAYSYS_BASE_URL=None), day) == 2
    assert capsys.readouterr().err == (
        "error: nothing to reconcile: neither Payme (PAYME_BASE_URL, PAYME_MERCHANT_ID, PAYME_KEY) nor PaySys "
        "(PAYSYS_BASE_URL, PAYSYS_SERVICE_ID, PAYSYS_SECRET_KEY) is configured\n")

    await payme.stop()
    assert await run_reconcile(make_settings(), day) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: a provider did not answer: ProviderUnavailable")
    assert captured.err.count("\n") == 1


def reports(operator) -> list[str]:
    return [m.text for m in operator.bot_messages if m.text.startswith("Reconciliation ")]


async def test_the_operator_gets_yesterdays_report_once(app, bot, operator, provider_clock):
    who = await payer(app)
    await pay(app, who)
    payment = await pay(app, who)
    async with app.services.sessionmaker.begin() as session:
        (await session.get(Payment, payment.id)).amount = 6000
    day = provider_day(provider_clock)
    clock = [datetime.combine(day + timedelta(days=1), datetime.min.time(), TASHKENT).replace(hour=5, minute=59)]
    services = app.services
    worker = ReconcileWorker(bot, payme=services.payme, paylov=services.paylov, sessionmaker=services.sessionmaker,
                             chat_id=OPERATOR, hour=6, tick=600, now=lambda: clock[0])

    assert await worker.run_due() is None  # before RECONCILE_HOUR
    clock[0] += timedelta(minutes=1)
    report = await worker.run_due()
    assert found(report) == [(AMOUNT_DIFFERS, payment.id, payment.receipt_id)]
    await operator.wait_for(lambda: len(reports(operator)) == 1)
    assert reports(operator) == [report.text()]
    clock[0] += timedelta(hours=3)
    assert await worker.run_due() is None  # the next pass: already done
    assert len(reports(operator)) == 1
    async with services.sessionmaker() as session:
        rows = (await session.scalars(select(Reconciliation))).all()
    assert [(r.day, r.mismatches) for r in rows] == [(day.isoformat(), 1)]


async def test_the_hooks_run_passes_until_one_gets_through(app, bot, operator, payme, provider_clock):
    services = app.services
    day = provider_day(provider_clock)
    noon_after = datetime.combine(day + timedelta(days=1), datetime.min.time(), TASHKENT).replace(hour=12)
    settings = services.settings.model_copy(update={"OPERATOR_CHAT_ID": OPERATOR, "RECONCILE_TICK": 0.05})
    for _ in range(2):  # the first pass fails: receipts.get_all answers 500 twice (the client resends a read once)
        payme.fail_next("receipts.get_all", "500")

    await start_reconciler(bot, app.dispatcher, settings, payme=services.payme, paylov=services.paylov,
                           sessionmaker=services.sessionmaker, now=lambda: noon_after)
    try:
        await operator.wait_for(lambda: len(reports(operator)) == 1, timeout=10)
    finally:
        await stop_reconciler(app.dispatcher)

    assert len(payme.calls("receipts.get_all")) == 3
    assert reports(operator) == [
        f"Reconciliation {day} (Tashkent): 0 Payme receipts, 0 Paylov transactions, 0 ledger rows, 0 mismatches"
        + "\nclean"]


async def test_the_hooks_stay_off_without_an_operator_chat(app, bot):
    services = app.services
    await start_reconciler(bot, app.dispatcher, services.settings.model_copy(update={"OPERATOR_CHAT_ID": None}),
                           payme=services.payme, paylov=services.paylov, sessionmaker=services.sessionmaker)
    assert app.dispatcher.workflow_data.get("reconcile_worker") is None
    await stop_reconciler(app.dispatcher)


def test_a_long_report_is_split_at_lines():
    lines = [f"amount_differs: payment {n}: " + "x" * 100 for n in range(100)]
    parts = split_message("\n".join(lines), limit=4096)
    assert all(len(part) <= 4096 for part in parts)
    assert "\n".join(parts).splitlines() == lines
    assert split_message("y" * 5000, limit=4096) == ["y" * 4096, "y" * 904]


async def test_the_command_line_prints_the_report_and_exits_1_on_a_mismatch(app, provider_clock):
    """`python -m bot reconcile --date`, as an operator runs it, against the same providers and database."""
    import asyncio
    import os
    import sys

    who = await payer(app)
    draft = await open_payment(app, who, 9000)
    lost = await app.services.payme.receipts_create(900_000, {"payment_id": str(draft.id)})
    await app.services.payme.receipts_pay(lost.id, who.token)
    settings = app.settings
    env = {key: value for key, value in os.environ.items() if not key.isupper() or key in ("PATH", "HOME")}
    env.update({
        "BOT_TOKEN": settings.BOT_TOKEN.get_secret_value(), "PROVIDERS": "live",
        "DATABASE_URL": settings.DATABASE_URL, "PAYLOV_BASE_URL": settings.PAYLOV_BASE_URL,
        "PAYLOV_USERNAME": settings.PAYLOV_USERNAME, "PAYLOV_PASSWORD": settings.PAYLOV_PASSWORD.get_secret_value(),
        "PAYLOV_CONSUMER_KEY": settings.PAYLOV_CONSUMER_KEY,
        "PAYLOV_CONSUMER_SECRET": settings.PAYLOV_CONSUMER_SECRET.get_secret_value(),
        "PAYME_BASE_URL": settings.PAYME_BASE_URL, "PAYME_MERCHANT_ID": settings.PAYME_MERCHANT_ID,
        "PAYME_KEY": settings.PAYME_KEY.get_secret_value(),
    })
    day = provider_day(provider_clock).isoformat()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "reconcile", "--date", day, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 1, err.decode()
    lines = out.decode().splitlines()
    assert lines[0].startswith(f"Reconciliation {day} (Tashkent)") and lines[0].endswith(", 1 mismatch")
    assert any(line.startswith("charged_not_settled: ") and lost.id in line for line in lines[1:])
