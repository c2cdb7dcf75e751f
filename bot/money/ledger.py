"""The payment ledger: one row per payment, every state change an event, and claims on rows.

A step that calls a provider first wins the row with one conditional update (`UPDATE … WHERE id = :id AND
state = :expected AND the lease is free … RETURNING`), committed on its own; only the winner calls. What the holder
learns is written back the same way, conditional on its claim (`lease_owner = :me`), which also renews the lease.
Nothing here reads a row, checks it in Python and writes it back: the same code is correct on SQLite and PostgreSQL
and across processes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, Literal

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.payments import IN_FLIGHT, TRANSITIONS, WAITING, PaymentState, Rail, check_transition
from bot.storage.db import Sessions, is_transient
from bot.storage.models import CashbackEntry, OutboxMessage, Payment, PaymentEvent

logger = logging.getLogger(__name__)

# Pauses between tries of writing down a holder's answer when the database is busy (Ledger._recorded): 15 s in all,
# on top of SQLite's own busy timeout.
RECORD_PAUSES = (0.5, 1.5, 4.0, 9.0)
ABANDONED_AFTER = timedelta(minutes=30)  # a payment nobody finished (no code typed, no confirm) is closed


@dataclass(frozen=True)
class PaymentView:
    id: int
    user_id: int
    state: PaymentState
    service_id: str
    service_name: str
    account: dict[str, str]
    account_display: list[list[str]]
    amount: int
    card_masked: str
    transaction_id: str | None
    otp_phone: str | None
    otp_failures: int
    payment_ref: str | None
    epos_merchant: str | None
    epos_terminal: str | None
    paid_at: str | None
    error_code: str | None
    error_message: str | None = None
    rail: Rail = Rail.paylov
    receipt_id: str | None = None
    receipt_state: int | None = None
    charged_at: str | None = None
    provider_card_id: str = ""
    status_checks: int = 0
    refund_attempts: int = 0
    created_at: datetime | None = None
    gave_up: bool = False
    # "paysys" payouts (bot.money.paysys): our partner_transaction_id, what PaySys answered to prepare, the call last
    # sent, when it completed; a refund's paid bill.
    partner_id: int | None = None
    recipient_name: str | None = None
    payout_total: int | None = None
    payout_commission: str | None = None
    payout_step: str | None = None
    completed_at: datetime | None = None
    refund_of: int | None = None


# What the user is told. The Payme rail adds: "settling" (the card is charged, the bill not yet confirmed),
# "refunding" (the bill could not be paid, the charge is being cancelled), "refunded" (the money is back).
Outcome = Literal["paid", "failed", "unknown", "gave_up", "wrong_code", "new_code", "not_charged", "pending",
                  "settling", "refunding", "refunded", "refund_pending", "prepared", "reversed"]


@dataclass(frozen=True)
class PayResult:
    outcome: Outcome
    payment: PaymentView
    tries_left: int = 0


@dataclass(frozen=True)
class CheckSchedule:
    """How often an unsettled payment's status is asked, when to stop asking, and how long a claim lasts."""

    intervals: tuple[float, ...] = (10, 30, 60, 300, 900, 3600)
    give_up_after: float = 86400
    lease: float = 60
    refund_attempts: int = 5

    def wait(self, checks: int) -> float:
        return self.intervals[min(checks, len(self.intervals) - 1)]


class PaymentClosed(Exception):
    """The payment is not in a state that accepts this step (a button of a finished payment, a replay)."""


class LostClaim(Exception):
    """Our claim on the row ended (its lease ran out and another process took it): we must not move it."""


# Payout rows by what they pay out (Payment.service_id on the paysys rail).
CASHBACK_PAYOUT = "cashback"
REFUND_PAYOUT = "refund"


def cashback_of(amount_sums: int, percent: Decimal) -> int:
    """Tiyin credited for a bill of `amount_sums`: `percent` of it, rounded down to a tiyin. Exact: no float."""
    if percent <= 0:
        return 0
    return int((Decimal(amount_sums) * 100 * Decimal(percent) / 100).to_integral_value(rounding=ROUND_DOWN))


