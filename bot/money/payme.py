"""The Payme rail: a Payme receipt charges the user's card (its token), then the bill is paid at Paylov with the
merchant's settlement card; a bill that cannot be paid is refunded by cancelling the receipt.

Every call is made by the holder of the row's claim. An unclear answer is settled by asking (receipts.get,
transaction/status, receipts.check), never by charging again: receipts.pay is sent once per payment, and Paylov's
pay again only when the first one provably never arrived (a connect failure, a 429). Refund attempts are counted
and spread over the schedule; past the limit a person is told, and the refund is still followed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.domain.money import sums_to_tiyin
from bot.domain.payments import PaymentState as S
from bot.domain.payments import Rail, paylov_pay_not_charged, payme_pay_not_charged
from bot.money.ledger import CheckSchedule, Ledger, Outcome, PaymentView, PayResult, outcome_of, with_message
from bot.providers.errors import ProviderError, ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable
from bot.providers.paylov import PaylovClient
from bot.providers.payme import PaymeClient, ReceiptState

logger = logging.getLogger(__name__)

TASHKENT_OFFSET = timedelta(hours=5)
RECEIPT_ACCOUNT_KEY = "payment_id"  # the receipt's `account` names our payment, for support and reconciliation


class PaymeRail:
    rail = Rail.payme

    def __init__(self, ledger: Ledger, payme: PaymeClient, paylov: PaylovClient, *, settlement_card_id: str,
                 schedule: CheckSchedule, now: Callable[[], datetime]) -> None:
        self._ledger = ledger
        self._payme = payme
        self._paylov = paylov
        self._settlement_card = settlement_card_id
        self._schedule = schedule
        self._now = now

    # ---- the user's charge -----------------------------------------------------------------------------------------

    async def charge(self, payment: PaymentView, phone: str | None) -> PayResult:
        """receipts.create, then receipts.pay with the card's token; on a paid receipt, settle the bill."""
        claimed = await self._ledger.claim(payment, S.draft, S.charging, "receipts.create sent")
        if claimed is None:  # a second Confirm, or another hand: say what the payment is
            current = await self._ledger.get(payment.id)
            return PayResult(outcome_of(current), current)
        try:
            receipt = await self._payme.receipts_create(
                sums_to_tiyin(claimed.amount), {RECEIPT_ACCOUNT_KEY: str(claimed.id)}, _description(claimed))
        except ProviderRejected as error:
            view = await self._ledger.move(claimed, S.failed, f"receipts.create: {error.code}", tell="failed",
                                           error_code=error.code)
            return PayResult("failed", with_message(view, error.message))
        except ProviderError as error:  # an unpaid receipt, if one was made, charges nothing: we never pay it
            view = await self._ledger.move(claimed, S.failed, f"receipts.create: {type(error).__name__}", tell="failed",
                                           error_code="provider_unavailable")
            return PayResult("failed", view)
        payment = await self._ledger.note(claimed, f"receipt {receipt.id}; receipts.pay sent", receipt_id=receipt.id,
                                          receipt_state=receipt.state)
        try:
            paid = await self._payme.receipts_pay(receipt.id, payment.provider_card_id, payme_phone(phone))
        except ProviderRejected as error:
            if not payme_pay_not_charged(error.code):  # a system error may have debited the card: ask Payme
                unknown = await self._ledger.move(payment, S.unknown, f"receipts.pay: {error.code}", keep=True)
                return await self._resolve_charge(unknown)
            await self._cancel_unpaid(receipt.id)
            view = await self._ledger.move(payment, S.failed, f"receipts.pay: {error.code}", tell="failed",
                                           error_code=error.code)
            return PayResult("failed", with_message(view, error.message))
        except ProviderUnavailable as error:
            await self._cancel_unpaid(receipt.id)
            view = await self._ledger.move(payment, S.failed, f"receipts.pay: {type(error).__name__}; not charged",
                                           tell="failed",
                                           error_code="provider_unavailable")
            return PayResult("failed", view)
        except ProviderOutcomeUnknown as error:
            unknown = await self._ledger.move(payment, S.unknown, f"receipts.pay: {type(error).__name__}", keep=True)
            return await self._resolve_charge(unknown)
        if paid.state != ReceiptState.PAID:
            unknown = await self._ledger.move(payment, S.unknown, f"receipts.pay: state {paid.state}", keep=True,
                                              receipt_state=paid.state)
            return await self._resolve_charge(unknown)
        charged = await self._charged(payment, paid.state, paid.pay_time, "receipts.pay: paid")
        return await self._settle(charged)

    async def _cancel_unpaid(self, receipt_id: str) -> None:
        """Tidy: an unpaid receipt is cancelled so that nothing can ever pay it. Its failure changes nothing."""
        try:
            await self._payme.receipts_cancel(receipt_id)
        except ProviderError as error:
            logger.info("receipt %s left unpaid, not cancelled: %s", receipt_id, type(error).__name__)

    async def _charged(self, payment: PaymentView, state: int, pay_time: int, detail: str) -> PaymentView:
        return await self._ledger.move(payment, S.charged, detail, keep=True, receipt_state=state,
                                       charged_at=_tashkent(pay_time), next_check_at=None, status_checks=0)

    # ---- what the runner does with a claimed row -------------------------------------------------------------------

    async def resolve(self, payment: PaymentView) -> PayResult:
        """A row claimed by the runner: its holder died mid-call, or its next check is due."""
        if payment.state == S.charging:
            if payment.receipt_id is None:  # receipts.pay is sent only after the receipt is recorded
                view = await self._ledger.move(payment, S.failed,
                                               "receipts.create outcome not recorded; not charged", tell="failed",
                                               error_code="provider_unavailable")
                return PayResult("failed", view)
            payment = await self._ledger.move(payment, S.unknown, "receipts.pay outcome not recorded; asking Payme",
                                              keep=True)
        if payment.state == S.unknown:
            return await self._resolve_charge(payment)
        if payment.state == S.charged:
            return await self._settle(payment)
        if payment.state == S.settling:
            if payment.transaction_id is None:  # Paylov's pay is sent only after its transaction is recorded
                charged = await self._ledger.move(payment, S.charged, "settlement create outcome not recorded",
                                                  keep=True)
                return await self._settle(charged)
            return await self._settlement_status(payment)
        if payment.state == S.refunding:
            return await self._follow_refund(payment)
        await self._ledger.note(payment, f"nothing to do in {payment.state.value}", keep=False)
        return PayResult(outcome_of(payment), payment)

    async def _resolve_charge(self, payment: PaymentView) -> PayResult:
        """After receipts.pay without a clear answer, Payme's own receipt decides."""
        try:
            receipt = await self._payme.receipts_get(payment.receipt_id)
        except ProviderError as error:
            return await self._wait(payment, f"receipts.get: {type(error).__name__}")
        if receipt.state == ReceiptState.PAID:
            charged = await self._charged(payment, receipt.state, receipt.pay_time, "receipts.get: paid")
            return await self._settle(charged)
        if receipt.state == ReceiptState.CANCELLED:
            view = await self._ledger.move(payment, S.failed, "receipts.get: cancelled; not charged", tell="failed",
                                           receipt_state=receipt.state, error_code="cancelled", next_check_at=None)
            return PayResult("failed", view)
        if receipt.state == ReceiptState.CREATED:
            # Not paid now; cancelling it makes sure it never will be, and the answer says which came first.
            try:
                cancelled = await self._payme.receipts_cancel(payment.receipt_id)
            except ProviderError as error:
                return await self._wait(payment, f"receipts.cancel: {getattr(error, 'code', type(error).__name__)}")
            if cancelled.state == ReceiptState.CANCELLED:
                view = await self._ledger.move(payment, S.failed, "receipt unpaid; cancelled: not charged",
                                               tell="failed",
                                               receipt_state=cancelled.state, error_code="not_charged",
                                               next_check_at=None)
                return PayResult("failed", view)
            return await self._wait(payment, f"receipts.cancel: state {cancelled.state}")
        return await self._wait(payment, f"receipts.get: state {receipt.state}", receipt_state=receipt.state)

    # ---- the bill's settlement at Paylov -----------------------------------------------------------------------------

    async def _settle(self, payment: PaymentView) -> PayResult:
        """servicePayment/create without a card, then pay with the merchant's settlement card (no SMS code)."""
        payment = await self._ledger.move(payment, S.settling, "settlement sent", keep=True)
        if payment.transaction_id is None:
            try:
                created = await self._paylov.create_payment(payment.service_id, payment.account, payment.amount,
                                                            str(payment.user_id), None, None)
            except ProviderRejected as error:
                return await self._refund(payment, error.code, error.message)
            except ProviderError as error:
                charged = await self._ledger.move(payment, S.charged, f"settlement create: {type(error).__name__}",
                                                  keep=True)
                return await self._wait(charged, "settlement create to be sent again", outcome="settling",
                                        refund_at_end=True)
            payment = await self._ledger.note(payment, f"settlement transaction {created.transaction_id}",
                                              transaction_id=created.transaction_id)
        try:
            paid = await self._paylov.pay(payment.transaction_id, self._settlement_card, str(payment.user_id), None)
        except ProviderRejected as error:
            if paylov_pay_not_charged(error.code):
                return await self._refund(payment, error.code, error.message)
            noted = await self._ledger.note(payment, f"settlement pay: {error.code}; asking status")
            return await self._settlement_status(noted)
        except ProviderUnavailable as error:  # never arrived, or refused before any work (429): pay again later
            charged = await self._ledger.move(payment, S.charged, f"settlement pay: {type(error).__name__}",
                                              keep=True)
            return await self._wait(charged, "settlement pay to be sent again", outcome="settling",
                                    refund_at_end=True)
        except ProviderOutcomeUnknown as error:
            noted = await self._ledger.note(payment, f"settlement pay: {type(error).__name__}")
            return await self._settlement_status(noted)
        view = await self._ledger.move(
            payment, S.paid, f"settled; paymentRef {paid.payment_ref}", tell="paid", payment_ref=paid.payment_ref,
            epos_merchant=paid.epos_merchant, epos_terminal=paid.epos_terminal, paid_at=paid.payed_at,
            next_check_at=None)
        return PayResult("paid", view)

    async def _settlement_status(self, payment: PaymentView) -> PayResult:
        try:
            status = await self._paylov.transaction_status(payment.transaction_id)
        except ProviderError as error:
            return await self._wait(payment, f"settlement status: {type(error).__name__}", outcome="settling")
        if status.status == "paid":
            view = await self._ledger.move(payment, S.paid, "settlement status: paid", tell="paid",
                                           paid_at=status.payed_at,
                                           next_check_at=None)
            return PayResult("paid", view)
        if status.status == "cancelled":
            return await self._refund(payment, "settlement_cancelled", None)
        # `created`: our pay is not sent again on this transaction (the claim guarantees it), so a transaction still
        # unpaid at the end is a bill we will not pay: refund then. Anything else unclear goes to a person.
        return await self._wait(payment, f"settlement status: {status.status}", outcome="settling",
                                refund_at_end=status.status == "created")

    # ---- the refund ----------------------------------------------------------------------------------------------

    async def _refund(self, payment: PaymentView, reason: str, message: str | None) -> PayResult:
        """The bill cannot be paid: cancel the paid receipt; Payme returns the money (21 -> 50)."""
        refunding = await self._ledger.move(payment, S.refunding, f"settlement failed: {reason}", tell="refunding",
                                            keep=True,
                                            error_code=reason[:64], next_check_at=None, status_checks=0,
                                            refund_attempts=0)
        result = await self._send_cancel(refunding, told=True)
        return PayResult(result.outcome, with_message(result.payment, message), result.tries_left)

    async def _follow_refund(self, payment: PaymentView) -> PayResult:
        """One look per pass: the receipt's state, and at most one more cancel when it is still paid."""
        try:
            state = await self._payme.receipts_check(payment.receipt_id)
        except ProviderError as error:
            return await self._wait(payment, f"receipts.check: {type(error).__name__}", outcome="unknown")
        if state == ReceiptState.CANCELLED:
            view = await self._ledger.move(payment, S.refunded, "receipt cancelled: refunded", tell="refunded",
                                           receipt_state=state,
                                           next_check_at=None)
            return PayResult("refunded", view)
        if state == ReceiptState.PAID and payment.refund_attempts < self._schedule.refund_attempts:
            return await self._send_cancel(payment, told=False)
        return await self._wait(payment, f"receipts.check: state {state}", receipt_state=state, outcome="unknown")

    async def _send_cancel(self, payment: PaymentView, *, told: bool) -> PayResult:
        """`told`: the caller reports this result to the user now, so "on its way" is news too."""
        attempts = payment.refund_attempts + 1
        try:
            state = (await self._payme.receipts_cancel(payment.receipt_id)).state
            detail = f"receipts.cancel #{attempts}: state {state}"
        except ProviderError as error:
            detail, state = f"receipts.cancel #{attempts}: {getattr(error, 'code', type(error).__name__)}", None
        if state == ReceiptState.CANCEL_QUEUED:  # queued: a look right away often finds it done
            try:
                state = await self._payme.receipts_check(payment.receipt_id)
            except ProviderError as error:
                logger.info("receipts.check after cancel of payment %s: %s", payment.id, type(error).__name__)
        if state == ReceiptState.CANCELLED:
            view = await self._ledger.move(payment, S.refunded, detail, tell="refunded", receipt_state=state,
                                           refund_attempts=attempts,
                                           next_check_at=None)
            return PayResult("refunded", view)
        values = {"refund_attempts": attempts} | ({"receipt_state": state} if state is not None else {})
        if attempts == self._schedule.refund_attempts and state != ReceiptState.CANCEL_QUEUED:
            # The last automatic attempt did not take: a person must look, and the user hears the refund is pending.
            return await self._wait(payment, f"{detail}; refund attempts exhausted", outcome="refund_pending",
                                    **values)
        return await self._wait(payment, detail, outcome="refunding" if told else "unknown", **values)

    # ---- waiting -------------------------------------------------------------------------------------------------

    async def _wait(self, payment: PaymentView, detail: str, *, outcome: Outcome = "unknown",
                    refund_at_end: bool = False, **values) -> PayResult:
        """Ask again later on the schedule, giving the claim back. At the end: a charge whose bill we will not pay
        is refunded; anything else but a refund is left to a person (gave_up), because its outcome is not known."""
        now = self._now()
        checks = payment.status_checks + 1
        expired = payment.created_at is not None and (
            now - payment.created_at >= timedelta(seconds=self._schedule.give_up_after))
        # A refund is followed to the end (Payme finishes every queued cancel); reconciliation lists it meanwhile.
        if expired and payment.state != S.refunding:
            if refund_at_end:
                return await self._refund(payment, "settlement_not_possible", None)
            view = await self._ledger.note(payment, f"{detail}; gave up", keep=False, tell="gave_up",
                                           status_checks=checks,
                                           next_check_at=None, gave_up_at=now, **values)
            return PayResult("gave_up", view)
        told = outcome if outcome in ("settling", "refund_pending") else None  # news the user must hear
        view = await self._ledger.note(payment, detail, keep=False, tell=told, status_checks=checks,
                                       next_check_at=now + timedelta(seconds=self._schedule.wait(checks - 1)),
                                       **values)
        return PayResult(outcome, view)


def _description(payment: PaymentView) -> str:
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
