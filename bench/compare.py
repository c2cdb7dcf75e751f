"""This bot against the floor, a bare aiogram echo bot (bench/echo_bot.py), in one run: a table per database.

    .venv/bin/python -m bench.compare [--quick] [--database sqlite|postgresql|both] [--profile]

Why a floor: bare milliseconds depend on the machine (here 2 cores, shared with this process's doubles and users),
"so many times a bare aiogram bot on the same machine at the same moment" much less. Each bot is a child process
long-polling its own Telegram double (bot/sandbox/telegram.py) in this process, so both pay the same HTTP, JSON and
double costs; repetitions alternate between the two so a slow moment of the machine hits both. This bot runs as in
production (`python -m bot`, LOG_LEVEL=WARNING, the Paylov emulator over HTTP); its updates are `/help` from an
onboarded user, the floor's the same text echoed.

The measures: one update at a time (latency, CPU of the bot's process per update), bursts of distinct users at
once (updates/s), whole payment flows of many users at once (this bot only: completed, errors, steps, memory,
provider calls, duplicates, "database is locked"), and the seconds from spawn to the first getUpdates.
`--profile` also prints the bot's top five functions by own samples (py-spy) during one-at-a-time updates.
Measures, does not judge.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bench.table import Row, markdown
from bot.sandbox.child import SOURCE_ROOT, BotChild, child_env
from bot.sandbox.paylov import PaylovSandbox
from bot.sandbox.postgres import PostgresServer
from bot.sandbox.scenarios import add_card, pay_text_service, registered
from bot.sandbox.telegram import FakeUser, TelegramDouble

PATIENCE = 600.0  # seconds a user waits for a reply: under load a slow answer is a measure, not a failure
TEXT = "/help"  # this bot answers it for an onboarded user with one message; the floor echoes it
# The two texts handlers/errors.py sends (locales/en/LC_MESSAGES/messages.po): a bug, and a database or Redis outage.
ERROR_TEXTS = ("Sorry, something went wrong on our side", "We are having trouble on our side")
PAID = "✅ Paid"  # the receipt
PAY_PATHS = {"info": "servicePayment/info/", "create": "servicePayment/create/", "pay": "servicePayment/pay/"}
ONBOARD_BATCH = 50  # users onboarded at once before a burst (one after another takes minutes for 1000)
WARM_UP = 10  # round trips each bot gets before anything is measured (imports, caches, first connections)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROFILE_UPDATES = 200  # round trips sampled with --profile, after the timed ones (py-spy slows the bot down)


@dataclass(frozen=True)
class Plan:
    rounds: int = 5  # one-at-a-time blocks per bot, alternating
    updates: int = 40  # round trips per block
    bursts: tuple[int, ...] = (50, 200, 1000)
    burst_rounds: int = 3  # each burst size per bot, alternating; the median is reported
    flows: tuple[int, ...] = (10, 100, 1000)
    restarts: int = 3


QUICK = Plan(rounds=3, updates=20, bursts=(50,), burst_rounds=1, flows=(10,), restarts=1)


# ---- the processes ---------------------------------------------------------------------------------------------


class Polling(Protocol):
    """What a measure needs of a bot process: BotChild, or Floor below."""

    @property
    def pid(self) -> int | None: ...

    async def start(self) -> object: ...

    async def stop(self) -> int: ...


class Floor:
    """`python -m bench.echo_bot` as a child process, started and stopped the way BotChild does it."""

    def __init__(self, telegram: TelegramDouble, workdir: Path) -> None:
        self.telegram, self.workdir = telegram, workdir
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> Floor:
        """Returns once the double has seen its first getUpdates; RuntimeError if it exits first or takes a minute."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "BOT_TOKEN": "1:floor", "TELEGRAM_API_URL": self.telegram.base_url,
               "PYTHONPATH": str(SOURCE_ROOT)}
        polls = self.telegram.polls_started
        with (self.workdir / "echo.log").open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.echo_bot", cwd=self.workdir, env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT)
        polling = asyncio.ensure_future(self.telegram.wait_for(lambda: self.telegram.polls_started > polls, 60))
        died = asyncio.ensure_future(self._process.wait())
        await asyncio.wait({polling, died}, return_when=asyncio.FIRST_COMPLETED)
        for task in (polling, died):
            task.cancel()
        if polling.done() and not polling.cancelled() and polling.exception() is None:
            return self
        await self.stop()
        raise RuntimeError(f"the echo bot did not poll (exit code {self._process.returncode}): see "
                           f"{self.workdir / 'echo.log'}")

    async def stop(self) -> int:
        if self._process is None or self._process.returncode is not None:
            return self._process.returncode if self._process else 0
        with contextlib.suppress(ProcessLookupError):
            self._process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self._process.wait(), 10)
        except TimeoutError:
            self._process.kill()
            return await self._process.wait()


