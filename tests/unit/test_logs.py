"""The production log setup (bot/runtime/logs.py): what a log line may never hold, whatever LOG_LEVEL says.

Every test installs setup_logging() itself; its root handler writes to the test's captured stderr, and the
logging state of the suite (the card-data audit's handler) is put back afterwards.
"""

from __future__ import annotations

import logging
import secrets
import string
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from sqlalchemy import text

from bot.runtime.logs import redact, setup_logging
from bot.sandbox.child import BOT_TOKEN
from bot.sandbox.telegram import TelegramDouble
from bot.storage.db import make_engine
from handlers import errors

# Values no pattern of the redaction filter recognises: if one reaches the output, nothing but the cap or the
# withheld exception message can have kept it out.
PARAMETER = "plain-parameter-value-77"
STORED = "plain-stored-value-42"

CAPPED = {  # logger: the lowest level it may log at, whatever LOG_LEVEL says
    "aiosqlite": logging.INFO, "asyncpg": logging.INFO, "httpcore": logging.INFO,
    "sqlalchemy.engine": logging.WARNING, "sqlalchemy.pool": logging.WARNING,
    "httpx": logging.WARNING, "aiohttp.access": logging.WARNING,
}


@pytest.fixture
def production_logging() -> Iterator[None]:
    """Lets the test call setup_logging() as a fresh process would; puts the suite's handlers and levels back
    afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    names = [*CAPPED, "sqlalchemy.engine.Engine", "bot.probe"]
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:  # as in a fresh process: nothing set before setup_logging()
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


def payme_token() -> str:
    """A card token as the Payme emulator issues it (bot/sandbox/payme.py, cards.create)."""
    alphabet = string.ascii_letters + string.digits
    return f"{secrets.token_hex(12)}_{''.join(secrets.choice(alphabet) for _ in range(64))}"


# ---- the redaction filter: a case table ------------------------------------------------------------------------

PAYME_TOKEN, PAYLOV_CARD_ID = payme_token(), str(uuid.uuid4())

REDACTED = [  # (a log line, what must not survive in it)
    ("card 8600 0691 9540 6311 added", "9540"),
    ("card 8600-4954-7331-6478", "7331"),
    ("pan=8600069195406311", "8600069195406311"),
    ("a 19-digit card 6262570130100000004", "6262570130100000004"),
    ("a 13-digit card 4222222222222", "4222222222222"),
    (f"token {PAYME_TOKEN} saved", PAYME_TOKEN[:24]),
    (f'{{"token": "{PAYME_TOKEN}"}}', PAYME_TOKEN[25:]),
    (f"paylov GET /merchant/userCard/getCard/{PAYLOV_CARD_ID}/ -> 200", PAYLOV_CARD_ID),
    (f"{{'cardId': '{PAYLOV_CARD_ID}', 'otp': 'x'}}", PAYLOV_CARD_ID),
    (f"provider_card_id={PAYLOV_CARD_ID}", PAYLOV_CARD_ID),
    ("access_token=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg", "Zm9vYmFy"),
    ("contact +998901234567 shared", "901234567"),
    ("contact 998901304527 shared", "901304527"),
    ("phone: +998 90 123 45 67", "123 45 67"),
    ("phone: +998 (90) 123-45-67", "123-45-67"),
    ("expiry 03/99 typed", "03/99"),
    ("expiry 12 / 27", "12 / 27"),
    ('{"card": {"number": "x", "expire": "0399"}}', "0399"),
    ("expiry=2712", "2712"),
    ('{"otp": "666666"}', "666666"),
    ("sms code 271828 typed", "271828"),
]

KEPT = [  # ordinary lines that must come out as they went in
    "update id=100000001 user=1001 type=message handler=handlers.menu.search outcome=ok duration_ms=12.5",
    "payment 42: our claim on paying has ended; not moving it",
    "paylov POST servicePayment/pay/ -> 200 in 31 ms",
    "receipt 5e730e8e0b852a417aa49ceb left unpaid, not cancelled: ProviderOutcomeUnknown",
    f"status of transaction {uuid.uuid4()} unavailable: ReadTimeout",
    "account 1000001 balance -15105.15 on 2024-03-29 06:36:27,123",
    "reconciliation of 2024-03-29 sent: 0 mismatches",
    "account 4000000001, a 20-digit id 99999999999999999999 out of range",
    "outbox 17 for user 123456789 dropped: TelegramForbiddenError",
]


@pytest.mark.parametrize(("line", "secret"), REDACTED)
def test_redaction_hides(line: str, secret: str):
    assert secret not in redact(line)


@pytest.mark.parametrize("line", KEPT)
def test_redaction_keeps_ordinary_numbers(line: str):
    assert redact(line) == line


# ---- the caps: loggers that print SQL parameters, URLs or bodies -------------------------------------------------

@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_parameter_printing_loggers_are_capped(production_logging, level: str):
    setup_logging(level)
    too_low = {name: logging.getLevelName(logging.getLogger(name).getEffectiveLevel())
               for name, cap in CAPPED.items() if logging.getLogger(name).isEnabledFor(cap - 1)}
    assert too_low == {}


async def test_debug_logs_no_sql_parameters(production_logging, database_url: str, capsys):
    """LOG_LEVEL=DEBUG with the bot's own engine (aiosqlite or asyncpg): the statement's parameter is not printed,
    while DEBUG lines of the bot itself are."""
    setup_logging("DEBUG")
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE log_probe (value VARCHAR(64))"))
            await connection.execute(text("INSERT INTO log_probe (value) VALUES (:value)"), {"value": PARAMETER})
            assert (await connection.execute(text("SELECT value FROM log_probe"))).scalar_one() == PARAMETER
    finally:
        await engine.dispose()
    logging.getLogger("bot.probe").debug("debug lines of the bot are written")
    printed = capsys.readouterr().err
    assert "debug lines of the bot are written" in printed
    assert PARAMETER not in printed


async def test_a_logger_turned_up_later_still_prints_no_parameters(production_logging, tmp_path: Path, capsys):
    """The cap holds at the handler too: a library or an operator setting aiosqlite's level after start-up
    changes nothing."""
    setup_logging("DEBUG")
    logging.getLogger("aiosqlite").setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE log_probe (value VARCHAR(64))"))
            await connection.execute(text("INSERT INTO log_probe (value) VALUES (:value)"), {"value": PARAMETER})
    finally:
        await engine.dispose()
    assert PARAMETER not in capsys.readouterr().err


# ---- exception messages -------------------------------------------------------------------------------------------

async def test_a_database_error_in_a_handler_is_logged_without_its_values(
        production_logging, database_url: str, telegram: TelegramDouble, capsys):
    """An IntegrityError raised in a handler reaches the bot's error handler (handlers/errors.py): the log has its
    type and where it was raised, not the statement's parameters nor the driver's message (PostgreSQL's names the
    duplicate value)."""
    setup_logging("INFO")
    engine = make_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE log_probe (value VARCHAR(64) UNIQUE)"))
        await connection.execute(text("INSERT INTO log_probe (value) VALUES (:value)"), {"value": STORED})

    saving = Router(name="saving")

    @saving.message()
    async def save_again(message: Message) -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO log_probe (value) VALUES (:value)"), {"value": STORED})

    dispatcher = Dispatcher()
    dispatcher.include_routers(errors.create_router(), saving)
    bot = Bot(BOT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(telegram.base_url)))
    user = telegram.user(7001)
    try:
        await user.send("save it again")
        with I18n(path="locales", default_locale="en", domain="messages").context():
            await dispatcher.feed_raw_update(bot, telegram.updates[-1])
        assert "something went wrong" in user.last.text
    finally:
        await bot.session.close()
        await engine.dispose()
    printed = capsys.readouterr().err
    assert "unhandled IntegrityError in update" in printed
    assert "sqlalchemy.exc.IntegrityError" in printed
    assert "in save_again" in printed  # the place: traceback frames are kept
    assert STORED not in printed
    assert "[parameters" not in printed


def test_an_exception_passed_as_an_argument_is_logged_by_type(production_logging, capsys):
    """aiogram logs a failed update as ("... %s: %s", type name, exc): the message part is not printed."""
    setup_logging("INFO")
    error = ValueError(f"invalid literal: {PARAMETER}")
    logging.getLogger("aiogram.event").error("Cause exception while process update id=%d by bot id=%d\n%s: %s",
                                             1, 42, type(error).__name__, error)
    logging.getLogger("bot.probe").warning(error)
    printed = capsys.readouterr().err
    assert "ValueError" in printed
    assert PARAMETER not in printed


def test_a_chained_exception_is_logged_without_any_message_or_note(production_logging, capsys):
    setup_logging("INFO")
    try:
        try:
            raise KeyError(PARAMETER)
        except KeyError as inner:
            error = RuntimeError(f"while saving {PARAMETER}")
            error.add_note(PARAMETER)
            raise error from inner
    except RuntimeError:
        logging.getLogger("bot.probe").exception("saving failed")
    printed = capsys.readouterr().err
    assert "KeyError" in printed and "RuntimeError" in printed
    assert "direct cause" in printed
    assert PARAMETER not in printed
