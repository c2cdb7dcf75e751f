"""Paying a bill: what handlers and jobs call. The money engine (`bot.money`) does the work: our ledger first,
then the rail the chosen card belongs to, each provider call claimed before it is made, never a blind retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from bot.domain.payments import IN_FLIGHT, WAITING, PaymentState, Rail
from bot.money.ledger import (
    CheckSchedule,
    Ledger,
    LostClaim,
    Outcome,
    PaymentClosed,
    PaymentView,
    PayResult,
    outcome_of,
)
from bot.money.outbox import Outbox
from bot.money.paylov import PaylovRail
from bot.money.payme import PaymeRail, payme_phone
from bot.money.paysys import PaysysRail
from bot.money.runner import Runner
from bot.providers.paylov import PaylovClient
from bot.providers.payme import PaymeClient
from bot.providers.paysys import PaysysClient, Sender
from bot.services.cards import CardFlowError, CardsService
from bot.services.catalogue import Service
from bot.storage.db import Sessions

__all__ = ["CheckSchedule", "Outcome", "PaymentClosed", "PaymentView", "PaymentsService", "PayResult", "TOLD"]

# Outcomes a money state change owes the user: each is an outbox message, told exactly once.
TOLD = frozenset({"paid", "failed", "settling", "refunding", "refunded", "refund_pending", "gave_up"})

logger = logging.getLogger(__name__)


class PaymentsService:
    def __init__(self, sessionmaker: Sessions, paylov: PaylovClient, cards: CardsService,
                 schedule: CheckSchedule | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), *, owner: str,
                 payme: PaymeClient | None = None, settlement_card_id: str | None = None,
                 paysys: PaysysClient | None = None, sender: Sender | None = None,
                 cashback_percent: Decimal = Decimal(0)) -> None:
        """`paysys` and `sender`: the payout rail, settled by the same runner; `cashback_percent`: credited to the
        payer in the transaction that makes a bill `paid`."""
        self._schedule = schedule or CheckSchedule()
        self._args = (sessionmaker, paylov, cards, self._schedule, now)
        self._kwargs = {"payme": payme, "settlement_card_id": settlement_card_id, "paysys": paysys, "sender": sender,
                        "cashback_percent": cashback_percent}
        self.owner = owner
        self._ledger = Ledger(sessionmaker, owner=owner, lease=self._schedule.lease, now=now,
                              cashback_percent=cashback_percent)
        self.outbox = Outbox(sessionmaker, owner=owner, lease=self._schedule.lease, now=now)
        self._cards = cards
        self._payme = payme
        self._paylov_rail = PaylovRail(self._ledger, paylov, self._schedule, now)
        self._payme_rail = None
        if payme is not None and settlement_card_id:
            self._payme_rail = PaymeRail(self._ledger, payme, paylov, settlement_card_id=settlement_card_id,
                                         schedule=self._schedule, now=now)
        rails = {Rail.paylov: self._paylov_rail}
        if self._payme_rail is not None:
            rails[Rail.payme] = self._payme_rail
        if paysys is not None and sender is not None:
            rails[Rail.paysys] = PaysysRail(self._ledger, paysys, sender, self._schedule, now)
        self.runner = Runner(self._ledger, rails)

    def as_hand(self, name: str) -> PaymentsService:
        """The same service as another hand (a job in this process): its claims and messages are told apart from
        the handlers', so neither takes over what the other is doing."""
        return PaymentsService(*self._args, owner=f"{self.owner}/{name}"[:64], **self._kwargs)

    async def get(self, user_id: int, payment_id: int) -> PaymentView:
        return await self._ledger.owned(user_id, payment_id)

    async def payment(self, payment_id: int) -> PaymentView:
        """Any user's payment: for the jobs that tell users what became of theirs."""
        return await self._ledger.get(payment_id)

    async def open(self, *, user_id: int, intent_key: str, service: Service, account: dict[str, str],
                   account_display: list[list[str]], amount: int, card_id: int) -> PaymentView:
        """The draft row, before any provider call. The same intent twice (a double tap) gives the same row."""
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise TypeError("amount must be an int of whole sums")
        if not service.payable:
            raise PaymentClosed("service not payable")
        card = await self._cards.usable(user_id, card_id)  # a Payme token is checked at Payme first
        if card.vault == Rail.payme and self._payme_rail is None:
            raise CardFlowError("payme_unavailable")
        return await self._ledger.open(
            intent_key=intent_key, user_id=user_id, service_id=service.id, service_name=service.name,
            account=account, account_display=account_display, amount=amount, card_id=card_id,
            provider_card_id=await self._cards.provider_card_id(user_id, card_id), card_masked=card.masked,
            rail=card.vault)

    async def start(self, user_id: int, payment_id: int, phone: str | None) -> PayResult:
        """The user confirmed: a Paylov card gets its SMS code; a Payme card is charged (its token was verified by
        SMS when it was bound, so Payme asks no code per payment)."""
        payment = await self._ledger.owned(user_id, payment_id)
        try:
            if payment.rail == Rail.payme:
                if self._payme_rail is None:
                    raise PaymentClosed("Payme is not configured")
                return await self._payme_rail.charge(payment, phone)
            return await self._paylov_rail.send_code(payment, phone)
        except LostClaim:
            return await self._current(payment_id)

    async def pay(self, user_id: int, payment_id: int, otp: str, phone: str | None = None) -> PayResult:
        """servicePayment/pay with the user's code. Only a Paylov payment has a code: a Payme card's token never
        goes to Paylov."""
        payment = await self._ledger.owned(user_id, payment_id)
        if payment.rail != Rail.paylov:  # a conversation left in a code step (a restart): a draft never charged
            closed = await self._ledger.close(payment, "a code typed for a Payme payment", "cancelled_by_user")
            return PayResult(outcome_of(closed or payment), closed or payment)
        try:
            if payment.state == PaymentState.draft:  # stopped before create: a code was never sent
                return await self._paylov_rail.send_code(payment, phone)
            return await self._paylov_rail.pay(payment, otp, phone)
        except LostClaim:
            return await self._current(payment_id)

    async def _current(self, payment_id: int) -> PayResult:
        """What became of the payment, for a step that lost its race: its real state, never an error."""
        payment = await self._ledger.get(payment_id)
        return PayResult(outcome_of(payment), payment)

    async def send_receipt(self, user_id: int, payment_id: int, phone: str | None) -> bool:
        """receipts.send: Payme texts the receipt of a Payme-card payment to the user's phone."""
        payment = await self._ledger.owned(user_id, payment_id)
        digits = payme_phone(phone)
        if payment.receipt_id is None or self._payme is None or not digits:
            raise PaymentClosed("no Payme receipt")
        return await self._payme.receipts_send(payment.receipt_id, digits)

    async def abandon(self, user_id: int, payment_id: int) -> PaymentView | None:
        """The user left before paying: a draft or created payment is closed (nothing charged); anything further
        along is left as it is. Returns the closed payment, if it was closed now."""
        payment = await self._ledger.owned(user_id, payment_id)
        return await self._ledger.close(payment, "left by the user", "cancelled_by_user")

    # ---- the settlement job --------------------------------------------------------------------------------------

    async def settle_due(self) -> list[PayResult]:
        """Claim and settle every row that is due: unknown outcomes, dead claims, scheduled checks."""
        return await self.runner.run_due()

    async def check(self, payment_id: int) -> PayResult:
        """Settle this one payment now if nobody else holds it (a status check, a settlement step); otherwise, and
        for a payment with nothing to settle, what it is."""
        payment = await self._ledger.get(payment_id)
        claimed = None
        if payment.state in WAITING[payment.rail] | IN_FLIGHT[payment.rail]:
            claimed = await self._ledger.claim(payment, payment.state)
        result = await self.runner.resolve(claimed) if claimed is not None else None
        return result or await self._current(payment_id)

    async def close_abandoned(self) -> list[PaymentView]:
        """Payments nobody finished within the abandon time are closed as not charged."""
        closed = []
        for payment in await self._ledger.abandoned():
            if (view := await self._ledger.close(payment, "abandoned", "abandoned")) is not None:
                closed.append(view)
        return closed

    async def next_due_at(self) -> datetime | None:
        return await self._ledger.next_due_at()
