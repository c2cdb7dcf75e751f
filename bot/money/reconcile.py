"""Daily reconciliation, for the operator. The Payme rail: every charge (a paid Payme receipt) must have paid its
bill (a paid Paylov settlement transaction) for the same amount, every paid bill must have a charge behind it, and
refunds under way are listed until they finish. The PaySys payout rail: bot.money.reconcile_paysys. Money is lost
silently exactly where these disagree; each rail is compared when its provider is configured.

Plain async code over the provider clients and the ledger, so `python -m bot reconcile` (`bot.runtime.reconcile`)
and the daily worker (`bot.jobs.reconciliation`) share it. It only reads: no provider state changes, no ledger row
is touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.domain.money import format_sums, sums_to_tiyin
from bot.domain.payments import PaymentState
from bot.money.mismatch import Mismatch, tiyin_as_sums
from bot.money.payme import RECEIPT_ACCOUNT_KEY
from bot.money.reconcile_paysys import KINDS as PAYOUT_KINDS
from bot.money.reconcile_paysys import reconcile_payouts
from bot.providers.errors import ProviderRejected
from bot.providers.paylov import PaylovClient
from bot.providers.payme import GET_ALL_MAX, PaymeClient, Receipt, ReceiptState
from bot.providers.paysys import PaysysClient
from bot.services.history import TASHKENT
from bot.storage.models import Payment

CHARGED_NOT_SETTLED = "charged_not_settled"  # the card was charged, the bill not paid: the user paid for nothing
SETTLED_NOT_CHARGED = "settled_not_charged"  # the bill was paid from the settlement card with no charge behind it
AMOUNT_DIFFERS = "amount_differs"
REFUND_PENDING = "refund_pending"  # a cancel is queued at Payme (21) or our ledger waits for one
KINDS = (CHARGED_NOT_SETTLED, SETTLED_NOT_CHARGED, AMOUNT_DIFFERS, REFUND_PENDING, *PAYOUT_KINDS)

_DAY_MS = 86_400_000
_Orphan = tuple[Receipt, int | None, str]  # a receipt no ledger row accounts for, the payment it names, why
_IN_CHUNK = 500  # ids per IN (...) clause: well under SQLite's and PostgreSQL's bound-parameter limits


@dataclass(frozen=True)
class Report:
    """None where the rail's provider is not configured (not compared)."""

    day: date
    mismatches: tuple[Mismatch, ...]
    receipts: int | None = None  # Payme receipts created that day
    transactions: int | None = None  # paid Paylov transactions of that day (both rails, and other apps')
    ledger_rows: int | None = None  # our Payme-rail rows compared
    payouts: int | None = None  # PaySys payouts in that day's statement
    payout_rows: int | None = None  # our PaySys-rail rows compared

    @property
    def clean(self) -> bool:
        return not self.mismatches

    def text(self) -> str:
        count = len(self.mismatches)
        parts = [f"{value} {name}" for value, name in (
            (self.receipts, "Payme receipts"), (self.transactions, "Paylov transactions"),
            (self.ledger_rows, "ledger rows"), (self.payouts, "PaySys payouts"), (self.payout_rows, "payout rows"),
        ) if value is not None]
        header = (f"Reconciliation {self.day.isoformat()} (Tashkent): {', '.join(parts + [''])}"
                  f"{count} mismatch{'' if count == 1 else 'es'}")
        return "\n".join([header, *(m.line() for m in self.mismatches)] if self.mismatches else [header, "clean"])


async def reconcile(day: date, *, payme: PaymeClient | None, paylov: PaylovClient, sessionmaker: async_sessionmaker,
                    paysys: PaysysClient | None = None) -> Report:
    """Compare one Tashkent day on each configured rail. A provider that does not answer raises its ProviderError:
    the caller decides."""
    counts: dict[str, int] = {}
    found: list[Mismatch] = []
    if payme is not None:
        payme_found, counts["receipts"], counts["transactions"], counts["ledger_rows"] = await _payme_rail(
            day, payme, paylov, sessionmaker)
        found += payme_found
    if paysys is not None:
        payout_found, counts["payouts"], counts["payout_rows"] = await reconcile_payouts(
            day, paysys=paysys, sessionmaker=sessionmaker)
        found += payout_found
    found.sort(key=lambda m: (KINDS.index(m.kind), m.payment_id or 0, m.receipt_id or "", m.transaction_id or ""))
    return Report(day, tuple(found), **counts)


