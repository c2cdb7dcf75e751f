"""This bot's webhook replicas against bare aiogram echo replicas (bench/echo_bot.py in webhook mode), 1 and 2 of
each on one port: updates/s and p50/p95 latency, a table with ratios.

    .venv/bin/python -m bench.webhook [--users 200] [--rounds 3]

The driver is the project's Telegram double posting webhooks (a fresh connection per delivery, so the kernel's
SO_REUSEPORT spreads them over the replicas), at most 40 at once (`max_connections`, set-webhook's default). This
bot runs as deployed: `python -m bot migrate`, replicas of `python -m bot` with WEBHOOK_URL on PostgreSQL and Redis
(throw-away servers), `python -m bot set-webhook`; LOG_LEVEL=WARNING. Its users are onboarded first (not timed) and
send `/help`; the floor echoes the same text. A burst is every user sending one message at once: updates/s is the
users over the seconds until the last reply, latency is each user's send-to-reply. Bursts alternate between the
floor and the bot (which goes first alternates too), so a slow moment of the machine hits both. Measures, does not
judge.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bench.compare import ERROR_TEXTS, PATIENCE, TEXT, Floor, cpu_seconds, onboard, percentile
from bench.echo_bot import WEBHOOK_PATH as ECHO_PATH
from bench.table import Row, markdown
from bot.sandbox.child import SOURCE_ROOT, child_env, wait_until
from bot.sandbox.paylov import PaylovSandbox
from bot.sandbox.postgres import PostgresServer, free_port
from bot.sandbox.redis import RedisServer
from bot.sandbox.replicas import ReplicaChild, listens_on
from bot.sandbox.telegram import TelegramDouble

SECRET = "bench-webhook-secret"
BOT_PATH = "/telegram/updates"
FLOOR_TOKEN = "1:floor"
MAX_CONNECTIONS = 40  # set-webhook's default (WEBHOOK_MAX_CONNECTIONS), for the floor too
WARM_UP = 10  # round trips per side before anything is timed


@dataclass(frozen=True)
class Plan:
    users: int = 200  # users in a burst
    rounds: int = 3  # bursts per side and replica count
    replicas: tuple[int, ...] = (1, 2)


# ---- the processes ---------------------------------------------------------------------------------------------


class EchoReplica(Floor):
    """`python -m bench.echo_bot` serving webhooks on a shared port; ready once this process listens on it (stopped
    as the polling floor is)."""

    def __init__(self, telegram: TelegramDouble, port: int, workdir: Path) -> None:
        super().__init__(telegram, workdir)
        self.port = port

    async def start(self) -> EchoReplica:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "BOT_TOKEN": FLOOR_TOKEN, "TELEGRAM_API_URL": self.telegram.base_url,
               "WEBHOOK_PORT": str(self.port), "WEBHOOK_SECRET": SECRET, "PYTHONPATH": str(SOURCE_ROOT)}
        with (self.workdir / "echo.log").open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.echo_bot", cwd=self.workdir, env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT)

        async def listening() -> bool:
            if self._process.returncode is not None:
                raise RuntimeError(f"the echo replica exited with {self._process.returncode}: see "
                                   f"{self.workdir / 'echo.log'}")
            return listens_on(self._process.pid, self.port)

        await wait_until(listening, timeout=60, what="the echo replica listening")
        return self


async def bot_command(env: dict[str, str], workdir: Path, *args: str) -> None:
    """`python -m bot *args` once (a deploy step); RuntimeError with what it printed unless it exits 0."""
    workdir.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=workdir, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    if process.returncode != 0:
        raise RuntimeError(f"python -m bot {' '.join(args)} exited {process.returncode}: {out.decode()[-2000:]}")


async def set_floor_webhook(telegram: TelegramDouble, port: int) -> None:
    bot = Bot(FLOOR_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(telegram.base_url)))
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}{ECHO_PATH}", secret_token=SECRET,
                              max_connections=MAX_CONNECTIONS)
    finally:
        await bot.session.close()


# ---- the measure -----------------------------------------------------------------------------------------------


@dataclass
class Side:
    """One kind of bot under measure: its double, its replicas (all on one port) and what its bursts measured."""

    name: str
    telegram: TelegramDouble
    replicas: list = field(default_factory=list)
    walls: dict[int, list[float]] = field(default_factory=dict)  # replica count -> seconds per burst
    latencies: dict[int, list[float]] = field(default_factory=dict)  # replica count -> seconds per update
    cpu: dict[int, list[float]] = field(default_factory=dict)  # replica count -> CPU seconds of all replicas per burst

    def cpu_now(self) -> float:
        return sum(cpu_seconds(replica.pid) for replica in self.replicas)

    def errors(self) -> int:
        """Users who read one of the bot's error texts (the floor never sends one)."""
        return sum(any(text in m.text for m in user.bot_messages for text in ERROR_TEXTS)
                   for user in self.telegram.users.values())

    def refused(self) -> int:
        """Deliveries answered other than 2xx, or not at all (each one re-sent by the double)."""
        return sum(not d.ok for d in self.telegram.deliveries)


async def burst(side: Side, user_ids: range) -> tuple[float, list[float]]:
    """Every user sends one message at once: (seconds until the last reply, each user's send-to-reply seconds)."""
    async def one(user_id: int) -> float:
        user = side.telegram.user(user_id)
        user.patience = PATIENCE
        started = time.perf_counter()
        await user.send(TEXT)
        await user.wait_message()
        return time.perf_counter() - started

    started = time.perf_counter()
    latencies = await asyncio.gather(*(one(user_id) for user_id in user_ids))
    return time.perf_counter() - started, list(latencies)


