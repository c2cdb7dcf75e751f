"""Start-up checks: before the bot polls or its worker runs, everything it needs is tried once, and a failure stops
the start with one line naming what is wrong (`StartupError`, exit code 2 from `python -m bot`).

In order: the bot token's form, the database URL and its driver, the database reachable (then migrated, as the bot
always did at start; a failed migration is one line too), Redis when REDIS_URL is set, the Bot API (`getMe`).

`python -m bot healthcheck` asks the same of a running deployment without changing anything: the database reachable
and at the code's newest revision, Redis when set, `getMe`. It prints `healthy` and exits 0, or one line and exits 1
(Docker's HEALTHCHECK reads 1 as unhealthy; 2 is reserved there).

No line carries a secret: URLs are shown as host, port and database only, and exception messages only where they
are the system's own words ("Connection refused"), never a driver's message about a statement.
"""

from __future__ import annotations

import asyncio
import errno
import sys
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.settings import Settings, SettingsError, load_settings

# Seconds each look may take: a closed port answers at once; a host that drops packets is given up on in time.
CHECK_TIMEOUT = 10.0
# The drivers the bot runs on (the migrations and bot/storage/db.py know these two).
DRIVERS = {"sqlite+aiosqlite": "SQLite", "postgresql+asyncpg": "PostgreSQL"}
URL_FORMS = "sqlite+aiosqlite:///path/to/bot.db or postgresql+asyncpg://user:password@host/db"
TELEGRAM_DEFAULT = "https://api.telegram.org"


class StartupError(SettingsError):
    """Something the bot needs is missing or unreachable; the message is one line naming it."""


# ---- the checks ----------------------------------------------------------------------------------------------------

def check_token(settings: Settings) -> None:
    """aiogram's rule (aiogram.utils.token.validate_token), without importing aiogram: that takes seconds."""
    token = settings.BOT_TOKEN.get_secret_value()
    left, colon, right = token.partition(":")
    if not colon or not left.isdigit() or not right or any(char.isspace() for char in token):
        raise StartupError("setting BOT_TOKEN is invalid: a token from @BotFather looks like 123456789:AAE...")


def check_database_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StartupError(f"setting DATABASE_URL is invalid: not a database URL (use {URL_FORMS})") from None
    if parsed.drivername not in DRIVERS:
        raise StartupError(f"setting DATABASE_URL is invalid: driver {parsed.drivername!r} is not supported "
                           f"(use {URL_FORMS})")
    try:
        parsed.get_dialect().import_dbapi()
    except ImportError:
        raise StartupError(f"setting DATABASE_URL: the driver {parsed.drivername!r} is not installed") from None
    return parsed


def database_place(parsed: URL) -> str:
    """Where the database is, without the user or password."""
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}" if parsed.database not in (None, "", ":memory:") else "SQLite memory"
    return f"PostgreSQL at {parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


async def check_database(url: str, *, migrate: bool, timeout: float = CHECK_TIMEOUT) -> None:
    """Connects and runs one query; then migrates (migrate=True, the bot's start) or demands the newest revision."""
    from bot.storage.db import make_engine, schema_revisions, upgrade

    parsed = check_database_url(url)
    place = database_place(parsed)
    sqlite_file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if not migrate and sqlite_file not in (None, "", ":memory:") and not Path(sqlite_file).exists():
        raise StartupError(f"database unreachable: {place} does not exist")
    try:
        engine = make_engine(url)  # makes the SQLite file's folder
    except OSError as exc:
        raise StartupError(f"database unreachable: {place}: {reason(exc)}") from None
    try:
        try:
            async with asyncio.timeout(timeout), engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except TimeoutError:
            raise StartupError(f"database unreachable: {place}: no answer in {timeout:g} s") from None
        except Exception as exc:  # noqa: BLE001 - whatever the driver raises, the line names the place
            raise StartupError(f"database unreachable: {place}: {reason(exc)}") from None
        if migrate:
            try:
                await upgrade(engine)
            except Exception as exc:  # noqa: BLE001
                raise StartupError(f"database migration failed: {place}: {reason(exc)}") from None
        else:
            current, head = await schema_revisions(engine)
            if current != head:
                raise StartupError(f"database not migrated: {place} is at revision {current or 'none'}, the code at "
                                   f"{head} (run python -m bot migrate)")
    finally:
        await engine.dispose()


