"""The one wiring: __main__, the demo and every test build the bot through these functions."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import BotCommand, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.chat.cards import card_added
from bot.jobs.inbox_purge import start_inbox_purge, stop_inbox_purge
from bot.jobs.reconciliation import start_reconciler, stop_reconciler
from bot.jobs.reminders import start_reminders, stop_reminders
from bot.jobs.settlement import start_worker, stop_worker
from bot.middlewares.callback_answer import QuietCallbackAnswer
from bot.middlewares.features import FeaturesMiddleware
from bot.middlewares.i18n import ProfileI18nMiddleware
from bot.middlewares.logging import HandlerNameMiddleware, UpdateLogMiddleware
from bot.middlewares.payment_exit import PaymentExitMiddleware
from bot.middlewares.response_models import KeepResponseModels
from bot.middlewares.retry_after import RetryAfterMiddleware, Sleep
from bot.middlewares.sandbox_banner import SandboxBanner, shows_test_mode
from bot.middlewares.user import ProfileMiddleware
from bot.providers.http import make_http_client
from bot.providers.paylov import PaylovClient
from bot.providers.payme import PaymeClient
from bot.providers.paysys import PaysysClient, Sender
from bot.services.accounts import AccountsService
from bot.services.card_sessions import CardSessions
from bot.services.cards import CardsService, CardView
from bot.services.sealing import Sealer
from bot.services.catalogue import CatalogueService
from bot.services.history import TASHKENT, HistoryService
from bot.services.homes import HomesService
from bot.services.payments import CheckSchedule, PaymentsService
from bot.services.payouts import PayoutsService
from bot.services.users import LANGUAGES, UserService
from bot.settings import Settings
from bot.storage.db import make_engine, make_sessionmaker, upgrade
from bot.storage.fsm import FsmMiddleware, SqlStorage
from bot.webapp.server import WebAppServer, stop_webapp
from handlers import build_routers

logger = logging.getLogger(__name__)


def _locales() -> Path:
    """The compiled catalogs: an installed wheel carries them in the package (bot/locales, compiled by the build);
    the source tree (and an editable install) has them at the repository's top level, compiled by `make locales`."""
    packaged = Path(__file__).resolve().parent / "locales"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "locales"


LOCALES = _locales()

# The operator named as the sender of sandbox payouts when PAYSYS_SENDER_* are not set.
SANDBOX_SENDER = ("SANDBOXOV", "OPERATOR")

# Seed 001's test cards outside the UzCard/HUMO ranges (expired, blocked): accepted only when testing.
SEED_TEST_CARDS = frozenset({"3333336415804657", "4444445987459073"})


