"""The update inbox: each Telegram update is claimed by its update_id before its handler runs and marked done after,
so that an update is never lost (a process killed mid-handler leaves a lease that runs out, and Telegram's re-send
is then run again) and never run twice (a re-send of a done update is answered without running; one a live process
holds is answered 503 so that Telegram tries again later).

The webhook server calls, per update:

    claim = await inbox.claim(update.update_id)
    if claim.outcome is Outcome.DONE: answer 200            (handled already; do not run)
    if claim.outcome is Outcome.BUSY: answer 503            (a live process holds it; Telegram re-sends later)
    run the handler (within a deadline shorter than the lease), then
        await inbox.finish(claim)  and answer 200           (also when the error handler answered the user)
    or, on an infrastructure failure (database or Redis unreachable):
        await inbox.release(claim) and answer 500           (the re-send runs again)

Every decision is one conditional statement, never a read then a write: a new update_id is inserted with
INSERT ... ON CONFLICT DO NOTHING, and a dead holder's lease is taken over with one
UPDATE ... WHERE state = 'handling' AND lease_until < :now RETURNING, so of any number of concurrent claims (in one
process or in many, on SQLite or on PostgreSQL) exactly one wins.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import Sessions
from bot.storage.models import InboxUpdate

HANDLING = "handling"
DONE = "done"
KEEP = timedelta(hours=48)  # Telegram keeps an undelivered update for 24 hours; a re-send is older than none of that
RELEASED = datetime(1970, 1, 1, tzinfo=UTC)  # the lease of a released claim: over for every clock, however skewed
MAX_OWNER = 95  # the owner, "/" and a 32-character claim token fit lease_owner (128)

_table = InboxUpdate.__table__


class Outcome(StrEnum):
    RUN = "run"  # ours: run the handler, then finish or release
    DONE = "done"  # handled already: answer 200 without running
    BUSY = "busy"  # a live process holds it: answer 503, Telegram re-sends it later


@dataclass(frozen=True)
class Claim:
    update_id: int
    outcome: Outcome
    attempts: int = 0  # with RUN: claims won on this update so far (1 the first time, +1 per take-over)
    holder: str | None = None  # with RUN: this claim's lease_owner, which finish and release are conditional on

    @property
    def run(self) -> bool:
        return self.outcome is Outcome.RUN


class UpdateInbox:
    def __init__(self, sessions: Sessions, owner: str, lease: timedelta, *,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if not owner or len(owner) > MAX_OWNER:
            raise ValueError(f"an inbox owner is 1 to {MAX_OWNER} characters")
        if lease <= timedelta(0):
            raise ValueError("an inbox lease is longer than zero")
        self._sessions = sessions
        self.owner = owner
        self.lease = lease
        self._clock = now
        self._held: dict[int, str] = {}  # update_id -> holder of the claims this instance won and has not closed

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)  # stored as UTC: SQLite compares the text of the timestamps

    async def claim(self, update_id: int) -> Claim:
        for _ in range(3):  # a row that vanished between the statements (purged) is claimed again from the start
            claim = await self._claim(update_id)
            if claim is not None:
                if claim.run:
                    self._held[update_id] = claim.holder
                return claim
        return Claim(update_id, Outcome.BUSY)  # not reached in practice; a re-send decides it later

    async def _claim(self, update_id: int) -> Claim | None:
        now = self._now()
        holder = f"{self.owner}/{uuid.uuid4().hex}"
        async with self._sessions.begin() as session:
            inserted = await session.execute(
                _insert(session).values(update_id=update_id, state=HANDLING, lease_owner=holder,
                                        lease_until=now + self.lease, attempts=1, created_at=now)
                .on_conflict_do_nothing(index_elements=[_table.c.update_id])
                .returning(_table.c.attempts))
            row = inserted.first()
            if row is None:  # the update_id is known: ours only if its holder's lease has run out
                taken = await session.execute(
                    update(_table)
                    .where(_table.c.update_id == update_id, _table.c.state == HANDLING,
                           or_(_table.c.lease_until.is_(None), _table.c.lease_until < now))
                    .values(lease_owner=holder, lease_until=now + self.lease, attempts=_table.c.attempts + 1)
                    .returning(_table.c.attempts))
                row = taken.first()
            if row is not None:
                return Claim(update_id, Outcome.RUN, attempts=row.attempts, holder=holder)
            # lost both: only now read what it is (this read decides nothing, the statements above did)
            state = await session.scalar(select(_table.c.state).where(_table.c.update_id == update_id))
        if state == DONE:
            return Claim(update_id, Outcome.DONE)
        if state == HANDLING:
            return Claim(update_id, Outcome.BUSY)
        return None

    async def finish(self, claim: Claim | int) -> bool:
        """Marks the update done, only if this claim still holds it. False: it does not (its lease ran out and
        another process took it over, or it was released, or it is not a claim this inbox won)."""
        update_id, holder = self._holder(claim)
        if holder is None:
            return False
        now = self._now()
        return await self._close(update_id, holder, state=DONE, done_at=now, lease_until=None)

    async def release(self, claim: Claim | int) -> bool:
        """Gives the update back after an infrastructure failure: the lease ends at once, so Telegram's re-send is
        claimed (and run) again by whichever process gets it; the attempts so far are kept. Conditional on the
        holder, like finish."""
        update_id, holder = self._holder(claim)
        if holder is None:
            return False
        return await self._close(update_id, holder, lease_owner=None, lease_until=RELEASED)

    async def _close(self, update_id: int, holder: str, **values) -> bool:
        async with self._sessions.begin() as session:
            closed = await session.execute(
                update(_table)
                .where(_table.c.update_id == update_id, _table.c.state == HANDLING, _table.c.lease_owner == holder)
                .values(**values)
                .returning(_table.c.update_id))
            won = closed.first() is not None
        if self._held.get(update_id) == holder:
            del self._held[update_id]
        return won

    def _holder(self, claim: Claim | int) -> tuple[int, str | None]:
        if isinstance(claim, Claim):
            return claim.update_id, claim.holder if claim.run else None
        return claim, self._held.get(claim)

    async def purge(self, older_than: timedelta = KEEP) -> int:
        """Deletes, in one statement, the updates first received more than `older_than` ago that are done, or whose
        claim was abandoned (released or its holder dead, its lease over): Telegram re-sends none of them any more.
        A claim whose lease is still running is kept. Returns how many rows went."""
        now = self._now()
        async with self._sessions.begin() as session:
            gone = await session.execute(
                delete(_table).where(
                    _table.c.created_at < now - older_than,
                    or_(_table.c.state == DONE, _table.c.lease_until.is_(None), _table.c.lease_until < now)))
            return gone.rowcount or 0

    async def get(self, update_id: int) -> InboxUpdate | None:
        """The row of one update, as it is now (for diagnostics and tests)."""
        async with self._sessions() as session:
            return await session.get(InboxUpdate, update_id)


def _insert(session: AsyncSession):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(_table)
    if dialect == "sqlite":
        return sqlite.insert(_table)
    raise RuntimeError(f"the update inbox runs on SQLite or PostgreSQL, not {dialect}")