async def measure(sides: tuple[Side, Side], replicas: int, plan: Plan) -> None:
    user_ids = range(1, plan.users + 1)
    for side in sides:
        side.walls[replicas], side.latencies[replicas], side.cpu[replicas] = [], [], []
    for turn in range(plan.rounds):
        for side in sides if turn % 2 == 0 else reversed(sides):
            cpu = side.cpu_now()
            wall, latencies = await burst(side, user_ids)
            side.cpu[replicas].append(side.cpu_now() - cpu)
            side.walls[replicas].append(wall)
            side.latencies[replicas] += latencies


def rows(floor: Side, bot: Side, plan: Plan) -> list[Row]:
    table = []
    for n in plan.replicas:
        label = f"{n} replica{'s' if n > 1 else ''}, bursts of {plan.users} ({plan.rounds}×)"
        rate = [plan.users / statistics.median(side.walls[n]) for side in (floor, bot)]
        table += [Row(f"{label}: updates/s (median burst)", *rate, throughput=True),
                  Row(f"{label}: p50 latency, ms", *(statistics.median(s.latencies[n]) * 1000 for s in (floor, bot))),
                  Row(f"{label}: p95 latency, ms", *(percentile(s.latencies[n], 0.95) * 1000 for s in (floor, bot))),
                  Row(f"{label}: CPU per update, all replicas, ms",
                      *(statistics.median(s.cpu[n]) / plan.users * 1000 for s in (floor, bot)), digits=2)]
    if len(plan.replicas) > 1:
        one, most = plan.replicas[0], plan.replicas[-1]
        table.append(Row(f"{most} replicas ÷ {one}: updates/s, × (higher is better)",
                         *(statistics.median(s.walls[one]) / statistics.median(s.walls[most]) for s in (floor, bot)),
                         digits=2, throughput=True))
    table += [Row("deliveries answered other than 2xx (re-sent)", floor.refused(), bot.refused(), digits=0),
              Row("users told an error", floor.errors(), bot.errors(), digits=0)]
    return table


@dataclass
class Outcome:
    table: list[Row]
    floor: Side
    bot: Side


async def run(plan: Plan, *, database_url: str, redis_url: str, workdir: Path, **settings: object) -> Outcome:
    """The whole bench on a given (empty) PostgreSQL database and Redis; `settings` go to the bot's environment
    (LOG_LEVEL=WARNING unless given). Every process it starts is stopped before it returns."""
    async with AsyncExitStack() as stack:
        floor_telegram, bot_telegram, paylov = TelegramDouble(), TelegramDouble(), PaylovSandbox()
        for server in (floor_telegram, bot_telegram, paylov):
            await server.start()
            stack.push_async_callback(server.stop)
        bot_port, floor_port = free_port(), free_port()
        env = child_env(telegram=bot_telegram, paylov=paylov, database_url=database_url, REDIS_URL=redis_url,
                        WEBHOOK_URL=f"http://127.0.0.1:{bot_port}{BOT_PATH}", WEBHOOK_SECRET=SECRET,
                        WEBHOOK_HOST="127.0.0.1", WEBHOOK_PORT=bot_port, WEBHOOK_MAX_CONNECTIONS=MAX_CONNECTIONS,
                        **{"LOG_LEVEL": "WARNING", **settings})
        floor, bot = Side("floor", floor_telegram), Side("this bot", bot_telegram)

        async def add_replica(side: Side) -> None:
            number = len(side.replicas) + 1
            if side is floor:
                replica = EchoReplica(floor_telegram, floor_port, workdir / f"floor-{number}")
                stack.push_async_callback(replica.stop)
                await replica.start()
            else:
                replica = await stack.enter_async_context(
                    ReplicaChild(env, telegram=bot_telegram, workdir=workdir / f"bot-{number}"))
                await replica.start()
            side.replicas.append(replica)

        await asyncio.gather(bot_command(env, workdir / "deploy", "migrate"), add_replica(floor))
        await add_replica(bot)  # a replica refuses a schema older than the code: after migrate
        await asyncio.gather(bot_command(env, workdir / "deploy", "set-webhook"),
                             set_floor_webhook(floor_telegram, floor_port))
        await onboard(bot_telegram, range(1, plan.users + 1))
        for side in (floor, bot):
            await burst(side, range(1, WARM_UP + 1))
        for count in plan.replicas:
            for _ in range(count - len(bot.replicas)):
                await asyncio.gather(add_replica(floor), add_replica(bot))
            await measure((floor, bot), count, plan)
        for replica in bot.replicas:
            await replica.stop()
        return Outcome(rows(floor, bot, plan), floor, bot)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=Plan.users, help="users in a burst (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=Plan.rounds, help="bursts per side (default %(default)s)")
    args = parser.parse_args()
    plan = Plan(users=args.users, rounds=args.rounds)
    started = time.perf_counter()
    postgres, redis = PostgresServer().start(), RedisServer()
    try:
        redis.start()
        postgres.psql("CREATE DATABASE bench_webhook")
        with tempfile.TemporaryDirectory(prefix="paybot-webhook-bench-") as folder:
            outcome = asyncio.run(run(plan, database_url=postgres.url("bench_webhook"), redis_url=redis.url,
                                      workdir=Path(folder)))
    finally:
        redis.stop()
        postgres.stop()
    print(f"\n### webhook replicas on one port, PostgreSQL + Redis: this bot against bare aiogram echo replicas "
          f"({time.perf_counter() - started:.0f} s, {os.cpu_count()} cores)\n")
    print(markdown(outcome.table))
    print("\nratio: times the floor's cost (updates/s: floor ÷ bot), so 1.0× is as fast as a bare aiogram bot.")


if __name__ == "__main__":
    main()
