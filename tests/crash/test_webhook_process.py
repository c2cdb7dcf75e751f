"""`python -m bot` in webhook mode as a real child process (bot.sandbox.child.WebhookChild): deployed as in production
(`python -m bot migrate`, the replica started, `python -m bot set-webhook`), then killed with SIGKILL mid-update,
stopped with SIGTERM mid-update, cut off from its database, and started on an older schema.

What is asserted is what Telegram (the double's deliveries), the user (the chat), the providers (the emulators'
ledgers) and the database see; nothing of the bot is mocked. No sleeps: every wait is on a condition.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable

import aiohttp
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.sandbox.child import WebhookChild, describe_ledgers, wait_until
from bot.sandbox.paylov_catalogue import TEST_CARDS
from bot.sandbox.postgres import PostgresServer
from bot.sandbox.scenarios import add_card, hot_water_to_code, registered
from bot.storage.db import alembic_config, make_engine
from tests.crash.conftest import CHILDREN
from tests.e2e.webhook_bot import PATH, SECRET, free_port, webhook_settings

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()  # the schema this code needs
PAID = "✅ Paid"
CARD = "8600069195406311"  # scenarios.add_card's card; 500 000 sum on it
# A claim on a payment expires 5 s after its holder died (2 × (0.5 + 1) + 2); the worker looks every 0.2 s. An update
# is held 3 s by its claim in the inbox and stopped after 2 s of handling.
KILL = dict(PROVIDER_CONNECT_TIMEOUT=0.5, PROVIDER_READ_TIMEOUT=1.0, PAYING_STALE_AFTER=5, STATUS_WORKER_TICK=0.2,
            STATUS_CHECK_INTERVALS=[0.3], STATUS_GIVE_UP_AFTER=20, INBOX_LEASE=3, UPDATE_DEADLINE=2)


@pytest.fixture
def make_webhook_child(request: pytest.FixtureRequest, make_child) -> Callable[..., WebhookChild]:
    """make_webhook_child(database_url=None, port=None, **settings): a WebhookChild (not started) listening on
    127.0.0.1:port (a free one by default) with WEBHOOK_URL http://127.0.0.1:port/telegram/updates.

    Built on make_child's environment and put in its place in make_child's list, so that fixture kills it at the end,
    adds its log to the card-data audit and shows it when the test fails."""
    def make(database_url: str | None = None, *, port: int | None = None, **settings: object) -> WebhookChild:
        plain = make_child(database_url, **webhook_settings(port or free_port()), **settings)
        child = WebhookChild(plain.env, telegram=plain.telegram, workdir=plain.workdir, args=plain.args)
        children = request.node.stash[CHILDREN]
        children[children.index(plain)] = child
        return child

    return make


async def run_bot(child: WebhookChild, *args: str, env: dict[str, str] | None = None,
                  timeout: float = 60.0) -> tuple[int, str, str]:
    """`python -m bot *args` once, with the child's environment (or `env`) in its folder: (exit code, stdout,
    stderr). What it printed joins the child's log (and so the card-data audit)."""
    child.workdir.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=child.workdir, env=env or child.env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    with child.log_path.open("a", encoding="utf-8") as log:
        log.write(f"----- python -m bot {' '.join(args)}: exit {process.returncode}\n{stdout}{stderr}")
    return process.returncode, stdout, stderr


async def deploy(child: WebhookChild, telegram) -> None:
    """As a deploy runs it: migrate (replicas never do), start the replica, register the webhook with Telegram."""
    code, out, err = await run_bot(child, "migrate")
    assert code == 0, out + err
    await child.start()
    code, out, err = await run_bot(child, "set-webhook")
    assert code == 0, out + err
    url = child.env["WEBHOOK_URL"]
    assert out.startswith(f"webhook set: {url} "), out
    assert telegram.webhook is not None and telegram.webhook.url == url and telegram.webhook.secret_token == SECRET


async def healthz(child: WebhookChild) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(child.url + "/healthz") as answer:
        return answer.status, await answer.json()


async def post_update(child: WebhookChild, update: dict) -> int:
    """A post as Telegram makes it (the right secret, a valid update): the status it gets."""
    async with aiohttp.ClientSession() as http, http.post(child.url + PATH, json=update,
                                                          headers={SECRET_HEADER: SECRET}) as answer:
        return answer.status


async def inbox_row(database_url: str, update_id: int) -> tuple[str, int] | None:
    """(state, attempts) of an update in the bot's inbox, as the database has it."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            row = (await connection.execute(text("SELECT state, attempts FROM update_inbox WHERE update_id = :id"),
                                            {"id": update_id})).first()
            return None if row is None else (row.state, row.attempts)
    finally:
        await engine.dispose()


async def schema_revision(database_url: str) -> str | None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    finally:
        await engine.dispose()


async def migrate_to(database_url: str, revision: str) -> None:
    """The schema brought to `revision` only, over the bot's own engine (as bot.storage.db.upgrade does for head)."""
    engine = make_engine(database_url)

    def upgrade(connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade)
    finally:
        await engine.dispose()


