"""My cards: add by SMS code at Paylov's card vault or take a token bound on the Payme card page; list, choose the
default, remove.

Every method takes the acting user's id and only ever touches that user's rows: callback data can be forged.
A Payme card arrives as a token only (the number went from the user's browser straight to Payme); it is confirmed
here with cards.check before it is saved, and checked again when the list is opened and before each payment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.domain import cards as rules
from bot.providers.errors import ProviderError, ProviderRejected
from bot.providers.paylov import PaylovClient
from bot.providers.payme import PaymeClient
from bot.services.sealing import Sealer
from bot.storage.models import Card, CardAddLock

MAX_CODE_FAILURES = 3
LOCK_FOR = timedelta(minutes=15)
NAME_MAX = 32

# The provider's answer to a wrong SMS code at confirmUserCardCreate (counted per user toward the lock).
WRONG_CODE = {"invalid_otp"}
# Payme's "card not found" (providers.md): the token is gone at Payme (removed, or the card replaced).
PAYME_TOKEN_GONE = "-31400"


@dataclass(frozen=True)
class CardView:
    id: int
    name: str
    masked: str  # as the provider returns it, e.g. 860006******6311
    expire: str  # YYMM, as the provider returns it
    vendor: str | None
    owner: str | None
    is_default: bool
    vault: str = "paylov"
    active: bool = True

    @property
    def expiry_display(self) -> str:
        return f"{self.expire[2:]}/{self.expire[:2]}" if len(self.expire) == 4 else self.expire

    @property
    def last4(self) -> str:
        return self.masked[-4:]


@dataclass(frozen=True)
class CodeSent:
    cid: str
    phone: str


class CardFlowError(Exception):
    """An expected outcome the user is told about; `code` picks the message, `params` fill it."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class CardNotFound(CardFlowError):
    def __init__(self) -> None:
        super().__init__("card_not_found")