class Ledger:
    def __init__(self, sessions: Sessions, *, owner: str, lease: float,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 cashback_percent: Decimal = Decimal(0)) -> None:
        self._sessions = sessions
        self.owner = owner
        self._lease = timedelta(seconds=lease)
        self._now = now
        self._cashback_percent = Decimal(cashback_percent)

    def now(self) -> datetime:
        return self._now()

    # ---- reading -------------------------------------------------------------------------------------------------

    async def get(self, payment_id: int) -> PaymentView:
        async with self._sessions() as session:
            payment = await session.get(Payment, payment_id)
            if payment is None:
                raise PaymentClosed("no such payment")
            return view(payment)

    async def owned(self, user_id: int, payment_id: int) -> PaymentView:
        async with self._sessions() as session:
            payment = await session.get(Payment, payment_id)
        if payment is None or payment.user_id != user_id:
            raise PaymentClosed("no such payment")
        return view(payment)

    # ---- the draft -----------------------------------------------------------------------------------------------

    async def open(self, **values: Any) -> PaymentView:
        """The draft row, before any provider call; the same (user, intent) again gives the first row."""
        try:
            async with self._sessions.begin() as session:
                payment = Payment(state=PaymentState.draft.value, otp_failures=0, **values)
                session.add(payment)
                await session.flush()
                session.add(PaymentEvent(payment_id=payment.id, from_state=None, to_state=payment.state))
                return view(payment)
        except IntegrityError:
            async with self._sessions() as session:
                existing = await session.scalar(select(Payment).where(
                    Payment.user_id == values["user_id"], Payment.intent_key == values["intent_key"]))
            if existing is None:
                raise
            return view(existing)

    # ---- claims ----------------------------------------------------------------------------------------------------

    async def claim(self, payment: PaymentView, expected: PaymentState, to: PaymentState | None = None,
                    detail: str | None = None, **values: Any) -> PaymentView | None:
        """Win the row for a provider call: from the `expected` state with its lease free, to `to` (or the same
        state), leased to us. None: another hand holds it, or it has moved on."""
        if to is not None:
            check_transition(expected, to, payment.rail)
        now = self._now()
        async with self._sessions.begin() as session:
            row = await self._claim(session, payment.id, expected, to, now, **values)
            if row is not None and to is not None:
                session.add(PaymentEvent(payment_id=row.id, from_state=expected.value, to_state=to.value,
                                         detail=_detail(detail)))
                await self._book(session, row, to, now)
            return view(row) if row is not None else None

    async def _claim(self, session: AsyncSession, payment_id: int, expected: PaymentState,
                     to: PaymentState | None, now: datetime, **values: Any) -> Payment | None:
        changes = {"lease_owner": self.owner, "lease_until": now + self._lease, "updated_at": now, **values}
        if to is not None:
            changes["state"] = to.value
        statement = (update(Payment)
                     .where(Payment.id == payment_id, Payment.state == expected.value, _lease_free(now))
                     .values(**changes)
                     .returning(Payment)
                     .execution_options(synchronize_session=False))
        return (await session.scalars(statement)).first()

    async def move(self, payment: PaymentView, to: PaymentState, detail: str | None = None, *,
                   keep: bool = False, tell: str | None = None, tell_anyone: bool = False,
                   **values: Any) -> PaymentView:
        """The holder's move from the state it claimed; the claim ends unless `keep` (the next call follows).
        `tell`: the message this change owes the user, written to the outbox in the same transaction (held by us
        to send, or with `tell_anyone` left for any sender: the user is not the one in this chat). The cashback
        ledger's entries this change causes are written in the same transaction too (`_book`)."""
        check_transition(payment.state, to, payment.rail)

        async def write() -> PaymentView:
            now = self._now()
            lease = {"lease_until": now + self._lease} if keep else {"lease_owner": None, "lease_until": None}
            async with self._sessions.begin() as session:
                row = await self._held_update(session, payment,
                                              {"state": to.value, "updated_at": now, **lease, **values})
                session.add(PaymentEvent(payment_id=row.id, from_state=payment.state.value, to_state=to.value,
                                         detail=_detail(detail)))
                await self._book(session, row, to, now)
                if tell is not None:
                    await self._owe(session, row, tell, now, held=not tell_anyone)
                return view(row)

        return await self._recorded(payment, to, write)

    async def note(self, payment: PaymentView, detail: str, *, keep: bool = True, tell: str | None = None,
                   tell_anyone: bool = False, **values: Any) -> PaymentView:
        """The holder records an answer that does not change the state (a provider id, a schedule)."""

        async def write() -> PaymentView:
            now = self._now()
            lease = {"lease_until": now + self._lease} if keep else {"lease_owner": None, "lease_until": None}
            async with self._sessions.begin() as session:
                row = await self._held_update(session, payment, {"updated_at": now, **lease, **values})
                session.add(PaymentEvent(payment_id=row.id, from_state=payment.state.value,
                                         to_state=payment.state.value, detail=_detail(detail)))
                if tell is not None:
                    await self._owe(session, row, tell, now, held=not tell_anyone)
                return view(row)

        return await self._recorded(payment, None, write)

    async def _recorded(self, payment: PaymentView, to: PaymentState | None,
                        write: Callable[[], Awaitable[PaymentView]]) -> PaymentView:
        """What the holder learned (often a provider's answer) is written down even when the database is busy for
        a moment: SQLite's write lock held past its busy timeout, a PostgreSQL connection dropped. The write is
        conditional on our claim, so trying it again cannot apply it twice; if an earlier try did commit (its
        answer lost with the connection), the row already shows it."""
        retried = False
        for pause in (*RECORD_PAUSES, None):
            try:
                return await write()
            except DBAPIError as error:
                if pause is None or not is_transient(error):
                    raise
                logger.warning("payment %s: recording failed (%s); trying again in %.1f s", payment.id,
                               type(error).__name__, pause)
                await asyncio.sleep(pause)
                retried = True
            except LostClaim:
                if retried and to is not None and (current := await self.get(payment.id)).state == to:
                    return current
                raise
        raise AssertionError("unreachable: the last try returns or raises")

    # ---- the cashback ledger ---------------------------------------------------------------------------------------

    async def _book(self, session: AsyncSession, row: Payment, to: PaymentState, now: datetime) -> None:
        """The cashback entries a state change causes, in its own transaction (the payment's row is locked by the
        update just made, so the look-then-add below cannot add twice; the unique (payment_id, kind) backs it).

        A bill becoming `paid`: its credit. A cashback payout: failed -> its hold released; paid -> released and
        debited; reversed -> given back. A refund: paid -> the cashback its bill earned debited; reversed -> back."""
        rail = Rail(row.rail or "paylov")
        if rail != Rail.paysys:
            if to == PaymentState.paid:
                credit = cashback_of(row.amount, self._cashback_percent)
                if credit > 0:
                    await _entry(session, row.user_id, row.id, "credit", credit, "bill", now)
            return
        if row.service_id == CASHBACK_PAYOUT:
            held = await _entry_amount(session, row.id, "hold")
            if held is None:
                return
            if to == PaymentState.failed:
                await _entry(session, row.user_id, row.id, "release", -held, "payout failed", now)
            elif to == PaymentState.paid:
                await _entry(session, row.user_id, row.id, "release", -held, "payout completed", now)
                await _entry(session, row.user_id, row.id, "debit", held, "payout completed", now)
            elif to == PaymentState.reversed:
                await _entry(session, row.user_id, row.id, "reversal", -held, "payout reversed", now)
        elif row.service_id == REFUND_PAYOUT and row.refund_of is not None:
            if to == PaymentState.paid:
                credit = await _entry_amount(session, row.refund_of, "credit")
                if credit:
                    await _entry(session, row.user_id, row.id, "debit", -credit, "refund", now)
            elif to == PaymentState.reversed:
                debit = await _entry_amount(session, row.id, "debit")
                if debit:
                    await _entry(session, row.user_id, row.id, "reversal", -debit, "refund reversed", now)

    async def _owe(self, session: AsyncSession, row: Payment, kind: str, now: datetime, *, held: bool = True) -> None:
        """One message per payment and kind. Held by us for a lease, so that the hand that made the change tells
        the user itself (with its buttons); if it dies first, a worker tells once the lease has run out. The row
        lock of the payment's update serialises two hands, so the look-then-add cannot add twice."""
        told = await session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.payment_id == row.id, OutboxMessage.kind == kind))
        if told is None:
            # Older news nobody has sent yet ("on its way") is not sent after newer ("back on the card").
            await session.execute(update(OutboxMessage).where(
                OutboxMessage.payment_id == row.id, OutboxMessage.state == "pending").values(state="superseded"))
            session.add(OutboxMessage(user_id=row.user_id, payment_id=row.id, kind=kind, state="pending", attempts=0,
                                      lease_owner=self.owner if held else None,
                                      lease_until=now + self._lease if held else None, created_at=now))

    async def _held_update(self, session: AsyncSession, payment: PaymentView, values: dict[str, Any]) -> Payment:
        statement = (update(Payment)
                     .where(Payment.id == payment.id, Payment.state == payment.state.value,
                            Payment.lease_owner == self.owner)
                     .values(**values)
                     .returning(Payment)
                     .execution_options(synchronize_session=False))
        row = (await session.scalars(statement)).first()
        if row is None:
            logger.warning("payment %s: our claim on %s has ended; not moving it", payment.id, payment.state.value)
            raise LostClaim(payment.id)
        return row

    async def close(self, payment: PaymentView, detail: str, error_code: str) -> PaymentView | None:
        """Nothing was charged and nobody holds the row: a draft or created payment closed as failed (the user left,
        or nobody finished it). None when it had moved on."""
        for state in (PaymentState.created, PaymentState.draft):
            if state not in TRANSITIONS[payment.rail]:
                continue
            closed = await self.claim(payment, state, PaymentState.failed, detail, error_code=error_code,
                                      lease_owner=None, lease_until=None)
            if closed is not None:
                return closed
        return None

    # ---- the runner's picks ------------------------------------------------------------------------------------------

    async def pick(self, skip: Iterable[int] = ()) -> PaymentView | None:
        """One row the runner should settle, claimed (leased, state unchanged): a call in flight whose claim expired
        (its holder died), or a waiting row whose next check is due. On PostgreSQL rows locked by another replica's
        pick are skipped; on SQLite the write transaction serialises picks. The conditional update decides anyway."""
        now = self._now()
        due = or_(*(and_(Payment.rail == rail.value, or_(
            Payment.state.in_([s.value for s in IN_FLIGHT[rail]]),
            and_(Payment.state.in_([s.value for s in WAITING[rail]]),
                 or_(Payment.gave_up_at.is_(None), Payment.state == PaymentState.refunding.value),
                 or_(Payment.next_check_at.is_(None), Payment.next_check_at <= now)),
        )) for rail in Rail))
        query = (select(Payment.id, Payment.state).where(due, _lease_free(now))
                 .order_by(Payment.next_check_at, Payment.id))
        if skip := list(skip):
            query = query.where(Payment.id.not_in(skip))
        async with self._sessions.begin() as session:
            found = (await session.execute(query.limit(1).with_for_update(skip_locked=True))).first()
            if found is None:
                return None
            row = await self._claim(session, found.id, PaymentState(found.state), None, now)
            return view(row) if row is not None else None

    async def abandoned(self) -> list[PaymentView]:
        """Draft and created rows nobody touched for ABANDONED_AFTER."""
        cutoff = self._now() - ABANDONED_AFTER
        async with self._sessions() as session:
            rows = await session.scalars(select(Payment).where(
                Payment.state.in_([PaymentState.draft.value, PaymentState.created.value]),
                Payment.updated_at < cutoff, _lease_free(self._now())))
            return [view(row) for row in rows]

    async def next_due_at(self) -> datetime | None:
        waiting = [s.value for rail in Rail for s in WAITING[rail]]
        async with self._sessions() as session:
            times = await session.scalars(select(Payment.next_check_at).where(
                Payment.state.in_(waiting), Payment.next_check_at.is_not(None),
                or_(Payment.gave_up_at.is_(None), Payment.state == PaymentState.refunding.value)))
            leases = await session.scalars(select(Payment.lease_until).where(Payment.lease_until.is_not(None)))
            return min((aware(t) for t in [*times, *leases]), default=None)


