"""History: our ledger merged with Paylov's transaction/all, one entry per transaction.

Matched on the transaction id; where both know a payment, the provider's record wins for amount, date and card.
Payments made outside the bot (same userId at the provider) appear too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.domain.payments import PaymentState, Rail
from bot.domain.spending import Spending, months_back, spending
from bot.providers.errors import ProviderError
from bot.providers.paylov import PaylovClient
from bot.services.catalogue import CatalogueService
from bot.storage.models import Payment

TASHKENT = timezone(timedelta(hours=5))  # Uzbekistan keeps no daylight saving time
PROVIDER_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Entry:
    payment_id: int | None  # ours; None for a payment made outside the bot
    transaction_id: str | None
    service_id: str
    service_name: str
    amount: int
    at: datetime  # Tashkent time
    state: str  # paid | failed | unknown | pending (a payout also: reversed)
    card: str | None
    kind: str = "bill"  # "bill", or a payout to the user's card: "cashback" | "refund" (its receipt: PayoutsService)

    @property
    def month(self) -> tuple[int, int]:
        return self.at.year, self.at.month


@dataclass(frozen=True)
class History:
    entries: list[Entry]
    provider_reachable: bool

    def totals(self) -> tuple[dict[str, int], int]:
        """What was paid, per service name and overall (paid entries only)."""
        per_service: dict[str, int] = defaultdict(int)
        for entry in self.entries:
            if entry.state == "paid" and entry.kind == "bill":  # payouts are money to the user, not bills paid
                per_service[entry.service_name] += entry.amount
        return dict(per_service), sum(per_service.values())

    def months(self) -> list[tuple[int, int]]:
        return sorted({entry.month for entry in self.entries}, reverse=True)

    def services(self) -> list[tuple[str, str]]:
        names = {entry.service_id: entry.service_name for entry in self.entries}
        return sorted(names.items(), key=lambda item: item[1])

    def only(self, *, month: tuple[int, int] | None = None, service_id: str | None = None) -> History:
        return History(
            [e for e in self.entries
             if (month is None or e.month == month) and (service_id is None or e.service_id == service_id)],
            self.provider_reachable,
        )


class HistoryService:
    def __init__(self, sessionmaker: async_sessionmaker, paylov: PaylovClient, catalogue: CatalogueService) -> None:
        self._sessions = sessionmaker
        self._paylov = paylov
        self._catalogue = catalogue

    async def of(self, user_id: int) -> History:
        async with self._sessions() as session:
            ours = list(await session.scalars(
                select(Payment).where(Payment.user_id == user_id, Payment.state != PaymentState.draft.value)))
        try:
            theirs = await self._paylov.transactions(user_id=str(user_id))
            reachable = True
        except ProviderError:
            theirs, reachable = [], False
        by_id = {tx.id: tx for tx in theirs}
        entries = []
        for payment in ours:
            if payment.rail == "paysys":  # a payout: PaySys's ids are not Paylov's
                entries.append(Entry(payment.id, payment.transaction_id, payment.service_id, payment.service_name,
                                     payment.amount, _ours_time(payment), _state(payment.state),
                                     payment.card_masked or None, kind=payment.service_id))
                continue
            tx = by_id.pop(payment.transaction_id, None) if payment.transaction_id else None
            entries.append(Entry(
                payment_id=payment.id,
                transaction_id=payment.transaction_id,
                service_id=payment.service_id,
                service_name=payment.service_name,
                amount=tx.amount if tx else payment.amount,
                at=_provider_time(tx.date) if tx else _ours_time(payment),
                state="paid" if tx else _state(payment.state),
                # On the Payme rail Paylov saw the merchant's settlement card; the user paid with their own.
                card=(tx.card_number if tx and tx.card_number and payment.rail != "payme" else payment.card_masked),
            ))
        for tx in by_id.values():  # paid outside the bot
            service = await self._catalogue.service(tx.service_id) if tx.service_id else None
            name = service.name if service else (tx.service_id or "—")
            entries.append(Entry(None, tx.id, tx.service_id or "", name,
                                 tx.amount, _provider_time(tx.date), "paid", tx.card_number))
        entries.sort(key=lambda e: e.at, reverse=True)
        return History(entries, reachable)


    async def monthly(self, user_id: int, months: int = 12) -> Spending:
        """Bills paid in this bot per month and service, for `months` months up to this one (Tashkent months, as
        the provider wrote paid_at: `YYYY-MM-DD hh:mm:ss`). Our ledger only: one query, no provider call."""
        window = months_back(this_month(), months)
        first = "%04d-%02d" % window[0]
        month = func.substr(Payment.paid_at, 1, 7)
        query = (
            select(Payment.service_id, func.max(Payment.service_name), month, func.sum(Payment.amount))
            .where(Payment.user_id == user_id, Payment.state == PaymentState.paid.value,
                   Payment.rail != Rail.paysys.value, Payment.paid_at >= first)
            .group_by(Payment.service_id, month)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        parsed = []
        for service_id, name, key, amount in rows:
            try:
                parsed.append((service_id, name, (int(key[:4]), int(key[5:7])), int(amount)))
            except (TypeError, ValueError):  # a paid_at in another form: not placed on the chart
                continue
        return spending(window, parsed)


def _state(state: str) -> str:
    return {"paid": "paid", "failed": "failed", "unknown": "unknown", "paying": "unknown", "charging": "unknown",
            "charged": "settling", "settling": "settling", "refunding": "refunding",
            "refunded": "refunded", "reversed": "reversed"}.get(state, "pending")


def _provider_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, PROVIDER_TIME).replace(tzinfo=TASHKENT)
    except (TypeError, ValueError):
        return datetime.now(TASHKENT)


def _ours_time(payment: Payment) -> datetime:
    if payment.paid_at:
        return _provider_time(payment.paid_at)
    created = payment.created_at if payment.created_at.tzinfo else payment.created_at.replace(tzinfo=UTC)
    return created.astimezone(TASHKENT)


def month_before(month: tuple[int, int]) -> tuple[int, int]:
    year, number = month
    return (year - 1, 12) if number == 1 else (year, number - 1)


def this_month() -> tuple[int, int]:
    today = datetime.now(TASHKENT).date()
    return today.year, today.month


def month_start(month: tuple[int, int]) -> date:
    return date(month[0], month[1], 1)
