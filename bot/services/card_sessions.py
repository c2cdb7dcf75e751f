"""One-time binding sessions for the Payme card page: a token is saved only for the user the chat opened the page
for, once, and a repeat of the same post gets the first answer again.

The chat opens a session when the user taps "Add a card" and puts its secret in the page's address (a random
256-bit string: knowing it is the capability, so no signature is needed; the database keeps only its SHA-256, so
the table alone opens nothing). The page posts the verified token with the secret and Telegram's signed initData;
the user the initData names must be the session's user. A session binds one token:

- it is claimed by one conditional UPDATE ... WHERE state = 'open' ... RETURNING (never read, checked, written), so
  of any number of concurrent posts exactly one saves a card, on SQLite and PostgreSQL alike; a claim holds a lease,
  and a claim whose holder died may be taken again, by the same token only;
- the first answer is kept (language-free: a code, its parameters, the card as shown) and a repeat of the same
  token is given it again, without asking Payme or saving anything; another token or another user is refused;
- an attempt that saved nothing (Payme has not verified the card, Payme does not answer, adding is locked) hands
  the session back, so the user can try again on the same page.

Expired sessions are swept when new ones are opened.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.providers.errors import ProviderError, ProviderRejected
from bot.services.cards import CardFlowError, CardsService, CardView
from bot.storage.models import CardPageSession

logger = logging.getLogger(__name__)

SESSION_TTL = timedelta(minutes=15)
KEEP_EXPIRED = timedelta(days=1)  # expired rows stay this long (a late repeat still gets its answer), then go
OPEN, CLAIMED, DONE = "open", "claimed", "done"
# Outcomes that end the session: the card is saved, or the same card already is (so the page must not bind again).
FINAL = frozenset({"added", "duplicate", "token_taken"})


@dataclass(frozen=True)
class Answer:
    """What the page is answered: an HTTP status, a code (`added` or what went wrong), its parameters, the card."""

    status: int
    code: str
    params: dict = field(default_factory=dict)
    card: dict | None = None  # {"masked": ..., "name": ...}

    @property
    def ok(self) -> bool:
        return self.code == "added"

    def stored(self) -> dict:
        return {"code": self.code, "params": self.params, "card": self.card}


@dataclass(frozen=True)
class Bound:
    answer: Answer
    added: CardView | None = None  # only for the post that saved the card just now: the chat is to be told


class PageState:
    LIVE = "live"
    USED = "used"
    GONE = "gone"  # unknown, or expired


class CardSessions:
    def __init__(self, sessionmaker: async_sessionmaker, cards: CardsService, *, lease: timedelta,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._sessions = sessionmaker
        self._cards = cards
        self._lease = lease
        self._now = now

    async def open(self, user_id: int) -> str:
        """A new session for the user; its secret, for the page's address."""
        secret = secrets.token_urlsafe(32)
        now = self._now()
        async with self._sessions.begin() as session:
            await session.execute(delete(CardPageSession).where(CardPageSession.expires_at < now - KEEP_EXPIRED))
            session.add(CardPageSession(id=_digest(secret), user_id=user_id, state=OPEN,
                                        expires_at=now + SESSION_TTL, created_at=now))
        return secret

    async def page_state(self, secret: str | None) -> str:
        """For showing the page: may a card still be bound through this address?"""
        if not secret:
            return PageState.GONE
        async with self._sessions() as session:
            row = await session.get(CardPageSession, _digest(secret))
        if row is None or _aware(row.expires_at) <= self._now():
            return PageState.GONE
        return PageState.USED if row.state == DONE else PageState.LIVE

    async def bind(self, secret: str | None, user_id: int, token: str) -> Bound:
        """The token posted by the page, for the user Telegram's initData names (already verified by the caller)."""
        if not secret:
            return Bound(Answer(403, "page_unknown"))
        sid, token_hash, now = _digest(secret), _digest(token), self._now()
        if not await self._claim(sid, user_id, token_hash, now):
            return Bound(await self._refusal(sid, user_id, token_hash, now))
        try:
            card = await self._cards.add_payme_card(user_id, token)
        except CardFlowError as error:
            answer = Answer(409, error.code, dict(error.params))
        except ProviderRejected as error:
            logger.info("card token of user %s refused by Payme: %s", user_id, error.code)
            answer = Answer(409, "card_not_verified")
        except ProviderError:
            answer = Answer(503, "payme_unavailable")
        except BaseException:
            await self._release(sid, token_hash)
            raise
        else:
            answer = Answer(200, "added", card={"masked": card.masked, "name": card.name})
            await self._finish(sid, token_hash, answer)
            return Bound(answer, card)
        if answer.code in FINAL:
            await self._finish(sid, token_hash, answer)
        else:
            await self._release(sid, token_hash)
        return Bound(answer)

    async def _claim(self, sid: str, user_id: int, token_hash: str, now: datetime) -> bool:
        claimable = or_(
            CardPageSession.state == OPEN,
            # the holder of a claim died with it: the same token may take it again (saving it is idempotent)
            and_(CardPageSession.state == CLAIMED, CardPageSession.token_hash == token_hash,
                 CardPageSession.lease_until < now),
        )
        async with self._sessions.begin() as session:
            won = await session.execute(
                update(CardPageSession)
                .where(CardPageSession.id == sid, CardPageSession.user_id == user_id,
                       CardPageSession.expires_at > now, claimable)
                .values(state=CLAIMED, token_hash=token_hash, lease_until=now + self._lease)
                .returning(CardPageSession.id)
            )
            return won.first() is not None

    async def _refusal(self, sid: str, user_id: int, token_hash: str, now: datetime) -> Answer:
        """Why the claim was not won, read after the fact (the decision was the conditional update's)."""
        async with self._sessions() as session:
            row = await session.get(CardPageSession, sid)
        if row is None or row.user_id != user_id:
            return Answer(403, "page_unknown")
        if row.state == DONE and row.token_hash == token_hash and row.answer is not None:
            kept = row.answer
            return Answer(row.status or 200, kept["code"], kept.get("params") or {}, kept.get("card"))
        if _aware(row.expires_at) <= now:
            return Answer(410, "page_expired")
        if row.state == CLAIMED and row.token_hash == token_hash:
            return Answer(409, "in_progress")
        return Answer(409, "page_used")

    async def _finish(self, sid: str, token_hash: str, answer: Answer) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(CardPageSession)
                .where(CardPageSession.id == sid, CardPageSession.state == CLAIMED,
                       CardPageSession.token_hash == token_hash)
                .values(state=DONE, status=answer.status, answer=answer.stored(), lease_until=None)
            )

    async def _release(self, sid: str, token_hash: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(CardPageSession)
                .where(CardPageSession.id == sid, CardPageSession.state == CLAIMED,
                       CardPageSession.token_hash == token_hash)
                .values(state=OPEN, token_hash=None, lease_until=None)
            )


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
