"""My homes: accounts saved after a payment, paid again in two taps, reminded once a month if the user asks."""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.domain.payments import PaymentState
from bot.storage.models import Home, Payment

NAME_MAX = 32


class HomeError(Exception):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


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


class HomesService:
    def __init__(self, sessionmaker: async_sessionmaker, *, today: Callable[[], date] = date.today) -> None:
        self._sessions = sessionmaker
        self.today = today

    async def list(self, user_id: int) -> list[HomeView]:
        async with self._sessions() as session:
            rows = await session.scalars(select(Home).where(Home.user_id == user_id).order_by(Home.id))
            return [_view(home) for home in rows]

    async def get(self, user_id: int, home_id: int) -> HomeView:
        async with self._sessions() as session:
            return _view(await _owned(session, user_id, home_id))

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

    async def claim_due_reminders(self) -> list[HomeView]:
        """Homes whose reminder day is today and that were not reminded this month, each claimed by one atomic
        update (mark, then send: a crash between the two loses a reminder rather than sending it twice)."""
        today = self.today()
        month = _month(today)
        async with self._sessions() as session:
            candidates = list(await session.scalars(select(Home).where(
                Home.reminder_day.is_not(None),
                or_(Home.last_reminded.is_(None), Home.last_reminded != month))))
        claimed = []
        for home in candidates:
            if _reminder_day(home.reminder_day, today) != today.day:
                continue
            async with self._sessions.begin() as session:
                result = await session.execute(update(Home).where(
                    Home.id == home.id, Home.reminder_day.is_not(None),
                    or_(Home.last_reminded.is_(None), Home.last_reminded != month)).values(last_reminded=month))
            if result.rowcount == 1:
                claimed.append(_view(home))
        return claimed


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


def _view(home: Home) -> HomeView:
    return HomeView(id=home.id, user_id=home.user_id, name=home.name, service_id=home.service_id,
                    service_name=home.service_name, account=dict(home.account),
                    account_display=[list(pair) for pair in home.account_display], reminder_day=home.reminder_day)
