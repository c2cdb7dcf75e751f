"""The Paylov rail: servicePayment charges the user's own card. create texts a code, pay (with the code) charges.

Each call is made by the holder of the row's claim, won by a conditional update; a pay answer that does not prove
"not charged" makes the payment `unknown`, settled by transaction/status on the schedule, never by a second pay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.domain.payments import PaymentState as S
from bot.domain.payments import Rail, paylov_pay_not_charged
from bot.money.ledger import (
    CheckSchedule,
    Ledger,
    PaymentView,
    PayResult,
    outcome_of,
    with_message,
)
from bot.providers.errors import ProviderError, ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable
from bot.providers.paylov import PaylovClient

logger = logging.getLogger(__name__)

MAX_CODE_TRIES = 3


class PaylovRail:
    rail = Rail.paylov

    def __init__(self, ledger: Ledger, paylov: PaylovClient, schedule: CheckSchedule,
                 now: Callable[[], datetime]) -> None:
        self._ledger = ledger
        self._paylov = paylov
        self._schedule = schedule
        self._now = now

    async def send_code(self, payment: PaymentView, phone: str | None) -> PayResult:
        """servicePayment/create with the card: Paylov texts a code to the card's phone."""
        claimed = await self._ledger.claim(payment, S.draft, S.creating, "create sent")
        if claimed is None:
            current = await self._ledger.get(payment.id)
            return PayResult("pending" if current.state == S.created else outcome_of(current), current)
        return await self._create(claimed, phone, fresh=True)

    async def _create(self, payment: PaymentView, phone: str | None, *, fresh: bool) -> PayResult:
        try:
            created = await self._paylov.create_payment(payment.service_id, payment.account, payment.amount,
                                                        str(payment.user_id), payment.provider_card_id, phone)
        except ProviderRejected as error:
            view = await self._ledger.move(payment, S.failed, f"create: {error.code}", tell="failed",
                                           error_code=error.code)
            return PayResult("failed", with_message(view, error.message))
        except ProviderError as error:
            # create only reserves a transaction; without its id nothing can be charged: not charged, say so.
            view = await self._ledger.move(payment, S.failed, f"create: {type(error).__name__}", tell="failed",
                                           error_code="provider_unavailable")
            return PayResult("failed", view)
        view = await self._ledger.move(
            payment, S.created, f"transaction {created.transaction_id}", transaction_id=created.transaction_id,
            otp_phone=created.otp_sent_phone, otp_failures=0)
        return PayResult("pending" if fresh else "new_code", view)

    async def pay(self, payment: PaymentView, otp: str, phone: str | None) -> PayResult:
        """servicePayment/pay: only a `created` payment, only by the one hand that wins it."""
        claimed = await self._ledger.claim(payment, S.created, S.paying, "pay sent")
        if claimed is None:  # a second tap, another replica, or a payment already settled: say what it is
            current = await self._ledger.get(payment.id)
            return PayResult(outcome_of(current), current)
        try:
            paid = await self._paylov.pay(claimed.transaction_id, claimed.provider_card_id, str(claimed.user_id), otp)
        except ProviderRejected as error:
            return await self._refused(claimed, error, phone)
        except ProviderUnavailable as error:
            # Never arrived (connect failure) or refused before any work (429): the user may type the code again.
            view = await self._ledger.move(claimed, S.created, f"pay: {type(error).__name__}; not charged")
            return PayResult("not_charged", view)
        except ProviderOutcomeUnknown as error:
            unknown = await self._ledger.move(claimed, S.unknown, f"pay: {type(error).__name__}", keep=True)
            return await self.status(unknown)
        view = await self._ledger.move(
            claimed, S.paid, f"paymentRef {paid.payment_ref}", tell="paid", payment_ref=paid.payment_ref,
            epos_merchant=paid.epos_merchant, epos_terminal=paid.epos_terminal, paid_at=paid.payed_at,
            next_check_at=None)
        return PayResult("paid", view)

    async def _refused(self, payment: PaymentView, error: ProviderRejected, phone: str | None) -> PayResult:
        if error.code == "invalid_otp":
            failures = payment.otp_failures + 1
            if failures >= MAX_CODE_TRIES:
                view = await self._ledger.move(payment, S.failed, "three wrong codes", tell="failed",
                                               error_code="too_many_attempts", otp_failures=failures)
                return PayResult("failed", view)
            view = await self._ledger.move(payment, S.created, "wrong code", otp_failures=failures)
            return PayResult("wrong_code", view, tries_left=MAX_CODE_TRIES - failures)
        if error.code == "otp_expired":
            again = await self._ledger.move(payment, S.creating,
                                            f"code expired; {payment.transaction_id} not charged", keep=True)
            return await self._create(again, phone, fresh=False)
        if not paylov_pay_not_charged(error.code):  # processing_error, already paid, a code we do not know: ask
            unknown = await self._ledger.move(payment, S.unknown, f"pay: {error.code}; asking status", keep=True)
            return await self.status(unknown)
        view = await self._ledger.move(payment, S.failed, error.code, tell="failed", error_code=error.code)
        return PayResult("failed", with_message(view, error.message))

    # ---- what the runner does with a claimed row -------------------------------------------------------------------

    async def resolve(self, payment: PaymentView) -> PayResult:
        """A row claimed by the runner: its holder died mid-call, or its next status check is due."""
        if payment.state == S.creating:
            # create only reserves a transaction and texts a code the user could not type into a finished step:
            # nothing can have been charged.
            view = await self._ledger.move(payment, S.failed, "create outcome not recorded; not charged", tell="failed",
                                           error_code="provider_unavailable")
            return PayResult("failed", view)
        if payment.state == S.paying:
            payment = await self._ledger.move(payment, S.unknown, "pay outcome not recorded; asking status",
                                              keep=True)
        return await self.status(payment)

    async def status(self, payment: PaymentView) -> PayResult:
        """transaction/status for a claimed `unknown` payment; it never sends pay.

        After a pay without an answer, `created` proves nothing yet (the charge may be on its way), so the payment
        stays `unknown` and is asked again on the schedule until paid, cancelled, or given up to a person."""
        checks = payment.status_checks + 1
        try:
            status = await self._paylov.transaction_status(payment.transaction_id)
            answer, paid_at = status.status, status.payed_at
        except ProviderError as error:
            logger.warning("status of payment %s unavailable: %s", payment.id, type(error).__name__)
            answer, paid_at = "unavailable", None
        if answer == "paid":
            view = await self._ledger.move(payment, S.paid, "status: paid", tell="paid", paid_at=paid_at,
                                           status_checks=checks,
                                           next_check_at=None)
            return PayResult("paid", view)
        if answer == "cancelled":
            view = await self._ledger.move(payment, S.failed, "status: cancelled", tell="failed",
                                           error_code="cancelled",
                                           status_checks=checks, next_check_at=None)
            return PayResult("failed", view)
        now = self._now()
        if payment.created_at and now - payment.created_at >= timedelta(seconds=self._schedule.give_up_after):
            view = await self._ledger.note(payment, f"status: {answer}; gave up", keep=False, tell="gave_up",
                                           status_checks=checks,
                                           next_check_at=None, gave_up_at=now)
            return PayResult("gave_up", view)
        view = await self._ledger.note(payment, f"status: {answer}", keep=False, status_checks=checks,
                                       next_check_at=now + timedelta(seconds=self._schedule.wait(checks - 1)))
        return PayResult("unknown", view)
