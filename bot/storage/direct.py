"""The database past SQLAlchemy, for the few statements every update makes: its first read (the conversation and the
sender's profile, bot.storage.fsm; or the profile alone when the conversation lives in Redis, bot.services.users)
and, in webhook mode, the update inbox's claim and finish (bot.services.inbox).

Each is one statement on its own, so it needs no session and no BEGIN/COMMIT round trips, and SQLAlchemy's pool
checkout, statement and result layers cost more CPU than the query itself, per update.

- PostgreSQL: a small asyncpg pool (asyncpg prepares each statement once per connection), beside the engine's.
- SQLite: reads on the event loop's own thread (SqliteReader): two primary-key lookups take tens of microseconds
  there, while aiosqlite's worker thread costs a thread hop per cursor, statement, fetch and close.

One `Direct` per engine (bot.storage.db.Engine makes it and closes it with the engine). Anything unusual on this
path (a connection the server ended, the server away, SQLite busy) is the caller's to take through the engine, as it
did before: reads answer None, `fetchrow` raises.
"""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
from collections.abc import Callable
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL

POOL_SIZE = 10  # PostgreSQL connections of the direct path, beside the engine's


async def _nothing_to_reset(_connection: asyncpg.Connection) -> None:
    """A connection given back to the pool: asyncpg's default reset is a round trip per statement (advisory locks,
    cursors, LISTEN, settings: RESET ALL), as dear as the statement itself. The direct path's statements, each alone
    and autocommitted, leave none of these behind; an open transaction is still rolled back by the pool itself."""


# asyncpg 0.30 and later take a reset of our own; before, every release pays the default one.
_RESET = {"reset": _nothing_to_reset} if "reset" in inspect.signature(asyncpg.create_pool).parameters else {}


class SqliteReader:
    """Reads on the loop's thread: a read-only connection in WAL mode never waits for the writer, and is told not to
    wait at all (timeout 0); anything unusual (busy, a file not there yet) answers None."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None

    def read(self, query: str, params: tuple) -> tuple | None:
        """The first row (the queries read one row, always: a LEFT JOIN from `(SELECT 1)`); None if it cannot."""
        try:
            if self._connection is None:
                self._connection = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=0,
                                                   isolation_level=None, check_same_thread=False)
            return self._connection.execute(query, params).fetchone()
        except sqlite3.Error:
            self.close()
            return None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class Direct:
    """The direct path of one engine: a SqliteReader on a SQLite file, a lazily opened asyncpg pool on PostgreSQL,
    nothing otherwise (SQLite in memory: every statement goes through the engine)."""

    def __init__(self, url: URL) -> None:
        backend = url.get_backend_name()
        self._url = url
        self.sqlite: SqliteReader | None = None
        if backend == "sqlite" and url.database not in (None, "", ":memory:"):
            self.sqlite = SqliteReader(str(Path(url.database).resolve()))
        self.postgresql = backend == "postgresql"
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self.trace: Callable[[str], None] | None = None  # tests: told each statement this path sends

    def read_sqlite(self, query: str, params: tuple) -> tuple | None:
        if self.sqlite is None:
            return None
        if self.trace is not None:
            self.trace(query)
        return self.sqlite.read(query, params)

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        """One statement on its own (autocommitted) on PostgreSQL: its first row, or None for none. Raises whatever
        the driver raised; the caller then goes through the engine."""
        pool = self._pool or await self._open_pool()
        if self.trace is not None:
            self.trace(query)
        async with pool.acquire() as connection:
            return await connection.fetchrow(query, *args)

    async def _open_pool(self) -> asyncpg.Pool:
        if not self.postgresql:
            raise RuntimeError("the direct asyncpg pool is PostgreSQL's")
        async with self._pool_lock:  # one pool, however many updates ask for it first
            if self._pool is None:
                url = self._url.set(drivername="postgresql")
                self._pool = await asyncpg.create_pool(url.render_as_string(hide_password=False),
                                                       min_size=1, max_size=POOL_SIZE, **_RESET)
            return self._pool

    async def close(self) -> None:
        """With the engine (its dispose); a later use opens them again, as the engine's pool does."""
        if self.sqlite is not None:
            self.sqlite.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
