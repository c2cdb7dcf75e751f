"""The card page's binding sessions on their own clock (bot.services.card_sessions), over the running bot's real
services, the Payme emulator and the database (SQLite and PostgreSQL): a session lasts 15 minutes, its claim is one
conditional update that exactly one of many concurrent posts wins, and a claim whose holder died is taken again by
the same token only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.sandbox import scenarios
from bot.sandbox.card_page_client import bind_at_payme, open_page
from bot.sandbox.scenarios import registered
from bot.services.card_sessions import CardSessions, PageState

SEED_CARD = "8600069195406311"
LEASE = timedelta(seconds=60)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def sessions_of(app, clock: Clock) -> CardSessions:
    return CardSessions(app.services.sessionmaker, app.services.cards, lease=LEASE, now=clock)


async def tokens(user, count: int) -> list[str]:
    """Verified Payme tokens of distinct cards, bound as the page's script binds them."""
    page = await open_page(await scenarios.open_card_page(user))
    numbers = ["8600069195406311", "8600495473316478", "8600000000001005", "8600000000001013",
               "8600000000001021", "8600000000001039"][:count]
    return [await bind_at_payme(page, number=number, expire_mmyy="0399") for number in numbers]


async def test_a_session_lasts_fifteen_minutes(payme_app, telegram, payme):
    user = await registered(telegram, 972)
    [token] = await tokens(user, 1)
    clock = Clock()
    sessions = sessions_of(payme_app, clock)
    secret = await sessions.open(user.user_id)
    clock.now += timedelta(minutes=15, seconds=1)

    assert await sessions.page_state(secret) == PageState.GONE
    refused = await sessions.bind(secret, user.user_id, token)
    assert (refused.answer.status, refused.answer.code, refused.added) == (410, "page_expired", None)
    assert payme.calls("cards.check") == [] and await payme_app.services.cards.list(user.user_id) == []

    fresh = await sessions.open(user.user_id)
    clock.now += timedelta(minutes=14, seconds=59)
    assert await sessions.page_state(fresh) == PageState.LIVE
    assert (await sessions.bind(fresh, user.user_id, token)).answer.code == "added"
    assert await sessions.page_state(fresh) == PageState.USED


async def test_of_many_concurrent_posts_with_different_tokens_exactly_one_wins(payme_app, telegram, payme):
    user = await registered(telegram, 973)
    many = await tokens(user, 6)
    sessions = sessions_of(payme_app, Clock())
    secret = await sessions.open(user.user_id)

    results = await asyncio.gather(*(sessions.bind(secret, user.user_id, token) for token in many))
    codes = sorted(result.answer.code for result in results)
    assert codes == ["added"] + ["page_used"] * 5
    [winner] = [token for token, result in zip(many, results, strict=True) if result.answer.ok]
    [card] = await payme_app.services.cards.list(user.user_id)
    assert await payme_app.services.cards.provider_card_id(user.user_id, card.id) == winner
    assert len(payme.calls("cards.check")) == 1 and payme.calls("cards.remove") == []


async def test_a_claim_whose_holder_died_is_taken_again_by_the_same_token_only(payme_app, telegram, payme):
    user = await registered(telegram, 974)
    token, other = await tokens(user, 2)
    clock = Clock()
    sessions = sessions_of(payme_app, clock)
    secret = await sessions.open(user.user_id)
    held = payme.hold_next("cards.check")
    stuck = asyncio.create_task(sessions.bind(secret, user.user_id, token))  # its holder stalls at Payme
    await held.reached()
    assert (await sessions.bind(secret, user.user_id, token)).answer.code == "in_progress"

    clock.now += LEASE + timedelta(seconds=1)  # the claim's lease ran out
    assert (await sessions.bind(secret, user.user_id, other)).answer.code == "page_used"
    retried = await sessions.bind(secret, user.user_id, token)
    assert retried.answer.ok and retried.added is not None

    held.release()
    late = await stuck
    assert late.answer.card == retried.answer.card  # the stalled holder finds the same card, not a "duplicate"
    assert [c.masked for c in await payme_app.services.cards.list(user.user_id)] == ["860006******6311"]
    assert payme.calls("cards.remove") == []
