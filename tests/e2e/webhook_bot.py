"""The bot in webhook mode in the test process (bot.runtime.webhook.WebhookServer), registered with the Telegram
double by the deploy step itself (`python -m bot set-webhook`'s function), on a free loopback port."""

from __future__ import annotations

import socket

from bot.runtime.set_webhook import run_set_webhook
from bot.runtime.webhook import WebhookServer
from bot.settings import Settings

SECRET = "webhook-secret_42"
PATH = "/telegram/updates"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def webhook_settings(port: int | None = None) -> dict[str, object]:
    port = port or free_port()
    return {"WEBHOOK_URL": f"http://127.0.0.1:{port}{PATH}", "WEBHOOK_SECRET": SECRET, "WEBHOOK_HOST": "127.0.0.1",
            "WEBHOOK_PORT": port}


async def start_webhook_bot(settings: Settings) -> WebhookServer:
    """Migrated first, as a deploy would (a replica refuses an older schema), then served and registered."""
    from bot.storage.db import make_engine, upgrade

    engine = make_engine(settings.DATABASE_URL)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    server = WebhookServer(settings)
    await server.start()
    assert await run_set_webhook(settings) == 0
    return server