async def _payme_rail(day: date, payme: PaymeClient, paylov: PaylovClient,
                      sessionmaker: async_sessionmaker) -> tuple[list[Mismatch], int, int, int]:
    receipts = await day_receipts(payme, day)
    transactions = await paylov.transactions(begin=day, end=day)
    paid = {tx.id: tx.amount for tx in transactions}
    rows = await _ledger_rows(sessionmaker, day, receipts, paid)
    found: list[Mismatch] = []

    matched, orphans = _pair(receipts, rows)
    for payment in rows:
        receipt = matched.get(payment.id)
        settled = paid.get(payment.transaction_id) if payment.transaction_id else None
        if settled is None and receipt is not None and receipt.state == ReceiptState.PAID and payment.transaction_id:
            settled = await _settled_elsewhen(paylov, payment.transaction_id, payment.amount)
        found += await _compare(payme, payment, receipt, settled)
    for receipt, payment_id, why in orphans:
        found += _orphan(receipt, payment_id, why)

    return found, len(receipts), len(transactions), len(rows)


async def day_receipts(payme: PaymeClient, day: date) -> list[Receipt]:
    """Every receipt created on the Tashkent day, page by page until a short page (receipts.get_all gives <= 50)."""
    from_ms = int(datetime.combine(day, time.min, TASHKENT).timestamp() * 1000)
    to_ms = from_ms + _DAY_MS - 1
    seen: dict[str, Receipt] = {}
    offset = 0
    while True:
        page = await payme.receipts_get_all(GET_ALL_MAX, from_ms, to_ms, offset)
        before = len(seen)
        for receipt in page:  # a receipt created meanwhile shifts the pages: the same one may come twice
            seen.setdefault(receipt.id, receipt)
        if len(page) < GET_ALL_MAX or len(seen) == before:  # the end, or a provider repeating itself forever
            return list(seen.values())
        offset += len(page)


async def _ledger_rows(sessionmaker: async_sessionmaker, day: date, receipts: list[Receipt],
                       paid: dict[str, int]) -> list[Payment]:
    """Our Payme-rail rows with a receipt or a settlement of the day, named by a receipt, or created that day."""
    start = datetime.combine(day, time.min, TASHKENT).astimezone(UTC)
    criteria = [
        (Payment.receipt_id, [r.id for r in receipts]),
        (Payment.id, [n for n in (_named_payment(r) for r in receipts) if n is not None]),
        (Payment.transaction_id, list(paid)),
    ]
    rows: dict[int, Payment] = {}
    async with sessionmaker() as session:
        created = await session.scalars(select(Payment).where(
            Payment.rail == "payme", Payment.created_at >= start, Payment.created_at < start + timedelta(days=1)))
        rows.update((p.id, p) for p in created)
        for column, values in criteria:
            for at in range(0, len(values), _IN_CHUNK):
                chunk = values[at:at + _IN_CHUNK]
                found = await session.scalars(select(Payment).where(Payment.rail == "payme", column.in_(chunk)))
                rows.update((p.id, p) for p in found)
    return [rows[key] for key in sorted(rows)]


def _pair(receipts: list[Receipt], rows: list[Payment]) -> tuple[dict[int, Receipt], list[_Orphan]]:
    """Receipt -> payment by our recorded receipt id, else by the payment id the receipt's account names (a row
    whose receipts.create answer was lost). A receipt naming a payment that already has another receipt is a second
    charge for one bill, so it stays unpaired: an orphan, with the reason why."""
    by_receipt = {p.receipt_id: p for p in rows if p.receipt_id}
    by_id = {p.id: p for p in rows}
    matched: dict[int, Receipt] = {}
    orphans: list[_Orphan] = []
    for receipt in receipts:
        payment = by_receipt.get(receipt.id)
        named = _named_payment(receipt)
        if payment is None and named in by_id and by_id[named].receipt_id in (None, receipt.id):
            payment = by_id[named]
        if payment is not None and payment.id not in matched:
            matched[payment.id] = receipt
        elif named is None:
            orphans.append((receipt, None, "no ledger row has it and it names no payment"))
        elif named in by_id:
            orphans.append((receipt, named, "a second receipt: another one accounts for this payment"))
        else:
            orphans.append((receipt, None, f"it names payment {named}, which is not in our Payme-rail ledger"))
    return matched, orphans