@dataclass
class Side:
    """One bot under measure: its process, the Telegram double it polls, the name in the table."""

    name: str
    process: Polling
    telegram: TelegramDouble

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def user(self, user_id: int) -> FakeUser:
        user = self.telegram.user(user_id)
        user.patience = PATIENCE
        return user


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # the name may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    """The process's high-water resident set (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmHWM for pid {pid}")


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: a value that was measured, never interpolated between two."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


class Databases:
    """Fresh empty databases of one kind: SQLite files in a folder, or databases of one throw-away PostgreSQL."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind, self.folder = kind, folder
        self.server: PostgresServer | None = None

    def __enter__(self) -> Databases:
        if self.kind == "postgresql":
            self.server = PostgresServer().start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.server is not None:
            self.server.stop()

    def new(self, name: str) -> str:
        if self.server is None:
            return f"sqlite+aiosqlite:///{self.folder / f'{name}.db'}"
        self.server.psql(f"CREATE DATABASE {name}")
        return self.server.url(name)


# ---- the measures ----------------------------------------------------------------------------------------------


async def started_in(process: Polling) -> float:
    """Seconds from spawn to the first getUpdates (start() returns then, for both kinds of process)."""
    started = time.perf_counter()
    await process.start()
    return time.perf_counter() - started


async def onboard(telegram: TelegramDouble, user_ids: Iterable[int]) -> None:
    """Language and phone for every user, ONBOARD_BATCH at a time: not timed, it only makes /help answerable."""
    ids = list(user_ids)
    for first in range(0, len(ids), ONBOARD_BATCH):
        for user_id in ids[first:first + ONBOARD_BATCH]:
            telegram.user(user_id).patience = PATIENCE
        await asyncio.gather(*(registered(telegram, user_id) for user_id in ids[first:first + ONBOARD_BATCH]))


async def round_trips(side: Side, count: int) -> tuple[list[float], float]:
    """`count` messages of one user, each sent once the reply to the last is in: latencies (s) and the bot's CPU s."""
    user = side.user(1)
    cpu = cpu_seconds(side.pid)
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        await user.send(TEXT)
        await user.wait_message()
        latencies.append(time.perf_counter() - started)
    return latencies, cpu_seconds(side.pid) - cpu


async def one_at_a_time(sides: tuple[Side, Side], plan: Plan) -> list[Row]:
    """Latency without queueing: what one user feels on an idle bot. Blocks alternate (and which goes first
    alternates too), so drift of the machine during the run falls on both bots alike."""
    for side in sides:
        await round_trips(side, WARM_UP)
    latencies: dict[str, list[float]] = {side.name: [] for side in sides}
    cpu = dict.fromkeys(latencies, 0.0)
    for block in range(plan.rounds):
        for side in sides if block % 2 == 0 else reversed(sides):
            measured, seconds = await round_trips(side, plan.updates)
            latencies[side.name] += measured
            cpu[side.name] += seconds
    floor, bot = (side.name for side in sides)
    total = plan.rounds * plan.updates
    label = f"one update at a time ({plan.rounds}×{plan.updates})"
    return [
        Row(f"{label}: median latency, ms", statistics.median(latencies[floor]) * 1000,
            statistics.median(latencies[bot]) * 1000),
        Row(f"{label}: p95 latency, ms", percentile(latencies[floor], 0.95) * 1000,
            percentile(latencies[bot], 0.95) * 1000),
        Row(f"{label}: CPU per update of its process, ms", cpu[floor] / total * 1000, cpu[bot] / total * 1000,
            digits=2),
    ]


async def burst(side: Side, size: int) -> tuple[float, float]:
    """Users 1..size each send one message at the same moment: (wall seconds until every reply is in, CPU s)."""
    async def one(user: FakeUser) -> None:
        await user.send(TEXT)
        await user.wait_message()

    users = [side.user(user_id) for user_id in range(1, size + 1)]
    cpu = cpu_seconds(side.pid)
    started = time.perf_counter()
    await asyncio.gather(*(one(user) for user in users))
    return time.perf_counter() - started, cpu_seconds(side.pid) - cpu


