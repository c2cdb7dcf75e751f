"""Real parts for every end-to-end test: the sandbox providers and the Telegram double on 127.0.0.1,
and the bot built by the production wiring, polling the double."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.logs import RedactingFilter
from bot.sandbox import paylov_catalogue as paylov_data
from bot.sandbox.harness import BotProcess
from bot.sandbox.paylov import PaylovSandbox
from bot.sandbox.payme import PaymeSandbox
from bot.sandbox.telegram import TelegramDouble
from bot.settings import Settings, load_settings

BOT_TOKEN = "4242:TEST-token-for-the-telegram-double-only"


class Audit:
    """What the whole suite wrote, for the final scan for card data (tests/zz_audit)."""

    def __init__(self) -> None:
        self.databases: list[Path] = []
        self.log_file = Path(tempfile.mkdtemp(prefix="paybot-audit-")) / "suite.log"
        self.secrets: set[str] = set()


AUDIT = Audit()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Every log record of the suite goes to one file, through the same redaction as production."""
    handler = logging.FileHandler(AUDIT.log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for noisy in ("aiosqlite", "asyncio", "sqlalchemy", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramDouble]:
    async with TelegramDouble(test_environment=True) as double:  # Mini App pages on http://127.0.0.1
        yield double


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
def make_settings(tmp_path: Path, telegram: TelegramDouble, paylov: PaylovSandbox,
                  payme: PaymeSandbox) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "BOT_TOKEN": BOT_TOKEN,
            "TELEGRAM_API_URL": telegram.base_url,
            "PROVIDERS": "live",
            "PAYLOV_BASE_URL": paylov.base_url,
            "PAYLOV_USERNAME": PaylovSandbox.USERNAME,
            "PAYLOV_PASSWORD": PaylovSandbox.PASSWORD,
            "PAYLOV_CONSUMER_KEY": PaylovSandbox.CONSUMER_KEY,
            "PAYLOV_CONSUMER_SECRET": PaylovSandbox.CONSUMER_SECRET,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            "ALLOW_TEST_CARDS": True,
            "PAYME_BASE_URL": payme.base_url,
            "PAYME_MERCHANT_ID": payme.merchant_id,
            "PAYME_KEY": payme.key,
            "PAYLOV_SETTLEMENT_CARD_ID": paylov_data.SETTLEMENT_CARD_ID,
            "WEBAPP_PORT": 0,
        }
        values.update(overrides)
        AUDIT.databases.append(tmp_path / "bot.db")
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