def said(user, words: str) -> int:
    return sum(words in m.text for m in user.bot_messages)


# ---- 1. SIGKILL while an update is being handled ----------------------------------------------------------------

async def test_killed_mid_update_the_resent_update_is_run_again_and_paid_once(
        make_webhook_child, database_url, telegram, paylov):
    """kill -9 while the code update waits on Paylov's pay (which has charged the card). Telegram got no answer and
    re-sends the update; the restarted replica takes it over once its lease is out and runs it again; the payment
    is settled by asking Paylov, never by paying again. The user reads one receipt; the card is charged once."""
    telegram.webhook_backoff = 0.2  # Telegram's pause before a re-send, shortened
    port = free_port()
    child = make_webhook_child(database_url, port=port, **KILL)
    await deploy(child, telegram)
    user = await registered(telegram, 7401)
    await add_card(user)
    await hot_water_to_code(user)  # 7 000 sum
    hold = paylov.hold_next("servicePayment/pay/", apply=True)  # the card is charged, the answer withheld
    await user.send("666666")
    code_update = telegram.last_update_id

    assert await child.kill_when(hold) == -signal.SIGKILL
    await telegram.wait_for(lambda: bool(telegram.deliveries_of(code_update)))
    first = telegram.deliveries_of(code_update)[0]
    assert first.status is None and not first.ok, first  # the connection broke: Telegram re-sends it
    assert said(user, PAID) == 0
    assert await inbox_row(database_url, code_update) == ("handling", 1)  # the dead holder's claim

    await child.start()  # the same database, the same port: Telegram's re-sends reach it
    await user.wait_message(PAID, timeout=30)
    answered = await telegram.delivered(code_update, timeout=30)
    await wait_until(lambda: _paid(child, 7401), what="the payment recorded as paid")
    assert await child.stop() == 0  # graceful: nothing more reaches the chat after this

    deliveries = telegram.deliveries_of(code_update)
    assert deliveries[-1] is answered and answered.status == 200
    assert not any(d.ok for d in deliveries[:-1]), [(d.status, d.error) for d in deliveries]
    # A re-send while the dead holder's lease ran was answered 503 (busy), never run: attempts 2 = the take-over.
    assert {d.status for d in deliveries[1:-1]} <= {None, 503}, [(d.status, d.error) for d in deliveries]
    assert await inbox_row(database_url, code_update) == ("done", 2)

    pays = paylov.calls("servicePayment/pay/")
    [payment] = await child.ledger.payments(7401)
    assert len(pays) == 1, describe_ledgers([payment], pay=pays)
    assert payment.state == "paid" and paylov.transaction(payment.transaction_id)["status"] == "paid"
    body = pays[0].body
    assert paylov.card_balance(body["userId"], body["cardId"]) == TEST_CARDS[CARD][1] - 700_000  # tiyin, once
    assert said(user, PAID) == 1, user.transcript()
    assert said(user, "something went wrong") == 0, user.transcript()
    assert child.exit_codes == [-signal.SIGKILL, 0]


async def _paid(child: WebhookChild, user_id: int) -> bool:
    return [p.state for p in await child.ledger.payments(user_id)] == ["paid"]


# ---- 2. SIGTERM while an update is in hand ----------------------------------------------------------------------

async def test_sigterm_drains_the_update_in_hand_and_refuses_new_ones(make_webhook_child, telegram, paylov):
    """SIGTERM while the code update waits on Paylov's pay: the replica says not ready and turns new posts away
    with 503 (Telegram keeps them for another replica), finishes the update in hand, then exits 0."""
    child = make_webhook_child()
    await deploy(child, telegram)
    user = await registered(telegram, 7402)
    await add_card(user)
    await hot_water_to_code(user)
    hold = paylov.hold_next("servicePayment/pay/")  # parked before the charge; released, it pays as usual
    await user.send("666666")
    code_update = telegram.last_update_id
    await hold.reached()
    assert await child.health() == 200

    child.terminate()

    async def draining() -> bool:
        return await child.health() == 503

    await wait_until(draining, what="/healthz answering 503 after SIGTERM")
    status, body = await healthz(child)
    assert (status, body) == (503, {"ok": False, "reason": "stopping"})
    newcomer = telegram.last_update_id + 1000  # an update Telegram would post to this replica now
    update = {"update_id": newcomer, "message": {"message_id": 1, "date": 0, "text": "/start",
                                                 "chat": {"id": 7403, "type": "private"},
                                                 "from": {"id": 7403, "is_bot": False, "first_name": "Late"}}}
    assert await post_update(child, update) == 503
    assert child.running and telegram.deliveries_of(code_update) == []  # the update in hand is still unanswered

    hold.release()
    receipt = await user.wait_message(PAID, timeout=15)
    assert await child.exited() == 0
    [delivery] = telegram.deliveries_of(code_update)  # answered once, 200: Telegram sends it nowhere else
    assert delivery.status == 200
    [pay] = paylov.calls("servicePayment/pay/")
    assert pay.status == 200 and pay.response["result"]["paymentRef"] in receipt.text
    assert said(user, PAID) == 1
    database_url = child.env["DATABASE_URL"]
    assert await inbox_row(database_url, code_update) == ("done", 1)
    assert await inbox_row(database_url, newcomer) is None  # refused before it was claimed: nobody holds it
    assert not any(str(call.params.get("chat_id")) == "7403" for call in telegram.calls)  # nothing said to it
    assert "stopping: new updates are answered 503" in child.log_text()


