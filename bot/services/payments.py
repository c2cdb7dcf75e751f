"""Paying a bill through Paylov: our ledger first, then create (SMS code), then pay, and never a blind retry.

Each step commits its state before the provider call and records the answer after it, so a crash at any point
leaves a row that says what we knew: `paying` or `unknown` rows are settled through transaction/status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.payments import PaymentState, check_transition
from bot.providers.errors import (
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
)
from bot.providers.paylov import PaylovClient
from bot.services.cards import CardsService
from bot.services.catalogue import Service
from bot.storage.models import Payment, PaymentEvent

logger = logging.getLogger(__name__)

MAX_CODE_TRIES = 3


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


Outcome = Literal["paid", "failed", "unknown", "gave_up", "wrong_code", "new_code", "not_charged", "pending"]


@dataclass(frozen=True)
class PayResult:
    outcome: Outcome
    payment: PaymentView
    tries_left: int = 0


class PaymentClosed(Exception):
    """The payment is not in a state that accepts this step (a button of a finished payment, a replay)."""


@dataclass(frozen=True)
class CheckSchedule:
    """How often an unsettled payment's status is asked, and when to stop asking (seconds)."""

    intervals: tuple[float, ...] = (10, 30, 60, 300, 900, 3600)
    give_up_after: float = 86400
    paying_stale_after: float = 60


