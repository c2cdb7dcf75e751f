"""My homes: accounts saved after a payment, paid again in two taps, reminded once a month if the user asks."""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.domain.payments import PaymentState
from bot.storage.models import Home, Payment

NAME_MAX = 32
REMINDER_LEASE = 300  # seconds a replica may take to send one home's reminder before another may
PAID_RECENTLY_DAYS = 3  # a payment this many days back (Tashkent dates) or newer makes paying a home ask first
TASHKENT = timezone(timedelta(hours=5))  # no daylight saving time
PROVIDER_TIME = "%Y-%m-%d %H:%M:%S"  # Paylov's payedAt, Tashkent time


class HomeError(Exception):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Paid:
    """The newest payment of a home's account in state paid: shown beside the provider's balance, which may not
    count it yet, and asked about before "Pay the debt" or "Other amount" pays again."""

    payment_id: int
    amount: int  # whole sums
    on: date  # Tashkent date


@dataclass(frozen=True)
class HomeView:
    id: int
    user_id: int
    name: str
    service_id: str
    service_name: str
    account: dict[str, str]
    account_display: list[list[str]]
    reminder_day: int | None
    paid: Paid | None = None  # paid within PAID_RECENTLY_DAYS


class HomesService:
    def __init__(self, sessionmaker: async_sessionmaker, *, today: Callable[[], date] = date.today,
                 owner: str = "local", reminder_lease: float = REMINDER_LEASE,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._sessions = sessionmaker
        self.today = today
        self._owner = owner  # this process, as it holds a reminder's lease (bot.app.process_owner)
        self._reminder_lease = timedelta(seconds=reminder_lease)
        self._now = now

    async def list(self, user_id: int) -> list[HomeView]:
        async with self._sessions() as session:
            rows = list(await session.scalars(select(Home).where(Home.user_id == user_id).order_by(Home.id)))
            paid = await self._paid_recently(session, user_id)
            return [_view(home, paid) for home in rows]

    async def get(self, user_id: int, home_id: int) -> HomeView:
        async with self._sessions() as session:
            home = await _owned(session, user_id, home_id)
            return _view(home, await self._paid_recently(session, user_id))

    async def paid_recently(self, user_id: int, service_id: str, account: dict[str, str]) -> Paid | None:
        """This user's newest paid payment of this account within PAID_RECENTLY_DAYS, saved as a home or not: the pay
        flow shows it beside the account as My homes does."""
        async with self._sessions() as session:
            return (await self._paid_recently(session, user_id)).get((service_id, _key(account)))

    async def _paid_recently(self, session, user_id: int) -> dict[tuple[str, str], Paid]:
        """(service, account key) -> its newest paid payment dated within PAID_RECENTLY_DAYS of today."""
        today = self.today()
        since = today - timedelta(days=PAID_RECENTLY_DAYS)
        # Created before it was paid (a settlement may take a day): a wider window, then the paid date decides.
        created_after = datetime.combine(since - timedelta(days=2), time(), TASHKENT).astimezone(UTC)
        rows = await session.scalars(select(Payment).where(
            Payment.user_id == user_id, Payment.state == PaymentState.paid.value,
            Payment.created_at >= created_after).order_by(Payment.id))
        found: dict[tuple[str, str], Paid] = {}
        for payment in rows:
            on = _paid_on(payment)
            if since <= on <= today:
                key = (payment.service_id, _key(payment.account))
                if key not in found or on >= found[key].on:
                    found[key] = Paid(payment_id=payment.id, amount=payment.amount, on=on)
        return found

    async def saved_as(self, user_id: int, payment_id: int) -> str | None:
        """The name this payment's account is already saved under, if it is."""
        async with self._sessions() as session:
            payment = await session.get(Payment, payment_id)
            if payment is None or payment.user_id != user_id:
                return None
            home = await session.scalar(select(Home).where(
                Home.user_id == user_id, Home.service_id == payment.service_id,
                Home.account_key == _key(payment.account)))
            return home.name if home else None

    async def save(self, user_id: int, payment_id: int, name: str) -> HomeView:
        name = _clean(name)
        async with self._sessions() as session:
            payment = await session.get(Payment, payment_id)
            if payment is None or payment.user_id != user_id or payment.state != PaymentState.paid.value:
                raise HomeError("not_found")
        existing = await self.saved_as(user_id, payment_id)
        if existing:
            raise HomeError("duplicate", name=existing)
        try:
            async with self._sessions.begin() as session:
                home = Home(user_id=user_id, name=name, service_id=payment.service_id,
                            service_name=payment.service_name, account=dict(payment.account),
                            account_key=_key(payment.account), account_display=list(payment.account_display))
                session.add(home)
                await session.flush()
                return _view(home)
        except IntegrityError:  # a second tap raced the first
            raise HomeError("duplicate", name=await self.saved_as(user_id, payment_id) or name) from None

    async def rename(self, user_id: int, home_id: int, name: str) -> HomeView:
        name = _clean(name)
        async with self._sessions.begin() as session:
            home = await _owned(session, user_id, home_id)
            home.name = name
            return _view(home)

    async def delete(self, user_id: int, home_id: int) -> HomeView:
        async with self._sessions.begin() as session:
            home = await _owned(session, user_id, home_id)
            view = _view(home)
            await session.delete(home)
            return view

    async def set_reminder(self, user_id: int, home_id: int, day: int | None) -> HomeView:
        if day is not None and not 1 <= day <= 31:
            raise HomeError("bad_day")
        async with self._sessions.begin() as session:
            home = await _owned(session, user_id, home_id)
            home.reminder_day = day
            return _view(home)

    async def claim_due_reminders(self, limit: int | None = None) -> list[HomeView]:
        """Homes whose reminder day is today and that were not reminded this month, each leased to this replica by
        one conditional update; the caller sends, then marks it `reminded`. A replica that dies between the two
        leaves its lease to run out, and another sends: a reminder may at worst come twice, never be lost."""
        today, now = self.today(), self._now()
        due = and_(Home.reminder_day.is_not(None), _not_reminded(_month(today)), _lease_free(now))
        async with self._sessions() as session:
            candidates = list(await session.scalars(select(Home).where(due).order_by(Home.id)))
        claimed = []
        for home in candidates:
            if _reminder_day(home.reminder_day, today) != today.day:
                continue
            if limit is not None and len(claimed) >= limit:
                break
            async with self._sessions.begin() as session:
                won = await session.scalar(update(Home).where(Home.id == home.id, due).values(
                    reminder_lease_owner=self._owner, reminder_lease_until=now + self._reminder_lease,
                ).returning(Home.id).execution_options(synchronize_session=False))
            if won is not None:
                claimed.append(_view(home))
        return await self._with_paid(claimed)

    async def _with_paid(self, views: list[HomeView]) -> list[HomeView]:
        """The reminder shows a recent payment as My homes does."""
        async with self._sessions() as session:
            found = {user_id: await self._paid_recently(session, user_id) for user_id in {v.user_id for v in views}}
        return [replace(view, paid=found[view.user_id].get((view.service_id, _key(view.account)))) for view in views]

    async def reminded(self, home_id: int) -> None:
        """This month's reminder of a home leased by us is sent (or Telegram will never take it)."""
        async with self._sessions.begin() as session:
            await session.execute(update(Home).where(Home.id == home_id, Home.reminder_lease_owner == self._owner)
                                  .values(last_reminded=_month(self.today()), reminder_lease_owner=None,
                                          reminder_lease_until=None))


def _not_reminded(month: str):
    return or_(Home.last_reminded.is_(None), Home.last_reminded != month)


def _lease_free(now: datetime):
    return or_(Home.reminder_lease_until.is_(None), Home.reminder_lease_until < now)


def _reminder_day(day: int, today: date) -> int:
    """The 31st in a 30-day month is the 30th."""
    return min(day, calendar.monthrange(today.year, today.month)[1])


def _month(today: date) -> str:
    return f"{today.year:04d}-{today.month:02d}"


def _key(account: dict) -> str:
    return json.dumps(account, sort_keys=True, ensure_ascii=False)


def _clean(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > NAME_MAX:
        raise HomeError("bad_name", max=NAME_MAX)
    return name


async def _owned(session, user_id: int, home_id: int) -> Home:
    home = await session.get(Home, home_id)
    if home is None or home.user_id != user_id:
        raise HomeError("not_found")
    return home


def _paid_on(payment: Payment) -> date:
    """The Tashkent date the provider wrote; our own clock's when it wrote none."""
    try:
        return datetime.strptime(payment.paid_at or "", PROVIDER_TIME).date()
    except ValueError:
        moment = payment.completed_at or payment.created_at
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(TASHKENT).date()


def _view(home: Home, paid: dict[tuple[str, str], Paid] | None = None) -> HomeView:
    return HomeView(id=home.id, user_id=home.user_id, name=home.name, service_id=home.service_id,
                    service_name=home.service_name, account=dict(home.account),
                    account_display=[list(pair) for pair in home.account_display], reminder_day=home.reminder_day,
                    paid=(paid or {}).get((home.service_id, home.account_key)))