@dataclass
class Services:
    """What handlers may depend on; built once per process and handed to the Dispatcher as workflow data."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker
    http: httpx.AsyncClient
    i18n: I18n
    users: UserService
    paylov: PaylovClient
    payme: PaymeClient | None
    cards: CardsService
    catalogue: CatalogueService
    accounts: AccountsService
    payments: PaymentsService
    history: HistoryService
    homes: HomesService
    sandboxes: dict[str, object] = field(default_factory=dict)
    paysys: PaysysClient | None = None  # payouts (cashback, operator refunds); None when PaySys is not configured
    payouts: PayoutsService | None = None  # cashback balance, withdrawals and operator refunds (always built)

    def workflow_data(self) -> dict[str, object]:
        return {
            "settings": self.settings,
            "i18n": self.i18n,
            "users": self.users,
            "cards": self.cards,
            "catalogue": self.catalogue,
            "accounts": self.accounts,
            "payments": self.payments,
            "history": self.history,
            "homes": self.homes,
            "payme": self.payme,
            "paylov": self.paylov,
            "paysys": self.paysys,
            "payouts": self.payouts,
            "sessionmaker": self.sessionmaker,
        }


@asynccontextmanager
async def open_services(settings: Settings, *, today: Callable[[], date] | None = None,
                        migrate: bool = True) -> AsyncIterator[Services]:
    """Start what the bot needs (sandbox providers too, with PROVIDERS=sandbox) and close it all on exit.
    migrate=False: the schema is a deploy step (`python -m bot migrate`), as in webhook mode."""
    async with AsyncExitStack() as stack:
        sandboxes: dict[str, object] = {}
        if settings.PROVIDERS == "sandbox":
            settings = await _start_sandboxes(settings, sandboxes, stack)
        engine = make_engine(settings.DATABASE_URL)
        stack.push_async_callback(engine.dispose)
        if migrate:
            await upgrade(engine)
        sessionmaker = make_sessionmaker(engine)
        http = make_http_client(read=settings.PROVIDER_READ_TIMEOUT, connect=settings.PROVIDER_CONNECT_TIMEOUT)
        stack.push_async_callback(http.aclose)
        paylov = PaylovClient(
            http,
            base_url=settings.PAYLOV_BASE_URL,
            username=settings.PAYLOV_USERNAME,
            password=settings.PAYLOV_PASSWORD.get_secret_value(),
            consumer_key=settings.PAYLOV_CONSUMER_KEY,
            consumer_secret=settings.PAYLOV_CONSUMER_SECRET.get_secret_value(),
        )
        payme = None
        if settings.payme_configured:
            payme = PaymeClient(http, base_url=settings.PAYME_BASE_URL, merchant_id=settings.PAYME_MERCHANT_ID,
                                key=settings.PAYME_KEY.get_secret_value())
        paysys = None
        if settings.paysys_configured:
            paysys = PaysysClient(http, base_url=settings.PAYSYS_BASE_URL, service_id=settings.PAYSYS_SERVICE_ID,
                                  secret_key=settings.PAYSYS_SECRET_KEY.get_secret_value())
        catalogue = CatalogueService(paylov, ttl=settings.CATALOGUE_TTL)
        cards = CardsService(
            sessionmaker, paylov, payme=payme, sealer=Sealer(settings.BOT_TOKEN.get_secret_value()),
            allowed_test_numbers=SEED_TEST_CARDS if settings.ALLOW_TEST_CARDS else frozenset(),
        )
        owner = process_owner()  # one hand for payments and payouts: the worker sends what either owes
        schedule = CheckSchedule(intervals=tuple(settings.STATUS_CHECK_INTERVALS),
                                 give_up_after=settings.STATUS_GIVE_UP_AFTER, lease=settings.PAYING_STALE_AFTER)
        sender = payout_sender(settings)
        payout_rail = {"paysys": paysys, "sender": sender} if settings.payouts_enabled else {}
        yield Services(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            http=http,
            i18n=I18n(path=LOCALES, default_locale="en", domain="messages"),
            users=UserService(sessionmaker),
            paylov=paylov,
            payme=payme,
            cards=cards,
            catalogue=catalogue,
            accounts=AccountsService(paylov),
            payments=PaymentsService(sessionmaker, paylov, cards, schedule, owner=owner, payme=payme,
                                     settlement_card_id=settings.PAYLOV_SETTLEMENT_CARD_ID,
                                     cashback_percent=settings.CASHBACK_PERCENT, **payout_rail),
            history=HistoryService(sessionmaker, paylov, catalogue),
            homes=HomesService(sessionmaker, today=today or _tashkent_today, owner=owner),
            sandboxes=sandboxes,
            paysys=paysys,
            payouts=PayoutsService(
                sessionmaker, paysys if settings.payouts_enabled else None, owner=owner, schedule=schedule,
                sender=sender, cashback_percent=settings.CASHBACK_PERCENT, payout_max_sums=settings.PAYOUT_MAX,
                operator_ids=frozenset(settings.OPERATOR_IDS), refunds=settings.OPERATOR_REFUNDS,
                allowed_test_numbers=SEED_TEST_CARDS if settings.ALLOW_TEST_CARDS else frozenset()),
        )


def payout_sender(settings: Settings) -> Sender | None:
    """The operator, sender of every payout (PAYSYS_SENDER_*); None when not set."""
    if not (settings.PAYSYS_SENDER_LAST_NAME and settings.PAYSYS_SENDER_FIRST_NAME):
        return None
    return Sender(last_name=settings.PAYSYS_SENDER_LAST_NAME, first_name=settings.PAYSYS_SENDER_FIRST_NAME,
                  middle_name=settings.PAYSYS_SENDER_MIDDLE_NAME)


async def _start_sandboxes(settings: Settings, sandboxes: dict[str, object], stack: AsyncExitStack) -> Settings:
    from bot.sandbox.paylov import PaylovSandbox
    from bot.sandbox.paylov_catalogue import seed_outside_payments
    from bot.sandbox.payme import PaymeSandbox
    from bot.sandbox.paysys import PaysysSandbox

    paylov = PaylovSandbox()
    url = await paylov.start()
    stack.push_async_callback(paylov.stop)
    seed_outside_payments(paylov)
    settlement_card = paylov.add_merchant_card()
    sandboxes["paylov"] = paylov
    logger.info("sandbox Paylov emulator at %s", url)
    payme = PaymeSandbox()
    payme_url = await payme.start()
    stack.push_async_callback(payme.stop)
    sandboxes["payme"] = payme
    logger.info("sandbox Payme emulator at %s", payme_url)
    paysys = PaysysSandbox(doc_threshold=settings.PAYSYS_DOC_THRESHOLD)
    paysys_url = await paysys.start()
    stack.push_async_callback(paysys.stop)
    sandboxes["paysys"] = paysys
    logger.info("sandbox PaySys emulator at %s", paysys_url)
    return settings.model_copy(
        update={
            "PAYSYS_BASE_URL": paysys_url,
            "PAYSYS_SERVICE_ID": paysys.service_id,
            "PAYSYS_SECRET_KEY": SecretStr(paysys.secret_key),
            "PAYSYS_SENDER_LAST_NAME": settings.PAYSYS_SENDER_LAST_NAME or SANDBOX_SENDER[0],
            "PAYSYS_SENDER_FIRST_NAME": settings.PAYSYS_SENDER_FIRST_NAME or SANDBOX_SENDER[1],
            # The demo shows cashback: 1 % unless the percent was set (to 0 as well).
            "CASHBACK_PERCENT": (settings.CASHBACK_PERCENT if "CASHBACK_PERCENT" in settings.model_fields_set
                                 else Decimal(1)),
            "PAYME_BASE_URL": payme_url,
            "PAYME_MERCHANT_ID": payme.merchant_id,
            "PAYME_KEY": SecretStr(payme.key),
            "PAYLOV_SETTLEMENT_CARD_ID": settlement_card,
            "ALLOW_TEST_CARDS": True,
            "PAYLOV_BASE_URL": url,
            "PAYLOV_USERNAME": PaylovSandbox.USERNAME,
            "PAYLOV_PASSWORD": SecretStr(PaylovSandbox.PASSWORD),
            "PAYLOV_CONSUMER_KEY": PaylovSandbox.CONSUMER_KEY,
            "PAYLOV_CONSUMER_SECRET": SecretStr(PaylovSandbox.CONSUMER_SECRET),
        }
    )


def process_owner() -> str:
    """Who holds a claim: this process, told apart from a restarted one on the same host and pid."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