# ---- 3. /healthz and the database -------------------------------------------------------------------------------

async def test_healthz_says_not_ready_while_the_database_is_gone(make_webhook_child, telegram):
    """On its own PostgreSQL server. /healthz 200. The database refusing connections: 503 naming the database, an
    update answered 500 (so Telegram re-sends it); connections allowed again: 200, and the re-sent update is run.
    Then the server stopped: 503 again and the replica keeps serving. (PostgresServer.stop() throws its cluster
    away, so that server cannot be started again: the way back is shown by the first outage.)"""
    telegram.webhook_backoff = 0.2
    server = await asyncio.to_thread(PostgresServer().start)  # blocking; the doubles go on in this loop
    try:
        server.psql("CREATE DATABASE healthz")
        child = make_webhook_child(server.url("healthz"))
        await deploy(child, telegram)
        assert await healthz(child) == (200, {"ok": True})
        unavailable = (503, {"ok": False, "reason": "database unavailable"})

        # the database goes away (every connection ended, no new one taken), the server stays up
        server.psql("ALTER DATABASE healthz ALLOW_CONNECTIONS false")
        server.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'healthz'")
        assert await healthz(child) == unavailable
        user = telegram.user(7404)
        await user.send("/start")
        update_id = telegram.last_update_id
        await telegram.wait_for(lambda: len(telegram.deliveries_of(update_id)) >= 2)  # answered 500, re-sent
        assert [d.status for d in telegram.deliveries_of(update_id)[:2]] == [500, 500]
        assert child.running and await healthz(child) == unavailable
        assert user.bot_messages == []

        server.psql("ALTER DATABASE healthz ALLOW_CONNECTIONS true")

        async def healthy() -> bool:
            return await child.health() == 200

        await wait_until(healthy, what="/healthz answering 200 once the database is back")
        await telegram.delivered(update_id, timeout=10)  # Telegram's next re-send is run
        await user.wait_message("Choose your language")  # the update was handled, not lost
        assert await inbox_row(server.url("healthz"), update_id) == ("done", 1)  # released by the 500s, not taken

        # the server stops
        await asyncio.to_thread(server.stop)
        assert await healthz(child) == unavailable
        await user.send("/help")
        later = telegram.last_update_id
        await telegram.wait_for(lambda: len(telegram.deliveries_of(later)) >= 2)
        assert [d.status for d in telegram.deliveries_of(later)[:2]] == [500, 500]
        assert child.running and await healthz(child) == unavailable
        assert "inbox is unreachable" in child.log_text()
    finally:
        server.stop()


# ---- 4. an older schema -----------------------------------------------------------------------------------------

async def test_an_older_schema_is_refused_in_webhook_mode_and_migrated_by_polling(make_webhook_child, make_child):
    """A database one release behind (0009, before the update inbox): a webhook replica refuses to start with exit 2
    and one line naming `python -m bot migrate`, and leaves the schema alone; long polling on it migrates and starts."""
    child = make_webhook_child()
    database_url = child.env["DATABASE_URL"]
    await migrate_to(database_url, "0009")  # the release before the update inbox

    code, out, err = await run_bot(child)
    lines = err.strip().splitlines()
    assert code == 2, out + err
    assert len(lines) == 1 and "run python -m bot migrate" in lines[0], err
    assert "revision 0009" in lines[0] and HEAD in lines[0], err
    assert "Traceback" not in err
    assert await schema_revision(database_url) == "0009"  # a replica never migrates

    polling = make_child(database_url)  # the same settings without WEBHOOK_URL: long polling migrates at start
    await polling.start()
    assert await schema_revision(database_url) == HEAD
    assert "starting long polling" in polling.log_text()
