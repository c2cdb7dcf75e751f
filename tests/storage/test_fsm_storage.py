"""The FSM storage (bot/storage/fsm.py) on SQLite and PostgreSQL, counted in statements: within one update the state,
its data and the sender's profile come from one read; a write that changes nothing is not made; a change is one
statement, and clear() leaves no row behind. On SQLite the read is made on the loop's thread and falls back to the
engine when it cannot (a file not readable), with the same answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import event, select

from bot.services.users import UserService
from bot.storage.db import Sessions, make_engine, make_sessionmaker, upgrade
from bot.storage.fsm import SqlContext, SqlStorage
from bot.storage.models import FsmRecord
from bot.storage.update_scope import one_update

KEY = StorageKey(bot_id=42, chat_id=7001, user_id=7001)


class Statements:
    """The SQL the engine sent (BEGIN/COMMIT/ROLLBACK aside)."""

    def __init__(self, engine) -> None:
        self.seen: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement: str, *_args) -> None:
        if statement.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            self.seen.append(statement.split()[0].upper())

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


@pytest.fixture
async def storages(sessions: Sessions) -> AsyncIterator[Callable[[], SqlStorage]]:
    """Storages on the test's database (each a process's own), closed at the end (PostgreSQL: their pools)."""
    made: list[SqlStorage] = []

    def make() -> SqlStorage:
        made.append(SqlStorage(sessions))
        return made[-1]

    yield make
    for storage in made:
        await storage.close()


@pytest.fixture
def storage(storages: Callable[[], SqlStorage]) -> SqlStorage:
    return storages()


async def rows(sessions: Sessions) -> list[tuple[str | None, dict]]:
    async with sessions() as session:
        return [(r.state, r.data) for r in await session.scalars(select(FsmRecord).where(FsmRecord.key.like("%7001%")))]


async def test_state_data_and_profile_come_from_one_read(sessions, storage, database_url):
    users = UserService(sessions)
    await users.set_language(7001, "ru")
    await storage.set_state(KEY, "Pay:amount")
    await storage.set_data(KEY, {"service_id": 5})
    statements = Statements(sessions.kw["bind"])
    with one_update() as scope:
        assert await storage.get_state(KEY) == "Pay:amount"
        assert list(scope.fsm.values()) == [("Pay:amount", {"service_id": 5})] and list(scope.users) == [7001]
        assert await storage.get_data(KEY) == {"service_id": 5}
        profile = await users.get(7001)  # from the scope: no statement below
        assert (profile.language, profile.phone) == ("ru", None)
        assert await storage.get_state(KEY) == "Pay:amount"
    # One read, and not through the engine's statement layer: SQLite reads on the loop's own connection, PostgreSQL
    # on the pooled asyncpg connection itself (the engine's events see neither).
    assert statements.take() == []


async def test_a_user_not_seen_before_reads_as_no_profile(sessions, storage):
    users = UserService(sessions)
    with one_update():
        assert await storage.get_state(KEY) is None
        assert await users.get(7001) is None
        await users.set_language(7001, "uz")
        assert (await users.get(7001)).language == "uz"  # the update's own change is what it reads next


async def test_no_write_when_nothing_changed_and_one_statement_per_change(sessions, storage):
    statements = Statements(sessions.kw["bind"])
    with one_update():
        await storage.get_state(KEY)
        statements.take()
        await storage.set_state(KEY, None)
        await storage.set_data(KEY, {})
        assert statements.take() == []  # already empty: nothing written
        await storage.set_state(KEY, "Pay:form")
        assert statements.take() == ["INSERT"]  # an upsert
        await storage.set_data(KEY, {"field": 1})
        assert statements.take() == ["INSERT"]
        await storage.set_data(KEY, {"field": 1})
        assert statements.take() == []
    assert await rows(sessions) == [("Pay:form", {"field": 1})]


async def test_clear_is_one_delete_and_leaves_no_row(sessions, storage):
    await storage.set_state(KEY, "Pay:code")
    await storage.set_data(KEY, {"payment_id": 3})
    statements = Statements(sessions.kw["bind"])
    with one_update():
        context = SqlContext(storage=storage, key=KEY)
        await context.get_state()
        statements.take()
        await context.clear()
        assert statements.take() == ["DELETE"]
        assert await context.get_state() is None and await context.get_data() == {}
    assert await rows(sessions) == []


async def test_outside_an_update_every_call_reads_the_row_as_it_is_now(sessions, storage, storages):
    """The outbox and the card page's notice use the storage outside an update: nothing is remembered."""
    other = storages()
    await storage.set_state(KEY, "AddCard:code")
    assert await other.get_state(KEY) == "AddCard:code"
    await storage.set_state(KEY, None)
    assert await other.get_state(KEY) is None
    await other.set_data(KEY, {"a": 1})
    assert await storage.get_data(KEY) == {"a": 1}
    await other.set_data(KEY, {})
    assert await rows(sessions) == []


async def test_sqlite_read_falls_back_to_the_engine(tmp_path):
    """When the loop's read-only connection cannot open the file (here: pointed at one that is not there), the read
    goes through the engine, with the same answer."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    storage = SqlStorage(sessions)
    await storage.set_state(KEY, "Pay:amount")
    engine.direct.sqlite._path = str(tmp_path / "missing" / "bot.db")  # its file is gone: it cannot open it
    statements = Statements(engine)
    with one_update():
        assert await storage.get_state(KEY) == "Pay:amount"
    assert statements.take() == ["SELECT"]
    await engine.dispose()


async def test_a_connection_broken_since_its_last_use_is_replaced_on_the_first_read(sessions, storage, database_url,
                                                                                   request):
    """PostgreSQL restarted (here: every connection of the bot ended by the server) between two updates: the next
    update's first read finds it and reads again on a fresh connection, and the user's step is not lost."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a server's connections")
    server = request.getfixturevalue("postgres_server")
    await storage.set_state(KEY, "Pay:amount")
    with one_update():
        assert await storage.get_state(KEY) == "Pay:amount"  # the pool now holds a connection
    name = database_url.rsplit("/", 1)[1]
    server.psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    with one_update():
        assert await storage.get_state(KEY) == "Pay:amount"


async def test_a_state_change_leaves_the_data_another_writer_saved_meanwhile(sessions, storage, storages):
    """The worker's outbox writes a conversation's row outside any update: a step change made by an update that
    read the row before keeps what the outbox wrote to the data (only the changed column is written)."""
    outbox = storages()
    await storage.set_state(KEY, "Pay:code")
    await storage.set_data(KEY, {"payment_id": 3})
    with one_update():
        assert await storage.get_state(KEY) == "Pay:code"
        await outbox.set_data(KEY, {"payment_id": 3, "told": True})
        await storage.set_state(KEY, "Pay:amount")
    assert await rows(sessions) == [("Pay:amount", {"payment_id": 3, "told": True})]
