"""Cashback and operator refunds, paid out through PaySys cash2card: what handlers and jobs call.

A payout is a `payments` row on the `paysys` rail (rail="paysys"; service_id "cashback" or "refund"; `amount` in
whole sums, converted to tiyin only at the PaySys boundary; `partner_id` our never-reused partner_transaction_id).
The row exists before any provider call; the cashback it spends is held in the same transaction that opens it; every
provider call is made only by the hand that won the row with one conditional update (bot.money.ledger); an answer
that does not prove "not sent" leaves the row `unknown`, settled by `check_remittance` on the runner's schedule,
never by a second confirm or a new payout. The card number goes to `prepare_remittance` and nowhere else: only the
masked `recipient_card` PaySys returns is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from bot.domain.cards import validate_pan
from bot.domain.payments import PaymentState, Rail
from bot.domain.payouts import new_partner_id
from bot.money.ledger import (
    CASHBACK_PAYOUT,
    REFUND_PAYOUT,
    CheckSchedule,
    Ledger,
    LostClaim,
    PaymentClosed,
    PaymentView,
    view,
)
from bot.money.paysys import PaysysRail
from bot.providers.errors import ProviderError, ProviderUnavailable
from bot.providers.paysys import PaysysClient, PaysysRejected, PayoutStatus, Sender
from bot.storage.db import Sessions
from bot.storage.models import CashbackEntry, Payment, PaymentEvent

logger = logging.getLogger(__name__)

MIN_PAYOUT_SUMS = 1_000  # issue 16: "Withdraw" from 1 000 sum; PaySys's own minimum is 100 000 tiyin (the same)
PAYOUT_CONFIRM_WINDOW = 300  # seconds a prepared payout waits for Confirm before it is cancelled
REVERSAL_WINDOW = 3 * 86_400  # seconds a completed payout is re-checked for a reversal (status 3)


class PayoutKind(StrEnum):
    cashback = "cashback"  # the user's cashback to the user's card
    refund = "refund"  # an operator's refund of a paid bill to a card


class PayoutRefused(Exception):
    """A rule refused the payout before anything was sent to PaySys. `code` is what the chat translates:

    below_min        amount < 1 000 sum                       (params: min_sums)
    above_balance    amount > the cashback balance           (params: max_sums = balance floored to sums)
    above_max        amount > PAYOUT_MAX                      (params: max_sums)
    payout_open      the user already has an open cashback payout (also from the database's unique index)
    not_operator     refund_prepare by someone not in OPERATOR_IDS
    not_found        no such payment (refund) / payout, or not this user's
    not_paid         the bill to refund is not `paid` (or is not a bill)
    already_refunded the bill has a refund that is open or completed
    manual_handling  the bill's amount is above PAYOUT_MAX: refunded by hand, never by the bot
    disabled         payouts are not configured (no PaySys client / sender)
    """

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


# Card number problems raise bot.domain.cards.CardError(code) with code "length" | "digits" | "luhn" | "brand"
# (validate_pan), before anything is stored or sent. PaySys's own refusal at prepare (card blocked, not found,
# insufficient deposit...) raises bot.providers.paysys.PaysysRejected (a ProviderRejected: .code "-20012", .number).
# A PaySys that could not be reached raises PayoutUnavailable (the row is failed, the hold released).


class PayoutUnavailable(ProviderUnavailable):
    """PaySys did not take the request (never arrived, 429 past the client's waits): nothing was sent; try later.
    `payout` is the row as it is now: failed (a prepare: the hold released), or still prepared (a confirm or a
    cancel: the buttons still work)."""

    def __init__(self, payout: PayoutView) -> None:
        super().__init__("paysys unavailable")
        self.payout = payout


@dataclass(frozen=True)
class PayoutView:
    id: int  # payments.id: the payout's id in callbacks (with a check of the owner)
    user_id: int  # the owner (for a refund: the bill's payer, who receives the money)
    kind: PayoutKind
    state: PaymentState  # draft, preparing, prepared, confirming, cancelling, unknown, paid, failed, reversed
    amount_sums: int  # what the recipient gets, whole sums
    card_masked: str  # as PaySys returned it (860031******0117); "" before prepare answered
    recipient_name: str | None  # as PaySys returned it
    total_tiyin: int | None  # debited from our deposit (the operator's cost), as returned; None before prepare
    commission: str | None  # the percent as PaySys returned it ("0.5")
    partner_id: int
    transaction_id: str | None  # PaySys's id (str of its int)
    error_code: str | None  # "cancelled" (by the user), "expired" (5 minutes without Confirm), a PaySys code ...
    created_at: datetime | None
    completed_at: datetime | None  # when it became `paid`
    refund_of: int | None = None  # a refund: the paid bill's payments.id
    operator_id: int | None = None  # a refund: who made it

    @property
    def open(self) -> bool:
        """Not final: the cashback stays held."""
        return self.state not in (PaymentState.paid, PaymentState.failed, PaymentState.reversed)

    @property
    def outcome(self) -> str:
        """What to tell: "prepared" (show Confirm/Cancel), "pending" (draft/preparing/confirming/cancelling/unknown:
        we are checking), "paid", "failed", "cancelled" (error_code cancelled or expired), "reversed"."""
        if self.state == PaymentState.prepared:
            return "prepared"
        if self.state == PaymentState.paid:
            return "paid"
        if self.state == PaymentState.reversed:
            return "reversed"
        if self.state == PaymentState.failed:
            return "cancelled" if self.error_code in ("cancelled", "expired") else "failed"
        return "pending"


@dataclass(frozen=True)
class EntryView:
    kind: str  # credit | hold | release | debit | reversal
    amount_tiyin: int  # signed: a credit, a release and a reversal are positive; a hold and a debit negative
    payment_id: int
    service_name: str  # the bill's service (credit) or "cashback"/"refund" (payout rows)
    created_at: datetime


@dataclass(frozen=True)
class CashbackView:
    balance_tiyin: int  # SUM of the entries: what may be withdrawn now (open payouts are already held)
    recent: list[EntryView] = field(default_factory=list)  # the last credits, newest first
    open_payout: PayoutView | None = None
    can_withdraw: bool = False  # balance >= 1 000 sum, no open payout, payouts enabled


@dataclass(frozen=True)
class RefundTarget:
    """The paid bill an operator may refund (checked before the card number is asked)."""

    payment_id: int
    user_id: int  # its payer: the refund's recipient of news
    amount_sums: int  # the refund's amount: the bill's
    service_name: str
    paid_at: str | None
    cashback_tiyin: int  # the cashback the bill earned, debited when the refund completes


@dataclass(frozen=True)
class WithdrawLimits:
    min_sums: int  # 1 000
    max_sums: int  # min(balance floored to sums, PAYOUT_MAX); below min_sums: nothing to withdraw


_FINAL = (PaymentState.paid.value, PaymentState.failed.value, PaymentState.reversed.value)
_OPEN_INDEX = "uq_payments_open_cashback"
_REFUND_INDEX = "uq_payments_open_refund"


class PayoutsService:
    """Built once in bot/app.py (`Services.payouts`, workflow data "payouts"). With `paysys=None` (or no sender)
    every money step raises PayoutRefused("disabled"), and `cashback()` still reads the balance."""

    def __init__(self, sessionmaker: Sessions, paysys: PaysysClient | None, *, owner: str,
                 schedule: CheckSchedule | None = None, sender: Sender | None, cashback_percent: Decimal,
                 payout_max_sums: int, operator_ids: frozenset[int] | tuple[int, ...] = frozenset(),
                 refunds: bool = True,
                 allowed_test_numbers: frozenset[str] = frozenset(),
                 confirm_window: float = PAYOUT_CONFIRM_WINDOW, reversal_window: float = REVERSAL_WINDOW,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._sessions = sessionmaker
        self._paysys = paysys
        self._sender = sender
        self._schedule = schedule or CheckSchedule()
        self.owner = owner
        self.cashback_percent = Decimal(cashback_percent)
        self.payout_max_sums = payout_max_sums
        self.operator_ids = frozenset(operator_ids)
        self.refunds = refunds  # OPERATOR_REFUNDS
        self._test_numbers = allowed_test_numbers
        self._confirm_window = timedelta(seconds=confirm_window)
        self._reversal_window = timedelta(seconds=reversal_window)
        self._now = now
        self._args = (sessionmaker, paysys)
        self._kwargs = dict(schedule=self._schedule, sender=sender, cashback_percent=self.cashback_percent,
                            payout_max_sums=payout_max_sums, operator_ids=self.operator_ids, refunds=refunds,
                            allowed_test_numbers=allowed_test_numbers, confirm_window=confirm_window,
                            reversal_window=reversal_window, now=now)
        self._ledger = Ledger(sessionmaker, owner=owner, lease=self._schedule.lease, now=now,
                              cashback_percent=self.cashback_percent)
        self._rail = (PaysysRail(self._ledger, paysys, sender, self._schedule, now)
                      if paysys is not None and sender is not None else None)

    @property
    def enabled(self) -> bool:
        """PaySys is configured: withdrawals and refunds can be made."""
        return self._rail is not None

    def as_hand(self, name: str) -> PayoutsService:
        """The same service as another hand (the worker's jobs): claims and messages told apart from the chat's."""
        return PayoutsService(*self._args, owner=f"{self.owner}/{name}"[:64], **self._kwargs)

    def is_operator(self, user_id: int) -> bool:
        """In OPERATOR_IDS (whether refunds are on is `refunds_enabled`; the chat checks the chat is private)."""
        return user_id in self.operator_ids

    @property
    def refunds_enabled(self) -> bool:
        return self.refunds and self.enabled

    # ---- reading -------------------------------------------------------------------------------------------------

    async def balance(self, user_id: int) -> int:
        async with self._sessions() as session:
            return await _balance(session, user_id)

    async def cashback(self, user_id: int, *, recent: int = 5) -> CashbackView:
        """The Cashback screen: balance (sum of entries), the last credits (newest first), the open payout."""
        async with self._sessions() as session:
            balance = await _balance(session, user_id)
            rows = (await session.execute(
                select(CashbackEntry, Payment.service_name)
                .join(Payment, Payment.id == CashbackEntry.payment_id)
                .where(CashbackEntry.user_id == user_id, CashbackEntry.kind == "credit")
                .order_by(CashbackEntry.id.desc()).limit(recent))).all()
            open_row = await session.scalar(_open_cashback(user_id))
        entries = [EntryView(kind=entry.kind, amount_tiyin=entry.amount, payment_id=entry.payment_id,
                             service_name=name, created_at=_aware(entry.created_at)) for entry, name in rows]
        open_payout = payout_view(view(open_row)) if open_row is not None else None
        can = self.enabled and open_payout is None and balance >= MIN_PAYOUT_SUMS * 100
        return CashbackView(balance_tiyin=balance, recent=entries, open_payout=open_payout, can_withdraw=can)

    async def withdraw_limits(self, user_id: int) -> WithdrawLimits:
        """From 1 000 sum to the balance (floored to whole sums) or PAYOUT_MAX, whichever is less."""
        balance = await self.balance(user_id)
        return WithdrawLimits(min_sums=MIN_PAYOUT_SUMS, max_sums=max(0, min(balance // 100, self.payout_max_sums)))

    async def payout(self, user_id: int, payout_id: int) -> PayoutView:
        """A payout of this user (cashback, or a refund paid to them), or a refund this operator may see."""
        async with self._sessions() as session:
            row = await session.get(Payment, payout_id)
        if row is None or row.rail != Rail.paysys.value:
            raise PayoutRefused("not_found")
        payout = payout_view(view(row))
        if payout.user_id != user_id and not (payout.kind == PayoutKind.refund and self.is_operator(user_id)):
            raise PayoutRefused("not_found")
        return payout

    async def payouts(self, user_id: int, *, limit: int = 50) -> list[PayoutView]:
        """This user's payouts (cashback and refunds to them), newest first: History."""
        async with self._sessions() as session:
            rows = await session.scalars(select(Payment).where(
                Payment.user_id == user_id, Payment.rail == Rail.paysys.value,
            ).order_by(Payment.id.desc()).limit(limit))
            return [payout_view(view(row)) for row in rows]

    # ---- cashback withdrawal ---------------------------------------------------------------------------------------

    async def prepare(self, user_id: int, amount_sums: int, card_text: str, intent_key: str) -> PayoutView:
        """Validate, open the row with its hold, prepare_remittance. Returns the row `prepared` (show recipient_name,
        card_masked, amount; Confirm/Cancel), or, after a lost answer, `unknown` (outcome "pending": the runner's
        check_remittance decides, and a payout found prepared is cancelled, never confirmed).
        Raises: CardError (the number: length, digits, luhn, brand), PayoutRefused (below_min, above_balance,
        above_max, payout_open, disabled), PaysysRejected (PaySys refused: row failed, hold released),
        PayoutUnavailable (never arrived: row failed, hold released). The same intent_key again returns the first
        row without a second prepare."""
        if isinstance(amount_sums, bool) or not isinstance(amount_sums, int):
            raise TypeError("amount_sums must be an int of whole sums")
        rail = self._require_rail()
        existing = await self._by_intent(user_id, intent_key)
        if existing is not None:
            return payout_view(existing)
        pan = validate_pan(card_text, allowed_extra=self._test_numbers)
        async with self._sessions() as session:
            if await session.scalar(_open_cashback(user_id)) is not None:
                raise PayoutRefused("payout_open")
            balance = await _balance(session, user_id)
        self._check_amount(amount_sums, balance)
        opened = await self._open_cashback(user_id, amount_sums, intent_key)
        if opened.state != PaymentState.draft:  # the same intent, opened meanwhile by another hand
            return payout_view(opened)
        return await self._prepare(rail, opened, pan)

    def _check_amount(self, amount_sums: int, balance_tiyin: int) -> None:
        if amount_sums < MIN_PAYOUT_SUMS:
            raise PayoutRefused("below_min", min_sums=MIN_PAYOUT_SUMS)
        if amount_sums > self.payout_max_sums:
            raise PayoutRefused("above_max", max_sums=self.payout_max_sums)
        if amount_sums * 100 > balance_tiyin:
            raise PayoutRefused("above_balance", max_sums=max(0, balance_tiyin // 100))

    async def _open_cashback(self, user_id: int, amount_sums: int, intent_key: str) -> PaymentView:
        """The draft row and its hold in one transaction; the balance is read again inside it. The database's
        partial unique index lets only one open cashback payout per user exist (two taps, two replicas)."""
        for _attempt in range(5):
            try:
                async with self._sessions.begin() as session:
                    if await session.scalar(_open_cashback(user_id)) is not None:
                        raise PayoutRefused("payout_open")
                    balance = await _balance(session, user_id)
                    if amount_sums * 100 > balance:
                        raise PayoutRefused("above_balance", max_sums=max(0, balance // 100))
                    row = await self._insert(session, user_id=user_id, intent_key=intent_key,
                                             service_id=CASHBACK_PAYOUT, service_name="Cashback",
                                             amount=amount_sums, account={})
                    session.add(CashbackEntry(user_id=user_id, payment_id=row.id, kind="hold",
                                              amount=-amount_sums * 100, reason="payout opened",
                                              created_at=self._now()))
                    return view(row)
            except IntegrityError as error:
                if (existing := await self._by_intent(user_id, intent_key)) is not None:
                    return existing
                async with self._sessions() as session:
                    if await session.scalar(_open_cashback(user_id)) is not None or _OPEN_INDEX in str(error):
                        raise PayoutRefused("payout_open") from None
                logger.info("payout id collision for user %s; drawing another", user_id)
        raise RuntimeError("could not draw a free payout id")

    async def _insert(self, session, **values) -> Payment:
        now = self._now()
        row = Payment(state=PaymentState.draft.value, rail=Rail.paysys.value, otp_failures=0, account_display=[],
                      provider_card_id="", card_masked="", partner_id=new_partner_id(), created_at=now,
                      updated_at=now, **values)
        session.add(row)
        await session.flush()
        session.add(PaymentEvent(payment_id=row.id, from_state=None, to_state=row.state, at=now))
        return row

    async def _prepare(self, rail: PaysysRail, opened: PaymentView, pan: str) -> PayoutView:
        claimed = await self._ledger.claim(opened, PaymentState.draft, PaymentState.preparing,
                                           "prepare_remittance sent", payout_step="prepare")
        if claimed is None:
            return await self._current(opened.id)
        try:
            return payout_view(await rail.prepare(claimed, pan))
        except PaysysRejected:
            raise
        except ProviderUnavailable as error:
            raise PayoutUnavailable(await self._current(opened.id)) from error
        except LostClaim:
            return await self._current(opened.id)

    async def confirm(self, user_id: int, payout_id: int) -> PayoutView:
        """confirm_remittance, by the one hand that wins prepared -> confirming. Returns the row: paid, failed,
        or unknown (outcome "pending": settled later, the user told through the outbox). An old Confirm (the row
        is no longer prepared) returns the row as it is, with no call; a Confirm after the 5-minute window cancels
        instead (failed, error_code "expired"). PayoutUnavailable: the confirm never arrived, the row is still
        prepared."""
        payment = await self._owned(user_id, payout_id, PayoutKind.cashback)
        return await self._confirm(payment)

    async def cancel(self, user_id: int, payout_id: int) -> PayoutView:
        """cancel of a prepared payout: failed (error_code "cancelled", hold released) or unknown (checked later).
        A row no longer prepared is returned as it is. PayoutUnavailable: never arrived, still prepared."""
        payment = await self._owned(user_id, payout_id, PayoutKind.cashback)
        return await self._cancel(payment, "cancelled", shown=True)

    async def _confirm(self, payment: PaymentView) -> PayoutView:
        rail = self._require_rail()
        if payment.state == PaymentState.prepared and self._expired(payment):
            return await self._cancel(payment, "expired", shown=True)
        claimed = await self._ledger.claim(payment, PaymentState.prepared, PaymentState.confirming,
                                           "confirm_remittance sent", payout_step="confirm")
        if claimed is None:  # a second Confirm, an old button, another replica: what the payout is
            return await self._current(payment.id)
        try:
            result = await rail.confirm(claimed, shown=True)
        except LostClaim:
            return await self._current(payment.id)
        if result.state == PaymentState.prepared:
            raise PayoutUnavailable(payout_view(result))
        return payout_view(result)

    async def _cancel(self, payment: PaymentView, reason: str, *, shown: bool) -> PayoutView:
        rail = self._require_rail()
        claimed = await self._ledger.claim(payment, PaymentState.prepared, PaymentState.cancelling,
                                           f"cancel sent ({reason})", payout_step="cancel", error_code=reason)
        if claimed is None:
            return await self._current(payment.id)
        try:
            result = await rail.cancel(claimed, shown=shown)
        except LostClaim:
            return await self._current(payment.id)
        if result.state == PaymentState.prepared and shown:
            raise PayoutUnavailable(payout_view(result))
        return payout_view(result)

    def _expired(self, payment: PaymentView) -> bool:
        return payment.created_at is not None and self._now() - payment.created_at >= self._confirm_window

    # ---- operator refunds ------------------------------------------------------------------------------------------

    async def refund_target(self, operator_id: int, payment_id: int) -> RefundTarget:
        """The bill `/refund <id>` names, checked before the card number is asked. PayoutRefused: not_operator,
        disabled, not_found, not_paid, already_refunded, manual_handling."""
        if not self.is_operator(operator_id):
            raise PayoutRefused("not_operator")
        self._require_refunds()
        async with self._sessions() as session:
            bill = await session.get(Payment, payment_id)
            if bill is None or bill.rail == Rail.paysys.value:
                raise PayoutRefused("not_found")
            if bill.state != PaymentState.paid.value:
                raise PayoutRefused("not_paid")
            if bill.amount > self.payout_max_sums:
                raise PayoutRefused("manual_handling", max_sums=self.payout_max_sums)
            live = await session.scalar(select(Payment.id).where(
                Payment.refund_of == payment_id, Payment.state.not_in(
                    [PaymentState.failed.value, PaymentState.reversed.value])))
            if live is not None:
                raise PayoutRefused("already_refunded", payout_id=live)
            credit = await session.scalar(select(CashbackEntry.amount).where(
                CashbackEntry.payment_id == payment_id, CashbackEntry.kind == "credit"))
        return RefundTarget(payment_id=bill.id, user_id=bill.user_id, amount_sums=bill.amount,
                            service_name=bill.service_name, paid_at=bill.paid_at, cashback_tiyin=credit or 0)

    async def refund_prepare(self, operator_id: int, payment_id: int, card_text: str, intent_key: str) -> PayoutView:
        """A refund of a paid bill to a card, for the bill's amount; the bill stays `paid`. Raises PayoutRefused
        (not_operator, disabled, not_found, not_paid, already_refunded, manual_handling), CardError,
        PaysysRejected, PayoutUnavailable. The same intent_key again returns the first row."""
        if not self.is_operator(operator_id):
            raise PayoutRefused("not_operator")
        rail = self._require_refunds()
        async with self._sessions() as session:
            bill_user = await session.scalar(select(Payment.user_id).where(Payment.id == payment_id))
        if bill_user is not None and (existing := await self._by_intent(bill_user, intent_key)) is not None:
            return payout_view(existing)
        target = await self.refund_target(operator_id, payment_id)
        pan = validate_pan(card_text, allowed_extra=self._test_numbers)
        opened = await self._open_refund(operator_id, target, intent_key)
        if opened.state != PaymentState.draft:
            return payout_view(opened)
        return await self._prepare(rail, opened, pan)

    async def _open_refund(self, operator_id: int, target: RefundTarget, intent_key: str) -> PaymentView:
        for _attempt in range(5):
            try:
                async with self._sessions.begin() as session:
                    row = await self._insert(session, user_id=target.user_id, intent_key=intent_key,
                                             service_id=REFUND_PAYOUT, service_name=target.service_name[:255],
                                             amount=target.amount_sums, refund_of=target.payment_id,
                                             account={"operator_id": str(operator_id),
                                                      "payment_id": str(target.payment_id)})
                    return view(row)
            except IntegrityError as error:
                if (existing := await self._by_intent(target.user_id, intent_key)) is not None:
                    return existing
                if _REFUND_INDEX in str(error) or await self._live_refund(target.payment_id):
                    raise PayoutRefused("already_refunded") from None
                logger.info("payout id collision for a refund of %s; drawing another", target.payment_id)
        raise RuntimeError("could not draw a free payout id")

    async def _live_refund(self, payment_id: int) -> bool:
        async with self._sessions() as session:
            return await session.scalar(select(Payment.id).where(
                Payment.refund_of == payment_id,
                Payment.state.not_in([PaymentState.failed.value, PaymentState.reversed.value]))) is not None

    async def refund_confirm(self, operator_id: int, payout_id: int) -> PayoutView:
        """As confirm(); on completion the bill's cashback is debited and its payer told through the outbox."""
        return await self._confirm(await self._operated(operator_id, payout_id))

    async def refund_cancel(self, operator_id: int, payout_id: int) -> PayoutView:
        return await self._cancel(await self._operated(operator_id, payout_id), "cancelled", shown=True)

    # ---- jobs (the settlement worker's hand) -----------------------------------------------------------------------

    async def expire_prepared(self) -> list[PayoutView]:
        """Cancel payouts left `prepared` for the confirm window (each claimed first; the user told)."""
        if self._rail is None:
            return []
        now = self._now()
        async with self._sessions() as session:
            rows = list(await session.scalars(select(Payment).where(
                Payment.rail == Rail.paysys.value, Payment.state == PaymentState.prepared.value,
                Payment.updated_at < now - self._confirm_window, _lease_free(now)).order_by(Payment.id).limit(200)))
        done = []
        for row in rows:
            try:
                done.append(await self._cancel(view(row), "expired", shown=False))
            except Exception:  # noqa: BLE001 - one row must not stop the others; it is tried again next pass
                logger.exception("payout %s: expiry cancel failed", row.id)
        return done

    async def recheck_completed(self) -> list[PayoutView]:
        """Look for a reversal (status 3) of payouts completed within the reversal window, each claimed first.
        Returns the reversed ones."""
        if self._rail is None:
            return []
        now = self._now()
        async with self._sessions() as session:
            rows = list(await session.scalars(select(Payment).where(
                Payment.rail == Rail.paysys.value, Payment.state == PaymentState.paid.value,
                Payment.completed_at >= now - self._reversal_window,
                or_(Payment.next_check_at.is_(None), Payment.next_check_at <= now),
                _lease_free(now)).order_by(Payment.next_check_at, Payment.id).limit(200)))
        reversed_ = []
        for row in rows:
            claimed = await self._ledger.claim(view(row), PaymentState.paid)
            if claimed is None:
                continue
            try:
                reversed_view = await self._recheck(claimed)
            except LostClaim:
                continue
            except Exception:  # noqa: BLE001 - the claim runs out by itself; the row is looked at again later
                logger.exception("payout %s: reversal check failed", row.id)
                continue
            if reversed_view is not None:
                reversed_.append(reversed_view)
        return reversed_

    async def _recheck(self, payment: PaymentView) -> PayoutView | None:
        later = self._now() + timedelta(seconds=self._schedule.intervals[-1])
        try:
            checked = await self._paysys.check_remittance(payment.partner_id)
        except ProviderError as error:
            await self._ledger.note(payment, f"reversal check: {getattr(error, 'code', type(error).__name__)}",
                                    keep=False, next_check_at=later)
            return None
        if checked.status == PayoutStatus.REVERSED:
            return payout_view(await self._rail.reversed(payment))
        await self._ledger.note(payment, f"reversal check: status {int(checked.status)}", keep=False,
                                next_check_at=later)
        return None

    async def next_due_at(self) -> datetime | None:
        """When the next expiry or reversal check is due (the worker's sleep)."""
        now = self._now()
        async with self._sessions() as session:
            prepared = await session.scalar(select(func.min(Payment.updated_at)).where(
                Payment.rail == Rail.paysys.value, Payment.state == PaymentState.prepared.value))
            recheck = await session.scalar(select(func.min(Payment.next_check_at)).where(
                Payment.rail == Rail.paysys.value, Payment.state == PaymentState.paid.value,
                Payment.completed_at >= now - self._reversal_window))
        times = [_aware(prepared) + self._confirm_window] if prepared else []
        times += [_aware(recheck)] if recheck else []
        return min(times, default=None)

    # ---- helpers -------------------------------------------------------------------------------------------------

    def _require_refunds(self) -> PaysysRail:
        if not self.refunds:
            raise PayoutRefused("disabled")
        return self._require_rail()

    def _require_rail(self) -> PaysysRail:
        if self._rail is None:
            raise PayoutRefused("disabled")
        return self._rail

    async def _by_intent(self, user_id: int, intent_key: str) -> PaymentView | None:
        async with self._sessions() as session:
            row = await session.scalar(select(Payment).where(
                Payment.user_id == user_id, Payment.intent_key == intent_key))
        if row is None:
            return None
        if row.rail != Rail.paysys.value:
            raise PayoutRefused("not_found")
        return view(row)

    async def _owned(self, user_id: int, payout_id: int, kind: PayoutKind) -> PaymentView:
        try:
            payment = await self._ledger.owned(user_id, payout_id)
        except PaymentClosed:
            raise PayoutRefused("not_found") from None
        if payment.rail != Rail.paysys or payment.service_id != kind.value:
            raise PayoutRefused("not_found")
        return payment

    async def _operated(self, operator_id: int, payout_id: int) -> PaymentView:
        if not self.is_operator(operator_id):
            raise PayoutRefused("not_operator")
        try:
            payment = await self._ledger.get(payout_id)
        except PaymentClosed:
            raise PayoutRefused("not_found") from None
        if payment.rail != Rail.paysys or payment.service_id != REFUND_PAYOUT:
            raise PayoutRefused("not_found")
        return payment

    async def _current(self, payout_id: int) -> PayoutView:
        return payout_view(await self._ledger.get(payout_id))


def payout_view(payment: PaymentView) -> PayoutView:
    operator = payment.account.get("operator_id") if payment.account else None
    return PayoutView(
        id=payment.id, user_id=payment.user_id, kind=PayoutKind(payment.service_id), state=payment.state,
        amount_sums=payment.amount, card_masked=payment.card_masked, recipient_name=payment.recipient_name,
        total_tiyin=payment.payout_total, commission=payment.payout_commission, partner_id=payment.partner_id,
        transaction_id=payment.transaction_id, error_code=payment.error_code, created_at=payment.created_at,
        completed_at=payment.completed_at, refund_of=payment.refund_of,
        operator_id=int(operator) if operator and str(operator).isdigit() else None)


async def _balance(session, user_id: int) -> int:
    return int(await session.scalar(select(func.coalesce(func.sum(CashbackEntry.amount), 0)).where(
        CashbackEntry.user_id == user_id)) or 0)


def _open_cashback(user_id: int):
    return select(Payment).where(Payment.user_id == user_id, Payment.rail == Rail.paysys.value,
                                 Payment.service_id == CASHBACK_PAYOUT, Payment.state.not_in(_FINAL))


def _lease_free(now: datetime):
    return or_(Payment.lease_until.is_(None), Payment.lease_until < now)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
