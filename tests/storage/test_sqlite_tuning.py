"""SQLite as a server's database: the pragmas hold on every connection, and concurrent read-then-write
transactions wait their turn instead of failing with "database is locked"."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, select, text

from bot.storage.db import make_engine, make_sessionmaker, upgrade
from bot.storage.models import User


async def test_every_connection_gets_the_server_pragmas(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        async with engine.connect() as first, engine.connect() as second:  # two pooled connections
            for connection in (first, second):
                values = [(await connection.execute(text(f"PRAGMA {name}"))).scalar()
                          for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")]
                assert values == ["wal", 1, 15000, 1]  # synchronous 1 = NORMAL
    finally:
        await engine.dispose()


async def test_writes_begin_immediate_and_reads_deferred(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    begins: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def record(conn, cursor, statement, *args) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    try:
        async with sessions() as session:
            await session.execute(select(User))
        async with sessions.begin() as session:
            session.add(User(id=1))
        assert begins == ["BEGIN", "BEGIN IMMEDIATE"]
    finally:
        await engine.dispose()


async def test_concurrent_read_then_write_from_two_engines_never_fail(tmp_path):
    """Two engines stand for two processes on one file; each transaction reads a row, then writes it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    engines = [make_engine(url), make_engine(url)]
    await upgrade(engines[0])
    sessions = [make_sessionmaker(engine) for engine in engines]
    async with sessions[0].begin() as session:
        session.add(User(id=1, language="en"))

    async def bump(n: int) -> None:
        async with sessions[n % 2].begin() as session:
            user = await session.get(User, 1)
            await asyncio.sleep(0)  # let the other transactions interleave between the read and the write
            user.phone = f"+998{(int((user.phone or '+9980')[4:]) + 1):09d}"

    try:
        results = await asyncio.gather(*(bump(n) for n in range(40)), return_exceptions=True)
        assert [r for r in results if isinstance(r, Exception)] == []
        async with sessions[0]() as session:
            assert (await session.get(User, 1)).phone == "+998000000040"  # no write lost either
    finally:
        for engine in engines:
            await engine.dispose()