async def _entry_amount(session: AsyncSession, payment_id: int, kind: str) -> int | None:
    return await session.scalar(select(CashbackEntry.amount).where(
        CashbackEntry.payment_id == payment_id, CashbackEntry.kind == kind))


async def _entry(session: AsyncSession, user_id: int, payment_id: int, kind: str, amount: int, reason: str,
                 now: datetime) -> None:
    """One entry per payment and kind: a second one is never added."""
    if await _entry_amount(session, payment_id, kind) is None:
        session.add(CashbackEntry(user_id=user_id, payment_id=payment_id, kind=kind, amount=amount, reason=reason,
                                  created_at=now))
        await session.flush()


def _lease_free(now: datetime):
    return or_(Payment.lease_until.is_(None), Payment.lease_until < now)


def _detail(detail: str | None) -> str | None:
    return (detail or "")[:255] or None


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def with_message(payment: PaymentView, message: str | None) -> PaymentView:
    return replace(payment, error_message=message)


def view(payment: Payment) -> PaymentView:
    return PaymentView(
        id=payment.id,
        user_id=payment.user_id,
        state=PaymentState(payment.state),
        service_id=payment.service_id,
        service_name=payment.service_name,
        account=dict(payment.account),
        account_display=[list(pair) for pair in payment.account_display],
        amount=payment.amount,
        card_masked=payment.card_masked,
        transaction_id=payment.transaction_id,
        otp_phone=payment.otp_phone,
        otp_failures=payment.otp_failures,
        payment_ref=payment.payment_ref,
        epos_merchant=payment.epos_merchant,
        epos_terminal=payment.epos_terminal,
        paid_at=payment.paid_at,
        error_code=payment.error_code,
        rail=Rail(payment.rail or "paylov"),
        receipt_id=payment.receipt_id,
        receipt_state=payment.receipt_state,
        charged_at=payment.charged_at,
        provider_card_id=payment.provider_card_id,
        status_checks=payment.status_checks or 0,
        refund_attempts=payment.refund_attempts or 0,
        created_at=aware(payment.created_at) if payment.created_at else None,
        gave_up=payment.gave_up_at is not None,
        partner_id=payment.partner_id,
        recipient_name=payment.recipient_name,
        payout_total=payment.payout_total,
        payout_commission=payment.payout_commission,
        payout_step=payment.payout_step,
        completed_at=aware(payment.completed_at) if payment.completed_at else None,
        refund_of=payment.refund_of,
    )


def outcome_of(payment: PaymentView) -> Outcome:
    """What a payment's state means to the user, for a step that made no provider call of its own."""
    return {
        PaymentState.paid: "paid",
        PaymentState.failed: "failed",
        PaymentState.unknown: "unknown",
        PaymentState.paying: "unknown",
        PaymentState.creating: "pending",
        PaymentState.created: "pending",
        PaymentState.draft: "pending",
        PaymentState.charging: "unknown",
        PaymentState.charged: "settling",
        PaymentState.settling: "settling",
        PaymentState.refunding: "refunding",
        PaymentState.refunded: "refunded",
        # PaySys payouts
        PaymentState.preparing: "pending",
        PaymentState.prepared: "prepared",
        PaymentState.confirming: "unknown",
        PaymentState.cancelling: "unknown",
        PaymentState.reversed: "reversed",
    }[payment.state]