async def bursts(sides: tuple[Side, Side], sizes: tuple[int, ...], rounds: int) -> list[Row]:
    """Throughput under a crowd: how fast a queue of distinct users drains (this bot's users are onboarded). Each
    size `rounds` times, the two bots alternating (which goes first alternates too); medians. One burst is a
    fraction of a second, so a single one mostly measures the machine's moment."""
    rows = []
    for size in sizes:
        walls: dict[str, list[float]] = {side.name: [] for side in sides}
        cpus: dict[str, list[float]] = {side.name: [] for side in sides}
        for turn in range(rounds):
            for side in sides if turn % 2 == 0 else reversed(sides):
                wall, cpu = await burst(side, size)
                walls[side.name].append(wall)
                cpus[side.name].append(cpu)
        floor_wall, bot_wall = (statistics.median(walls[side.name]) for side in sides)
        floor_cpu, bot_cpu = (statistics.median(cpus[side.name]) for side in sides)
        rows += [Row(f"burst of {size} users ({rounds}×, median): updates/s", size / floor_wall, size / bot_wall,
                     throughput=True),
                 Row(f"burst of {size} users ({rounds}×, median): CPU per update, ms", floor_cpu / size * 1000,
                     bot_cpu / size * 1000, digits=2)]
    return rows


async def restarts(sides: tuple[Side, Side], times: int) -> Row:
    """Spawn to the first getUpdates on a database already migrated (the median of `times`, alternating)."""
    seconds: dict[str, list[float]] = {side.name: [] for side in sides}
    for _ in range(times):
        for side in sides:
            await side.process.stop()
            seconds[side.name].append(await started_in(side.process))
    floor, bot = (statistics.median(values) for values in seconds.values())
    return Row(f"restart, spawn to the first getUpdates, s (median of {times}; bot: migrated database)", floor, bot,
               digits=2)


async def sample_profile(side: Side, updates: int, workdir: Path) -> Counter[str] | str:
    """Own samples (the innermost frame) of each of the bot's functions while it answers `updates` messages one
    at a time; py-spy (pip install -e '.[bench]') samples the child from outside, so the bot runs unchanged.
    Only samples of a thread holding the GIL count (`--gil`): without it py-spy here counts threads that wait (the
    event loop in epoll, aiosqlite's thread on its queue) as busy; the C time inside SQLite or a socket call, which
    lets the GIL go, is left out too."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        return "py-spy is not installed: .venv/bin/pip install -e '.[bench]'"
    raw = workdir / "profile.txt"
    process = await asyncio.create_subprocess_exec(
        str(spy), "record", "--format", "raw", "--function", "--gil", "--rate", "1000", "--pid", str(side.pid),
        "-o", str(raw),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    await asyncio.sleep(1.0)  # py-spy attaching to another process: nothing of ours to wait on
    await round_trips(side, updates)
    process.send_signal(signal.SIGINT)  # py-spy writes the file on Ctrl-C
    _, errors = await process.communicate()
    if not raw.exists():
        return f"py-spy wrote nothing ({process.returncode}): {errors.decode(errors='replace').strip()[-500:]}"
    own: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        own[stack.rsplit(";", 1)[-1]] += int(samples)
    return own


# ---- payment flows ---------------------------------------------------------------------------------------------


@dataclass
class FlowResult:
    """What `count` users paying at once left behind: in the chats, in the Paylov emulator and in the bot's log."""

    count: int
    paid: int  # users who got a receipt
    errors: int  # users who read an error text of handlers/errors.py
    failed: list[str]  # flows that raised (a timeout, a missing button): the end of each message
    wall: float
    steps: dict[str, list[float]]  # seconds per user of each step that finished
    peak_rss_mb: float
    bot_cpu: float  # CPU seconds of the bot's process during the flows
    bench_cpu: float  # CPU seconds of this process (the doubles, the Paylov emulator, the users): when it nears the
    # wall time, the bench, not the bot, is what the flows wait for
    calls: Counter[str]  # info, create, pay: how many of each reached Paylov
    duplicate_pays: int  # pay calls beyond the first for one transaction
    duplicate_creates: int  # create calls beyond the first for one user (each user pays once)
    locked: int  # "database is locked" in the child's log
    log_path: Path = field(repr=False)

    @property
    def calls_per_payment(self) -> float:
        return sum(self.calls.values()) / max(self.paid, 1)