async def check_redis(url: str, *, timeout: float = CHECK_TIMEOUT) -> None:
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    try:
        client = Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                retry=Retry(NoBackoff(), 0))
    except ValueError:
        raise StartupError("setting REDIS_URL is invalid: use redis://host:port/db, rediss:// or unix://") from None
    kwargs = client.connection_pool.connection_kwargs
    place = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    try:
        async with asyncio.timeout(timeout + 1):
            await client.ping()
    except TimeoutError:
        raise StartupError(f"Redis unreachable at {place} (REDIS_URL): no answer in {timeout:g} s") from None
    except Exception as exc:  # noqa: BLE001
        raise StartupError(f"Redis unreachable at {place} (REDIS_URL): {reason(exc)}") from None
    finally:
        await client.aclose()


async def check_telegram(settings: Settings, *, timeout: float = CHECK_TIMEOUT) -> str:
    """getMe as the bot asks it (`{TELEGRAM_API_URL}/bot{token}/getMe`, as aiogram's TelegramAPIServer.from_base
    builds it); returns the bot's username. Over httpx: importing aiogram alone takes seconds."""
    import httpx

    check_token(settings)
    base = (settings.TELEGRAM_API_URL or TELEGRAM_DEFAULT).rstrip("/")
    try:
        where = make_place(base)
    except ValueError:
        raise StartupError("setting TELEGRAM_API_URL is invalid: give the Bot API server's base URL, "
                           "http(s)://host:port") from None
    url = f"{base}/bot{settings.BOT_TOKEN.get_secret_value()}/getMe"  # never printed: it carries the token
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            response = await client.post(url)
    except httpx.TimeoutException:
        raise StartupError(f"Bot API unreachable at {where}: no answer in {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise StartupError(f"Bot API unreachable at {where}: {reason(exc)}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if response.status_code == 401 or answer.get("error_code") == 401:
        raise StartupError(f"BOT_TOKEN is rejected by the Bot API at {where} (401 Unauthorized): "
                           f"check the token with @BotFather")
    result = answer.get("result")
    if not answer.get("ok") or not isinstance(result, dict):
        raise StartupError(f"Bot API at {where} refused getMe (HTTP {response.status_code}): is TELEGRAM_API_URL "
                           f"a Bot API server?")
    return str(result.get("username") or result.get("id"))


def make_place(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def reason(exc: BaseException) -> str:
    """A short, secret-free reason: the system's words for a socket error, else the innermost exception's type."""
    seen: set[int] = set()
    current: BaseException | None = exc
    innermost = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or getattr(current, "errno", None) == errno.ECONNREFUSED:
            return "connection refused"
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        if type(current).__module__.startswith("alembic"):  # "Can't locate revision identified by '…'"
            return str(current).splitlines()[0]
        if type(current).__module__ == "sqlite3":  # SQLite's own words: "unable to open database file"
            return str(current)
        innermost = current
        current = getattr(current, "orig", None) or getattr(current, "os_error", None) or current.__cause__ \
            or current.__context__
    if isinstance(innermost, OSError) and "Multiple exceptions" in str(innermost):
        return "connection refused"
    return type(innermost).__name__


# ---- entry points ---------------------------------------------------------------------------------------------------

async def check_startup(settings: Settings, *, timeout: float = CHECK_TIMEOUT, migrate: bool = True) -> None:
    """Before serving or the worker: StartupError with one line at the first thing that is wrong. migrate=False:
    an older schema is refused, not upgraded (webhook replicas)."""
    check_token(settings)
    check_database_url(settings.DATABASE_URL)
    await check_database(settings.DATABASE_URL, migrate=migrate, timeout=timeout)
    if settings.REDIS_URL:
        await check_redis(settings.REDIS_URL, timeout=timeout)
    await check_telegram(settings, timeout=timeout)


async def check_health(settings: Settings, *, timeout: float = CHECK_TIMEOUT) -> str:
    check_token(settings)
    await check_database(settings.DATABASE_URL, migrate=False, timeout=timeout)
    if settings.REDIS_URL:
        await check_redis(settings.REDIS_URL, timeout=timeout)
    return await check_telegram(settings, timeout=timeout)


def run_healthcheck(timeout: float = 5.0) -> int:
    """`python -m bot healthcheck`: 0 and "healthy @name", or 1 and one line naming what is wrong."""
    try:
        settings = load_settings()
        username = asyncio.run(check_health(settings, timeout=timeout))
    except SettingsError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    print(f"healthy: @{username}")
    return 0
