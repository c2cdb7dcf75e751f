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
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from bot.storage.direct import Direct

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


class Engine(AsyncEngine):
    """SQLAlchemy's engine, and beside it the direct path of the statements every update makes (bot.storage.direct),
    closed with it."""

    __slots__ = ("direct",)

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine.sync_engine)
        self.direct = Direct(engine.url)

    async def dispose(self, close: bool = True) -> None:
        await self.direct.close()
        await super().dispose(close)


def direct_path(engine: AsyncEngine) -> Direct | None:
    """The engine's direct path; None for an engine not made by make_engine (everything goes through it)."""
    return engine.direct if isinstance(engine, Engine) else None


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # No pre-ping: with asyncpg it is BEGIN, a query and ROLLBACK before every use, the largest cost of an update
        # on PostgreSQL. A connection broken since its last use is found by the update's first read, which tries
        # again (bot.storage.fsm), and by the ledger's writes, which do too (bot.money.ledger).
        # 15 kept: a burst's connections are reused, not opened and closed again (each open costs asyncpg's and
        # SQLAlchemy's set-up round trips); bench/compare.py, bursts of 50-1000 users.
        return Engine(create_async_engine(url, pool_size=15, max_overflow=5))
    if parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    _tune_sqlite(engine)
    return Engine(engine)


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
        if options.get("isolation_level") == "AUTOCOMMIT" or options.get(ALONE, False):
            return  # statements on their own (`alone`): no transaction, the driver commits each one
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("sqlite_immediate", False) else "BEGIN")


ALONE = "statements_alone"


@asynccontextmanager
async def alone(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose statements each run on their own, with no transaction around them: no BEGIN and COMMIT round
    trips. Only for what one statement decides (a conditional write, a read). PostgreSQL: AUTOCOMMIT. SQLite: no BEGIN
    from the `begin` hook, and the driver, set to begin nothing itself (on connect), commits each statement (not
    AUTOCOMMIT: SQLAlchemy's reset after it gives the connection back the driver's implicit BEGIN)."""
    async with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            await connection.execution_options(**{ALONE: True})
        else:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


async def read_alone(engine: AsyncEngine, statement, params: dict | None = None):
    """One read on its own, its rows buffered. An update's first read is where a connection broken since its last use
    (PostgreSQL restarted) is found: SQLAlchemy then drops the whole pool, and the second try gets a fresh connection
    (make_engine does not ping each connection it lends: three round trips on every use)."""
    for last in (False, True):
        try:
            async with alone(engine) as connection:
                return (await connection.execute(statement, params or {})).all()
        except DBAPIError as error:
            if last or not is_transient(error):
                raise
    raise AssertionError("unreachable: the last try returns or raises")


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