async def payment_flows(count: int, database_url: str, *, telegram: TelegramDouble | None = None,
                        paylov: PaylovSandbox | None = None, workdir: Path | None = None, first_user: int = 1,
                        patience: float = PATIENCE, **settings: object) -> FlowResult:
    """`count` users at once, each onboarding, adding a card and paying a hot-water bill, against `python -m bot`
    (BotChild) on `database_url`. Doubles not given are made here and stopped after; a given Paylov emulator should
    be fresh (its whole ledger is counted). `settings` go to the child's environment (LOG_LEVEL=WARNING unless
    given). The child is stopped gracefully before the chats and the ledgers are read."""
    steps: dict[str, list[float]] = {"onboard": [], "add card": [], "pay": []}
    workdir = workdir or Path(tempfile.mkdtemp(prefix="paybot-flows-"))
    async with AsyncExitStack() as stack:
        if telegram is None:
            telegram = TelegramDouble()
            await telegram.start()
            stack.push_async_callback(telegram.stop)
        if paylov is None:
            paylov = PaylovSandbox()
            await paylov.start()
            paylov.add_merchant_card()
            stack.push_async_callback(paylov.stop)
        env = child_env(telegram=telegram, paylov=paylov, database_url=database_url,
                        **{"LOG_LEVEL": "WARNING", **settings})
        child = await stack.enter_async_context(BotChild(env, telegram=telegram, workdir=workdir))
        await child.start()

        async def flow(user_id: int) -> None:
            user = telegram.user(user_id)
            user.patience = patience
            for step, run in (("onboard", lambda: registered(telegram, user_id)), ("add card", lambda: add_card(user)),
                              ("pay", lambda: pay_text_service(user))):
                started = time.perf_counter()
                await run()
                steps[step].append(time.perf_counter() - started)

        assert child.pid is not None
        bot_cpu, bench_cpu, started = cpu_seconds(child.pid), time.process_time(), time.perf_counter()
        user_ids = range(first_user, first_user + count)
        outcomes = await asyncio.gather(*(flow(user_id) for user_id in user_ids), return_exceptions=True)
        wall = time.perf_counter() - started
        bot_cpu, bench_cpu = cpu_seconds(child.pid) - bot_cpu, time.process_time() - bench_cpu
        peak = peak_rss_mb(child.pid)
        await child.stop()
        users = [telegram.users[user_id] for user_id in user_ids]
        pays = [entry.body.get("transactionId") for entry in paylov.calls(PAY_PATHS["pay"])
                if isinstance(entry.body, dict)]
        creates = [entry.body.get("userId") for entry in paylov.calls(PAY_PATHS["create"])
                   if isinstance(entry.body, dict)]
        return FlowResult(
            count=count,
            paid=sum(any(PAID in m.text for m in user.bot_messages) for user in users),
            errors=sum(any(text in m.text for m in user.messages if m.from_bot for text in ERROR_TEXTS)
                       for user in users),
            failed=[f"{type(o).__name__}: {str(o)[-1500:]}" for o in outcomes if isinstance(o, BaseException)],
            wall=wall, steps=steps, peak_rss_mb=peak, bot_cpu=bot_cpu, bench_cpu=bench_cpu,
            calls=Counter({name: len(paylov.calls(path)) for name, path in PAY_PATHS.items()}),
            duplicate_pays=_beyond_first(pays), duplicate_creates=_beyond_first(creates),
            locked=child.log_text().count("database is locked"), log_path=child.log_path,
        )


def _beyond_first(keys: list[object]) -> int:
    return sum(n - 1 for n in Counter(keys).values())


