"""The outbox: what a money state change owes the user (written by the ledger in the same transaction as the
change), claimed before it is sent and marked sent after. Delivery is at least once: a process killed between
Telegram accepting a message and the row being marked sent leaves it to be sent again; a row marked sent never is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from bot.storage.db import Sessions
from bot.storage.models import OutboxMessage

RETRY_AFTER = (5, 15, 60, 300, 900, 3600)  # seconds between attempts after Telegram failed to take a message
GIVE_UP_AFTER_ATTEMPTS = 50


@dataclass(frozen=True)
class Owed:
    id: int
    user_id: int
    payment_id: int
    kind: str
    attempts: int


class Outbox:
    def __init__(self, sessions: Sessions, *, owner: str, lease: float,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._sessions = sessions
        self.owner = owner
        self._lease = timedelta(seconds=lease)
        self._now = now

    async def claim(self, payment_id: int, kind: str) -> Owed | None:
        """The message the caller's own change owes (held by us, or free): ours to send now. None: it has been
        sent or is being sent by another hand."""
        now = self._now()
        return await self._claim(and_(OutboxMessage.payment_id == payment_id, OutboxMessage.kind == kind,
                                      or_(OutboxMessage.lease_owner == self.owner, _free(now))), now)

    async def pick(self, skip: Iterable[int] = ()) -> Owed | None:
        """One message nobody is sending: its writer died, or its retry is due."""
        now = self._now()
        ids = list(skip)
        query = (select(OutboxMessage.id)
                 .where(OutboxMessage.state.in_(("pending", "sending")), _free(now))
                 .order_by(OutboxMessage.id).limit(1).with_for_update(skip_locked=True))
        if ids:
            query = query.where(OutboxMessage.id.not_in(ids))
        async with self._sessions.begin() as session:
            found = await session.scalar(query)
            if found is None:
                return None
            return await self._update(session, OutboxMessage.id == found, now)

    async def mine(self) -> list[int]:
        """Messages this hand owes and has not sent yet (a worker sends what its own settlements owe at once)."""
        async with self._sessions() as session:
            return list(await session.scalars(select(OutboxMessage.id).where(
                OutboxMessage.state == "pending", OutboxMessage.lease_owner == self.owner)))

    async def claim_id(self, message_id: int) -> Owed | None:
        now = self._now()
        return await self._claim(and_(OutboxMessage.id == message_id,
                                      or_(OutboxMessage.lease_owner == self.owner, _free(now))), now)

    async def _claim(self, where, now: datetime) -> Owed | None:
        async with self._sessions.begin() as session:
            return await self._update(session, and_(where, OutboxMessage.state == "pending"), now)

    async def _update(self, session, where, now: datetime) -> Owed | None:
        statement = (update(OutboxMessage).where(where)
                     .values(state="sending", lease_owner=self.owner, lease_until=now + self._lease,
                             attempts=OutboxMessage.attempts + 1)
                     .returning(OutboxMessage).execution_options(synchronize_session=False))
        row = (await session.scalars(statement)).first()
        return _owed(row) if row is not None else None

    async def sent(self, owed: Owed, message_id: int | None) -> None:
        await self._finish(owed, state="sent", message_id=message_id, sent_at=self._now(), lease_owner=None,
                           lease_until=None)

    async def retry(self, owed: Owed, after: float | None = None) -> None:
        """Telegram did not take it: pending again, not before `after` seconds (or the schedule's next step)."""
        wait = after if after is not None else RETRY_AFTER[min(owed.attempts - 1, len(RETRY_AFTER) - 1)]
        if owed.attempts >= GIVE_UP_AFTER_ATTEMPTS:
            await self.drop(owed)
            return
        await self._finish(owed, state="pending", lease_owner=None,
                           lease_until=self._now() + timedelta(seconds=wait))

    async def drop(self, owed: Owed) -> None:
        """Telegram will never take it (the user blocked the bot, the chat is gone)."""
        await self._finish(owed, state="dropped", lease_owner=None, lease_until=None)

    async def _finish(self, owed: Owed, **values: Any) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(OutboxMessage).where(
                OutboxMessage.id == owed.id, OutboxMessage.state == "sending", OutboxMessage.lease_owner == self.owner,
            ).values(**values))

    async def states(self, payment_id: int) -> dict[str, str]:
        async with self._sessions() as session:
            rows = await session.execute(select(OutboxMessage.kind, OutboxMessage.state).where(
                OutboxMessage.payment_id == payment_id))
            return dict(rows.all())


def _free(now: datetime):
    return or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)


def _owed(row: OutboxMessage) -> Owed:
    return Owed(id=row.id, user_id=row.user_id, payment_id=row.payment_id, kind=row.kind, attempts=row.attempts)
