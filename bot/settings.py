"""The settings contract: other tools start the bot with exactly these names."""

from __future__ import annotations

import ipaddress
import json
from decimal import Decimal
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.payments import min_lease


def is_loopback_url(url: str | None) -> bool:
    """A Bot API server on this machine (the Telegram double, or a test server); unset means Telegram's own."""
    if not url:
        return False
    host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: taken as a real server (the line is shown rather than missed)
    return address.is_loopback or address.is_unspecified


# aiogram's webhook handler answers Telegram after this many seconds whatever the handler is doing.
AIOGRAM_WEBHOOK_TIMEOUT = 55.0
# Telegram's webhook secret_token: 1 to 256 of these characters.
WEBHOOK_SECRET_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class SettingsError(Exception):
    """A missing or malformed setting; its message is one line naming the setting."""


class DatabaseSettings(BaseSettings):
    """What `python -m bot migrate` needs: a deploy job that migrates has no bot token."""

    # An empty value (NAME= in .env) means "not set": the default applies.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    DATABASE_URL: str = "sqlite+aiosqlite:///./data/bot.db"
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(DatabaseSettings):
    BOT_TOKEN: SecretStr
    TELEGRAM_API_URL: str | None = None
    PROVIDERS: Literal["sandbox", "live"] = "sandbox"

    PAYLOV_BASE_URL: str | None = None
    PAYLOV_USERNAME: str | None = None
    PAYLOV_PASSWORD: SecretStr | None = None
    PAYLOV_CONSUMER_KEY: str | None = None
    PAYLOV_CONSUMER_SECRET: SecretStr | None = None

    PAYME_BASE_URL: str | None = None
    PAYME_MERCHANT_ID: str | None = None
    PAYME_KEY: SecretStr | None = None
    PAYLOV_SETTLEMENT_CARD_ID: str | None = Field(
        default=None, description="the merchant's own Paylov card that settles bills charged through Payme receipts"
    )

    # PaySys cash2card payouts (seed 004): the gateway endpoint, our service id and key, and the operator who is the
    # sender of every payout. Required with PROVIDERS=live only when payouts are on (`payouts_enabled`).
    PAYSYS_BASE_URL: str | None = Field(default=None, description="the gateway endpoint, https://paysys.uz/gateway")
    PAYSYS_SERVICE_ID: str | None = None
    PAYSYS_SECRET_KEY: SecretStr | None = None
    PAYSYS_SENDER_LAST_NAME: str | None = None
    PAYSYS_SENDER_FIRST_NAME: str | None = None
    PAYSYS_SENDER_MIDDLE_NAME: str = Field(default="", description="empty when the operator has none")
    PAYSYS_DOC_THRESHOLD: int = Field(
        default=18_750_000, gt=0,
        description="sums from which a payout needs the recipient's passport data: 50 base calculation values "
                    "(375 000 sum since 2024-08-01); the value changes by decree")
    CASHBACK_PERCENT: Decimal = Field(default=Decimal(0), ge=0, le=100,
                                      description="percent of a paid bill sent back to the payer's card")
    OPERATOR_REFUNDS: bool = Field(default=False, description="operators may refund a payment to a card by payout")
    PAYOUT_MAX: int = Field(default=1_000_000, gt=0,
                            description="sums: the largest payout (cashback withdrawal or refund); must be below "
                                        "PAYSYS_DOC_THRESHOLD, so no passport data is ever collected")
    OPERATOR_IDS: Annotated[tuple[int, ...], NoDecode] = Field(
        default=(), description="Telegram user ids allowed to refund (in a private chat): \"1,2\" or a JSON list")

    CARD_VAULT: Literal["paylov", "payme"] = Field(default="paylov", description="where new cards are saved")
    WEBAPP_URL: str | None = Field(default=None, description="public HTTPS address of the bot's web server")
    WEBAPP_HOST: str = Field(default="127.0.0.1", description="where the bot's web server (the card page) listens")
    WEBAPP_PORT: int = Field(default=8080, ge=0, le=65535, description="0 picks a free port")

    REDIS_URL: str | None = Field(default=None, description="redis://host:port/db: conversations, per-chat locks and "
                                                        "the bulk-send pace shared by every replica")
    REDIS_STATE_TTL: int = Field(default=30 * 86400, gt=0, description="seconds an untouched conversation is kept in "
                                                                       "Redis")
    REDIS_LOCK_TIMEOUT: float | None = Field(
        default=None, gt=0, description="seconds a chat stays locked by a replica that died handling its update; "
                                        "longer than UPDATE_DEADLINE (default: UPDATE_DEADLINE + 5)")
    BULK_SEND_RATE: int = Field(default=25, ge=1, le=30, description="messages a second the reminders send, in total "
                                                                     "across replicas (Telegram allows about 30)")

    # Webhook mode (bot.runtime.webhook): with WEBHOOK_URL set the bot serves updates over HTTPS instead of polling.
    WEBHOOK_URL: str | None = Field(default=None, description="public https:// address Telegram posts updates to")
    WEBHOOK_SECRET: SecretStr | None = Field(default=None, description="checked on every post (1-256 of A-Z a-z 0-9 _ -)")
    WEBHOOK_HOST: str = Field(default="0.0.0.0", description="where the webhook server listens")
    WEBHOOK_PORT: int = Field(default=8080, ge=0, le=65535, description="several replicas may share it (reuse_port)")
    WEBHOOK_MAX_CONNECTIONS: int = Field(default=40, ge=1, le=100, description="told to Telegram by set-webhook")
    UPDATE_DEADLINE: float = Field(default=20, gt=0, description="seconds an update's handling may take in webhook "
                                                                 "mode; longer provider work goes on in the money "
                                                                 "engine and reaches the user by the outbox")
    INBOX_LEASE: float | None = Field(
        default=None, gt=0, description="seconds an update being handled is held; after that a re-send is taken as "
                                        "its holder's death and run again (default: UPDATE_DEADLINE + 5, so a dead "
                                        "replica's updates run again within seconds)")

    UPDATE_CONCURRENCY: int = Field(default=100, ge=1, description="updates one polling process handles at once; "
                                    "the next wait at Telegram. Unbounded, 1000 users at once starved the database "
                                    "pool on PostgreSQL: every task waits its turn on a saturated event loop")
    CATALOGUE_TTL: int = Field(default=600, ge=0, description="seconds a provider catalogue is cached")
    PROVIDER_READ_TIMEOUT: float = Field(default=15.0, gt=0)
    PROVIDER_CONNECT_TIMEOUT: float = Field(default=3.0, gt=0)
    ALLOW_TEST_CARDS: bool = Field(default=False, description="accept the seed's non-UzCard/HUMO test card numbers")
    CARD_CODE_RESEND_WAIT: int = Field(default=60, ge=0, description="seconds before a new SMS code may be asked")

    STATUS_CHECK_INTERVALS: Annotated[tuple[Annotated[float, Field(gt=0)], ...], NoDecode] = Field(
        default=(10, 30, 60, 300, 900, 3600), min_length=1,
        description="seconds between status checks of an unsettled payment: \"10,30\" or a JSON list")
    STATUS_GIVE_UP_AFTER: float = Field(default=86400, gt=0, description="seconds after which the worker stops asking")
    PAYING_STALE_AFTER: float = Field(
        default=60, gt=0, description="a claim on a payment (a provider call in flight) lasts this long; then the "
                                      "settlement worker takes it as the holder's death")
    STATUS_WORKER_TICK: float = Field(default=5, gt=0, description="longest sleep of the settlement worker")

    REMINDER_TICK: float = Field(default=300, gt=0, description="seconds between looks for due monthly reminders")

    OPERATOR_CHAT_ID: int | None = Field(default=None, description="where the daily reconciliation is reported")
    RECONCILE_HOUR: int = Field(default=6, ge=0, le=23, description="Tashkent hour after which yesterday is reconciled")
    RECONCILE_TICK: float = Field(default=600, gt=0, description="seconds between looks for a due reconciliation")
    TEST_MODE_BANNER: Literal["auto", "always"] = Field(
        default="auto", description="with PROVIDERS=sandbox, every message starts with \"TEST MODE — no real money\": "
                                    "auto when TELEGRAM_API_URL is not loopback, always also when it is")

    @model_validator(mode="after")
    def _live_needs_credentials(self) -> Settings:
        if self.PROVIDERS == "live":
            for name in ("PAYLOV_BASE_URL", "PAYLOV_USERNAME", "PAYLOV_PASSWORD",
                         "PAYLOV_CONSUMER_KEY", "PAYLOV_CONSUMER_SECRET"):
                if not getattr(self, name):
                    raise ValueError(f"{name} is required when PROVIDERS=live")
            if self.CARD_VAULT == "payme":
                for name in ("PAYME_BASE_URL", "PAYME_MERCHANT_ID", "PAYME_KEY", "PAYLOV_SETTLEMENT_CARD_ID"):
                    if not getattr(self, name):
                        raise ValueError(f"{name} is required when CARD_VAULT=payme")
            if self.payouts_enabled:
                for name in ("PAYSYS_BASE_URL", "PAYSYS_SERVICE_ID", "PAYSYS_SECRET_KEY", "PAYSYS_SENDER_LAST_NAME",
                             "PAYSYS_SENDER_FIRST_NAME"):
                    if not getattr(self, name):
                        raise ValueError(f"{name} is required when payouts are on "
                                         f"(CASHBACK_PERCENT > 0 or OPERATOR_REFUNDS)")
        return self

    @field_validator("CASHBACK_PERCENT", mode="before")
    @classmethod
    def _no_float_percent(cls, value: object) -> object:
        """A float would carry binary noise into money sums: a string ("1.5", as the environment gives), an int or
        a Decimal only."""
        if isinstance(value, float):
            raise ValueError("give a decimal string such as \"1.5\", not a float")
        return value

    @field_validator("OPERATOR_IDS", "STATUS_CHECK_INTERVALS", mode="before")
    @classmethod
    def _list_setting(cls, value: object) -> object:
        """The environment gives a comma list ("1,2") or a JSON list ("[1, 2]"); code may give a list or one value.
        (NoDecode on the field: pydantic-settings would otherwise take the text as JSON only.)"""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (value,)
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    parsed = json.loads(text)
                except ValueError:
                    raise ValueError("give a comma list (10,30) or a JSON list ([10, 30])") from None
                if not isinstance(parsed, list):
                    raise ValueError("give a comma list (10,30) or a JSON list ([10, 30])")
                return tuple(parsed)
            return tuple(part.strip() for part in text.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _payouts_below_doc_threshold(self) -> Settings:
        """From PAYSYS_DOC_THRESHOLD a payout needs the recipient's passport data, which the bot never collects."""
        if self.PAYOUT_MAX >= self.PAYSYS_DOC_THRESHOLD:
            raise ValueError(f"PAYOUT_MAX must be below PAYSYS_DOC_THRESHOLD ({self.PAYSYS_DOC_THRESHOLD} sum): "
                             f"the bot never collects passport data")
        return self

    @model_validator(mode="after")
    def _card_page_needs_https(self) -> Settings:
        """Telegram opens Mini Apps over HTTPS only; a local Bot API server (TELEGRAM_API_URL) may be a test one."""
        if self.CARD_VAULT == "payme" and not self.TELEGRAM_API_URL and not (self.WEBAPP_URL or "").startswith(
                "https://"):
            raise ValueError("WEBAPP_URL must be the card page's public https:// address when CARD_VAULT=payme")
        return self

    @model_validator(mode="after")
    def _lease_outlives_provider_calls(self) -> Settings:
        """A claim must outlive the provider call its holder waits on, or a second hand would call as well."""
        shortest = min_lease(self.PROVIDER_CONNECT_TIMEOUT, self.PROVIDER_READ_TIMEOUT)
        if self.PAYING_STALE_AFTER < shortest:
            raise ValueError(f"PAYING_STALE_AFTER must be at least {shortest:g} s with these provider timeouts "
                             f"(2 × (PROVIDER_CONNECT_TIMEOUT + PROVIDER_READ_TIMEOUT) + 2)")
        return self

    @model_validator(mode="after")
    def _webhook(self) -> Settings:
        """Telegram posts to https:// only (a loopback Bot API server, as in tests, may take http://); the secret is
        what tells Telegram's posts from anyone's; an update must end before its claim and before aiogram answers."""
        if self.WEBHOOK_URL:
            scheme = urlsplit(self.WEBHOOK_URL).scheme
            if scheme != "https" and not (scheme == "http" and is_loopback_url(self.TELEGRAM_API_URL)):
                raise ValueError("WEBHOOK_URL must be an https:// address (http:// only with a loopback "
                                 "TELEGRAM_API_URL)")
            secret = self.WEBHOOK_SECRET.get_secret_value() if self.WEBHOOK_SECRET else ""
            if not secret:
                raise ValueError("WEBHOOK_SECRET is required when WEBHOOK_URL is set")
            if len(secret) > 256 or not set(secret) <= WEBHOOK_SECRET_ALPHABET:
                raise ValueError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        if self.UPDATE_DEADLINE >= min(self.inbox_lease, AIOGRAM_WEBHOOK_TIMEOUT):
            raise ValueError(f"UPDATE_DEADLINE must be shorter than INBOX_LEASE ({self.inbox_lease:g} s) and than "
                             f"the {AIOGRAM_WEBHOOK_TIMEOUT:g} s after which Telegram's post is answered anyway")
        return self

    @model_validator(mode="after")
    def _lock_outlives_update(self) -> Settings:
        """A chat's lock must not run out while its update is still handled, or a second update would run beside it."""
        if self.REDIS_LOCK_TIMEOUT is not None and self.REDIS_LOCK_TIMEOUT <= self.UPDATE_DEADLINE:
            raise ValueError(f"REDIS_LOCK_TIMEOUT must be longer than UPDATE_DEADLINE ({self.UPDATE_DEADLINE:g} s)")
        return self

    @property
    def inbox_lease(self) -> float:
        return self.INBOX_LEASE if self.INBOX_LEASE is not None else self.UPDATE_DEADLINE + 5

    @property
    def redis_lock_timeout(self) -> float:
        return self.REDIS_LOCK_TIMEOUT if self.REDIS_LOCK_TIMEOUT is not None else self.UPDATE_DEADLINE + 5

    @property
    def webhook_mode(self) -> bool:
        return bool(self.WEBHOOK_URL)

    @property
    def payme_configured(self) -> bool:
        return bool(self.PAYME_BASE_URL and self.PAYME_MERCHANT_ID and self.PAYME_KEY)

    @property
    def paysys_configured(self) -> bool:
        return bool(self.PAYSYS_BASE_URL and self.PAYSYS_SERVICE_ID and self.PAYSYS_SECRET_KEY)

    @property
    def payouts_enabled(self) -> bool:
        """Money goes out through PaySys: cashback on paid bills, or refunds operators make."""
        return self.CASHBACK_PERCENT > 0 or self.OPERATOR_REFUNDS


S = TypeVar("S", bound=DatabaseSettings)


def load_settings(kind: type[S] = Settings, **overrides: object) -> S:
    """Read the settings, turning pydantic's report into one line naming the first bad setting."""
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"] if not isinstance(part, int))
        message = error["msg"].removeprefix("Value error, ")
        items = [part for part in error["loc"] if isinstance(part, int)]  # a list setting's bad item, from 1
        if items:
            message = f"item {items[0] + 1}: {message}"
        if not name:  # a rule across settings names its setting in the message
            raise SettingsError(f"setting {message}") from None
        if error["type"] == "missing":
            raise SettingsError(f"setting {name} is missing") from None
        raise SettingsError(f"setting {name} is invalid: {message}") from None
