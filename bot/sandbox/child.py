"""The bot as a separate process in tests: `python -m bot` started, killed with SIGKILL and restarted for real.

`BotChild` runs the production entry point (`bot/__main__.py`, long polling) with `PROVIDERS=live` pointed at the
emulators and the Telegram double that run in the test process, so "crash" is a real `kill -9` at the moment a
chosen call is held (`Hold` from `bot/sandbox/faults.py`), and "restart" is a new process on the same database.
`BotLedger` reads the bot's `payments` table over the same `DATABASE_URL`, next to the emulators' own ledgers
(`paylov.calls("servicePayment/pay/")`, `payme.calls("receipts.pay")`).

    env = child_env(telegram=telegram, paylov=paylov, payme=payme, database_url=url, STATUS_WORKER_TICK=0.2)
    async with BotChild(env, telegram=telegram, workdir=tmp_path / "child") as child:
        await child.start()
        ...
        await child.kill_when(hold)   # SIGKILL once the held call has arrived
        await child.start()           # the same database: the worker settles what was in flight
        [payment] = await child.ledger.payments(user_id)

Extension points: `child_env(**extra)` takes any further setting (a PaySys gateway, `CARD_VAULT`, a webhook URL);
`BotChild(args=...)` runs another subcommand; `ready()` is the one readiness check (a webhook mode overrides it).

`WebhookChild` is the bot in webhook mode (WEBHOOK_URL in its environment): ready once GET /healthz answers 200 on
its WEBHOOK_HOST:WEBHOOK_PORT; `terminate()` sends SIGTERM without waiting (to look at the process while it drains)
and `exited()` waits for the end. `wait_until` waits on a condition of another process, which sends no event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

import bot
from bot.sandbox import paylov_catalogue
from bot.sandbox.faults import Hold
from bot.sandbox.paylov import PaylovSandbox
from bot.sandbox.payme import PaymeSandbox
from bot.sandbox.paysys import PaysysSandbox
from bot.sandbox.telegram import TelegramDouble
from bot.settings import Settings
from bot.storage.models import CashbackEntry, Payment, PaymentEvent

__all__ = ["BOT_TOKEN", "BotChild", "BotLedger", "ChildFailed", "WebhookChild", "child_env", "describe_ledgers",
           "wait_until"]

BOT_TOKEN = "4242:TEST-token-for-the-telegram-double-only"
SOURCE_ROOT = Path(bot.__file__).resolve().parent.parent  # the tree the test process imports `bot` from
LOG_TAIL = 6000  # characters of the child's log an error message carries

T = TypeVar("T")


class ChildFailed(AssertionError):
    """The child did not get where it was asked to (died, or timed out); the message ends with its log."""


def _env_value(value: object) -> str:
    """A setting as the child reads it from its environment (pydantic-settings parses lists as JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    return str(value)


SENDER = {"PAYSYS_SENDER_LAST_NAME": "TESTOV", "PAYSYS_SENDER_FIRST_NAME": "TEST", "PAYSYS_SENDER_MIDDLE_NAME": ""}


def doubles_settings(*, telegram: TelegramDouble, paylov: PaylovSandbox, database_url: str,
                     payme: PaymeSandbox | None = None, paysys: PaysysSandbox | None = None,
                     bot_token: str = BOT_TOKEN) -> dict[str, object]:
    """The settings that point the bot at the test's doubles and database: for the bot in the test process
    (`load_settings(**…)`) and for the bot as a child process (its environment)."""
    settings: dict[str, object] = {
        "BOT_TOKEN": bot_token,
        "TELEGRAM_API_URL": telegram.base_url,
        "PROVIDERS": "live",
        "PAYLOV_BASE_URL": paylov.base_url,
        "PAYLOV_USERNAME": PaylovSandbox.USERNAME,
        "PAYLOV_PASSWORD": PaylovSandbox.PASSWORD,
        "PAYLOV_CONSUMER_KEY": PaylovSandbox.CONSUMER_KEY,
        "PAYLOV_CONSUMER_SECRET": PaylovSandbox.CONSUMER_SECRET,
        "PAYLOV_SETTLEMENT_CARD_ID": paylov_catalogue.SETTLEMENT_CARD_ID,
        "ALLOW_TEST_CARDS": True,
        "DATABASE_URL": database_url,
        "WEBAPP_PORT": 0,
    }
    if payme is not None:
        settings.update(PAYME_BASE_URL=payme.base_url, PAYME_MERCHANT_ID=payme.merchant_id, PAYME_KEY=payme.key)
    if paysys is not None:
        settings.update(PAYSYS_BASE_URL=paysys.base_url, PAYSYS_SERVICE_ID=paysys.service_id,
                        PAYSYS_SECRET_KEY=paysys.secret_key, PAYSYS_DOC_THRESHOLD=paysys.doc_threshold, **SENDER)
    return settings


def child_env(*, telegram: TelegramDouble, paylov: PaylovSandbox, database_url: str,
              payme: PaymeSandbox | None = None, paysys: PaysysSandbox | None = None, bot_token: str = BOT_TOKEN,
              **extra: object) -> dict[str, str]:
    """The child's environment: the test's doubles and database, then `extra` settings (None unsets one).

    Every name of the settings contract is taken out of the inherited environment first, so a developer's shell
    (a REDIS_URL, a CARD_VAULT) never leaks into the child; `.env` is kept out by the child's own working directory.
    """
    contract = {name.upper() for name in Settings.model_fields}  # pydantic-settings reads names in any case
    env = {name: value for name, value in os.environ.items() if name.upper() not in contract}
    settings: dict[str, object] = {**doubles_settings(telegram=telegram, paylov=paylov, payme=payme, paysys=paysys,
                                                      database_url=database_url, bot_token=bot_token),
                                    "LOG_LEVEL": "INFO"}
    settings.update(extra)
    unknown = sorted(set(settings) - set(Settings.model_fields))
    if unknown:
        raise ValueError(f"not in the settings contract (bot/settings.py): {', '.join(unknown)}")
    env.update({name: _env_value(value) for name, value in settings.items() if value is not None})
    # The child imports the same tree as the test process, and its log lines are written at once (a SIGKILL
    # must not lose what it printed before).
    env["PYTHONPATH"] = os.pathsep.join([str(SOURCE_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    return env


class BotChild:
    """`python -m bot` as a child process of the test. Use it as an async context manager: it is always killed."""

    def __init__(self, env: Mapping[str, str], *, telegram: TelegramDouble, workdir: Path,
                 args: tuple[str, ...] = (), start_timeout: float = 60.0, stop_timeout: float = 10.0) -> None:
        self.env = dict(env)
        self.telegram = telegram
        self.workdir = Path(workdir)  # the child's cwd: no stray .env, no ./data of the repository
        self.args = args
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.log_path = self.workdir / "bot.log"  # stdout and stderr of every start, in order
        self.ledger = BotLedger(self.env["DATABASE_URL"])
        self.starts = 0
        self.exit_codes: list[int] = []  # one per ended process: 0 graceful, -9 killed
        self._process: asyncio.subprocess.Process | None = None
        self._exit_recorded = False
        self._polls_before = 0
        self._get_me_before = 0

    # ---- lifecycle ------------------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> BotChild:
        """Spawns the process and returns once it is ready (`ready()`); ChildFailed with its log if it never is."""
        if self.running:
            raise RuntimeError(f"the bot child (pid {self.pid}) is already running")
        if self._process is not None:
            self._ended()  # it died on its own since we last looked: its exit code is kept too
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        self._polls_before = self.telegram.polls_started
        self._get_me_before = len(self.telegram.calls_of("getMe"))
        with self.log_path.open("ab") as log:  # the child writes through its own descriptor
            stamp = datetime.now().isoformat(sep=" ", timespec="milliseconds")
            log.write(f"----- {stamp} start {self.starts}: python -m bot {' '.join(self.args)}\n".encode())
            log.flush()
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", *self.args, cwd=self.workdir, env=self.env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT,
            )
        self._exit_recorded = False
        try:
            await self._unless_it_dies(self.ready(), self.start_timeout, "become ready")
        except ChildFailed:
            await self.kill()  # never left half-started: the next start() begins from a clean slate
            raise
        return self

    async def ready(self) -> None:
        """Long polling: the double has seen a getUpdates since this start (migrations and startup are done).
        `worker` serves no updates: its own getMe, asked once its services are open, says it is up (the first
        getMe of a start is the start-up check's, bot/runtime/startup.py)."""
        if self.args[:1] == ("worker",):
            await self.telegram.wait_for(lambda: len(self.telegram.calls_of("getMe")) > self._get_me_before + 1,
                                         timeout=None)
            return
        await self.telegram.wait_for(lambda: self.telegram.polls_started > self._polls_before, timeout=None)

    async def stop(self) -> int:
        """SIGTERM: aiogram stops polling and finishes the updates in hand; SIGKILL after stop_timeout."""
        if not self.running:
            return self._ended()
        with contextlib.suppress(ProcessLookupError):  # it may have died this very moment
            self._process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self._process.wait(), self.stop_timeout)
        except TimeoutError:
            await self.kill()
            raise ChildFailed(f"the bot child did not stop within {self.stop_timeout}s of SIGTERM; killed\n"
                              f"{self.log_tail()}") from None
        return self._ended()

    async def kill(self) -> int:
        """SIGKILL, as a crash or an OOM kill: nothing in the process runs another line. Waits for the exit."""
        if not self.running:
            return self._ended()
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()
        await asyncio.wait_for(self._process.wait(), self.stop_timeout)
        return self._ended()

    async def kill_when(self, hold: Hold, *, timeout: float = 10.0, release: bool = True) -> int:
        """SIGKILL once the held call has reached its double (with apply=True: its work is done).

        The held request's connection is dead then; with `release` the double is told to close it unanswered
        (proceed=False) so nothing stays parked."""
        await self._unless_it_dies(hold.reached(timeout=None), timeout, "reach the held call")
        code = await self.kill()
        if release:
            hold.release(proceed=False)
        return code

    async def restart(self) -> BotChild:
        """A new process on the same database and doubles: a graceful stop first if it is still running."""
        if self.running:
            await self.stop()
        return await self.start()

    async def __aenter__(self) -> BotChild:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.kill()
        finally:
            await self.ledger.aclose()

    # ---- the log --------------------------------------------------------------------------------------------

    def log_text(self) -> str:
        """Everything every start of the child printed (its logging goes to stderr)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, chars: int = LOG_TAIL) -> str:
        text = self.log_text()
        return f"--- bot child log ({self.log_path}), last {chars} characters ---\n{text[-chars:]}"

    # ---- plumbing -------------------------------------------------------------------------------------------

    def _ended(self) -> int:
        """The exit code of the process that has ended, recorded once in exit_codes (0 if none ever ran)."""
        if self._process is None:
            return 0
        code = self._process.returncode
        assert code is not None
        if not self._exit_recorded:
            self.exit_codes.append(code)
            self._exit_recorded = True
        return code

    async def _unless_it_dies(self, waiting: Awaitable[T], timeout: float, what: str) -> T:
        """Waits for `waiting`, failing at once with the log if the child exits first or after `timeout`."""
        assert self._process is not None
        goal = asyncio.ensure_future(waiting)
        death = asyncio.ensure_future(self._process.wait())
        try:
            done, _ = await asyncio.wait({goal, death}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (goal, death):
                if not task.done():
                    task.cancel()
        if goal in done:
            return goal.result()
        if death in done:
            code = self._ended()
            raise ChildFailed(f"the bot child exited with {code} before it could {what}\n{self.log_tail()}")
        raise ChildFailed(f"the bot child did not {what} within {timeout}s (pid {self.pid}, still running)\n"
                          f"{self.log_tail()}")


async def wait_until(check: Callable[[], Awaitable[bool]], *, timeout: float | None = 10.0, every: float = 0.05,
                     what: str = "the condition") -> None:
    """Until `await check()` is true, asked every `every` seconds: for a state of another process (a port that starts
    answering, a status that changes), which sends no event to wait on. TimeoutError after `timeout` (None: never)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while not await check():
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not hold within {timeout}s")
        await asyncio.sleep(every)  # polling another process, not synchronising our own code


class WebhookChild(BotChild):
    """`python -m bot` in webhook mode: the environment carries WEBHOOK_URL, WEBHOOK_HOST and WEBHOOK_PORT (a fixed
    port, so a restart listens where Telegram posts). Ready once GET /healthz answers 200: the schema check, the
    services and the listening socket are all done."""

    def __init__(self, env: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(env, **kwargs)
        if not self.env.get("WEBHOOK_URL") or not self.env.get("WEBHOOK_PORT"):
            raise ValueError("a WebhookChild needs WEBHOOK_URL and a fixed WEBHOOK_PORT in its environment")
        host = self.env.get("WEBHOOK_HOST") or "127.0.0.1"
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        self.url = f"http://{host}:{self.env['WEBHOOK_PORT']}"  # where it listens

    async def health(self) -> int | None:
        """GET /healthz's status; None when nothing answers (not listening yet, or any more)."""
        try:
            async with aiohttp.ClientSession() as http, http.get(
                    f"{self.url}/healthz", timeout=aiohttp.ClientTimeout(total=10)) as answer:
                return answer.status
        except (aiohttp.ClientError, OSError):
            return None

    async def ready(self) -> None:
        async def healthy() -> bool:
            return await self.health() == 200

        await wait_until(healthy, timeout=None)  # start() bounds it, and fails at once if the child dies

    def terminate(self) -> None:
        """SIGTERM without waiting: the process drains (/healthz 503, new posts 503) while the test looks."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signal.SIGTERM)

    async def exited(self, timeout: float | None = None) -> int:
        """Until the process has ended (stop_timeout by default); its exit code. ChildFailed with the log if not."""
        assert self._process is not None
        try:
            await asyncio.wait_for(self._process.wait(), timeout or self.stop_timeout)
        except TimeoutError:
            raise ChildFailed(f"the bot child did not exit within {timeout or self.stop_timeout}s\n"
                              f"{self.log_tail()}") from None
        return self._ended()


class BotLedger:
    """The bot's own ledger, read from the test process over the child's DATABASE_URL (SQLite or PostgreSQL).

    No pooled connection stays open between reads, so the child is never blocked by the test."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._engine: AsyncEngine | None = None

    def _sessions(self) -> async_sessionmaker:
        if self._engine is None:
            self._engine = create_async_engine(self.database_url, poolclass=NullPool)
        return async_sessionmaker(self._engine, expire_on_commit=False)

    async def payments(self, user_id: int | None = None) -> list[Payment]:
        """Payment rows in id order, of one user or of everyone."""
        query = select(Payment).order_by(Payment.id)
        if user_id is not None:
            query = query.where(Payment.user_id == user_id)
        async with self._sessions()() as session:
            return list(await session.scalars(query))

    async def cashback(self, user_id: int) -> int:
        """The user's cashback balance in tiyin: the sum of their ledger entries."""
        async with self._sessions()() as session:
            total = await session.scalar(select(func.sum(CashbackEntry.amount)).where(CashbackEntry.user_id == user_id))
            return int(total or 0)

    async def events(self, payment_id: int) -> list[tuple[str | None, str]]:
        """A payment's recorded moves (from_state, to_state), in order."""
        async with self._sessions()() as session:
            rows = await session.scalars(
                select(PaymentEvent).where(PaymentEvent.payment_id == payment_id).order_by(PaymentEvent.id))
            return [(row.from_state, row.to_state) for row in rows]

    async def states(self, payment_id: int) -> list[str]:
        """The states a payment went through, status notes that changed nothing left out."""
        return [to for before, to in await self.events(payment_id) if before != to]

    async def aclose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


def describe_ledgers(payments: list[Payment], **emulator_calls: list[Any]) -> str:
    """Both ledgers side by side, for an assertion message."""
    lines = [f"bot payments: {[(p.id, p.user_id, p.state, p.transaction_id, p.receipt_id) for p in payments]}"]
    lines += [f"{name}: {calls!r}" for name, calls in emulator_calls.items()]
    return "\n".join(lines)