def _tashkent_today() -> date:
    return datetime.now(TASHKENT).date()


def build_bot(settings: Settings, *, retry_sleep: Sleep = asyncio.sleep) -> Bot:
    """The Bot and its session's request middlewares, outermost first (aiogram wraps them in registration order):
    Telegram's 429 waited out and the request sent again (`retry_sleep` waits; a test passes one that only records),
    then each try through the response-model keeper and the test-mode line."""
    session = None
    if settings.TELEGRAM_API_URL:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.TELEGRAM_API_URL.rstrip("/")))
    bot = Bot(
        token=settings.BOT_TOKEN.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    bot.session.middleware(RetryAfterMiddleware(sleep=retry_sleep))  # first: it wraps every other
    bot.session.middleware(KeepResponseModels())
    if shows_test_mode(settings):  # emulated money in front of real people: every message says so
        bot.session.middleware(SandboxBanner())
    return bot


def build_storage(settings: Settings, services: Services) -> tuple[BaseStorage, BaseEventIsolation]:
    """With REDIS_URL, conversations and per-chat locks are shared by every replica. An untouched conversation expires
    (REDIS_STATE_TTL); a chat's lock outlives an update's deadline by a little, so the chats of a replica killed
    mid-update answer again within seconds (aiogram's default lock is 60 s). The profile still comes from the
    database (ProfileMiddleware)."""
    if settings.REDIS_URL:
        import inspect

        from aiogram.fsm.storage.redis import RedisStorage
        from redis.asyncio import Redis

        storage = RedisStorage.from_url(settings.REDIS_URL, state_ttl=settings.REDIS_STATE_TTL,
                                        data_ttl=settings.REDIS_STATE_TTL)
        lock = {"timeout": settings.redis_lock_timeout}
        if "raise_on_release_error" in inspect.signature(Redis.lock).parameters:  # redis>=5.3
            lock["raise_on_release_error"] = False  # a polling handler outliving its lock: not the user's error
        return storage, storage.create_isolation(lock_kwargs=lock)
    return SqlStorage(services.sessionmaker), SimpleEventIsolation()


def build_dispatcher(settings: Settings, services: Services, *, updates: bool = True) -> Dispatcher:
    """The bot; with updates=False only its background jobs (`python -m bot worker`)."""
    storage, isolation = build_storage(settings, services)
    # aiogram's FSM middleware is registered below, after the update's scope opens (UpdateLogMiddleware): the state
    # is read once per update, together with the profile.
    dp = Dispatcher(storage=storage, events_isolation=isolation, disable_fsm=True, **services.workflow_data())
    dp.fsm = FsmMiddleware(storage=storage, events_isolation=isolation)  # its storage is closed by aiogram's hook
    dp.shutdown.register(finish_updates_in_hand)  # first of the shutdown hooks: before the jobs and the session stop
    jobs = ((start_worker, stop_worker), (start_reminders, stop_reminders), (start_reconciler, stop_reconciler),
            (start_inbox_purge, stop_inbox_purge))
    for start, stop in jobs:
        dp.startup.register(start)
        dp.shutdown.register(stop)
    if not updates:
        return dp

    dp.update.outer_middleware(UpdateLogMiddleware())
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(ProfileMiddleware(services.users))
    ProfileI18nMiddleware(services.i18n).setup(dp)
    cashback = settings.CASHBACK_PERCENT > 0 and services.payouts is not None and services.payouts.enabled
    dp.update.middleware(FeaturesMiddleware(cashback=cashback))
    for observer in (dp.message, dp.callback_query):
        observer.middleware(HandlerNameMiddleware())
        observer.middleware(PaymentExitMiddleware())
    dp.callback_query.middleware(QuietCallbackAnswer())

    dp.include_routers(*build_routers())
    dp.startup.register(_set_commands)
    if serves_card_page(settings, services) and not settings.webhook_mode:  # webhook mode: on the webhook's server
        async def start_webapp(bot: Bot, dispatcher: Dispatcher) -> None:
            """Polling mode: the card page's own server lives as long as polling does."""
            await make_webapp(bot, dispatcher, services).start()

        dp.startup.register(start_webapp)
        dp.shutdown.register(stop_webapp)
    return dp


async def finish_updates_in_hand(dispatcher: Dispatcher, settings: Settings) -> None:
    """A graceful stop finishes the updates in hand. aiogram's polling runs the shutdown hooks and then closes the
    Bot's session, without waiting for the update tasks it started: a handler still at work lost its next request
    and the user read "something went wrong". Bounded by UPDATE_DEADLINE; the money engine settles what is left.
    (Webhook mode drains its posts before the hooks run, bot.runtime.webhook.)"""
    in_hand = [task for task in dispatcher._handle_update_tasks if not task.done()]  # no public handle in aiogram
    if in_hand:
        logger.info("stopping: %s updates in hand to finish", len(in_hand))
        await asyncio.wait(in_hand, timeout=settings.UPDATE_DEADLINE)


def serves_card_page(settings: Settings, services: Services) -> bool:
    return settings.CARD_VAULT == "payme" and services.payme is not None


def make_webapp(bot: Bot, dispatcher: Dispatcher, services: Services) -> WebAppServer:
    """The card page, wired to tell the chat of each saved card. A post holds its page's binding session as long as
    a payment call's claim may last."""
    settings = services.settings

    async def on_card_added(user_id: int, card: CardView) -> None:
        await card_added(bot, dispatcher, services.i18n, services.users, services.cards, user_id, card)

    sessions = CardSessions(services.sessionmaker, services.cards,
                            lease=timedelta(seconds=settings.PAYING_STALE_AFTER))
    server = WebAppServer(settings, services.users, services.i18n, on_card_added, sessions)
    dispatcher["webapp"] = server
    return server


async def _set_commands(bot: Bot, i18n: I18n) -> None:
    """Command descriptions in each language, and English for everyone else."""
    for language in (None, *LANGUAGES):
        with i18n.context(), i18n.use_locale(language or "en"):
            commands = [
                BotCommand(command="start", description=_("Main menu")),
                BotCommand(command="cancel", description=_("Cancel the current step")),
                BotCommand(command="language", description=_("Change the language")),
                BotCommand(command="help", description=_("Help")),
            ]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language)