class CardsService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker,
        paylov: PaylovClient,
        *,
        payme: PaymeClient | None = None,
        sealer: Sealer,
        allowed_test_numbers: frozenset[str] = frozenset(),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessionmaker
        self._paylov = paylov
        self._payme = payme
        self._sealer = sealer
        self._allowed = allowed_test_numbers
        self._now = now

    # ---- listing -------------------------------------------------------------------------------------------

    async def list(self, user_id: int) -> list[CardView]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Card).where(Card.user_id == user_id).order_by(Card.is_default.desc(), Card.id)
            )
            return [_view(card) for card in rows]

    async def refresh(self, user_id: int) -> list[CardView]:
        """The list as My cards shows it: each Payme token asked with cards.check first (the vault may have dropped
        it since). A token Payme no longer knows, or no longer calls verified, is marked inactive. When Payme does
        not answer, the card keeps what we last knew."""
        async with self._sessions() as session:
            tokens = list(await session.scalars(
                select(Card).where(Card.user_id == user_id, Card.vault == "payme", Card.active)))
        for card in tokens:
            await self._check_payme(card.id, card.provider_card_id)
        return await self.list(user_id)

    async def usable(self, user_id: int, card_id: int) -> CardView:
        """The card just before a payment: a Payme token is checked at Payme, an inactive one refused."""
        async with self._sessions() as session:
            card = await _owned(session, user_id, card_id)
            vault, token = card.vault, card.provider_card_id
        if vault == "payme":
            await self._check_payme(card_id, token)
        view = await self.get(user_id, card_id)
        if not view.active:
            raise CardFlowError("card_inactive", name=view.name)
        return view

    async def _check_payme(self, card_id: int, token: str) -> None:
        if self._payme is None:
            return
        try:
            checked = await self._payme.cards_check(token)
            active = checked.verify
        except ProviderRejected as exc:
            if exc.code != PAYME_TOKEN_GONE:
                raise
            active = False
        except ProviderError:
            return  # unknown: keep what we knew; the payment itself will be refused if the token is dead
        if not active:
            async with self._sessions.begin() as session:
                row = await session.get(Card, card_id)
                if row is not None:
                    row.active = False

    async def get(self, user_id: int, card_id: int) -> CardView:
        async with self._sessions() as session:
            return _view(await _owned(session, user_id, card_id))

    async def provider_card_id(self, user_id: int, card_id: int) -> str:
        """For the payment flow: the provider's id never leaves the services layer."""
        async with self._sessions() as session:
            return (await _owned(session, user_id, card_id)).provider_card_id

    # ---- adding --------------------------------------------------------------------------------------------

    async def ensure_unlocked(self, user_id: int) -> None:
        async with self._sessions() as session:
            lock = await session.get(CardAddLock, user_id)
            self._raise_if_locked(lock)

    def check_number(self, text: str | None) -> None:
        """Raises CardError for a number that cannot be a card (before the bank is asked)."""
        rules.validate_pan(text, allowed_extra=self._allowed)

    def accept_expiry(self, text: str) -> str:
        """Validate the typed expiry; returns it sealed, to keep in the FSM data until the number comes. It is not
        shown back: an expiry typed for a card not yet bound stays out of the chat too."""
        expiry = rules.parse_expiry(text, self._now().date())
        return self._sealer.seal(expiry.yymm)

    async def send_code(self, user_id: int, phone: str | None, number_text: str | None,
                        sealed_expiry: str | None) -> CodeSent:
        """createUserCard with the number straight from the message that brought it: Paylov sends the SMS itself.
        A new code is asked the same way, so it needs the number again: it is kept nowhere."""
        number = rules.validate_pan(number_text, allowed_extra=self._allowed)
        expire_yymm = self._sealer.open(sealed_expiry)
        if expire_yymm is None:
            raise CardFlowError("expiry_forgotten")
        await self.ensure_unlocked(user_id)
        masked = rules.mask_pan(number)
        async with self._sessions() as session:
            duplicate = await session.scalar(
                select(Card).where(Card.user_id == user_id, Card.masked_number == masked, Card.expire == expire_yymm)
            )
        if duplicate is not None:
            raise CardFlowError("duplicate", name=duplicate.name)
        sent = await self._paylov.create_user_card(str(user_id), number, expire_yymm, phone)
        return CodeSent(cid=sent.cid, phone=sent.otp_sent_phone)

    async def confirm(self, user_id: int, cid: str, code: str) -> CardView:
        """confirmUserCardCreate; wrong codes are counted per user and three in a row lock adding for 15 minutes."""
        otp = rules.parse_otp(code)
        await self.ensure_unlocked(user_id)
        try:
            card = await self._paylov.confirm_user_card(cid, otp)
        except ProviderRejected as exc:
            if exc.code in WRONG_CODE:
                await self._count_failure(user_id)
            if exc.code == "too_many_attempts":
                await self._lock(user_id)
            raise
        return await self._save(user_id, card)

    async def add_payme_card(self, user_id: int, token: str) -> CardView:
        """A token the card page bound at Payme (the number never came here): saved once cards.check shows it
        verified. The same token again is the card it saved (never "duplicate", never removed at Payme); a token
        saved for another user is refused and left alone. A card the user already has under another token is not
        saved twice, and that new token, saved for nobody, is released at Payme."""
        if self._payme is None:
            raise CardFlowError("payme_unavailable")
        await self.ensure_unlocked(user_id)
        try:
            checked = await self._payme.cards_check(token)
        except ProviderRejected as exc:
            if exc.code == PAYME_TOKEN_GONE:
                raise CardFlowError("card_not_verified") from None
            raise
        if not checked.verify:
            raise CardFlowError("card_not_verified")
        expire = _payme_expiry(checked.expire)
        try:
            return await self._store(user_id, vault="payme", provider_card_id=checked.token,
                                     masked=checked.number, expire=expire, owner=None, vendor=None, bank_id=None)
        except CardFlowError as exc:
            if exc.code == "duplicate":  # _store found the token saved for nobody, this user included
                try:
                    await self._payme.cards_remove(checked.token)
                except ProviderError:
                    pass  # an unused token; Payme drops those itself
            raise

    async def _save(self, user_id: int, card) -> CardView:
        return await self._store(
            user_id, vault="paylov", provider_card_id=card.card_id, masked=card.number, expire=card.expire_date,
            owner=card.owner, vendor=card.vendor or card.processing,
            bank_id=str(card.bank_id) if card.bank_id is not None else None,
        )

    async def _store(self, user_id: int, *, vault: str, provider_card_id: str, masked: str, expire: str,
                     owner: str | None, vendor: str | None, bank_id: str | None) -> CardView:
        try:
            async with self._sessions.begin() as session:
                lock = await session.get(CardAddLock, user_id)
                if lock is not None:
                    lock.failures = 0
                if vault == "payme":
                    holder = await session.scalar(
                        select(Card).where(Card.vault == "payme", Card.provider_card_id == provider_card_id))
                    if holder is not None:
                        return _token_holder(holder, user_id)
                existing = await session.scalar(
                    select(Card).where(Card.user_id == user_id, Card.masked_number == masked, Card.expire == expire,
                                       Card.active)
                )
                if existing is not None:
                    raise CardFlowError("duplicate", name=existing.name)
                has_default = await session.scalar(select(Card.id).where(Card.user_id == user_id, Card.is_default))
                row = Card(
                    user_id=user_id,
                    vault=vault,
                    provider_card_id=provider_card_id,
                    masked_number=masked,
                    expire=expire,
                    owner=owner,
                    vendor=vendor,
                    bank_id=bank_id,
                    name=_default_name(vendor, masked),
                    is_default=has_default is None,
                    active=True,
                )
                session.add(row)
                await session.flush()
                return _view(row)
        except IntegrityError as conflict:
            if vault != "payme":
                raise
            # The same token saved by a concurrent hand meanwhile (the unique index): whose is it?
            async with self._sessions() as session:
                holder = await session.scalar(
                    select(Card).where(Card.vault == "payme", Card.provider_card_id == provider_card_id))
            if holder is None:
                raise conflict from None
            return _token_holder(holder, user_id)

    async def _count_failure(self, user_id: int) -> None:
        async with self._sessions.begin() as session:
            lock = await session.get(CardAddLock, user_id)
            if lock is None:
                lock = CardAddLock(user_id=user_id, failures=0)
                session.add(lock)
            lock.failures += 1
            if lock.failures >= MAX_CODE_FAILURES:
                lock.failures = 0
                lock.locked_until = self._now() + LOCK_FOR
                locked = True
            else:
                locked = False
                left = MAX_CODE_FAILURES - lock.failures
        if locked:
            raise CardFlowError("locked", minutes=int(LOCK_FOR.total_seconds() // 60))
        raise CardFlowError("wrong_code", left=left)

    async def _lock(self, user_id: int) -> None:
        async with self._sessions.begin() as session:
            lock = await session.get(CardAddLock, user_id) or CardAddLock(user_id=user_id, failures=0)
            session.add(lock)
            lock.failures = 0
            lock.locked_until = self._now() + LOCK_FOR

    def _raise_if_locked(self, lock: CardAddLock | None) -> None:
        if lock is None or lock.locked_until is None:
            return
        until = lock.locked_until if lock.locked_until.tzinfo else lock.locked_until.replace(tzinfo=UTC)
        remaining = until - self._now()
        if remaining > timedelta(0):
            minutes = max(1, -(-int(remaining.total_seconds()) // 60))
            raise CardFlowError("locked", minutes=minutes)

    # ---- managing ------------------------------------------------------------------------------------------

    async def rename(self, user_id: int, card_id: int, name: str) -> CardView:
        name = " ".join(name.split())
        if not name or len(name) > NAME_MAX:
            raise CardFlowError("bad_name", max=NAME_MAX)
        async with self._sessions.begin() as session:
            card = await _owned(session, user_id, card_id)
            card.name = name
            return _view(card)

    async def make_default(self, user_id: int, card_id: int) -> CardView:
        async with self._sessions.begin() as session:
            chosen = await _owned(session, user_id, card_id)
            for card in await session.scalars(select(Card).where(Card.user_id == user_id)):
                card.is_default = card.id == chosen.id
            return _view(chosen)

    async def remove(self, user_id: int, card_id: int) -> CardView:
        """At the provider first: a card we forget but Paylov keeps would still be chargeable."""
        async with self._sessions() as session:
            card = await _owned(session, user_id, card_id)
            provider_id, view = card.provider_card_id, _view(card)
        try:
            if view.vault == "payme":
                if self._payme is None:
                    raise CardFlowError("payme_unavailable")
                await self._payme.cards_remove(provider_id)
            else:
                await self._paylov.delete_user_card(provider_id)
        except ProviderRejected as exc:
            if exc.code not in ("card_not_found", PAYME_TOKEN_GONE):  # already gone there: finish here
                raise
        async with self._sessions.begin() as session:
            card = await session.get(Card, card_id)
            if card is not None:
                await session.delete(card)
                await session.flush()
                if card.is_default:
                    successor = await session.scalar(
                        select(Card).where(Card.user_id == user_id).order_by(Card.id.desc())
                    )
                    if successor is not None:
                        successor.is_default = True
        return view


async def _owned(session, user_id: int, card_id: int) -> Card:
    card = await session.get(Card, card_id)
    if card is None or card.user_id != user_id:
        raise CardNotFound()
    return card


def _token_holder(holder: Card, user_id: int) -> CardView:
    """A Payme token already saved: this user's card again, or another user's, which is refused (not removed)."""
    if holder.user_id != user_id:
        raise CardFlowError("token_taken")
    return _view(holder)


def _view(card: Card) -> CardView:
    return CardView(
        id=card.id,
        name=card.name,
        masked=card.masked_number,
        expire=card.expire,
        vendor=card.vendor,
        owner=card.owner,
        is_default=card.is_default,
        vault=card.vault,
        active=card.active,
    )


def _payme_expiry(shown: str) -> str:
    """Payme shows "MM/YY" (seed 000); cards are stored as YYMM, like Paylov's expireDate."""
    digits = "".join(ch for ch in shown if ch.isdigit())
    return digits[2:] + digits[:2] if len(digits) == 4 else digits


def _default_name(vendor: str | None, masked: str) -> str:
    brand = (vendor or "").strip().upper() or ("HUMO" if masked.startswith("9860") else "UZCARD")
    return f"{brand} •{masked[-4:]}"
