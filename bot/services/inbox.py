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

The common path (a new update_id; finishing a claim still held) is one statement each, sent on its own: no session,
no BEGIN/COMMIT round trips (on PostgreSQL on the engine's direct asyncpg pool, bot.storage.direct; on SQLite on an
engine connection without a transaction, bot.storage.db.alone). An insert that loses, and anything the direct pool
could not do, goes the transactional way below. A claim keeps one holder through both: if the direct insert was
made but its answer lost (the connection broke), the take-over statement recognises the claim as its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.db import Sessions, alone, direct_path
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
        engine = sessions.kw["bind"]
        self._engine = engine
        direct = direct_path(engine)
        self._direct = direct if direct is not None and direct.postgresql else None
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise RuntimeError(f"the update inbox runs on SQLite or PostgreSQL, not {engine.dialect.name}")

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)  # stored as UTC: SQLite compares the text of the timestamps

    async def claim(self, update_id: int) -> Claim:
        holder = f"{self.owner}/{uuid.uuid4().hex}"
        claim = await self._claim_new(update_id, holder)
        for _ in range(3):  # a row that vanished between the statements (purged) is claimed again from the start
            if claim is not None:
                break
            claim = await self._claim(update_id, holder)
        if claim is None:
            return Claim(update_id, Outcome.BUSY)  # not reached in practice; a re-send decides it later
        if claim.run:
            self._held[update_id] = claim.holder
        return claim

    async def _claim_new(self, update_id: int, holder: str) -> Claim | None:
        """The common case, a new update_id, in the one statement that decides it; None: not won that way (known
        already, or the direct pool failed), the transactional path decides."""
        now = self._now()
        lease_until = now + self.lease
        if self._direct is not None:
            try:
                row = await self._direct.fetchrow(CLAIM_NEW, update_id, holder, lease_until, now)
            except Exception:  # noqa: BLE001 - whatever the driver raised, the engine's path decides
                return None
        else:
            async with alone(self._engine) as connection:
                row = (await connection.execute(_insert(self._engine.dialect.name).values(
                    update_id=update_id, state=HANDLING, lease_owner=holder, lease_until=lease_until, attempts=1,
                    created_at=now).on_conflict_do_nothing(index_elements=[_table.c.update_id])
                    .returning(_table.c.attempts))).first()
        return Claim(update_id, Outcome.RUN, attempts=row[0], holder=holder) if row is not None else None

    async def _claim(self, update_id: int, holder: str) -> Claim | None:
        now = self._now()
        async with self._sessions.begin() as session:
            inserted = await session.execute(
                _insert(self._engine.dialect.name)
                .values(update_id=update_id, state=HANDLING, lease_owner=holder, lease_until=now + self.lease,
                        attempts=1, created_at=now)
                .on_conflict_do_nothing(index_elements=[_table.c.update_id])
                .returning(_table.c.attempts))
            row = inserted.first()
            if row is None:  # the update_id is known: ours only if its holder's lease has run out (or it is this
                # claim's own, inserted by the direct statement whose answer was lost)
                taken = await session.execute(
                    update(_table)
                    .where(_table.c.update_id == update_id, _table.c.state == HANDLING,
                           or_(_table.c.lease_until.is_(None), _table.c.lease_until < now,
                               _table.c.lease_owner == holder))
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
        return await self._close(update_id, holder, (FINISH, now), state=DONE, done_at=now, lease_until=None)

    async def release(self, claim: Claim | int) -> bool:
        """Gives the update back after an infrastructure failure: the lease ends at once, so Telegram's re-send is
        claimed (and run) again by whichever process gets it; the attempts so far are kept. Conditional on the
        holder, like finish."""
        update_id, holder = self._holder(claim)
        if holder is None:
            return False
        return await self._close(update_id, holder, (RELEASE, RELEASED), lease_owner=None, lease_until=RELEASED)

    async def _close(self, update_id: int, holder: str, direct: tuple[str, datetime], **values) -> bool:
        """One conditional statement on its own (`direct`: the same on PostgreSQL's direct pool); in a transaction
        only when the direct pool failed. A close made whose answer was lost then reads as not won (the webhook
        answers 200 all the same)."""
        won: bool | None = None
        if self._direct is not None:
            try:
                won = await self._direct.fetchrow(direct[0], update_id, holder, direct[1]) is not None
            except Exception:  # noqa: BLE001 - whatever the driver raised, the engine's path decides
                won = None
        if won is None:
            closing = (update(_table)
                       .where(_table.c.update_id == update_id, _table.c.state == HANDLING,
                              _table.c.lease_owner == holder)
                       .values(**values)
                       .returning(_table.c.update_id))
            async with self._sessions.begin() if self._direct is not None else alone(self._engine) as connection:
                won = (await connection.execute(closing)).first() is not None
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


def _insert(dialect: str):
    return (postgresql if dialect == "postgresql" else sqlite).insert(_table)


# The common path's statements on PostgreSQL's direct pool: the same as the SQLAlchemy ones above, in asyncpg's terms.
CLAIM_NEW = ("INSERT INTO update_inbox (update_id, state, lease_owner, lease_until, attempts, created_at) "
             f"VALUES ($1, '{HANDLING}', $2, $3, 1, $4) ON CONFLICT (update_id) DO NOTHING RETURNING attempts")
FINISH = (f"UPDATE update_inbox SET state = '{DONE}', done_at = $3, lease_until = NULL "
          f"WHERE update_id = $1 AND state = '{HANDLING}' AND lease_owner = $2 RETURNING update_id")
RELEASE = ("UPDATE update_inbox SET lease_owner = NULL, lease_until = $3 "
           f"WHERE update_id = $1 AND state = '{HANDLING}' AND lease_owner = $2 RETURNING update_id")
