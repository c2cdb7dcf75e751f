"""Paying a bill with a card saved at Payme: a Payme receipt charges the user's card, then the bill is paid at
Paylov with the merchant's settlement card; if the bill cannot be paid, the receipt is cancelled (a refund).

Every step commits the payment's state before its provider call. An unclear answer is settled by asking
(receipts.check, transaction/status), never by sending a charge again: receipts.pay is sent once per payment, and
Paylov's pay again only when the first one never left (a connect failure).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.domain.money import sums_to_tiyin
from bot.domain.payments import PaymentState as S
from bot.providers.errors import (
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
)
from bot.providers.paylov import PaylovClient
from bot.providers.payme import PaymeClient, ReceiptState
from bot.services.ledger import (
    CheckSchedule,
    Ledger,
    PaymentView,
    PayResult,
    aware,
    with_message,
)
from bot.storage.models import Payment

logger = logging.getLogger(__name__)

TASHKENT_OFFSET = timedelta(hours=5)
RECEIPT_ACCOUNT_KEY = "payment_id"  # the receipt's `account` names our payment, for support and reconciliation
# receipts.cancel on a receipt whose state moved on (guess shared with the emulator: seeds do not name it).
RECEIPT_STATE_REFUSED = "-31601"


class PaymeRail:
    def __init__(self, sessionmaker, ledger: Ledger, payme: PaymeClient, paylov: PaylovClient, *,
                 settlement_card_id: str, schedule: CheckSchedule, now: Callable[[], datetime]) -> None:
        self._sessions = sessionmaker
        self._ledger = ledger
        self._payme = payme
        self._paylov = paylov
        self._settlement_card = settlement_card_id
        self._schedule = schedule
        self._now = now

    # ---- the user's charge -----------------------------------------------------------------------------------------

    async def charge(self, payment_id: int, phone: str | None) -> PayResult:
        """receipts.create, then receipts.pay with the card's token; on a paid receipt, settle the bill."""
        async with self._sessions() as session:
            payment = await session.get(Payment, payment_id)
            token, amount = payment.provider_card_id, payment.amount
            description = _description(payment)
        try:
            receipt = await self._payme.receipts_create(
                sums_to_tiyin(amount), {RECEIPT_ACCOUNT_KEY: str(payment_id)}, description)
        except ProviderRejected as error:
            view = await self._ledger.move(payment_id, S.failed, f"receipts.create: {error.code}",
                                           error_code=error.code)
            return PayResult("failed", with_message(view, error.message))
        except ProviderError as error:  # an unpaid receipt, if one was made, charges nothing
            view = await self._ledger.move(payment_id, S.failed, f"receipts.create: {type(error).__name__}",
                                           error_code="provider_unavailable")
            return PayResult("failed", view)
        await self._ledger.move(payment_id, S.charging, f"receipt {receipt.id}; receipts.pay sent",
                                receipt_id=receipt.id, receipt_state=receipt.state)
        try:
            paid = await self._payme.receipts_pay(receipt.id, token, payme_phone(phone))
        except ProviderRejected as error:
            await self._cancel_unpaid(receipt.id)
            view = await self._ledger.move(payment_id, S.failed, f"receipts.pay: {error.code}", error_code=error.code)
            return PayResult("failed", with_message(view, error.message))
        except ProviderUnavailable:
            await self._cancel_unpaid(receipt.id)
            view = await self._ledger.move(payment_id, S.failed, "receipts.pay: Payme unreachable",
                                           error_code="provider_unavailable")
            return PayResult("failed", view)
        except ProviderOutcomeUnknown as error:
            await self._ledger.move(payment_id, S.unknown, f"receipts.pay: {type(error).__name__}")
            return await self._resolve_charge(payment_id)
        if paid.state != ReceiptState.PAID:
            await self._ledger.move(payment_id, S.unknown, f"receipts.pay: state {paid.state}",
                                    receipt_state=paid.state)
            return await self._resolve_charge(payment_id)
        await self._charged(payment_id, paid.state, paid.pay_time, "receipts.pay: paid")
        return await self._settle(payment_id)

    async def _cancel_unpaid(self, receipt_id: str) -> None:
        """Tidy: an unpaid receipt is cancelled so that nothing can ever pay it. Its failure changes nothing."""
        try:
            await self._payme.receipts_cancel(receipt_id)
        except ProviderError as error:
            logger.info("receipt %s left unpaid, not cancelled: %s", receipt_id, type(error).__name__)

    async def _charged(self, payment_id: int, state: int, pay_time: int, detail: str) -> None:
        await self._ledger.move(payment_id, S.charged, detail, receipt_state=state, charged_at=_tashkent(pay_time),
                                next_check_at=None)

    # ---- the worker's questions --------------------------------------------------------------------------------------

    async def check(self, payment_id: int) -> PayResult | None:
        """One step toward a final state for a payment of this rail; None when it is not waiting on anything."""
        payment = await self._ledger.get(payment_id)
        if payment.state in (S.charging, S.unknown):
            if payment.state == S.charging:
                await self._ledger.move(payment_id, S.unknown, "receipts.pay outcome not recorded; asking Payme")
            return await self._resolve_charge(payment_id)
        if payment.state == S.charged:
            return await self._settle(payment_id)
        if payment.state == S.settling:
            return await self._settlement_status(payment_id)
        if payment.state == S.refunding:
            return await self._refund_status(payment_id, told=False)
        return None

    async def _resolve_charge(self, payment_id: int) -> PayResult:
        """After receipts.pay without a clear answer, Payme's own receipt decides."""
        payment = await self._ledger.get(payment_id)
        try:
            receipt = await self._payme.receipts_get(payment.receipt_id)
        except ProviderError as error:
            return await self._wait(payment_id, f"receipts.get: {type(error).__name__}")
        if receipt.state == ReceiptState.PAID:
            await self._charged(payment_id, receipt.state, receipt.pay_time, "receipts.get: paid")
            return await self._settle(payment_id)
        if receipt.state == ReceiptState.CANCELLED:
            view = await self._ledger.move(payment_id, S.failed, "receipts.get: cancelled; not charged",
                                           receipt_state=receipt.state, error_code="cancelled", next_check_at=None)
            return PayResult("failed", view)
        if receipt.state == ReceiptState.CREATED:
            # Not paid now; cancelling it makes sure it never will be, and the answer says which came first.
            try:
                cancelled = await self._payme.receipts_cancel(payment.receipt_id)
            except ProviderError as error:
                return await self._wait(payment_id, f"receipts.cancel: {getattr(error, 'code', type(error).__name__)}")
            if cancelled.state == ReceiptState.CANCELLED:
                view = await self._ledger.move(payment_id, S.failed, "receipt unpaid; cancelled: not charged",
                                               receipt_state=cancelled.state, error_code="not_charged",
                                               next_check_at=None)
                return PayResult("failed", view)
            return await self._wait(payment_id, f"receipts.cancel: state {cancelled.state}")
        return await self._wait(payment_id, f"receipts.get: state {receipt.state}", receipt_state=receipt.state)

    # ---- the bill's settlement at Paylov -----------------------------------------------------------------------------

    async def _settle(self, payment_id: int) -> PayResult:
        """servicePayment/create without a card, then pay with the merchant's settlement card (no SMS code)."""
        async with self._sessions() as session:
            payment = await session.get(Payment, payment_id)
            request = (payment.service_id, dict(payment.account), payment.amount, str(payment.user_id))
            transaction_id = payment.transaction_id
        service_id, account, amount, user_id = request
        if transaction_id is None:
            try:
                created = await self._paylov.create_payment(service_id, account, amount, user_id, None, None)
            except ProviderRejected as error:
                return await self._refund(payment_id, error.code, error.message)
            except ProviderError as error:
                return await self._wait(payment_id, f"settlement create: {type(error).__name__}", outcome="settling",
                                        refund_at_end=True)
            transaction_id = created.transaction_id
            await self._ledger.note(payment_id, f"settlement transaction {transaction_id}",
                                    transaction_id=transaction_id)
        await self._ledger.move(payment_id, S.settling, "settlement pay sent")
        try:
            paid = await self._paylov.pay(transaction_id, self._settlement_card, user_id, None)
        except ProviderRejected as error:
            if error.code == "transaction_already_payed":
                return await self._settlement_status(payment_id)
            return await self._refund(payment_id, error.code, error.message)
        except ProviderUnavailable:
            await self._ledger.move(payment_id, S.charged, "settlement pay: Paylov unreachable")
            return await self._wait(payment_id, "settlement pay never arrived", outcome="settling", refund_at_end=True)
        except ProviderOutcomeUnknown as error:
            await self._ledger.note(payment_id, f"settlement pay: {type(error).__name__}")
            return await self._settlement_status(payment_id)
        view = await self._ledger.move(
            payment_id, S.paid, f"settled; paymentRef {paid.payment_ref}", payment_ref=paid.payment_ref,
            epos_merchant=paid.epos_merchant, epos_terminal=paid.epos_terminal, paid_at=paid.payed_at,
            next_check_at=None)
        return PayResult("paid", view)

    async def _settlement_status(self, payment_id: int) -> PayResult:
        payment = await self._ledger.get(payment_id)
        try:
            status = await self._paylov.transaction_status(payment.transaction_id)
        except ProviderError as error:
            return await self._wait(payment_id, f"settlement status: {type(error).__name__}", outcome="settling")
        if status.status == "paid":
            view = await self._ledger.move(payment_id, S.paid, "settlement status: paid", paid_at=status.payed_at,
                                           next_check_at=None)
            return PayResult("paid", view)
        if status.status == "cancelled":
            return await self._refund(payment_id, "settlement_cancelled", None)
        # Not paid yet is no proof it never will be: keep asking; at the end a person looks (never a guess).
        return await self._wait(payment_id, f"settlement status: {status.status}", outcome="settling")

    # ---- the refund ----------------------------------------------------------------------------------------------

    async def _refund(self, payment_id: int, reason: str, message: str | None) -> PayResult:
        """The bill cannot be paid: cancel the paid receipt; Payme returns the money (21 -> 50)."""
        await self._ledger.move(payment_id, S.refunding, f"settlement failed: {reason}; receipts.cancel sent",
                                error_code=reason[:64], next_check_at=None, status_checks=0)
        result = await self._send_cancel(payment_id)
        return PayResult(result.outcome, with_message(result.payment, message), result.tries_left)

    async def _send_cancel(self, payment_id: int) -> PayResult:
        payment = await self._ledger.get(payment_id)
        try:
            receipt = await self._payme.receipts_cancel(payment.receipt_id)
        except ProviderRejected as error:
            if error.code != RECEIPT_STATE_REFUSED:  # already queued or cancelled: its state tells
                logger.warning("receipts.cancel of payment %s refused: %s", payment_id, error.code)
            return await self._refund_status(payment_id, told=True)
        except ProviderError as error:
            view = await self._ledger.note(payment_id, f"receipts.cancel: {type(error).__name__}")
            return await self._wait(payment_id, "receipts.cancel to be sent again", outcome="refunding",
                                    current=view)
        await self._ledger.note(payment_id, f"receipts.cancel: state {receipt.state}", receipt_state=receipt.state)
        return await self._refund_status(payment_id, told=True)

    async def _refund_status(self, payment_id: int, *, told: bool) -> PayResult:
        """`told`: the caller reports this result to the user, so a refund still on its way is news too."""
        payment = await self._ledger.get(payment_id)
        try:
            state = await self._payme.receipts_check(payment.receipt_id)
        except ProviderError as error:
            return await self._wait(payment_id, f"receipts.check: {type(error).__name__}",
                                    outcome="refunding" if told else "unknown")
        if state == ReceiptState.CANCELLED:
            view = await self._ledger.move(payment_id, S.refunded, "receipt cancelled: refunded", receipt_state=state,
                                           next_check_at=None)
            return PayResult("refunded", view)
        if state == ReceiptState.PAID:  # the cancel did not register: ask again (a receipt refunds only once)
            return await self._send_cancel(payment_id) if told else await self._resend_cancel(payment_id)
        return await self._wait(payment_id, f"receipts.check: state {state}", receipt_state=state,
                                outcome="refunding" if told else "unknown")

    async def _resend_cancel(self, payment_id: int) -> PayResult:
        result = await self._send_cancel(payment_id)
        return result if result.outcome == "refunded" else PayResult("unknown", result.payment)

    # ---- waiting -------------------------------------------------------------------------------------------------

    async def _wait(self, payment_id: int, detail: str, *, outcome: str = "unknown", refund_at_end: bool = False,
                    current: PaymentView | None = None, **values) -> PayResult:
        """Ask again later on the schedule. At the end: an unsettled charge with no Paylov pay sent is refunded;
        anything else but a refund is left to a person (gave_up), because its outcome is not known."""
        async with self._sessions() as session:
            payment = await session.get(Payment, payment_id)
            started, checks = aware(payment.created_at), payment.status_checks
            refunding = payment.state == S.refunding.value
        now = self._now()
        # A refund is followed to the end (Payme finishes every queued cancel); reconciliation lists it meanwhile.
        if not refunding and now - started >= timedelta(seconds=self._schedule.give_up_after):
            if refund_at_end:
                return await self._refund(payment_id, "settlement_not_possible", None)
            view = await self._ledger.note(payment_id, f"{detail}; gave up", status_checks=checks + 1,
                                           next_check_at=None, gave_up_at=now, **values)
            return PayResult("gave_up", view)
        intervals = self._schedule.intervals
        wait = intervals[min(checks, len(intervals) - 1)]
        view = await self._ledger.note(payment_id, detail, status_checks=checks + 1,
                                       next_check_at=now + timedelta(seconds=wait), **values)
        return PayResult(outcome, view)  # type: ignore[arg-type]


def _description(payment: Payment) -> str:
    shown = ", ".join(f"{label}: {value}" for label, value in payment.account_display)
    return f"{payment.service_name} — {shown}" if shown else payment.service_name


def payme_phone(phone: str | None) -> str | None:
    """Payme writes phones as digits only (998901234567); ours are stored as +998901234567."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return digits or None


def _tashkent(ms: int) -> str | None:
    if not ms:
        return None
    return (datetime.fromtimestamp(ms / 1000, UTC) + TASHKENT_OFFSET).strftime("%Y-%m-%d %H:%M:%S")
