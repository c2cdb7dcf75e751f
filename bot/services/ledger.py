"""Our payment ledger, shared by both rails: one row per payment, every state change an event with its time.

A move is checked against the state table (`bot.domain.payments`) and committed before the next provider call,
so a crash leaves a row that says what we knew.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.payments import PaymentState, check_transition
from bot.storage.models import Payment, PaymentEvent


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
    rail: str = "paylov"
    receipt_id: str | None = None
    receipt_state: int | None = None
    charged_at: str | None = None


# What the user is told. The Payme rail adds: "settling" (the card is charged, the bill not yet confirmed),
# "refunding" (the bill could not be paid, the charge is being cancelled), "refunded" (the money is back).
Outcome = Literal["paid", "failed", "unknown", "gave_up", "wrong_code", "new_code", "not_charged", "pending",
                  "settling", "refunding", "refunded"]


@dataclass(frozen=True)
class PayResult:
    outcome: Outcome
    payment: PaymentView
    tries_left: int = 0


@dataclass(frozen=True)
class CheckSchedule:
    """How often an unsettled payment's status is asked, and when to stop asking (seconds)."""

    intervals: tuple[float, ...] = (10, 30, 60, 300, 900, 3600)
    give_up_after: float = 86400
    paying_stale_after: float = 60


class PaymentClosed(Exception):
    """The payment is not in a state that accepts this step (a button of a finished payment, a replay)."""


class Ledger:
    def __init__(self, sessionmaker: async_sessionmaker) -> None:
        self._sessions = sessionmaker

    async def get(self, payment_id: int) -> PaymentView:
        async with self._sessions() as session:
            return view(await session.get(Payment, payment_id))

    async def move(self, payment_id: int, to: PaymentState, detail: str | None = None, **values) -> PaymentView:
        async with self._sessions.begin() as session:
            payment = await session.get(Payment, payment_id, with_for_update=True)
            old = PaymentState(payment.state)
            check_transition(old, to)
            payment.state = to.value
            for name, value in values.items():
                setattr(payment, name, value)
            session.add(PaymentEvent(payment_id=payment_id, from_state=old.value, to_state=to.value,
                                     detail=(detail or "")[:255] or None))
            await session.flush()
            return view(payment)

    async def note(self, payment_id: int, detail: str, **values) -> PaymentView:
        """Record an answer that changes nothing about the payment's state."""
        async with self._sessions.begin() as session:
            payment = await session.get(Payment, payment_id)
            for name, value in values.items():
                setattr(payment, name, value)
            session.add(PaymentEvent(payment_id=payment_id, from_state=payment.state, to_state=payment.state,
                                     detail=detail[:255]))
            await session.flush()
            return view(payment)

    @staticmethod
    async def owned(session: AsyncSession, user_id: int, payment_id: int) -> Payment:
        payment = await session.get(Payment, payment_id)
        if payment is None or payment.user_id != user_id:
            raise PaymentClosed("no such payment")
        return payment


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
        rail=payment.rail or "paylov",
        receipt_id=payment.receipt_id,
        receipt_state=payment.receipt_state,
        charged_at=payment.charged_at,
    )
