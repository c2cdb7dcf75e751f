"""The statements an update costs in webhook mode, counted (SQLite and PostgreSQL): the inbox's claim of a new update
and its finish are one statement each, with no transaction around them (no BEGIN, no COMMIT); the sender's profile is
one read (with the conversation in Redis, the update's only one), not an ORM session's. What the direct path sends
(bot.storage.direct) is counted through its trace, what goes through the engine through SQLAlchemy's events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text

from bot.runtime.webhook import WebhookServer
from bot.sandbox.scenarios import registered
from bot.services.inbox import Outcome, UpdateInbox
from bot.services.users import UserService
from bot.storage.db import Sessions
from bot.storage.update_scope import one_update
from tests.e2e.webhook_bot import start_webhook_bot, webhook_settings

LEASE = timedelta(seconds=30)


class Sent:
    """Every statement sent, in order: the direct path's, the engine's (BEGIN too), and each COMMIT as "COMMIT".
    `only`: engine statements that do not contain one of these are not counted (a server's jobs share the engine)."""

    def __init__(self, engine, only: tuple[str, ...] = ()) -> None:
        self.seen: list[str] = []
        self.only = only
        engine.direct.trace = self._direct
        event.listen(engine.sync_engine, "before_cursor_execute", self._engine)
        event.listen(engine.sync_engine, "commit", lambda _conn: None if only else self.seen.append("COMMIT"))

    def _direct(self, statement: str) -> None:
        self.seen.append(statement.split()[0].upper())

    def _engine(self, _conn, _cursor, statement: str, *_args) -> None:
        if not self.only or any(part in " ".join(statement.split()) for part in self.only):
            self.seen.append(statement.split()[0].upper())

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


def inbox(sessions: Sessions, owner: str = "replica-a") -> UpdateInbox:
    return UpdateInbox(sessions, owner, LEASE, now=lambda: datetime(2026, 5, 1, 12, 0, tzinfo=UTC))


async def test_claim_and_finish_of_a_new_update_are_one_statement_each(sessions):
    box = inbox(sessions)
    sent = Sent(sessions.kw["bind"])
    claim = await box.claim(3001)
    assert claim.run and claim.attempts == 1
    assert sent.take() == ["INSERT"]
    assert await box.finish(claim) is True
    assert sent.take() == ["UPDATE"]
    assert (await box.get(3001)).state == "done"


async def test_release_is_one_statement_and_a_lost_claim_still_decides_in_one_transaction(sessions):
    box, other = inbox(sessions), inbox(sessions, "replica-b")
    sent = Sent(sessions.kw["bind"])
    claim = await box.claim(3002)
    sent.take()
    assert (await other.claim(3002)).outcome is Outcome.BUSY  # the insert loses: the transactional path decides
    # the insert alone, then in one transaction (SQLite's BEGIN aside): the insert again, the take-over, the read
    assert [s for s in sent.take() if s != "BEGIN"] == ["INSERT", "INSERT", "UPDATE", "SELECT", "COMMIT"]
    assert await box.release(claim) is True
    assert sent.take() == ["UPDATE"]
    again = await other.claim(3002)  # released: taken over, in the transaction
    assert again.run and again.attempts == 2


async def test_the_profile_is_one_read_and_then_the_updates_own(sessions):
    users = UserService(sessions)
    await users.set_language(7101, "uz")
    sent = Sent(sessions.kw["bind"])
    with one_update():
        assert (await users.get(7101)).language == "uz"
        assert (await users.get(7101)).language == "uz"
        assert await users.get(7102) is None
        assert await users.get(7102) is None
    assert sent.take() == ["SELECT", "SELECT"]  # one per user, no session (no BEGIN, no COMMIT)
    assert (await users.get(7101)).phone is None  # outside an update: read each time
    assert sent.take() == ["SELECT"]


async def test_a_direct_connection_goes_back_to_its_pool_without_a_reset_round_trip(sessions):
    """asyncpg's default reset (RESET ALL and more) would be a second round trip per statement. Each backend's last
    statement shows in pg_stat_activity: the direct pool's is the claim itself."""
    engine = sessions.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("the direct asyncpg pool is PostgreSQL's")
    assert (await inbox(sessions).claim(3003)).run
    async with sessions() as session:
        last = list(await session.scalars(text(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")))
    assert any(query.startswith("INSERT INTO update_inbox") for query in last), last
    assert not any("RESET ALL" in query for query in last), last


@pytest.fixture
async def redis_webhook_bot(make_settings, redis_url) -> AsyncIterator[WebhookServer]:
    server = await start_webhook_bot(make_settings(REDIS_URL=redis_url, **webhook_settings()))
    yield server
    await server.stop()


async def test_an_update_on_redis_costs_three_statements(redis_webhook_bot, telegram):
    """A registered user's /help, by webhook, with the conversation in Redis: the claim, the profile and the finish,
    nothing else on the inbox or the profile (the jobs running beside it share the engine: only those are counted)."""
    user = await registered(telegram, 1801)
    await telegram.delivered(telegram.last_update_id)  # onboarding's last update finished before counting begins
    sent = Sent(redis_webhook_bot.services.engine, only=("update_inbox", "FROM users WHERE users.id ="))
    for _ in range(2):
        await user.send("/help")
        await user.wait_message("I help you pay")
        await telegram.delivered(telegram.last_update_id)  # answered: finished
        assert sent.take() == ["INSERT", "SELECT", "UPDATE"]
    assert all(delivery.status == 200 for delivery in telegram.deliveries)
