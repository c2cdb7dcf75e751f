"""Two `python -m bot` replicas in webhook mode on ONE port (SO_REUSEPORT), sharing one PostgreSQL database and one
Redis, the Telegram double posting every update on a fresh connection so the kernel spreads them between the two.
100 users pay at once; the replica holding a Paylov `pay` call is killed with SIGKILL.

What is asserted is what Telegram (the double's deliveries), the users (their chats) and Paylov (the emulator's own
ledger) see: every payment created and paid once, every user told, no update lost, a late duplicate not run again,
the dead replica's chats answering again. The recovery times (the kill to each of the dead replica's chats' next
answer and receipt) are printed (`pytest -s`) and logged; nothing is timed by an assertion. No sleeps: every wait
is on a condition.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import statistics
import time
from collections import Counter
from collections.abc import Callable

import pytest

from bot.sandbox.child import describe_ledgers
from bot.sandbox.replicas import ReplicaChild, owner_pid
from bot.sandbox.scenarios import add_card, hot_water_to_code, registered
from bot.sandbox.telegram import FakeUser, TelegramDouble
from tests.crash.conftest import CHILDREN
from tests.crash.test_webhook_process import inbox_row, run_bot, said
from tests.e2e.webhook_bot import SECRET, free_port, webhook_settings

logger = logging.getLogger(__name__)

USERS = 100
FIRST_USER = 7600
PAID = "✅ Paid"
ERRORS = ("Sorry, something went wrong on our side", "We are having trouble on our side")
PAY, CREATE = "servicePayment/pay/", "servicePayment/create/"
PATIENCE = 150.0  # seconds a user waits for an answer: 100 users, two replicas and the doubles share 2 cores
# Every pay call is held until all 100 have reached Paylov, so a call may wait for its answer up to 8 s (a later one
# is settled by transaction/status, as a lost answer is); an update may take 10 s, its inbox claim lasts 12 s and its
# chat's Redis lock 11 s; a payment's claim expires 20 s after its holder died (2 × (1 + 8) + 2), and the worker then
# looks every 0.5 s. All 100 deliveries may be in flight at once (max_connections). INFO, not DEBUG as other kill
# tests: two replicas logging every request cost the 2 cores much, and INFO is what production prints (the card-data
# audit scans it all the same).
TIMINGS = dict(UPDATE_DEADLINE=10, INBOX_LEASE=12, REDIS_LOCK_TIMEOUT=11, PROVIDER_CONNECT_TIMEOUT=1.0,
               PROVIDER_READ_TIMEOUT=8.0, PAYING_STALE_AFTER=20, STATUS_WORKER_TICK=0.5, STATUS_CHECK_INTERVALS=[0.5],
               STATUS_GIVE_UP_AFTER=600, WEBHOOK_MAX_CONNECTIONS=USERS, LOG_LEVEL="INFO")


@pytest.fixture
def make_replica(request: pytest.FixtureRequest, make_child) -> Callable[..., ReplicaChild]:
    """make_replica(database_url, port, **settings): a ReplicaChild (not started) on 127.0.0.1:port, put in
    make_child's list in place of the plain child it is built on, so that fixture kills it at the end, adds its log
    to the card-data audit and shows it when the test fails."""
    def make(database_url: str, port: int, **settings: object) -> ReplicaChild:
        plain = make_child(database_url, **webhook_settings(port), **settings)
        child = ReplicaChild(plain.env, telegram=plain.telegram, workdir=plain.workdir, args=plain.args)
        children = request.node.stash[CHILDREN]
        children[children.index(plain)] = child
        return child

    return make


def handled(child: ReplicaChild) -> int:
    """Updates this replica ran (one INFO line each, bot/middlewares/logging.py)."""
    return child.log_text().count("update id=")


async def to_code_step(telegram: TelegramDouble, user_id: int) -> FakeUser:
    user = telegram.user(user_id)
    user.patience = PATIENCE
    await registered(telegram, user_id)
    await add_card(user)
    await hot_water_to_code(user)  # 7 000 sum on a Paylov card: the SMS-code prompt
    return user


def code_update(telegram: TelegramDouble, user_id: int) -> int:
    """The update that carried the user's code for the payment (their last "666666")."""
    return max(update_id for update_id, update in telegram.created_updates.items()
               if update.get("message", {}).get("from", {}).get("id") == user_id
               and update["message"].get("text") == "666666")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_replicas_one_killed_holding_a_pay_call(make_replica, database_url: str, redis_url: str,
                                                          telegram: TelegramDouble, paylov) -> None:
    telegram.webhook_backoff = 0.5  # Telegram's pause before a re-send, shortened
    port = free_port()
    replicas = [make_replica(database_url, port, REDIS_URL=redis_url, **TIMINGS) for _ in range(2)]
    await asyncio.gather(*(replica.start() for replica in replicas))  # the test's database is migrated already
    code, out, err = await run_bot(replicas[0], "set-webhook")  # the deploy step; replicas never set it
    assert code == 0, out + err
    assert telegram.webhook is not None and telegram.webhook.secret_token == SECRET

    # 100 users to the code step, at once, through both replicas
    user_ids = range(FIRST_USER, FIRST_USER + USERS)
    users = await asyncio.gather(*(to_code_step(telegram, user_id) for user_id in user_ids))
    spread = [handled(replica) for replica in replicas]
    assert all(spread), f"one replica got every update: {spread}"  # fresh connections reach both

    # All of them send the code at once. Every pay call is held once Paylov has charged the card, so at the kill each
    # payment the dead replica holds has been charged and none is between its claim and Paylov: a payment whose pay
    # never arrived stays unknown, never re-sent, until STATUS_GIVE_UP_AFTER hands it to a person (by design).
    holds = [paylov.hold_next(PAY, apply=True) for _ in range(USERS)]
    sent = time.monotonic()
    await asyncio.gather(*(user.send("666666") for user in users))
    await asyncio.gather(*(hold.reached(timeout=PATIENCE) for hold in holds))
    gathered = time.monotonic() - sent  # the longest a call was held before the kill
    payments = await replicas[0].ledger.payments()
    holders = Counter(owner_pid(p.lease_owner) for p in payments if p.state == "paying" and p.lease_owner)
    victim = next(replica for replica in replicas if replica.pid == holders.most_common(1)[0][0])
    survivor = next(replica for replica in replicas if replica is not victim)
    orphans = sorted(p.user_id for p in payments  # the pay calls the victim is waiting on
                     if p.state == "paying" and p.lease_owner and owner_pid(p.lease_owner) == victim.pid)
    assert 0 < len(orphans) < USERS, f"{len(orphans)} of the pay calls held came from one replica"

    # SIGKILL; then every held call goes on (the dead replica's connections are gone: those answers go nowhere)
    answers = {user.user_id: len(user.bot_messages) for user in users}
    killed_wall, killed = time.time(), time.monotonic()
    assert await victim.kill() == -signal.SIGKILL
    for hold in holds:
        hold.release()

    async def recovered(user: FakeUser) -> tuple[float, float]:
        """Seconds from the kill to the chat's next answer, and to its receipt."""
        await user.wait_for(lambda: len(user.bot_messages) > answers[user.user_id], timeout=PATIENCE)
        answered = time.monotonic() - killed
        await user.wait_message(PAID, timeout=PATIENCE)
        return answered, time.monotonic() - killed

    orphan_times = await asyncio.gather(*(recovered(telegram.users[user_id]) for user_id in orphans))
    await asyncio.gather(*(user.wait_message(PAID, timeout=PATIENCE) for user in users))  # every user told

    # no update lost: every update made was answered 2xx at last, and none is pending
    await telegram.wait_for(lambda: all(any(d.ok for d in telegram.deliveries_of(update_id))
                                        for update_id in telegram.created_updates), timeout=PATIENCE)
    assert telegram.updates == []
    # the updates the dead replica had in hand: their connections broke at the kill, and they were sent again
    broken = {d.update_id: int(d.chat) for d in telegram.deliveries if d.status is None and d.at <= killed_wall}
    assert set(broken.values()) >= set(orphans), (sorted(broken.values()), orphans)
    answered_after = [next(d.at + d.elapsed for d in telegram.deliveries_of(update_id) if d.ok) - killed_wall
                      for update_id in broken]

    # every payment created and paid exactly once, by Paylov's own ledger
    payments = await survivor.ledger.payments()
    pays = [entry.body["transactionId"] for entry in paylov.calls(PAY)]
    creates = [entry.body["userId"] for entry in paylov.calls(CREATE)]
    describe = describe_ledgers(payments, pay=paylov.calls(PAY))
    assert len(payments) == USERS and {p.user_id for p in payments} == set(user_ids), describe
    assert all(p.state == "paid" for p in payments), describe
    assert Counter(pays) == Counter({p.transaction_id: 1 for p in payments}), describe
    assert sorted(Counter(creates).values()) == [1] * USERS, describe
    assert all(paylov.transaction(p.transaction_id)["status"] == "paid" for p in payments)
    for user in users:
        assert said(user, PAID) == 1, user.transcript()
        assert not any(text in m.text for m in user.bot_messages for text in ERRORS), user.transcript()

    # a late duplicate of a code update the dead replica had (Telegram re-sending one it had an answer to) is
    # answered without running it again
    held_user = telegram.users[orphans[0]]
    held_update = code_update(telegram, held_user.user_id)
    inbox = await inbox_row(database_url, held_update)
    assert inbox is not None and inbox[0] == "done"
    messages, pay_calls = len(held_user.messages), len(paylov.calls(PAY))
    await telegram.resend(held_update)
    await telegram.wait_for(lambda: sum(d.ok for d in telegram.deliveries_of(held_update)) == 2, timeout=PATIENCE)
    assert len(held_user.messages) == messages and len(paylov.calls(PAY)) == pay_calls
    assert await inbox_row(database_url, held_update) == inbox

    # the chats the dead replica had (their Redis locks held by a dead process) answer a new message
    async def answers_again(user_id: int) -> None:
        user = telegram.users[user_id]
        before = len(user.bot_messages)
        await user.send("/help")
        await user.wait_for(lambda: len(user.bot_messages) > before, timeout=PATIENCE)

    locked = sorted(set(broken.values()))
    await asyncio.gather(*(answers_again(user_id) for user_id in locked))
    assert survivor.running and await survivor.stop() == 0
    assert victim.exit_codes == [-signal.SIGKILL] and survivor.exit_codes == [0]

    first, receipts = [answered for answered, _ in orphan_times], [told for _, told in orphan_times]
    report = (f"two replicas, {USERS} users paying at once, all {USERS} pay calls held after the charge "
              f"({gathered:.1f} s after the codes were sent), one replica killed holding {len(orphans)} of them. "
              f"Its chats' next answer came {statistics.median(first):.1f} s after the kill (median; "
              f"{min(first):.1f}-{max(first):.1f} s), their receipts {statistics.median(receipts):.1f} s "
              f"({min(receipts):.1f}-{max(receipts):.1f} s); the {len(broken)} updates it had in hand were answered "
              f"2xx {statistics.median(answered_after):.1f} s after it (at most {max(answered_after):.1f} s). "
              f"Updates run before the kill per replica: {spread}; {len(telegram.deliveries)} deliveries for "
              f"{len(telegram.created_updates)} updates.")
    print("\n" + report)
    logger.warning(report)
