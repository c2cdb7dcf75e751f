"""Daily reconciliation of the PaySys payout rail: `cash2card.statement` for one Tashkent day against our
`paysys` rows. A payout PaySys has and we do not, one of ours it lacks, an amount or status that differs, and a
payout reversed after completion are each a line for the operator. Like bot.money.reconcile it only reads.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.domain.money import format_sums, sums_to_tiyin
from bot.domain.payments import PaymentState, Rail
from bot.domain.payouts import status_agrees
from bot.money.mismatch import Mismatch, tiyin_as_sums
from bot.providers.errors import ProviderRejected
from bot.providers.paysys import PaysysClient, tashkent_day
from bot.providers.paysys_models import StatementRow
from bot.services.history import TASHKENT
from bot.storage.models import Payment

PAYOUT_NOT_OURS = "payout_not_ours"  # PaySys sent money we have no row for
PAYOUT_MISSING = "payout_missing"  # our row says PaySys has it; PaySys does not
PAYOUT_AMOUNT_DIFFERS = "payout_amount_differs"
PAYOUT_STATUS_DIFFERS = "payout_status_differs"
PAYOUT_REVERSED = "payout_reversed"  # completed, then came back (status 3): the user did not get it
KINDS = (PAYOUT_NOT_OURS, PAYOUT_MISSING, PAYOUT_AMOUNT_DIFFERS, PAYOUT_STATUS_DIFFERS, PAYOUT_REVERSED)

STATUS_NAMES = {0: "created", 1: "completed", 2: "cancelled", 3: "reversed", -1: "error"}
# Our rows PaySys must know: it answered prepare (a transaction id), or we hold the payout as sent.
_KNOWN_THERE = (PaymentState.paid.value, PaymentState.reversed.value)
_IN_CHUNK = 500


async def reconcile_payouts(day: date, *, paysys: PaysysClient,
                            sessionmaker: async_sessionmaker) -> tuple[list[Mismatch], int, int]:
    """(mismatches, payouts in the statement, our rows compared). A provider that does not answer raises."""
    statement = await paysys.statement(*tashkent_day(day))
    theirs = {row.partner_transaction_id: row for row in statement}
    ours = await _rows(sessionmaker, day, list(theirs))
    found: list[Mismatch] = []
    for partner_id, row in theirs.items():
        payment = ours.get(partner_id)
        if payment is None:
            found.append(_mismatch(PAYOUT_NOT_OURS, None, row,
                                   f"{tiyin_as_sums(row.amount)} sums to {row.recipient_card_number}, status "
                                   f"{_status(row.status)}; no payout of ours has id {partner_id}"))
            continue
        found += _compare(payment, row)
    for partner_id, payment in ours.items():
        if partner_id in theirs or not (payment.transaction_id or payment.state in _KNOWN_THERE):
            continue
        if await _known_on_another_day(paysys, partner_id):
            continue  # created there just across midnight: that day's statement has it
        found.append(Mismatch(PAYOUT_MISSING, payment.id, None, payment.transaction_id,
                              f"payout {partner_id} of {format_sums(payment.amount)} sums (ledger: {payment.state}) "
                              f"is not in PaySys's statement and check_remittance does not know it"))
    found.sort(key=lambda m: (KINDS.index(m.kind), m.payment_id or 0, m.transaction_id or ""))
    return found, len(statement), len(ours)


def _compare(payment: Payment, row: StatementRow) -> list[Mismatch]:
    found = []
    if row.amount != sums_to_tiyin(payment.amount):
        found.append(_mismatch(PAYOUT_AMOUNT_DIFFERS, payment, row,
                               f"ledger {format_sums(payment.amount)} sums; PaySys {tiyin_as_sums(row.amount)} sums"))
    if row.status == 3:
        found.append(_mismatch(PAYOUT_REVERSED, payment, row,
                               f"{tiyin_as_sums(row.amount)} sums to {row.recipient_card_number} came back after "
                               f"completion (ledger: {payment.state})"))
    elif not status_agrees(int(row.status), payment.state):
        found.append(_mismatch(PAYOUT_STATUS_DIFFERS, payment, row,
                               f"PaySys: {_status(row.status)}; ledger: {payment.state}"))
    return found


def _mismatch(kind: str, payment: Payment | None, row: StatementRow, detail: str) -> Mismatch:
    return Mismatch(kind, payment.id if payment is not None else None, None, str(row.transaction_id), detail)


async def _rows(sessionmaker: async_sessionmaker, day: date, partner_ids: list[int]) -> dict[int, Payment]:
    """Our payouts created that Tashkent day, and any the statement names (our clock may put them a day off)."""
    start = datetime.combine(day, time.min, TASHKENT).astimezone(UTC)
    rows: dict[int, Payment] = {}
    paysys = Payment.rail == Rail.paysys.value
    async with sessionmaker() as session:
        created = await session.scalars(select(Payment).where(
            paysys, Payment.partner_id.is_not(None),
            Payment.created_at >= start, Payment.created_at < start + timedelta(days=1)))
        rows.update((p.partner_id, p) for p in created)
        for at in range(0, len(partner_ids), _IN_CHUNK):
            named = await session.scalars(select(Payment).where(
                paysys, Payment.partner_id.in_(partner_ids[at:at + _IN_CHUNK])))
            rows.update((p.partner_id, p) for p in named)
    return rows


async def _known_on_another_day(paysys: PaysysClient, partner_id: int) -> bool:
    try:
        await paysys.check_remittance(partner_id)
    except ProviderRejected:  # PaySys does not know it
        return False
    return True


def _status(status: int) -> str:
    return f"{int(status)} ({STATUS_NAMES.get(int(status), 'undocumented')})"