class PaymentsService:
    def __init__(self, sessionmaker: async_sessionmaker, paylov: PaylovClient, cards: CardsService,
                 schedule: CheckSchedule | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._sessions = sessionmaker
        self._paylov = paylov
        self._cards = cards
        self._schedule = schedule or CheckSchedule()
        self._now = now

    async def get(self, user_id: int, payment_id: int) -> PaymentView:
        async with self._sessions() as session:
            return _view(await self._owned(session, user_id, payment_id))

    async def open(
        self,
        *,
        user_id: int,
        intent_key: str,
        service: Service,
        account: dict[str, str],
        account_display: list[list[str]],
        amount: int,
        card_id: int,
    ) -> PaymentView:
        """The draft row, before any provider call. The same intent twice (a double tap) gives the same row."""
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise TypeError("amount must be an int of whole sums")
        if not service.payable:
            raise PaymentClosed("service not payable")
        provider_card_id = await self._cards.provider_card_id(user_id, card_id)
        card = await self._cards.get(user_id, card_id)
        try:
            async with self._sessions.begin() as session:
                payment = Payment(
                    intent_key=intent_key,
                    user_id=user_id,
                    service_id=service.id,
                    service_name=service.name,
                    account=account,
                    account_display=account_display,
                    amount=amount,
                    card_id=card_id,
                    provider_card_id=provider_card_id,
                    card_masked=card.masked,
                    state=PaymentState.draft.value,
                    otp_failures=0,
                )
                session.add(payment)
                await session.flush()
                session.add(PaymentEvent(payment_id=payment.id, from_state=None, to_state=payment.state))
                return _view(payment)
        except IntegrityError:
            async with self._sessions() as session:
                existing = await session.scalar(select(Payment).where(Payment.intent_key == intent_key))
                if existing is None or existing.user_id != user_id:
                    raise
                return _view(existing)

    async def send_code(self, user_id: int, payment_id: int, phone: str | None) -> PayResult:
        """servicePayment/create with the card: Paylov texts a code to the card's phone."""
        async with self._sessions() as session:
            payment = await self._owned(session, user_id, payment_id)
            if payment.state != PaymentState.draft.value:
                return PayResult("pending" if payment.state == PaymentState.created.value else _outcome(payment),
                                 _view(payment))
            request = (payment.service_id, dict(payment.account), payment.amount, payment.provider_card_id)
        return await self._create(user_id, payment_id, request, phone, PaymentState.draft)

    async def _create(self, user_id, payment_id, request, phone, from_state: PaymentState) -> PayResult:
        service_id, account, amount, card_id = request
        try:
            created = await self._paylov.create_payment(service_id, account, amount, str(user_id), card_id, phone)
        except ProviderRejected as error:
            view = await self._move(payment_id, PaymentState.failed, error.code, error_code=error.code)
            return PayResult("failed", _with_message(view, error.message))
        except (ProviderUnavailable, ProviderOutcomeUnknown) as error:
            # create only reserves a transaction; without its id nothing can be charged: not charged, say so.
            view = await self._move(payment_id, PaymentState.failed, f"create: {type(error).__name__}",
                                    error_code="provider_unavailable")
            return PayResult("failed", view)
        view = await self._move(
            payment_id, PaymentState.created, f"transaction {created.transaction_id}",
            transaction_id=created.transaction_id, otp_phone=created.otp_sent_phone, otp_failures=0,
        )
        return PayResult("new_code" if from_state == PaymentState.created else "pending", view)

    async def pay(self, user_id: int, payment_id: int, otp: str, phone: str | None = None) -> PayResult:
        """servicePayment/pay. Only a `created` payment is paid, and only on the user's own action."""
        async with self._sessions() as session:
            payment = await self._owned(session, user_id, payment_id)
            if payment.state == PaymentState.draft.value:  # stopped before create: a code was never sent
                draft = True
            elif payment.state != PaymentState.created.value:
                return PayResult(_outcome(payment), _view(payment))
            else:
                draft = False
            transaction_id, card_id = payment.transaction_id, payment.provider_card_id
            request = (payment.service_id, dict(payment.account), payment.amount, payment.provider_card_id)
            failures = payment.otp_failures
        if draft:
            return await self.send_code(user_id, payment_id, phone)
        await self._move(payment_id, PaymentState.paying, "pay sent")
        try:
            paid = await self._paylov.pay(transaction_id, card_id, str(user_id), otp)
        except ProviderRejected as error:
            if error.code == "invalid_otp":
                failures += 1
                if failures >= MAX_CODE_TRIES:
                    view = await self._move(payment_id, PaymentState.failed, "three wrong codes",
                                            error_code="too_many_attempts", otp_failures=failures)
                    return PayResult("failed", view)
                view = await self._move(payment_id, PaymentState.created, "wrong code", otp_failures=failures)
                return PayResult("wrong_code", view, tries_left=MAX_CODE_TRIES - failures)
            if error.code == "otp_expired":
                await self._move(payment_id, PaymentState.created, f"code expired; {transaction_id} not charged")
                return await self._create(user_id, payment_id, request, phone, PaymentState.created)
            if error.code == "transaction_already_payed":
                return await self.check(payment_id)
            view = await self._move(payment_id, PaymentState.failed, error.code, error_code=error.code)
            return PayResult("failed", _with_message(view, error.message))
        except ProviderUnavailable:
            # The request never arrived: nothing happened, the user may type the code again.
            view = await self._move(payment_id, PaymentState.created, "pay: provider unreachable")
            return PayResult("not_charged", view)
        except ProviderOutcomeUnknown as error:
            await self._move(payment_id, PaymentState.unknown, f"pay: {type(error).__name__}")
            return await self.check(payment_id)
        view = await self._move(
            payment_id, PaymentState.paid, f"paymentRef {paid.payment_ref}",
            payment_ref=paid.payment_ref, epos_merchant=paid.epos_merchant, epos_terminal=paid.epos_terminal,
            paid_at=paid.payed_at,
        )
        return PayResult("paid", view)

    async def check(self, payment_id: int) -> PayResult:
        """transaction/status settles a `paying` or `unknown` payment; it never sends pay.

        After a pay that got no answer, `created` is not proof of anything yet (the charge may still be on its way),
        so the payment stays `unknown` and is asked again on the schedule, until paid, cancelled, or given up.
        """
        async with self._sessions() as session:
            payment = await session.get(Payment, payment_id)
            if payment.state not in (PaymentState.paying.value, PaymentState.unknown.value):
                return PayResult(_outcome(payment), _view(payment))
            transaction_id, was_paying = payment.transaction_id, payment.state == PaymentState.paying.value
            started, checks = _aware(payment.created_at), payment.status_checks
        if was_paying:
            await self._move(payment_id, PaymentState.unknown, "outcome not recorded; asking status")
        try:
            status = await self._paylov.transaction_status(transaction_id)
            answer = status.status
        except ProviderError as error:
            logger.warning("status of payment %s unavailable: %s", payment_id, type(error).__name__)
            status, answer = None, "unavailable"
        if answer == "paid":
            view = await self._move(payment_id, PaymentState.paid, "status: paid", paid_at=status.payed_at,
                                    status_checks=checks + 1, next_check_at=None)
            return PayResult("paid", view)
        if answer == "cancelled":
            view = await self._move(payment_id, PaymentState.failed, "status: cancelled", error_code="cancelled",
                                    status_checks=checks + 1, next_check_at=None)
            return PayResult("failed", view)
        now = self._now()
        intervals = self._schedule.intervals
        if now - started >= timedelta(seconds=self._schedule.give_up_after):
            view = await self._note(payment_id, f"status: {answer}; gave up", status_checks=checks + 1,
                                    next_check_at=None, gave_up_at=now)
            return PayResult("gave_up", view)
        wait = intervals[min(checks, len(intervals) - 1)]
        view = await self._note(payment_id, f"status: {answer}", status_checks=checks + 1,
                                next_check_at=now + timedelta(seconds=wait))
        return PayResult("unknown", view)

    async def due(self, *, startup: bool = False) -> list[int]:
        """Unsettled payments whose next status check is due; at start every `paying` row is orphaned."""
        now = self._now()
        stale = now - timedelta(seconds=self._schedule.paying_stale_after)
        async with self._sessions() as session:
            unknown = await session.scalars(select(Payment).where(
                Payment.state == PaymentState.unknown.value, Payment.gave_up_at.is_(None)))
            paying = await session.scalars(select(Payment).where(Payment.state == PaymentState.paying.value))
            ids = [p.id for p in unknown if p.next_check_at is None or _aware(p.next_check_at) <= now]
            ids += [p.id for p in paying if startup or _aware(p.updated_at) <= stale]
            return sorted(ids)

    async def next_due_at(self) -> datetime | None:
        async with self._sessions() as session:
            times = await session.scalars(select(Payment.next_check_at).where(
                Payment.state == PaymentState.unknown.value, Payment.gave_up_at.is_(None),
                Payment.next_check_at.is_not(None)))
            return min((_aware(t) for t in times), default=None)

    async def _note(self, payment_id: int, detail: str, **values) -> PaymentView:
        """Record a status answer that changes nothing about the payment's state."""
        async with self._sessions.begin() as session:
            payment = await session.get(Payment, payment_id)
            for name, value in values.items():
                setattr(payment, name, value)
            session.add(PaymentEvent(payment_id=payment_id, from_state=payment.state, to_state=payment.state,
                                     detail=detail[:255]))
            await session.flush()
            return _view(payment)

    async def get_any(self, payment_id: int) -> PaymentView:
        async with self._sessions() as session:
            return _view(await session.get(Payment, payment_id))

    async def abandon(self, user_id: int, payment_id: int) -> None:
        """The user cancelled before paying: a draft or created payment is closed as failed (nothing charged)."""
        async with self._sessions() as session:
            payment = await self._owned(session, user_id, payment_id)
            if payment.state not in (PaymentState.draft.value, PaymentState.created.value):
                return
        await self._move(payment_id, PaymentState.failed, "cancelled by the user", error_code="cancelled_by_user")

    async def _move(self, payment_id: int, to: PaymentState, detail: str | None = None, **values) -> PaymentView:
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
            return _view(payment)

    @staticmethod
    async def _owned(session: AsyncSession, user_id: int, payment_id: int) -> Payment:
        payment = await session.get(Payment, payment_id)
        if payment is None or payment.user_id != user_id:
            raise PaymentClosed("no such payment")
        return payment


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _outcome(payment: Payment) -> Outcome:
    return {
        PaymentState.paid.value: "paid",
        PaymentState.failed.value: "failed",
        PaymentState.unknown.value: "unknown",
        PaymentState.paying.value: "unknown",
        PaymentState.created.value: "pending",
        PaymentState.draft.value: "pending",
    }[payment.state]


def _with_message(view: PaymentView, message: str | None) -> PaymentView:
    return replace(view, error_message=message)


def _view(payment: Payment) -> PaymentView:
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
    )
