"""Paying a bill: our ledger first, then the rail the chosen card belongs to, and never a blind retry.

A Paylov card: servicePayment/create (SMS code), then pay. A Payme card: `payme_rail` (a receipt charges the card,
the settlement card pays the bill). Each step commits its state before the provider call and records the answer
after it, so a crash at any point leaves a row that says what we knew; the settlement worker finishes such rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.domain.payments import PaymentState
from bot.providers.errors import (
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
)
from bot.providers.paylov import PaylovClient
from bot.providers.payme import PaymeClient
from bot.services.cards import CardFlowError, CardsService
from bot.services.catalogue import Service
from bot.services.ledger import (
    CheckSchedule,
    Ledger,
    Outcome,
    PaymentClosed,
    PaymentView,
    PayResult,
    aware,
    with_message,
)
from bot.services.ledger import (
    view as _view,
)
from bot.services.payme_rail import PaymeRail, payme_phone
from bot.storage.models import Payment, PaymentEvent

__all__ = ["CheckSchedule", "Outcome", "PaymentClosed", "PaymentView", "PaymentsService", "PayResult"]

logger = logging.getLogger(__name__)

MAX_CODE_TRIES = 3
# Rows the settlement worker finishes: waiting on a schedule, or whose handler may have died mid-call.
WAITING = tuple(s.value for s in (PaymentState.unknown, PaymentState.charged, PaymentState.settling,
                                  PaymentState.refunding))
IN_FLIGHT = (PaymentState.paying.value, PaymentState.charging.value)


class PaymentsService:
    def __init__(self, sessionmaker: async_sessionmaker, paylov: PaylovClient, cards: CardsService,
                 schedule: CheckSchedule | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), *,
                 payme: PaymeClient | None = None, settlement_card_id: str | None = None) -> None:
        self._sessions = sessionmaker
        self._ledger = Ledger(sessionmaker)
        self._paylov = paylov
        self._cards = cards
        self._schedule = schedule or CheckSchedule()
        self._now = now
        self._payme = payme
        self._payme_rail = None
        if payme is not None and settlement_card_id:
            self._payme_rail = PaymeRail(sessionmaker, self._ledger, payme, paylov,
                                         settlement_card_id=settlement_card_id, schedule=self._schedule, now=now)

    async def get(self, user_id: int, payment_id: int) -> PaymentView:
        async with self._sessions() as session:
            return _view(await self._ledger.owned(session, user_id, payment_id))

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
        card = await self._cards.usable(user_id, card_id)  # a Payme token is checked at Payme first
        if card.vault == "payme" and self._payme_rail is None:
            raise CardFlowError("payme_unavailable")
        provider_card_id = await self._cards.provider_card_id(user_id, card_id)
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
                    rail=card.vault,
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

    async def start(self, user_id: int, payment_id: int, phone: str | None) -> PayResult:
        """The user confirmed: a Paylov card gets its SMS code; a Payme card is charged (its token was verified by
        SMS when it was bound, so Payme asks no code per payment)."""
        async with self._sessions() as session:
            payment = await self._ledger.owned(session, user_id, payment_id)
            rail, state = payment.rail, payment.state
        if rail != "payme":
            return await self.send_code(user_id, payment_id, phone)
        if state != PaymentState.draft.value or self._payme_rail is None:
            return await self._current(payment_id)
        return await self._payme_rail.charge(payment_id, phone)

    async def _current(self, payment_id: int) -> PayResult:
        """A replayed confirm: what became of the payment, without a provider call."""
        payment = await self._ledger.get(payment_id)
        return PayResult(_outcome(payment), payment)

    async def send_receipt(self, user_id: int, payment_id: int, phone: str | None) -> bool:
        """receipts.send: Payme texts the receipt of a Payme-card payment to the user's phone."""
        async with self._sessions() as session:
            payment = await self._ledger.owned(session, user_id, payment_id)
            receipt_id = payment.receipt_id
        digits = payme_phone(phone)
        if receipt_id is None or self._payme is None or not digits:
            raise PaymentClosed("no Payme receipt")
        return await self._payme.receipts_send(receipt_id, digits)

    async def send_code(self, user_id: int, payment_id: int, phone: str | None) -> PayResult:
        """servicePayment/create with the card: Paylov texts a code to the card's phone."""
        async with self._sessions() as session:
            payment = await self._ledger.owned(session, user_id, payment_id)
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
            view = await self._ledger.move(payment_id, PaymentState.failed, error.code, error_code=error.code)
            return PayResult("failed", with_message(view, error.message))
        except (ProviderUnavailable, ProviderOutcomeUnknown) as error:
            # create only reserves a transaction; without its id nothing can be charged: not charged, say so.
            view = await self._ledger.move(payment_id, PaymentState.failed, f"create: {type(error).__name__}",
                                           error_code="provider_unavailable")
            return PayResult("failed", view)
        view = await self._ledger.move(
            payment_id, PaymentState.created, f"transaction {created.transaction_id}",
            transaction_id=created.transaction_id, otp_phone=created.otp_sent_phone, otp_failures=0,
        )
        return PayResult("new_code" if from_state == PaymentState.created else "pending", view)

    async def pay(self, user_id: int, payment_id: int, otp: str, phone: str | None = None) -> PayResult:
        """servicePayment/pay. Only a `created` payment is paid, and only on the user's own action."""
        async with self._sessions() as session:
            payment = await self._ledger.owned(session, user_id, payment_id)
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
        await self._ledger.move(payment_id, PaymentState.paying, "pay sent")
        try:
            paid = await self._paylov.pay(transaction_id, card_id, str(user_id), otp)
        except ProviderRejected as error:
            if error.code == "invalid_otp":
                failures += 1
                if failures >= MAX_CODE_TRIES:
                    view = await self._ledger.move(payment_id, PaymentState.failed, "three wrong codes",
                                                   error_code="too_many_attempts", otp_failures=failures)
                    return PayResult("failed", view)
                view = await self._ledger.move(payment_id, PaymentState.created, "wrong code", otp_failures=failures)
                return PayResult("wrong_code", view, tries_left=MAX_CODE_TRIES - failures)
            if error.code == "otp_expired":
                await self._ledger.move(payment_id, PaymentState.created, f"code expired; {transaction_id} not charged")
                return await self._create(user_id, payment_id, request, phone, PaymentState.created)
            if error.code == "transaction_already_payed":
                return await self.check(payment_id)
            view = await self._ledger.move(payment_id, PaymentState.failed, error.code, error_code=error.code)
            return PayResult("failed", with_message(view, error.message))
        except ProviderUnavailable:
            # The request never arrived: nothing happened, the user may type the code again.
            view = await self._ledger.move(payment_id, PaymentState.created, "pay: provider unreachable")
            return PayResult("not_charged", view)
        except ProviderOutcomeUnknown as error:
            await self._ledger.move(payment_id, PaymentState.unknown, f"pay: {type(error).__name__}")
            return await self.check(payment_id)
        view = await self._ledger.move(
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
            rail = payment.rail
        if rail == "payme":
            result = await self._payme_rail.check(payment_id) if self._payme_rail else None
            return result or await self._current(payment_id)
        async with self._sessions() as session:
            payment = await session.get(Payment, payment_id)
            if payment.state not in (PaymentState.paying.value, PaymentState.unknown.value):
                return PayResult(_outcome(payment), _view(payment))
            transaction_id, was_paying = payment.transaction_id, payment.state == PaymentState.paying.value
            started, checks = aware(payment.created_at), payment.status_checks
        if was_paying:
            await self._ledger.move(payment_id, PaymentState.unknown, "outcome not recorded; asking status")
        try:
            status = await self._paylov.transaction_status(transaction_id)
            answer = status.status
        except ProviderError as error:
            logger.warning("status of payment %s unavailable: %s", payment_id, type(error).__name__)
            status, answer = None, "unavailable"
        if answer == "paid":
            view = await self._ledger.move(payment_id, PaymentState.paid, "status: paid", paid_at=status.payed_at,
                                           status_checks=checks + 1, next_check_at=None)
            return PayResult("paid", view)
        if answer == "cancelled":
            view = await self._ledger.move(payment_id, PaymentState.failed, "status: cancelled", error_code="cancelled",
                                           status_checks=checks + 1, next_check_at=None)
            return PayResult("failed", view)
        now = self._now()
        intervals = self._schedule.intervals
        if now - started >= timedelta(seconds=self._schedule.give_up_after):
            view = await self._ledger.note(payment_id, f"status: {answer}; gave up", status_checks=checks + 1,
                                           next_check_at=None, gave_up_at=now)
            return PayResult("gave_up", view)
        wait = intervals[min(checks, len(intervals) - 1)]
        view = await self._ledger.note(payment_id, f"status: {answer}", status_checks=checks + 1,
                                       next_check_at=now + timedelta(seconds=wait))
        return PayResult("unknown", view)

    async def due(self, *, startup: bool = False) -> list[int]:
        """Unsettled payments whose next check is due; at start every `paying`/`charging` row is orphaned.

        A Payme-rail row that waits on no schedule yet is left to the handler that is moving it, until it is stale:
        two hands settling one charge could pay the bill twice."""
        now = self._now()
        stale = now - timedelta(seconds=self._schedule.paying_stale_after)
        async with self._sessions() as session:
            waiting = await session.scalars(select(Payment).where(
                Payment.state.in_(WAITING), Payment.gave_up_at.is_(None)))
            in_flight = await session.scalars(select(Payment).where(Payment.state.in_(IN_FLIGHT)))
            ids = []
            for p in waiting:
                if p.next_check_at is not None:
                    due = aware(p.next_check_at) <= now
                else:  # a Paylov-rail `unknown` is only ever asked about (status), so at once is safe
                    paylov_unknown = p.state == PaymentState.unknown.value and p.rail != "payme"
                    due = paylov_unknown or startup or aware(p.updated_at) <= stale
                if due:
                    ids.append(p.id)
            ids += [p.id for p in in_flight if startup or aware(p.updated_at) <= stale]
            return sorted(ids)

    async def next_due_at(self) -> datetime | None:
        async with self._sessions() as session:
            times = await session.scalars(select(Payment.next_check_at).where(
                Payment.state.in_(WAITING), Payment.gave_up_at.is_(None),
                Payment.next_check_at.is_not(None)))
            return min((aware(t) for t in times), default=None)

    async def abandon(self, user_id: int, payment_id: int) -> None:
        """The user cancelled before paying: a draft or created payment is closed as failed (nothing charged)."""
        async with self._sessions() as session:
            payment = await self._ledger.owned(session, user_id, payment_id)
            if payment.state not in (PaymentState.draft.value, PaymentState.created.value):
                return
        await self._ledger.move(payment_id, PaymentState.failed, "cancelled by the user",
                                error_code="cancelled_by_user")


def _outcome(payment: Payment | PaymentView) -> Outcome:
    return {
        PaymentState.paid.value: "paid",
        PaymentState.failed.value: "failed",
        PaymentState.unknown.value: "unknown",
        PaymentState.paying.value: "unknown",
        PaymentState.created.value: "pending",
        PaymentState.draft.value: "pending",
        PaymentState.charging.value: "unknown",
        PaymentState.charged.value: "settling",
        PaymentState.settling.value: "settling",
        PaymentState.refunding.value: "refunding",
        PaymentState.refunded.value: "refunded",
    }[payment.state]
