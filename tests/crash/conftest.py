"""The bot as a separate process (`bot/sandbox/child.py`): a factory fixture that starts none itself, kills every
child at the end, and shows a failing test the children's logs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.sandbox.child import BotChild, child_env
from bot.sandbox.paylov import PaylovSandbox
from bot.sandbox.payme import PaymeSandbox
from bot.sandbox.paysys import PaysysSandbox
from bot.sandbox.telegram import TelegramDouble
from tests.conftest import AUDIT, BOT_TOKEN

CHILDREN = pytest.StashKey[list[BotChild]]()


@pytest.fixture
async def make_child(request: pytest.FixtureRequest, tmp_path: Path, telegram: TelegramDouble,
                     paylov: PaylovSandbox, payme: PaymeSandbox,
                     paysys: PaysysSandbox) -> AsyncIterator[Callable[..., BotChild]]:
    """make_child(database_url=None, args=(), **settings): a BotChild (not started) on the test's doubles, running
    `python -m bot *args`.

    Without a URL the database is a SQLite file in tmp_path; pass the suite's database URL to run on another one.
    The settings go to the child's environment on top of the doubles' (see child_env)."""
    children = request.node.stash.setdefault(CHILDREN, [])

    def make(database_url: str | None = None, *, args: tuple[str, ...] = (), **settings: object) -> BotChild:
        if database_url is None:
            database = tmp_path / "bot.db"
            AUDIT.databases.append(database)  # scanned for card data after the suite
            database_url = f"sqlite+aiosqlite:///{database}"
        # At DEBUG, as the rest of the suite: what a child prints joins the log the card-data audit scans.
        env = child_env(telegram=telegram, paylov=paylov, payme=payme, paysys=paysys, database_url=database_url,
                        bot_token=BOT_TOKEN, **{"LOG_LEVEL": "DEBUG", **settings})
        child = BotChild(env, telegram=telegram, workdir=tmp_path / f"child-{len(children) + 1}", args=args)
        children.append(child)
        return child

    yield make
    for child in children:
        await child.__aexit__(None, None, None)
        # What the child printed joins the suite's log, which the last test scans for card data.
        with AUDIT.log_file.open("a", encoding="utf-8") as audit:
            audit.write(child.log_text())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for number, child in enumerate(item.stash.get(CHILDREN, []), 1):
            report.sections.append((f"bot child {number} ({report.when})", child.log_tail(20000)))