async def _compare(payme: PaymeClient, payment: Payment, receipt: Receipt | None,
                   settled: int | None) -> list[Mismatch]:
    """`receipt`: the payment's receipt of the day, if any; `settled`: the amount of its paid Paylov transaction."""
    ids = (payment.id, (receipt.id if receipt else payment.receipt_id), payment.transaction_id)
    found: list[Mismatch] = []
    if receipt is not None and receipt.state == ReceiptState.PAID and settled is None:
        why = "no settlement transaction" if not payment.transaction_id else "its settlement is not paid at Paylov"
        found.append(Mismatch(CHARGED_NOT_SETTLED, *ids,
                              f"receipt paid {tiyin_as_sums(receipt.amount)} sums; {why} (ledger: {payment.state})"))
    if settled is not None:
        charge = receipt
        if charge is None and payment.receipt_id:  # the charge fell on another day (just before midnight)
            charge = await _receipt(payme, payment.receipt_id)
        if charge is None or charge.state != ReceiptState.PAID:
            shown = "no receipt at Payme" if charge is None else f"receipt in state {charge.state}"
            detail = f"bill paid {format_sums(settled)} sums at Paylov; {shown} (ledger: {payment.state})"
            found.append(Mismatch(SETTLED_NOT_CHARGED, *ids, detail))
    differs = []
    if receipt is not None and receipt.amount != sums_to_tiyin(payment.amount):
        differs.append(f"receipt {tiyin_as_sums(receipt.amount)}")
    if settled is not None and settled != payment.amount:
        differs.append(f"Paylov {format_sums(settled)}")
    if differs:
        found.append(Mismatch(AMOUNT_DIFFERS, *ids,
                              f"ledger {format_sums(payment.amount)} sums; {', '.join(differs)} sums"))
    queued = receipt is not None and receipt.state == ReceiptState.CANCEL_QUEUED
    if queued or payment.state == PaymentState.refunding.value:
        shown = f"receipt {tiyin_as_sums(receipt.amount)} sums in state {receipt.state}" if receipt else "no receipt that day"
        found.append(Mismatch(REFUND_PENDING, *ids, f"{shown}; ledger: {payment.state}"))
    return found


def _orphan(receipt: Receipt, payment_id: int | None, why: str) -> list[Mismatch]:
    """A receipt no ledger row accounts for: only money that moved (or is moving back) matters."""
    if receipt.state == ReceiptState.PAID:
        return [Mismatch(CHARGED_NOT_SETTLED, payment_id, receipt.id, None,
                         f"receipt paid {tiyin_as_sums(receipt.amount)} sums; {why}")]
    if receipt.state == ReceiptState.CANCEL_QUEUED:
        return [Mismatch(REFUND_PENDING, payment_id, receipt.id, None,
                         f"receipt {tiyin_as_sums(receipt.amount)} sums in state 21; {why}")]
    return []


async def _settled_elsewhen(paylov: PaylovClient, transaction_id: str, ledger_amount: int) -> int | None:
    """A settlement missing from the day's list may have been paid on another day (a charge just before midnight):
    its status decides. The amount paid, or None."""
    try:
        status = await paylov.transaction_status(transaction_id)
    except ProviderRejected:  # Paylov does not know it: not paid
        return None
    if status.status != "paid":
        return None
    return status.amount if status.amount is not None else ledger_amount


async def _receipt(payme: PaymeClient, receipt_id: str) -> Receipt | None:
    try:
        return await payme.receipts_get(receipt_id)
    except ProviderRejected:  # Payme does not know it
        return None


def _named_payment(receipt: Receipt) -> int | None:
    for item in receipt.account:
        if item.name == RECEIPT_ACCOUNT_KEY:
            try:
                return int(str(item.value))
            except ValueError:
                return None
    return None
