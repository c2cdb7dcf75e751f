"""Tables. Portable types only, so the same schema runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # Telegram user id
    language: Mapped[str | None] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    @property
    def registered(self) -> bool:
        return bool(self.language and self.phone)


class FsmRecord(Base):
    """One row per FSM key: the conversation step and its small JSON data."""

    __tablename__ = "fsm_states"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Card(Base):
    """A card in a provider's vault. Only what the provider returns: its id, the masked number, its expiry."""

    __tablename__ = "cards"
    __table_args__ = (
        UniqueConstraint("user_id", "vault", "provider_card_id"),
        # A Payme token belongs to one user: never saved for a second one, whatever reached the card page.
        Index("uq_cards_payme_token", "provider_card_id", unique=True,
              sqlite_where=text("vault = 'payme'"), postgresql_where=text("vault = 'payme'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    vault: Mapped[str] = mapped_column(String(16), default="paylov")
    provider_card_id: Mapped[str] = mapped_column(String(128))
    masked_number: Mapped[str] = mapped_column(String(32))
    expire: Mapped[str] = mapped_column(String(8))  # YYMM, as the provider returns it
    owner: Mapped[str | None] = mapped_column(String(128))
    vendor: Mapped[str | None] = mapped_column(String(64))
    bank_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())  # False: the vault refused it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CardAddLock(Base):
    """Wrong SMS codes in a row, per user (never per anything derived from a card number)."""

    __tablename__ = "card_add_locks"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CardPageSession(Base):
    """One opening of the card page, made by the chat for one user: the page may hand the bot one card token
    through it, within 15 minutes. The page's address carries a random secret; the row is keyed by its SHA-256,
    so the table alone opens nothing. `state`: open, claimed (a post is saving its token until `lease_until`),
    done (the first answer kept in `status` and `answer`, given again to a repeat of the same token). The token
    itself is not kept here, only its SHA-256 (`token_hash`), to tell a repeat from another token."""

    __tablename__ = "card_page_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the secret in the address
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(8), default="open")
    token_hash: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[int | None] = mapped_column(Integer)  # the HTTP status of the first answer
    answer: Mapped[dict | None] = mapped_column(JSON)  # {"code", "params", "card"}: words are chosen per request
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


OPEN_CASHBACK = "rail = 'paysys' AND service_id = 'cashback' AND state NOT IN ('paid', 'failed', 'reversed')"
OPEN_REFUND = "refund_of IS NOT NULL AND state NOT IN ('failed', 'reversed')"


class Payment(Base):
    """Our ledger. The row exists before the first provider call; `intent_key` makes a double tap one payment.

    A provider call is made only by the holder of the row's claim (`lease_owner` until `lease_until`), won by one
    conditional update; a claim whose holder died expires and the settlement runner takes the row."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("user_id", "intent_key", name="uq_payments_user_intent"),
        Index("ix_payments_state_next_check", "state", "next_check_at"),
        Index("uq_payments_partner_id", "partner_id", unique=True),
        # One open cashback payout per user: two taps or two replicas can never hold (or send) it twice.
        Index("uq_payments_open_cashback", "user_id", unique=True,
              sqlite_where=text(OPEN_CASHBACK), postgresql_where=text(OPEN_CASHBACK)),
        # One refund of a bill at a time, and none after one completed (a failed or reversed one allows another).
        Index("uq_payments_open_refund", "refund_of", unique=True,
              sqlite_where=text(OPEN_REFUND), postgresql_where=text(OPEN_REFUND)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    intent_key: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    service_name: Mapped[str] = mapped_column(String(255))
    account: Mapped[dict] = mapped_column(JSON)
    account_display: Mapped[list] = mapped_column(JSON, default=list)  # [[label, shown value], ...]
    amount: Mapped[int] = mapped_column(BigInteger)  # whole sums
    card_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("cards.id", ondelete="SET NULL"))
    provider_card_id: Mapped[str] = mapped_column(String(128))
    card_masked: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), index=True)
    # "paylov": the card is charged by servicePayment itself. "payme": a Payme receipt charges the card, then
    # servicePayment settles the bill with the merchant's settlement card (transaction_id, payment_ref below).
    rail: Mapped[str] = mapped_column(String(8), default="paylov", server_default="paylov")
    receipt_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    receipt_state: Mapped[int | None] = mapped_column(Integer)  # the last state Payme told us
    charged_at: Mapped[str | None] = mapped_column(String(32))  # when Payme charged the card (Tashkent time)
    transaction_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    # "paysys": our partner_transaction_id (bot.domain.payouts), PaySys's only key for the payout; its own
    # transaction_id goes in `transaction_id`, the masked recipient card in `card_masked`.
    partner_id: Mapped[int | None] = mapped_column(BigInteger)
    # "paysys" payouts: what PaySys answered to prepare (stored as returned, never computed), the call last sent
    # ("prepare", "confirm", "cancel": what an unclear answer was an answer to; "answered": PaySys answered the
    # confirm, so it arrived), when it completed (the reversal
    # re-check window starts there), and for an operator refund the paid bill it refunds (which stays `paid`).
    recipient_name: Mapped[str | None] = mapped_column(String(128))
    payout_total: Mapped[int | None] = mapped_column(BigInteger)  # tiyin debited from our deposit
    payout_commission: Mapped[str | None] = mapped_column(String(16))  # the percent, as PaySys wrote it
    payout_step: Mapped[str | None] = mapped_column(String(8))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refund_of: Mapped[int | None] = mapped_column(Integer, ForeignKey("payments.id"))
    otp_phone: Mapped[str | None] = mapped_column(String(32))
    otp_failures: Mapped[int] = mapped_column(Integer, default=0)
    payment_ref: Mapped[str | None] = mapped_column(String(64))
    epos_merchant: Mapped[str | None] = mapped_column(String(64))
    epos_terminal: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[str | None] = mapped_column(String(32))  # as the provider wrote it
    error_code: Mapped[str | None] = mapped_column(String(64))
    status_checks: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    gave_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refund_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class CashbackEntry(Base):
    """The cashback ledger: every credit, hold, release, debit and reversal is a row; a user's balance is the sum of
    theirs, never a number edited in place. Amounts are tiyin, signed (a hold and a debit are negative). One row per
    payment and kind, so nothing is credited, held or given back twice; each is written in the transaction of the
    payment's state change that causes it.

    credit    a bill paid (payment_id: the bill)
    hold      a cashback payout opened (payment_id: the payout), released or turned into the debit at its end
    release   the payout failed or was cancelled (+hold); or completed, with the debit beside it
    debit     a completed cashback payout (-amount); or a completed refund of a bill (payment_id: the refund), taking
              back the cashback that bill earned
    reversal  a completed payout came back (status 3): what it took is given back
    """

    __tablename__ = "cashback_entries"
    __table_args__ = (UniqueConstraint("payment_id", "kind", name="uq_cashback_payment_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    payment_id: Mapped[int] = mapped_column(Integer, ForeignKey("payments.id"))
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(BigInteger)  # tiyin, signed
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PaymentEvent(Base):
    """Every state change of a payment, with its time."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(Integer, ForeignKey("payments.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboxMessage(Base):
    """What a money state change owes the user, written in the same transaction as the change; a sender delivers it
    (the handler's process at once, the worker for anything left) and marks it sent. One row per payment and kind."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("payment_id", "kind", name="uq_outbox_payment_kind"),
        Index("ix_outbox_state_lease", "state", "lease_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    payment_id: Mapped[int] = mapped_column(Integer, ForeignKey("payments.id"))
    kind: Mapped[str] = mapped_column(String(16))  # the outcome told: paid, failed, settling, refunding, ...
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending, sending, sent, superseded, dropped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # also: not before (a retry)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Reconciliation(Base):
    """A day's report: leased by the replica sending it (`running`), then `done`, so neither a restart nor a second
    replica skips or repeats it; a lease whose holder died runs out and another replica sends."""

    __tablename__ = "reconciliations"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, Tashkent
    mismatches: Mapped[int] = mapped_column(Integer)
    ran_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    state: Mapped[str] = mapped_column(String(8), server_default="done")  # running | done
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Home(Base):
    """A saved account ("Home", "Parents"): paid again in two taps, optionally reminded once a month."""

    __tablename__ = "homes"
    __table_args__ = (UniqueConstraint("user_id", "service_id", "account_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    service_id: Mapped[str] = mapped_column(String(64))
    service_name: Mapped[str] = mapped_column(String(255))
    account: Mapped[dict] = mapped_column(JSON)
    account_key: Mapped[str] = mapped_column(String(512))  # the account as canonical JSON, for duplicates
    account_display: Mapped[list] = mapped_column(JSON, default=list)
    reminder_day: Mapped[int | None] = mapped_column(Integer)
    last_reminded: Mapped[str | None] = mapped_column(String(7))  # "YYYY-MM" of the last reminder sent
    reminder_lease_owner: Mapped[str | None] = mapped_column(String(128))  # the replica sending this month's
    reminder_lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InboxUpdate(Base):
    """One Telegram update, by its update_id: claimed ("handling", under a lease) before its handler runs and marked
    "done" after, so a re-sent update is answered without running again and one whose holder died is run again.
    Kept 48 hours (Telegram keeps an undelivered update for 24), then purged by age."""

    __tablename__ = "update_inbox"
    __table_args__ = (Index("ix_update_inbox_created_at", "created_at"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(12))  # handling, done
    lease_owner: Mapped[str | None] = mapped_column(String(128))  # the claim holding it: "<owner>/<claim token>"
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=1)  # claims won: 1, then one more per take-over
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
