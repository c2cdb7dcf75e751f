"""The bot's own web server: the Payme card page (a Telegram Mini App) and the one endpoint it hands a token to.

The card number goes from the user's browser straight to Payme (seed 001): this server serves the page and then
receives only a verified token, with the page's one-time binding session (bot.services.card_sessions: opened by the
chat for one user, its secret in the page's address) and Telegram's signed initData, which must name that same
user. Nothing here reads a card number, and the access log is off so that no address (it carries the session's
secret) or body is ever written down; nor are tokens or initData logged.

Every answer of the token endpoint is JSON with a message in the user's language, which the page shows; a card
that is saved stays saved and is answered 200 even when the chat cannot be told of it.

Headers: a strict Content-Security-Policy (bot.webapp.page.content_security_policy) with `frame-ancestors` limited
to Telegram's web client. No X-Frame-Options: it cannot name an allowed framer (ALLOW-FROM is obsolete), and
DENY or SAMEORIGIN would break the web client in browsers that still read it; every current browser obeys
`frame-ancestors` instead. No caching of the page, its script or its answers.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiogram.utils.i18n import I18n
from aiogram.utils.web_app import safe_parse_webapp_init_data
from aiohttp import web

from bot.services.card_sessions import Answer, CardSessions, PageState
from bot.services.cards import CardView
from bot.services.users import LANGUAGES, UserService
from bot.settings import Settings
from bot.webapp.page import (
    SCRIPT,
    STYLE,
    added_text,
    content_security_policy,
    render_card_page,
    token_error_text,
)

logger = logging.getLogger(__name__)

CARD_PAGE = "/card"  # without a session: says to open the page from the bot
SESSION_PAGE = "/s/{session}/card"  # the page the chat's button opens (the session's secret in the path)
TOKEN_ENDPOINT = "/card/token"
PAGE_SCRIPT = "/card/page.js"
PAGE_STYLE = "/card/page.css"
INIT_DATA_MAX_AGE = 24 * 3600  # seconds: an initData older than this is not accepted (Mini App spec advice)
MAX_BODY = 16 * 1024
NOT_CACHED = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

# What the bot does once a card is saved (tell the user in the chat, return to a waiting payment).
CardAdded = Callable[[int, CardView], Awaitable[None]]


@dataclass
class WebAppServer:
    settings: Settings
    users: UserService
    i18n: I18n
    on_card_added: CardAdded
    sessions: CardSessions
    url: str = ""  # the public base address pages are opened at
    _runner: web.AppRunner | None = field(default=None, init=False, repr=False)

    async def open_page(self, user_id: int, language: str | None) -> str:
        """A new one-time binding session for the user; the address of the page that binds through it."""
        secret = await self.sessions.open(user_id)
        page = SESSION_PAGE.format(session=secret)
        return f"{self.url}{page}?lang={language if language in LANGUAGES else 'en'}"

    def routes(self) -> list[web.RouteDef]:
        """The page's routes: on this server's own application (polling mode) or on the webhook's."""
        return [web.get(CARD_PAGE, self._page), web.get(SESSION_PAGE, self._page), web.get(PAGE_SCRIPT, self._script),
                web.get(PAGE_STYLE, self._style), web.post(TOKEN_ENDPOINT, self._token)]

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_routes(self.routes())
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
        language = _language(request.query.get("lang"))
        secret = request.match_info.get("session")
        state = await self.sessions.page_state(secret)
        with self.i18n.context(), self.i18n.use_locale(language):
            notice = {PageState.LIVE: None, PageState.USED: token_error_text("page_used"),
                      PageState.GONE: token_error_text("page_expired" if secret else "page_unknown")}[state]
            body = render_card_page(language=language, payme_url=self.settings.PAYME_BASE_URL or "",
                                    merchant_id=self.settings.PAYME_MERCHANT_ID or "", token_url=TOKEN_ENDPOINT,
                                    session=secret if state == PageState.LIVE else None, notice=notice,
                                    script_url=PAGE_SCRIPT, style_url=PAGE_STYLE)
        return web.Response(text=body, content_type="text/html", headers={
            **NOT_CACHED,
            "Content-Security-Policy": content_security_policy(self.settings.PAYME_BASE_URL or ""),
            "Referrer-Policy": "no-referrer",  # the address carries the session's secret
        })

    async def _script(self, request: web.Request) -> web.Response:
        return web.Response(body=SCRIPT, content_type="text/javascript", charset="utf-8", headers=NOT_CACHED)

    async def _style(self, request: web.Request) -> web.Response:
        return web.Response(body=STYLE, content_type="text/css", charset="utf-8", headers=NOT_CACHED)

    async def _token(self, request: web.Request) -> web.Response:
        """{"session", "initData", "token", "lang"} -> the card saved for the signed-in Telegram user, through the
        page's binding session."""
        try:
            payload = await request.json()
            init_data, token = str(payload["initData"]), str(payload["token"])
            session = payload.get("session")
            language = _language(payload.get("lang"))
        except (ValueError, KeyError, TypeError, AttributeError):
            return self._answer(Answer(400, "bad_request"), "en")
        try:
            signed = safe_parse_webapp_init_data(self.settings.BOT_TOKEN.get_secret_value(), init_data)
        except ValueError:
            return self._answer(Answer(401, "bad_signature"), language)
        if signed.user is None or time.time() - signed.auth_date.timestamp() > INIT_DATA_MAX_AGE:
            return self._answer(Answer(401, "bad_signature"), language)
        user_id = signed.user.id
        profile = await self.users.get(user_id)
        language = (profile and profile.language) or language
        if profile is None or not profile.registered:
            return self._answer(Answer(403, "not_registered"), language)
        bound = await self.sessions.bind(session if isinstance(session, str) else None, user_id, token)
        if bound.added is not None:
            await self._tell_chat(user_id, bound.added)
        return self._answer(bound.answer, language)

    async def _tell_chat(self, user_id: int, card: CardView) -> None:
        """Best effort: the card is saved whatever becomes of the chat's notice, and the page says so."""
        try:
            await self.on_card_added(user_id, card)
        except Exception as error:  # noqa: BLE001 - Telegram refused, or anything after it: logged, not raised
            frame = traceback.extract_tb(error.__traceback__)[-1]
            logger.warning("the chat could not be told of a card added on the card page (user %s): %s at %s:%s",
                           user_id, type(error).__name__, Path(frame.filename).name, frame.lineno)

    def _answer(self, answer: Answer, language: str) -> web.Response:
        with self.i18n.context(), self.i18n.use_locale(language):
            if answer.ok:
                body = {"ok": True, "card": answer.card, "message": added_text(answer.card["masked"])}
            else:
                body = {"ok": False, "error": answer.code,
                        "message": token_error_text(answer.code, **answer.params)}
        return web.json_response(body, status=answer.status, headers=NOT_CACHED)


def _language(value: object) -> str:
    return value if isinstance(value, str) and value in LANGUAGES else "en"


async def stop_webapp(dispatcher) -> None:
    """Shutdown hook (bot.app starts the server, wired to the chat's card_added)."""
    server = dispatcher.workflow_data.get("webapp")
    if server is not None:
        await server.stop()
