"""The bot's own web server: the Payme card page (a Telegram Mini App) and the one endpoint it hands a token to.

The card number goes from the user's browser straight to Payme (seed 001): this server serves the page and then
receives only a verified token, with Telegram's signed initData to say whose it is. Nothing here reads a card
number, and the access log is off so that no query string or body is ever written down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiogram.utils.i18n import I18n
from aiogram.utils.web_app import safe_parse_webapp_init_data
from aiohttp import web

from bot.providers.errors import ProviderError, ProviderRejected
from bot.services.cards import CardFlowError, CardsService, CardView
from bot.services.users import LANGUAGES, UserService
from bot.settings import Settings
from bot.webapp.page import render_card_page, token_error_text

logger = logging.getLogger(__name__)

CARD_PAGE = "/card"
TOKEN_ENDPOINT = "/card/token"
INIT_DATA_MAX_AGE = 24 * 3600  # seconds: an initData older than this is not accepted (Mini App spec advice)
MAX_BODY = 16 * 1024

# What the bot does once a card is saved (tell the user in the chat, return to a waiting payment).
CardAdded = Callable[[int, CardView], Awaitable[None]]


@dataclass
class WebAppServer:
    settings: Settings
    cards: CardsService
    users: UserService
    i18n: I18n
    on_card_added: CardAdded
    url: str = ""  # the public base address pages are opened at
    _runner: web.AppRunner | None = field(default=None, init=False, repr=False)

    def page_url(self, language: str | None) -> str:
        return f"{self.url}{CARD_PAGE}?lang={language if language in LANGUAGES else 'en'}"

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_get(CARD_PAGE, self._page)
        app.router.add_post(TOKEN_ENDPOINT, self._token)
        return app

    async def start(self) -> str:
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.WEBAPP_HOST, self.settings.WEBAPP_PORT)
        await site.start()
        port = self._runner.addresses[0][1]  # the bound port, also when WEBAPP_PORT is 0
        local = f"http://{self.settings.WEBAPP_HOST}:{port}"
        self.url = (self.settings.WEBAPP_URL or local).rstrip("/")
        logger.info("card page at %s%s (listening on %s)", self.url, CARD_PAGE, local)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- routes --------------------------------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.Response:
        language = request.query.get("lang", "en")
        language = language if language in LANGUAGES else "en"
        with self.i18n.context(), self.i18n.use_locale(language):
            body = render_card_page(language=language, payme_url=self.settings.PAYME_BASE_URL or "",
                                    merchant_id=self.settings.PAYME_MERCHANT_ID or "", token_url=TOKEN_ENDPOINT)
        return web.Response(text=body, content_type="text/html", headers={
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        })

    async def _token(self, request: web.Request) -> web.Response:
        """{"initData": "...", "token": "..."} -> the card saved for the signed-in Telegram user."""
        try:
            payload = await request.json()
            init_data, token = str(payload["initData"]), str(payload["token"])
        except (ValueError, KeyError, TypeError):
            return _answer(400, "bad_request", "en", self.i18n)
        try:
            signed = safe_parse_webapp_init_data(self.settings.BOT_TOKEN.get_secret_value(), init_data)
        except ValueError:
            return _answer(401, "bad_signature", "en", self.i18n)
        if signed.user is None or time.time() - signed.auth_date.timestamp() > INIT_DATA_MAX_AGE:
            return _answer(401, "bad_signature", "en", self.i18n)
        user_id = signed.user.id
        profile = await self.users.get(user_id)
        language = (profile and profile.language) or "en"
        if profile is None or not profile.registered:
            return _answer(403, "not_registered", language, self.i18n)
        try:
            card = await self.cards.add_payme_card(user_id, token)
        except CardFlowError as error:
            return _answer(409, error.code, language, self.i18n, **error.params)
        except ProviderRejected as error:
            logger.info("card token of user %s refused by Payme: %s", user_id, error.code)
            return _answer(409, "card_not_verified", language, self.i18n)
        except ProviderError:
            return _answer(503, "payme_unavailable", language, self.i18n)
        await self.on_card_added(user_id, card)
        return web.json_response({"ok": True, "card": {"masked": card.masked, "name": card.name}})


def _answer(status: int, code: str, language: str, i18n: I18n, **params: object) -> web.Response:
    with i18n.context(), i18n.use_locale(language):
        text = token_error_text(code, **params)
    return web.json_response({"ok": False, "error": code, "message": text}, status=status)


async def stop_webapp(dispatcher) -> None:
    """Shutdown hook (bot.app starts the server, wired to the chat's card_added)."""
    server = dispatcher.workflow_data.get("webapp")
    if server is not None:
        await server.stop()
