"""Engine, sessions and migrations, for SQLite (the embedded default) and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"

# SQLite as a server's database: readers never wait for the writer (WAL); a commit survives a killed process
# without a disk sync per write (NORMAL: a power cut may lose the last commits, never corrupt the file); a writer
# waits for the lock instead of failing with "database is locked"; foreign keys are enforced as on PostgreSQL.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "busy_timeout": "15000",
    "foreign_keys": "on",
}
# Serialises the migrations of processes that start together on one PostgreSQL database.
MIGRATION_LOCK = 0x7061_7962_6F74  # "paybot"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def is_transient(error: DBAPIError) -> bool:
    """A database busy or briefly gone, not a wrong statement: SQLite's lock not had within its busy timeout, or a
    connection that broke (PostgreSQL restarting, a network blip). Trying the same transaction again may work."""
    if error.connection_invalidated:
        return True
    message = str(error.orig).lower()
    return "database is locked" in message or "database table is locked" in message or "busy" in message


def sqlite_path(url: str | URL) -> str | None:
    """The file of a SQLite URL; None for another database or one in memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return str(Path(parsed.database).resolve())


def make_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # No pre-ping: with asyncpg it is BEGIN, a query and ROLLBACK before every use, the largest cost of an update
        # on PostgreSQL. A connection broken since its last use is found by the update's first read, which tries
        # again (bot.storage.fsm), and by the ledger's writes, which do too (bot.money.ledger).
        # 15 kept: a burst's connections are reused, not opened and closed again (each open costs asyncpg's and
        # SQLAlchemy's set-up round trips); bench/compare.py, bursts of 50-1000 users.
        return create_async_engine(url, pool_size=15, max_overflow=5)
    if parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: AsyncEngine) -> None:
    """Pragmas on every connection, and transactions begun by us: the driver's own implicit BEGIN is deferred, so a
    transaction that reads and then writes could find another writer in between and fail at once, busy timeout or
    not. Write transactions (`Sessions.begin()`) start with BEGIN IMMEDIATE and so wait their turn up front."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN from the driver: the "begin" hook below emits it
        cursor = dbapi_connection.cursor()
        for name, value in SQLITE_PRAGMAS.items():
            cursor.execute(f"PRAGMA {name}={value}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # one statement on its own (bot.storage.fsm's read): no transaction
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("sqlite_immediate", False) else "BEGIN")


class Sessions(async_sessionmaker):
    """`sessions()` for reads; `sessions.begin()` for a write transaction, committed at the end of the block (on
    SQLite it takes the write lock at its start, so a read-then-write never meets a writer half-way)."""

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        engine: AsyncEngine = self.kw["bind"]
        async with self(bind=engine.execution_options(sqlite_immediate=True)) as session, session.begin():
            yield session


def make_sessionmaker(engine: AsyncEngine) -> Sessions:
    return Sessions(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _run_upgrade(connection: Connection) -> str | None:
    before = _revisions(connection)[0]
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    return before


async def upgrade(engine: AsyncEngine) -> str | None:
    """Bring the schema to the newest revision over the bot's own engine; on PostgreSQL under an advisory lock, so
    several processes starting at once migrate one after the other. Returns the revision it found."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        return await connection.run_sync(_run_upgrade)


def _revisions(connection: Connection) -> tuple[str | None, str]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    current = MigrationContext.configure(connection).get_current_revision()
    return current, ScriptDirectory.from_config(alembic_config()).get_current_head()


async def schema_revisions(engine: AsyncEngine) -> tuple[str | None, str]:
    """(the database's revision, the code's newest one)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_revisions)
