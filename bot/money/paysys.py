"""The PaySys rail: payouts from our deposit to a card (cashback withdrawals, operator refunds), cash2card.

draft -> preparing (prepare_remittance) -> prepared -> confirming (confirm_remittance) -> paid, or
prepared -> cancelling (cancel) -> failed. Each call is made by the holder of the row's claim, won by a conditional
update, and the call is recorded on the row first (`payout_step`), so an unclear answer is known to be an answer to
that call. Such an answer makes the row `unknown`, settled by `check_remittance` with our partner_transaction_id on
the schedule: never a second confirm, never a new payout for the row (its partner id is its own for life).

The card number reaches `prepare` as an argument and goes to PaySys only; the row keeps the masked `recipient_card`
PaySys returns. Amounts are whole sums on our row and tiyin at PaySys: converted here, at the boundary.

`shown`: the step's result is shown to the user in the chat by the caller, so the change owes no outbox message;
what the runner and the jobs settle (nobody is watching) is told through the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.domain.money import sums_to_tiyin
from bot.domain.payments import PAYSYS_NOT_FOUND, PAYSYS_WRONG_STATE, Rail, paysys_confirm_not_sent
from bot.domain.payments import PaymentState as S
from bot.money.ledger import REFUND_PAYOUT, CheckSchedule, Ledger, PaymentView, PayResult, outcome_of
from bot.providers.errors import ProviderError, ProviderOutcomeUnknown, ProviderUnavailable
from bot.providers.paysys import PaysysClient, PaysysRejected, PayoutStatus, Sender

logger = logging.getLogger(__name__)

# Outbox kinds (bot.texts.payouts says each to the user).
PAYOUT_PAID = "payout_paid"  # a cashback payout completed out of the user's sight (late, after an unclear answer)
PAYOUT_FAILED = "payout_failed"  # failed out of sight (after an unclear answer): the cashback is back
PAYOUT_CANCELLED = "payout_cancelled"  # cancelled out of sight: not confirmed in time, or a lost cancel answer
PAYOUT_REVERSED = "payout_reversed"  # a completed payout came back (status 3): the cashback is back
PAYOUT_GAVE_UP = "payout_gave_up"  # no final answer within the give-up time: a person looks
REFUND_SENT = "refund_sent"  # an operator's refund reached the card: the bill's payer is told
REFUND_REVERSED = "refund_reversed"  # a completed refund came back
PAYOUT_KINDS = frozenset({PAYOUT_PAID, PAYOUT_FAILED, PAYOUT_CANCELLED, PAYOUT_REVERSED, PAYOUT_GAVE_UP,
                          REFUND_SENT, REFUND_REVERSED})

CANCELLED_CODES = frozenset({"cancelled", "expired"})  # error_code of a payout cancelled by the user / by the clock


class PaysysRail:
    rail = Rail.paysys

    def __init__(self, ledger: Ledger, paysys: PaysysClient, sender: Sender, schedule: CheckSchedule,
                 now: Callable[[], datetime]) -> None:
        self._ledger = ledger
        self._paysys = paysys
        self._sender = sender
        self._schedule = schedule
        self._now = now

    # ---- prepare -----------------------------------------------------------------------------------------------

    async def prepare(self, payment: PaymentView, pan: str) -> PaymentView:
        """prepare_remittance for a row claimed into `preparing`. Returns it prepared, or unknown (a lost answer;
        the runner decides). A refusal or a request that never arrived: the row failed (its hold released) and the
        error raised to the caller."""
        try:
            prepared = await self._paysys.prepare_remittance(payment.partner_id, pan, sums_to_tiyin(payment.amount),
                                                             self._sender)
        except PaysysRejected as error:
            await self._ledger.move(payment, S.failed, f"prepare: error {error.number}", error_code=error.code)
            raise
        except ProviderUnavailable as error:
            await self._ledger.move(payment, S.failed, f"prepare: {type(error).__name__}; not sent",
                                    error_code="provider_unavailable")
            raise
        except ProviderOutcomeUnknown as error:
            return await self._ledger.move(payment, S.unknown, f"prepare: {type(error).__name__}; asking PaySys",
                                           next_check_at=self._now(), status_checks=0)
        return await self._ledger.move(
            payment, S.prepared, f"prepared: transaction {prepared.transaction_id}",
            transaction_id=str(prepared.transaction_id), card_masked=prepared.recipient_card[:32],
            recipient_name=prepared.recipient_name[:128], payout_total=prepared.total,
            payout_commission=str(prepared.commission)[:16])

    # ---- confirm -------------------------------------------------------------------------------------------------

    async def confirm(self, payment: PaymentView, *, shown: bool) -> PaymentView:
        """confirm_remittance for a row claimed into `confirming` (payout_step "confirm"), sent once."""
        try:
            confirmed = await self._paysys.confirm_remittance(int(payment.transaction_id))
        except PaysysRejected as error:
            if paysys_confirm_not_sent(error.number):
                await self._tidy_cancel(payment)
                return await self._ledger.move(payment, S.failed, f"confirm: error {error.number}; not sent",
                                               error_code=error.code, tell=self._tell(payment, PAYOUT_FAILED, shown))
            unknown = await self._ledger.move(payment, S.unknown, f"confirm: error {error.number}; asking PaySys",
                                              keep=True, status_checks=0)
            return await self.check(unknown, shown=shown)
        except ProviderUnavailable as error:
            # Never arrived (a connect failure, a 429): nothing was sent; the payout is still prepared at PaySys.
            return await self._ledger.move(payment, S.prepared, f"confirm: {type(error).__name__}; not sent")
        except ProviderOutcomeUnknown as error:
            unknown = await self._ledger.move(payment, S.unknown, f"confirm: {type(error).__name__}; asking PaySys",
                                              keep=True, status_checks=0)
            return await self.check(unknown, shown=shown)
        # PaySys answered the confirm: it arrived ("answered"), so a later status 0 means "in progress".
        return await self._status(payment, confirmed.status, f"confirm: status {int(confirmed.status)}", shown=shown,
                                  payout_step="answered")

    # ---- cancel --------------------------------------------------------------------------------------------------

    async def cancel(self, payment: PaymentView, *, shown: bool) -> PaymentView:
        """cancel for a row claimed into `cancelling` (payout_step "cancel", error_code the reason). True: failed,
        hold released. Anything else: unknown, check_remittance decides."""
        try:
            cancelled = await self._paysys.cancel(int(payment.transaction_id))
        except ProviderUnavailable as error:
            return await self._ledger.move(payment, S.prepared, f"cancel: {type(error).__name__}; not sent")
        except ProviderError as error:
            cancelled = False
            logger.info("payout %s: cancel answered %s; checking", payment.id,
                        getattr(error, "code", type(error).__name__))
        if cancelled:
            # After a lost prepare the user asked for nothing to be cancelled: to them it did not go through.
            kind = PAYOUT_CANCELLED if payment.error_code in CANCELLED_CODES else PAYOUT_FAILED
            return await self._ledger.move(payment, S.failed, "cancelled", next_check_at=None,
                                           tell=self._tell(payment, kind, shown))
        unknown = await self._ledger.move(payment, S.unknown, "cancel not confirmed; asking PaySys", keep=True,
                                          status_checks=0)
        return await self.check(unknown, shown=shown)

    # ---- what the runner does with a claimed row -------------------------------------------------------------------

    async def resolve(self, payment: PaymentView) -> PayResult:
        """A row claimed by the runner: its holder died mid-call, or its next check is due."""
        if payment.state in (S.preparing, S.confirming, S.cancelling):
            payment = await self._ledger.move(payment, S.unknown,
                                              f"{payment.payout_step or 'call'} outcome not recorded; asking PaySys",
                                              keep=True, status_checks=0)
        if payment.state == S.unknown:
            view = await self.check(payment, shown=False)
        else:
            view = await self._ledger.note(payment, f"nothing to do in {payment.state.value}", keep=False)
        return PayResult(outcome_of(view), view)

    async def check(self, payment: PaymentView, *, shown: bool) -> PaymentView:
        """check_remittance by our partner id, for a claimed `unknown` row; never confirms."""
        checks = payment.status_checks + 1
        try:
            checked = await self._paysys.check_remittance(payment.partner_id)
        except PaysysRejected as error:
            if error.number == PAYSYS_NOT_FOUND and payment.payout_step == "prepare":
                # Our prepare never made a payout: nothing can be sent.
                return await self._ledger.move(payment, S.failed, "check: no such payout; prepare never took",
                                               error_code="not_prepared", status_checks=checks, next_check_at=None,
                                               tell=self._tell(payment, PAYOUT_FAILED, shown))
            return await self._wait(payment, f"check: error {error.number}", checks)
        except ProviderError as error:
            return await self._wait(payment, f"check: {type(error).__name__}", checks)
        values = {"status_checks": checks}
        if payment.transaction_id is None:
            values["transaction_id"] = str(checked.transaction_id)
        if not payment.card_masked:
            values["card_masked"] = checked.card_number[:32]
        if checked.status == PayoutStatus.CREATED and payment.payout_step in ("prepare", "cancel"):
            # Prepared, never confirmed: cancelled (after a lost prepare the user never saw what it would send).
            cancelling = await self._ledger.move(
                payment, S.cancelling, f"check: status 0 after {payment.payout_step}; cancelling", keep=True,
                payout_step="cancel", error_code=payment.error_code if payment.payout_step == "cancel"
                else "not_prepared", **values)
            return await self.cancel(cancelling, shown=shown)
        return await self._status(payment, checked.status, f"check: status {int(checked.status)}", shown=shown,
                                  **values)

    # ---- statuses ------------------------------------------------------------------------------------------------

    async def _status(self, payment: PaymentView, status: PayoutStatus, detail: str, *, shown: bool,
                      **values) -> PaymentView:
        """What a PaySys status means for a claimed row in confirming or unknown."""
        refund = payment.service_id == REFUND_PAYOUT
        if status == PayoutStatus.COMPLETED or status == PayoutStatus.REVERSED:
            # A refund reaches someone other than the operator in the chat: its payer is always told.
            tell = REFUND_SENT if refund else (None if shown else PAYOUT_PAID)
            paid = await self._ledger.move(payment, S.paid, detail, keep=status == PayoutStatus.REVERSED, tell=tell,
                                           tell_anyone=refund and shown, completed_at=self._now(),
                                           next_check_at=self._now() + self._recheck_wait(), **values)
            if status == PayoutStatus.REVERSED:
                return await self.reversed(paid)
            return paid
        if status == PayoutStatus.ERROR:
            return await self._ledger.move(payment, S.failed, detail, error_code="payout_error", next_check_at=None,
                                           tell=self._tell(payment, PAYOUT_FAILED, shown), **values)
        if status == PayoutStatus.CANCELLED:
            code = payment.error_code if payment.error_code in CANCELLED_CODES else "cancelled"
            kind = PAYOUT_CANCELLED if payment.payout_step == "cancel" else PAYOUT_FAILED
            return await self._ledger.move(payment, S.failed, detail, error_code=code, next_check_at=None,
                                           tell=self._tell(payment, kind, shown), **values)
        if payment.payout_step == "confirm" and values.get("payout_step") is None:
            # 0, and the confirm's own answer was never seen: it may never have arrived. A cancel settles it
            # safely: PaySys cancels only a payout nobody confirmed, and refuses one whose confirm took.
            return await self._cancel_unconfirmed(payment, detail, **values)
        # 0 after a confirm: in progress; asked again on the schedule.
        if payment.state != S.unknown:
            payment = await self._ledger.move(payment, S.unknown, detail, keep=True, status_checks=0)
            values["status_checks"] = 1
        return await self._wait(payment, detail, values.pop("status_checks", payment.status_checks + 1), **values)

    async def _cancel_unconfirmed(self, payment: PaymentView, detail: str, **values) -> PaymentView:
        """Status 0 after a confirm whose answer was lost (or whose holder died): cancel, under our claim. True:
        the confirm never took, nothing was sent. "Wrong state": it took, the payout is in progress. Anything else:
        asked again on the schedule."""
        checks = values.pop("status_checks", payment.status_checks + 1)
        try:
            cancelled = await self._paysys.cancel(int(payment.transaction_id or values["transaction_id"]))
        except PaysysRejected as error:
            cancelled = False
            if error.number == PAYSYS_WRONG_STATE:
                values["payout_step"] = "answered"
        except ProviderError:
            cancelled = False
        if cancelled:
            return await self._ledger.move(payment, S.failed, f"{detail}; confirm never took: cancelled",
                                           error_code="not_confirmed", next_check_at=None, status_checks=checks,
                                           tell=self._tell(payment, PAYOUT_FAILED, False), **values)
        return await self._wait(payment, f"{detail}; in progress", checks, **values)

    async def reversed(self, payment: PaymentView) -> PaymentView:
        """A completed payout came back: the cashback (or the refund's debit) is given back, the user told."""
        kind = REFUND_REVERSED if payment.service_id == REFUND_PAYOUT else PAYOUT_REVERSED
        logger.warning("payout %s was reversed after completion", payment.id)
        return await self._ledger.move(payment, S.reversed, "check: status 3 (reversed)", tell=kind,
                                       tell_anyone=True, next_check_at=None)

    def _recheck_wait(self) -> timedelta:
        """Between two looks for a reversal of a completed payout."""
        return timedelta(seconds=self._schedule.intervals[-1])

    async def _wait(self, payment: PaymentView, detail: str, checks: int, **values) -> PaymentView:
        """Ask again later on the schedule, giving the claim back; past the give-up time a person is told."""
        now = self._now()
        if payment.created_at and now - payment.created_at >= timedelta(seconds=self._schedule.give_up_after):
            logger.error("payout %s: no final answer from PaySys; a person must look", payment.id)
            return await self._ledger.note(payment, f"{detail}; gave up", keep=False,
                                           tell=self._tell(payment, PAYOUT_GAVE_UP, False),
                                           tell_anyone=True, status_checks=checks, next_check_at=None,
                                           gave_up_at=now, **values)
        return await self._ledger.note(payment, detail, keep=False, status_checks=checks,
                                       next_check_at=now + timedelta(seconds=self._schedule.wait(checks - 1)),
                                       **values)

    async def _tidy_cancel(self, payment: PaymentView) -> None:
        """A payout we will never confirm is cancelled at PaySys too, so nothing can ever send it. Its failure
        changes nothing (a prepared payout sends nothing by itself)."""
        try:
            await self._paysys.cancel(int(payment.transaction_id))
        except ProviderError as error:
            logger.info("payout %s left prepared at PaySys, not cancelled: %s", payment.id, type(error).__name__)

    @staticmethod
    def _tell(payment: PaymentView, kind: str, shown: bool) -> str | None:
        """The outbox message a change out of the user's sight owes. A refund's payer hears only that the money
        was sent (or came back), never of a refund's failed attempts, which are the operator's to see."""
        if shown:
            return None
        if payment.service_id == REFUND_PAYOUT:
            if kind not in (REFUND_SENT, REFUND_REVERSED):
                logger.warning("refund payout %s: %s (not told to the payer)", payment.id, kind)
                return None
        return kind
