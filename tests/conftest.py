"""Real parts for every end-to-end test: the sandbox providers and the Telegram double on 127.0.0.1,
and the bot built by the production wiring, polling the double."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis

from bot.runtime.logs import setup_logging
from bot.sandbox.child import BOT_TOKEN, doubles_settings
from bot.sandbox.harness import BotProcess
from bot.sandbox.paylov import PaylovSandbox
from bot.sandbox.payme import PaymeSandbox
from bot.sandbox.paysys import PaysysSandbox
from bot.sandbox.telegram import TelegramDouble
from bot.sandbox.postgres import PostgresServer
from bot.sandbox.redis import RedisServer
from bot.settings import Settings, load_settings
from bot.storage.db import make_engine, upgrade



class Audit:
    """What the whole suite wrote, for the final scan for card data (tests/zz_audit)."""

    def __init__(self) -> None:
        self.databases: list[Path] = []
        self.postgres: PostgresServer | None = None
        self.postgres_databases: list[str] = []
        folder = Path(tempfile.mkdtemp(prefix="paybot-audit-"))
        self.log_file = folder / "suite.log"
        self.chats_file = folder / "chats.jsonl"  # what the Telegram doubles' chats show (add_chats)
        self.secrets: set[str] = set()

    def add_chats(self, test: str, double: TelegramDouble) -> None:
        """Every text the bot sent or edited in (with its buttons), every alert, and every user message still in a
        chat (one the bot deleted is gone from the user's screen and is not kept); `refused`: the bot did try to
        delete it and Telegram refused."""
        refused = {(str(call.params.get("chat_id")), str(call.params.get("message_id")))
                   for call in double.calls_of("deleteMessage") if not call.ok}
        with self.chats_file.open("a", encoding="utf-8") as chats:
            for call in double.calls:
                if call.method in _SHOWN:
                    chats.write(json.dumps({"test": test, "who": "bot", "method": call.method,
                                            "shown": call.params}, ensure_ascii=False, default=str) + "\n")
            for user in double.users.values():
                for message in user.messages:
                    if not message.from_bot and not message.deleted:
                        chats.write(json.dumps({"test": test, "who": "user", "user": user.user_id,
                                                "kind": message.kind, "shown": message.text,
                                                "refused": (str(user.user_id), str(message.message_id)) in refused},
                                               ensure_ascii=False) + "\n")


_SHOWN = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery", "sendPhoto"}
AUDIT = Audit()


def pytest_sessionstart(session: pytest.Session) -> None:
    """The whole suite logs at DEBUG through the production setup (bot/runtime/logs.py: its caps, its redaction)
    into one file, and no logger is turned down here: the audit scans what production would print."""
    root = logging.getLogger()
    others = root.handlers[:]  # pytest's own
    log = AUDIT.log_file.open("a", encoding="utf-8")  # appended to by the kill tests' children too
    setup_logging("DEBUG", stream=log)
    for handler in others:
        root.addHandler(handler)


DATABASES = ("sqlite", "postgresql")
TEMPLATE = "paybot_template"
_database_names = itertools.count(1)
_ran_on: Counter[str] = Counter()
_item_database: dict[str, str] = {}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throw-away PostgreSQL server for the session, with a migrated template every test database copies."""
    server = PostgresServer().start()
    AUDIT.postgres = server
    try:
        server.psql(f"CREATE DATABASE {TEMPLATE}")
        asyncio.run(_migrate(server.url(TEMPLATE)))
        yield server
    finally:
        server.stop()


async def _migrate(url: str) -> None:
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database for one test; every test that needs one runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "bot.db"
        AUDIT.databases.append(path)
        return f"sqlite+aiosqlite:///{path}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"test_{next(_database_names)}"
    server.psql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    AUDIT.postgres_databases.append(name)
    return server.url(name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "database_url" in callspec.params:
            _item_database[item.nodeid] = callspec.params["database_url"]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.nodeid in _item_database:
        _ran_on[_item_database[report.nodeid], report.outcome] += 1


def pytest_terminal_summary(terminalreporter) -> None:
    if _item_database:
        parts = []
        for database in DATABASES:
            counts = {outcome: n for (db, outcome), n in _ran_on.items() if db == database}
            if counts:
                parts.append(f"{database}: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())))
        if parts:
            terminalreporter.write_line("database-dependent tests ran on " + "; ".join(parts))


@pytest.fixture
async def telegram(request: pytest.FixtureRequest) -> AsyncIterator[TelegramDouble]:
    async with TelegramDouble(test_environment=True) as double:  # Mini App pages on http://127.0.0.1
        yield double
    AUDIT.add_chats(request.node.nodeid, double)


class Clock:
    """A provider clock the test moves by hand: tokens and SMS codes expire without waiting."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def provider_clock() -> Clock:
    return Clock()


@pytest.fixture
async def paylov(provider_clock: Clock) -> AsyncIterator[PaylovSandbox]:
    sandbox = PaylovSandbox(clock=provider_clock, slow_delay=2.0)
    await sandbox.start()
    sandbox.add_merchant_card()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
async def payme(provider_clock: Clock) -> AsyncIterator[PaymeSandbox]:
    sandbox = PaymeSandbox(clock=provider_clock, slow_delay=2.0)
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
async def paysys(provider_clock: Clock) -> AsyncIterator[PaysysSandbox]:
    sandbox = PaysysSandbox(clock=provider_clock)
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
def make_settings(database_url: str, telegram: TelegramDouble, paylov: PaylovSandbox,
                  payme: PaymeSandbox, paysys: PaysysSandbox) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values = doubles_settings(telegram=telegram, paylov=paylov, payme=payme, paysys=paysys,
                                  database_url=database_url, bot_token=BOT_TOKEN)
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
async def app(make_settings: Callable[..., Settings]) -> AsyncIterator[BotProcess]:
    process = BotProcess(make_settings())
    await process.start()
    yield process
    await process.stop()


@pytest.fixture
async def payme_app(make_settings: Callable[..., Settings]) -> AsyncIterator[BotProcess]:
    """The bot with CARD_VAULT=payme: new cards are bound on the card page."""
    process = BotProcess(make_settings(CARD_VAULT="payme"))
    await process.start()
    yield process
    await process.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One throw-away redis-server for the session (FSM, isolation locks, the bulk-send pacer)."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server.url