def flow_rows(result: FlowResult) -> list[Row]:
    """A flow result as table rows: the floor cannot pay, so its cells and the ratio stay empty."""
    label = f"{result.count} payment flows at once"
    rows = [Row(f"{label}: completed", None, result.paid, digits=0),
            Row(f"{label}: users told an error", None, result.errors, digits=0),
            Row(f"{label}: flows that did not finish", None, len(result.failed), digits=0),
            Row(f"{label}: wall time, s", None, result.wall)]
    for step, seconds in result.steps.items():
        if seconds:
            rows += [Row(f"{label}: {step} p50, s", None, statistics.median(seconds), digits=2),
                     Row(f"{label}: {step} p95, s", None, percentile(seconds, 0.95), digits=2)]
    return rows + [
        Row(f"{label}: peak RSS of the bot, MB", None, result.peak_rss_mb),
        Row(f"{label}: CPU of the bot's process, % of one core", None, result.bot_cpu / result.wall * 100, digits=0),
        Row(f"{label}: CPU of the bench's process (doubles, emulator, users), % of one core", None,
            result.bench_cpu / result.wall * 100, digits=0),
        Row(f"{label}: Paylov info+create+pay calls per payment", None, result.calls_per_payment, digits=2),
        Row(f"{label}: duplicate provider calls (pay per transaction, create per user)", None,
            result.duplicate_pays + result.duplicate_creates, digits=0),
        Row(f"{label}: 'database is locked' in the bot's log", None, result.locked, digits=0),
    ]


# ---- one database ----------------------------------------------------------------------------------------------


async def compare(kind: str, plan: Plan, *, profile: bool = False) -> list[Row]:
    """Every measure on one kind of database: the floor and this bot side by side, then the bot's payment flows."""
    with tempfile.TemporaryDirectory(prefix="paybot-compare-") as folder, Databases(kind, Path(folder)) as databases:
        workdir = Path(folder)
        async with AsyncExitStack() as stack:
            floor_telegram, bot_telegram, paylov = TelegramDouble(), TelegramDouble(), PaylovSandbox()
            for server in (floor_telegram, bot_telegram, paylov):
                await server.start()
                stack.push_async_callback(server.stop)
            paylov.add_merchant_card()
            env = child_env(telegram=bot_telegram, paylov=paylov, database_url=databases.new("compare"),
                            LOG_LEVEL="WARNING")
            bot = await stack.enter_async_context(BotChild(env, telegram=bot_telegram, workdir=workdir / "bot"))
            floor = Floor(floor_telegram, workdir / "floor")
            stack.push_async_callback(floor.stop)
            sides = (Side("floor", floor, floor_telegram), Side("this bot", bot, bot_telegram))

            rows = [Row("cold start, spawn to the first getUpdates, s (bot: new database, migrations)",
                        await started_in(floor), await started_in(bot), digits=2)]
            await onboard(bot_telegram, range(1, max(plan.bursts, default=1) + 1))
            rows += await one_at_a_time(sides, plan)
            if profile:
                print_profile(kind, await sample_profile(sides[1], PROFILE_UPDATES, workdir))
            rows += await bursts(sides, plan.bursts, plan.burst_rounds)
            rows.append(Row("peak RSS after the bursts, MB", peak_rss_mb(floor.pid), peak_rss_mb(bot.pid)))
            rows.append(await restarts(sides, plan.restarts))
        for count in plan.flows:
            result = await payment_flows(count, databases.new(f"flows_{count}"), workdir=workdir / f"flows-{count}")
            rows += flow_rows(result)
            if result.failed:
                print(f"{kind}, {count} flows: {len(result.failed)} did not finish; the first:\n{result.failed[0]}",
                      file=sys.stderr)
        return rows


def print_profile(kind: str, samples: Counter[str] | str, top: int = 5) -> None:
    print(f"\nThis bot on {kind}, {PROFILE_UPDATES} updates one at a time: top {top} functions by own samples (py-spy)")
    if isinstance(samples, str):
        print(f"  {samples}")
        return
    total = sum(samples.values()) or 1
    for function, count in samples.most_common(top):
        print(f"  {count:6d} samples {count / total:6.1%}  {function}")
    print(f"  of {total} samples holding the GIL")


def kinds(choice: str) -> Iterator[str]:
    yield from ("sqlite", "postgresql") if choice == "both" else (choice,)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small numbers: bursts of 50, 10 payment flows")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--profile", action="store_true", help="the bot's top five functions (py-spy)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    plan = QUICK if args.quick else Plan()
    for kind in kinds(args.database):
        started = time.perf_counter()
        rows = asyncio.run(compare(kind, plan, profile=args.profile))
        print(f"\n### {kind}{' (--quick)' if args.quick else ''}: this bot against a bare aiogram echo bot "
              f"({time.perf_counter() - started:.0f} s, {os.cpu_count()} cores)\n")
        print(markdown(rows))
        print("\nratio: times the floor's cost (updates/s: floor ÷ bot), so 1.0× is as fast as a bare aiogram bot.")


if __name__ == "__main__":
    main()
