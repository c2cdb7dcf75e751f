"""Errors: the user gets a polite answer in their language; the trace goes to the log.

Losing the database or Redis while running is not a bug to trace per update: the user is told "we are having
trouble, try in a minute" (in webhook mode the update is given back to Telegram instead, to be re-sent), and the log gets one line per outage kind per minute (`OutageLog`), with a count of the
updates answered so since the last line.
"""

from __future__ import annotations

import contextlib
import logging
import time
import traceback
from collections.abc import Callable

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent, Update
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.services.users import suggest_language
from bot.settings import Settings

logger = logging.getLogger(__name__)

OUTAGE_LOG_EVERY = 60.0  # seconds between two log lines about the same outage

# Where an exception comes from, by the package its frames are in: a socket error raised inside the database driver
# is the database's, the same error inside a provider's HTTP client is not.
_PACKAGES = {"database": ("/sqlalchemy/", "/asyncpg/", "/aiosqlite/", "/sqlite3/"), "redis": ("/redis/",)}


def outage_kind(exc: BaseException) -> str | None:
    """"database" or "redis" when the exception says the service cannot be reached or used; else None."""
    try:
        from sqlalchemy import exc as sa
    except ImportError:  # pragma: no cover
        sa = None
    try:
        from redis import exceptions as redis_errors
    except ImportError:  # pragma: no cover
        redis_errors = None
    if redis_errors is not None and isinstance(exc, redis_errors.ConnectionError | redis_errors.TimeoutError):
        return "redis"
    if sa is not None:
        if isinstance(exc, sa.OperationalError | sa.InterfaceError | sa.DisconnectionError | sa.TimeoutError):
            return "database"
        if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
            return "database"
    if isinstance(exc, OSError):  # ConnectionRefusedError, TimeoutError, ...: raised raw by a driver's connect
        files = [frame.filename for frame in traceback.extract_tb(exc.__traceback__)]
        for kind, packages in _PACKAGES.items():
            if any(package in name for name in files for package in packages):
                return kind
    return None


class OutageLog:
    """One line per kind per `every` seconds; the updates in between are counted, not logged."""

    def __init__(self, every: float = OUTAGE_LOG_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.every, self.clock = every, clock
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def report(self, kind: str, exc: BaseException) -> bool:
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.every:
            self._quiet[kind] = self._quiet.get(kind, 0) + 1
            return False
        self._last[kind] = now
        quiet = self._quiet.pop(kind, 0)
        # The type only: a driver's message may name the values of the statement (bot/runtime/logs.py).
        logger.error("%s unavailable (%s): users are told to try again in a minute%s; the next line about it comes "
                     "in %g s at the earliest", kind, type(exc).__name__,
                     f" ({quiet} more updates since the last line)" if quiet else "", self.every)
        return True


OUTAGES = OutageLog()


def _trouble_text(update: Update, i18n: I18n | None) -> str:
    """In the language Telegram suggests: the saved one is in the database that is gone."""
    text = "We are having trouble on our side. Please try again in a minute."
    if i18n is None:
        return text
    sender = getattr(update.event, "from_user", None)
    with i18n.context(), i18n.use_locale(suggest_language(sender.language_code if sender else None)):
        return _("We are having trouble on our side. Please try again in a minute.")


async def unexpected(event: ErrorEvent, bot: Bot, i18n: I18n | None = None, settings: Settings | None = None) -> None:
    update = event.update
    chat_id = None
    if update.message:
        chat_id = update.message.chat.id
    elif update.callback_query:  # the press itself is answered by CallbackAnswerMiddleware
        chat_id = update.callback_query.from_user.id

    kind = outage_kind(event.exception)
    if kind is not None:
        OUTAGES.report(kind, event.exception)
        if settings is not None and settings.webhook_mode:
            # Not lost: the webhook server releases the update and answers 500, and Telegram's re-send runs it
            # again once the database (or Redis) is back (bot.runtime.webhook).
            raise event.exception
        text = _trouble_text(update, i18n)
        if update.callback_query:  # the middleware that answers presses never ran
            with contextlib.suppress(TelegramAPIError):
                await bot.answer_callback_query(update.callback_query.id)
        if chat_id is not None:
            await bot.send_message(chat_id, text)
        return

    # The traceback names the type and the place; no exception message is printed (bot/runtime/logs.py).
    logger.error("unhandled %s in update %s", type(event.exception).__name__, event.update.update_id,
                 exc_info=event.exception)
    if chat_id is not None:
        await bot.send_message(chat_id, _("Sorry, something went wrong on our side. Please try again."))


def create_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(unexpected)
    return router
