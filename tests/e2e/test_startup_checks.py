"""`python -m bot` starts or says why in one line (issue 18, item 1), and `python -m bot healthcheck`.

Every start-up case is a real `python -m bot` child against the Telegram double and the Paylov emulator, with one
setting broken; all the children run at once (one module fixture), each test then reads its own: exit code 2, one
line on stderr naming the problem, no traceback. "Unreachable" is a loopback port nothing listens on.

The runtime part: a throw-away PostgreSQL server stopped under a running bot; two updates get "we are having
trouble, try in a minute" and the log one line about it.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.sandbox.child import BotChild, child_env
from bot.sandbox.paylov import PaylovSandbox
from bot.sandbox.postgres import PostgresServer, free_port
from bot.sandbox.telegram import TelegramDouble
from bot.storage.db import make_engine, upgrade

CASE_TIMEOUT = 10.0  # seconds a refusing start may take


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stderr.strip().splitlines()


def _cases(closed: int, tmp: Path) -> dict[str, tuple[tuple[str, ...], dict[str, object], int, tuple[str, ...]]]:
    """name -> (arguments, settings over the doubles' ones, exit code, what the one line must name)."""
    sqlite = f"sqlite+aiosqlite:///{tmp / '{name}.db'}"
    return {
        "missing-token": ((), {"BOT_TOKEN": None}, 2, ("BOT_TOKEN", "missing")),
        "malformed-token": ((), {"BOT_TOKEN": "abc"}, 2, ("BOT_TOKEN",)),
        "bad-interval-list": ((), {"STATUS_CHECK_INTERVALS": "10,x"}, 2, ("STATUS_CHECK_INTERVALS", "item 2")),
        "not-a-database-url": ((), {"DATABASE_URL": "foo"}, 2, ("DATABASE_URL",)),
        "unknown-driver": ((), {"DATABASE_URL": "mysql+aiomysql://u:secret@127.0.0.1/db"}, 2,
                           ("DATABASE_URL", "mysql+aiomysql")),
        "sync-driver": ((), {"DATABASE_URL": "postgresql://u:secret@127.0.0.1/db"}, 2, ("DATABASE_URL", "postgresql")),
        "postgres-not-there": ((), {"DATABASE_URL": f"postgresql+asyncpg://u:secret@127.0.0.1:{closed}/db"}, 2,
                               ("database unreachable", f"127.0.0.1:{closed}", "connection refused")),
        "migration-fails": ((), {"DATABASE_URL": sqlite}, 2, ("database migration failed",)),
        "telegram-unreachable": ((), {"TELEGRAM_API_URL": f"http://127.0.0.1:{closed}"}, 2,
                                 ("Bot API unreachable", f"127.0.0.1:{closed}")),
        "redis-unreachable": ((), {"REDIS_URL": f"redis://127.0.0.1:{closed}/0"}, 2,
                              ("Redis unreachable", f"127.0.0.1:{closed}", "REDIS_URL")),
        "redis-unreachable-worker": (("worker",), {"REDIS_URL": f"redis://127.0.0.1:{closed}/0"}, 2,
                                     ("Redis unreachable",)),
        "live-without-credentials": ((), {"PAYLOV_BASE_URL": None}, 2, ("PAYLOV_BASE_URL",)),
        # python -m bot healthcheck: 0 healthy, else one line and 1 (Docker's "unhealthy")
        "health-ok": (("healthcheck",), {"DATABASE_URL": sqlite}, 0, ()),
        "health-not-migrated": (("healthcheck",), {"DATABASE_URL": sqlite}, 1, ("not migrated",)),
        "health-no-database": (("healthcheck",), {"DATABASE_URL": sqlite}, 1, ("does not exist",)),
        "health-telegram-unreachable": (("healthcheck",), {"DATABASE_URL": sqlite,
                                                           "TELEGRAM_API_URL": f"http://127.0.0.1:{closed}"}, 1,
                                        ("Bot API unreachable",)),
        "health-redis-unreachable": (("healthcheck",), {"DATABASE_URL": sqlite,
                                                        "REDIS_URL": f"redis://127.0.0.1:{closed}/0"}, 1,
                                     ("Redis unreachable",)),
    }


async def _prepare(name: str, settings: dict[str, object], tmp: Path) -> None:
    url = settings.get("DATABASE_URL")
    if not isinstance(url, str) or "{name}" not in url:
        return
    settings["DATABASE_URL"] = url = url.replace("{name}", name)
    path = Path(url.removeprefix("sqlite+aiosqlite:///"))
    if name == "migration-fails":  # a database from a newer code: a revision this code does not know
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
            db.execute("INSERT INTO alembic_version VALUES ('f00dfeedf00d')")
        db.close()
    elif name == "health-not-migrated":
        sqlite3.connect(path).close()
    elif name != "health-no-database":
        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()


async def _run(args: tuple[str, ...], env: dict[str, str], cwd: Path, slots: asyncio.Semaphore) -> Ran:
    async with slots:  # as many at once as there are processors: each case's time is its own
        return await _run_one(args, env, cwd)


async def _run_one(args: tuple[str, ...], env: dict[str, str], cwd: Path) -> Ran:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), CASE_TIMEOUT)
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        err += f"\n(still running after {CASE_TIMEOUT} s: killed)".encode()
    return Ran(process.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> dict[str, tuple[Ran, int, tuple[str, ...]]]:
    """All the cases at once: each a child process against the same doubles."""
    tmp = tmp_path_factory.mktemp("startup")

    async def run_all() -> dict[str, tuple[Ran, int, tuple[str, ...]]]:
        paylov = PaylovSandbox()
        await paylov.start()
        try:
            async with TelegramDouble() as telegram:
                cases = _cases(free_port(), tmp)
                jobs = {}
                slots = asyncio.Semaphore(max(2, os.cpu_count() or 2))
                for name, (args, settings, code, named) in cases.items():
                    settings = dict(settings)
                    await _prepare(name, settings, tmp)
                    url = settings.pop("DATABASE_URL", f"sqlite+aiosqlite:///{tmp / (name + '.db')}")
                    env = child_env(telegram=telegram, paylov=paylov, database_url=url, **settings)
                    workdir = tmp / name
                    workdir.mkdir()
                    jobs[name] = (_run(args, env, workdir, slots), code, named)
                results = await asyncio.gather(*(job for job, _, _ in jobs.values()))
                return {name: (result, code, named) for (name, (_, code, named)), result in zip(jobs.items(), results)}
        finally:
            await paylov.stop()

    return asyncio.run(run_all())


CASE_NAMES = list(_cases(1, Path("/x")))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_start_refuses_with_one_line(ran, case):
    result, code, named = ran[case]
    report = f"exit {result.returncode}\nstderr:\n{result.stderr}\nstdout:\n{result.stdout}"
    assert result.returncode == code, report
    assert "Traceback" not in result.stderr, report
    assert "secret" not in result.stderr + result.stdout, report  # no password from a URL
    if code == 0:
        assert result.stdout.startswith("healthy"), report
        return
    assert len(result.lines) == 1, report
    for part in named:
        assert part in result.lines[0], report


async def test_a_comma_list_of_intervals_starts(tmp_path, telegram, paylov):
    """STATUS_CHECK_INTERVALS=10,30 as an operator writes it: the bot starts and polls."""
    env = child_env(telegram=telegram, paylov=paylov, database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
                    STATUS_CHECK_INTERVALS="10,30", OPERATOR_IDS="[1, 2]")
    async with BotChild(env, telegram=telegram, workdir=tmp_path / "child", start_timeout=30) as child:
        await child.start()
        assert await child.stop() == 0, child.log_tail()


# ---- the database lost while running --------------------------------------------------------------------------------

@pytest.fixture
async def own_postgres():
    """A server of this test's own: it is stopped in the middle of the test."""
    server = await asyncio.to_thread(PostgresServer().start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def test_losing_the_database_tells_users_to_try_in_a_minute(tmp_path, telegram, paylov, own_postgres):
    env = child_env(telegram=telegram, paylov=paylov, database_url=own_postgres.url("postgres"))
    async with BotChild(env, telegram=telegram, workdir=tmp_path / "child", start_timeout=30) as child:
        await child.start()
        english, russian = telegram.user(6101), telegram.user(6102, language_code="ru")
        await english.send("/start")
        await english.wait_message("Choose your language", timeout=30)

        await asyncio.to_thread(own_postgres.stop)
        await english.send("/start")
        told = await english.wait_message("try again in a minute", timeout=30)
        await russian.send("/start")
        told_ru = await russian.wait_message("попробуйте через минуту", timeout=30)
        assert "trouble" in told.text and "неполадки" in told_ru.text

        log = child.log_text()
        assert child.running, log
        lines = [line for line in log.splitlines() if "database unavailable" in line]
        assert len(lines) == 1, log  # two updates, one line: the next comes a minute later at the earliest
        assert "unhandled" not in log, log  # the updates were answered, not traced
