"""`python -m bot set-webhook`: a deploy step that points Telegram at WEBHOOK_URL. Replicas never call setWebhook
or deleteWebhook themselves: N of them starting and stopping would fight over it."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from aiogram import Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

from bot.app import build_bot
from bot.settings import Settings
from handlers import build_routers


def allowed_updates() -> list[str]:
    """The update kinds our routers handle: Telegram sends no others."""
    dispatcher = Dispatcher()
    dispatcher.include_routers(*build_routers())
    return dispatcher.resolve_used_update_types()


async def run_set_webhook(settings: Settings) -> int:
    if not settings.WEBHOOK_URL:
        print("error: WEBHOOK_URL is not set: there is no webhook to register", file=sys.stderr)
        return 2
    bot = build_bot(settings)
    address = urlsplit(settings.WEBHOOK_URL)
    try:
        await bot.set_webhook(url=settings.WEBHOOK_URL, secret_token=settings.WEBHOOK_SECRET.get_secret_value(),
                              allowed_updates=allowed_updates(), max_connections=settings.WEBHOOK_MAX_CONNECTIONS,
                              drop_pending_updates=False)  # what Telegram holds is delivered to the replicas
        info = await bot.get_webhook_info()
    except TelegramNetworkError:
        print("error: the Bot API is unreachable: the webhook is not set", file=sys.stderr)
        return 2
    except TelegramAPIError as error:  # Telegram's own words (a bad address, a bad token): no secret in them
        print(f"error: Telegram refused the webhook: {error.message}", file=sys.stderr)
        return 2
    finally:
        await bot.session.close()
    print(f"webhook set: {address.scheme}://{address.netloc}{address.path} "
          f"({info.pending_update_count} updates waiting)")
    return 0
