"""A Telegram Bot API double: a real HTTP server on 127.0.0.1 that aiogram polls like api.telegram.org.

The bot under test runs unchanged (`TelegramAPIServer.from_base(double.base_url)`); tests and the terminal demo
play users through FakeUser. The double validates like Telegram (HTML, lengths, button data, edits), so a bug
fails here instead of in production. State lives in the double, so a restarted bot sees the same chats.

Faults on command, queued per Bot API method (successive faults for successive calls of that method), each marked
in the call ledger (`ApiCall.fault`): `fail_next(method, "429", retry_after=N)`, `fail_next(method, "502")` (any
5xx), `fail_next("deleteMessage", "refuse")` (or `refuse_deletes = True` for every delete), and
`hold_next(method, apply=...)`, which parks the request before or after its effect until the test releases it.

Webhook delivery, as Telegram does it: after `setWebhook` every update is POSTed as JSON to the URL (with
`X-Telegram-Bot-Api-Secret-Token` when a secret is set) and getUpdates answers 409. One chat's updates go strictly
in order (the next is not sent until the previous got a 2xx); different chats go in parallel, at most
`max_connections` requests at once. A non-2xx answer, a timeout (`webhook_timeout`, 60 s like Telegram) or a broken
connection re-sends the update after `webhook_backoff` seconds. Every attempt is in `deliveries`; `await
delivered(update_id)` waits for the 2xx. A method in a 2xx answer's body (aiogram's webhook reply) is executed and
recorded in the ledger like a call. `deleteWebhook` returns to long polling with the pending updates kept.
The double delivers only to loopback hosts: another host is accepted by setWebhook but every delivery fails.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiogram.methods
import aiohttp
from aiohttp import web

from bot.sandbox.faults import Hold
from bot.sandbox.telegram_html import EntityParseError, parse_html, strip_text
from bot.sandbox.telegram_user import TEXT_LIMIT, Button, ButtonNotFound, FakeUser, Msg

CAPTION_LIMIT = 1024

__all__ = ["ApiCall", "ApiError", "Button", "ButtonNotFound", "Delivery", "FakeUser", "Hold", "Msg", "TelegramDouble",
           "Webhook"]

JSON_FIELDS = frozenset({
    "reply_markup", "commands", "scope", "link_preview_options", "reply_parameters", "entities",
    "allowed_updates", "caption_entities", "message_ids", "media",
})
INT_FIELDS = frozenset({
    "chat_id", "message_id", "offset", "limit", "timeout", "user_id", "from_chat_id", "message_thread_id",
    "cache_time", "reply_to_message_id", "max_connections",
})
BOOL_FIELDS = frozenset({
    "show_alert", "disable_notification", "protect_content", "drop_pending_updates", "disable_web_page_preview",
    "allow_sending_without_reply",
})
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice", "upload_document",
    "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})
UPDATE_TYPES_BY_DEFAULT = frozenset({"message", "edited_message", "callback_query", "inline_query",
                                     "chosen_inline_result", "my_chat_member", "pre_checkout_query"})
INLINE_ACTIONS = ("callback_data", "url", "web_app", "login_url", "switch_inline_query",
                  "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
                  "callback_game", "pay")
SCOPE_TYPES = frozenset({"default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
                         "chat_administrators", "chat_member"})
NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message")
logger = logging.getLogger(__name__)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_INTEGER = re.compile(r"-?\d+")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_CONFLICT = ("Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
                    "webhook first")
# Every method the real Bot API has, so a real but unemulated one is told apart from a typo.
TELEGRAM_METHODS = {
    name.lower(): name
    for name in (getattr(getattr(aiogram.methods, attr), "__api_method__", None) for attr in dir(aiogram.methods))
    if isinstance(name, str)
}


class ApiError(Exception):
    """An error envelope: the HTTP status equals error_code, as with Telegram."""

    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters  # ResponseParameters, e.g. {"retry_after": 5}

    def envelope(self) -> dict:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class ApiCall:
    method: str  # canonical camelCase, or the name as requested when Telegram has no such method
    params: dict
    ok: bool
    response: dict  # the whole envelope sent back ({} when none was)
    status: int = 200  # 0: the client got no answer (a hold dropped, or the client hung up while held)
    token: str = ""
    fault: str | None = None  # the injected fault that shaped this call: "429", "500"…, "refuse", "hold"
    webhook_reply: bool = False  # the method came in the body of a webhook answer (no one gets this answer)

    @property
    def description(self) -> str | None:
        return self.response.get("description")

    @property
    def answered(self) -> bool:
        return self.status != 0


@dataclass
class _Fault:
    mode: str  # "429", a 5xx status, "refuse", "hold"
    retry_after: int | None = None
    hold: Hold | None = None
    apply: bool = False  # a hold: park after the method's effect (True) or before it (False)

    def error(self) -> ApiError:
        if self.mode == "429":
            return ApiError(429, f"Too Many Requests: retry after {self.retry_after}",
                            {"retry_after": self.retry_after})
        if self.mode == "refuse":
            return bad("message can't be deleted")
        status = int(self.mode)
        return ApiError(status, HTTPStatus(status).phrase)


def _server_error(mode: str) -> bool:
    if not mode.isdigit():
        return False
    try:
        return 500 <= HTTPStatus(int(mode)) <= 599
    except ValueError:
        return False


Handler = Callable[[dict], Awaitable[Any]]


@dataclass(frozen=True)
class Webhook:
    """The webhook as the last setWebhook left it."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: tuple[str, ...] | None = None  # as given; None when setWebhook left them as they were
    ip_address: str | None = None


@dataclass
class Delivery:
    """One attempt to POST an update to the webhook, and what came of it."""

    update_id: int
    chat: int | str  # the ordering key: the chat's id (or the sender's, or the update's own when there is none)
    attempt: int  # 1 for the first try of this update, 2 for its first re-send…
    url: str
    at: float  # wall-clock time the attempt started (time.time())
    status: int | None = None  # the HTTP status answered; None when there was no answer
    error: str | None = None  # Telegram's words for a failure: "Wrong response from the webhook: 500 …" etc.
    elapsed: float = 0.0  # seconds until the answer or the failure
    headers: dict[str, str] = field(default_factory=dict)  # the headers the double sent

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status <= 299


class TelegramDouble:
    def __init__(self, *, bot_id: int = 42, token: str | None = None, username: str = "sandbox_pay_bot",
                 first_name: str = "Pay Bot", test_environment: bool = False, webhook_timeout: float = 60.0,
                 webhook_backoff: float = 1.0) -> None:
        # Telegram's test environment lets Mini Apps be plain-HTTP links (the Mini App spec), for local pages.
        self.test_environment = test_environment
        self.bot_id = bot_id
        self.username = username
        self.first_name = first_name
        self.token = token
        self.base_url = ""
        self.calls: list[ApiCall] = []
        self.tokens_seen: set[str] = set()
        self.users: dict[int, FakeUser] = {}
        self.updates: list[dict] = []  # not yet confirmed by an offset
        self.dropped_updates: list[dict] = []  # types the bot's allowed_updates excluded
        self.created_updates: dict[int, dict] = {}  # every update made, by update_id (resend() delivers one again)
        self._commands: dict[tuple[str, str], list[dict]] = {}
        self._open_queries: dict[str, FakeUser] = {}
        self._allowed_updates: frozenset[str] = UPDATE_TYPES_BY_DEFAULT
        self._next_update_id = 100_000_001
        self._updates_changed = asyncio.Condition()
        self._poll_generation = 0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._faults: dict[str, deque[_Fault]] = {}
        self._holds: list[Hold] = []  # every hold handed out and not yet let go by stop()
        self.refuse_deletes = False  # every deleteMessage answers "message can't be deleted" (a queued fault first)
        # webhook delivery: the current webhook, every attempt, and Telegram's timings (tests shorten them)
        self.webhook: Webhook | None = None
        self.deliveries: list[Delivery] = []
        self.webhook_timeout = webhook_timeout  # seconds a delivery waits for the answer, like Telegram's minute
        self.webhook_backoff = webhook_backoff  # seconds before an update is re-sent after a failed attempt
        self._last_error: tuple[int, str] | None = None  # (date, message) for getWebhookInfo
        self._chat_workers: dict[int | str, asyncio.Task] = {}  # one delivery task per chat with pending updates
        self._connections: asyncio.Semaphore | None = None  # max_connections requests in flight
        self._client: aiohttp.ClientSession | None = None
        self._methods: dict[str, Handler] = {
            "getMe": self._get_me, "getUpdates": self._get_updates, "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook, "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands, "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message, "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup, "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages, "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action, "close": self._true, "logOut": self._true,
            "sendPhoto": self._send_photo,
        }

    # ---- lifecycle ------------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.base_url = f"http://{host}:{bound[1]}"
        self._deliver_pending()  # a webhook set before a stop() goes on delivering
        return self.base_url

    async def stop(self) -> None:
        """Releases long polls at once, then closes the server; the chats stay for a later start().

        Webhook deliveries stop (an attempt in flight is cancelled and recorded as such; its update stays pending and
        is sent again after a later start()). Every hold is released with proceed=False (a parked request's
        connection closes unanswered) and holds not yet reached leave the queue; other queued faults stay for a later
        start().
        """
        for queue in self._faults.values():
            for fault in [f for f in queue if f.hold is not None]:
                queue.remove(fault)
        holds, self._holds = self._holds, []
        for hold in holds:
            hold.release(proceed=False)
        await self._stop_deliveries()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is None:
            return
        async with self._updates_changed:
            self._closing = True
            self._updates_changed.notify_all()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> TelegramDouble:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---- simulation API -------------------------------------------------------------------------------------

    @property
    def bot_user(self) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.first_name, "username": self.username}

    def user(self, user_id: int, *, first_name: str = "Aziz", last_name: str | None = None,
             username: str | None = None, language_code: str | None = "en", phone: str = "+998901234567") -> FakeUser:
        """The user with this id; created on first use, the same object (and chat) afterwards."""
        if user_id not in self.users:
            self.users[user_id] = FakeUser(self, user_id, first_name=first_name, last_name=last_name,
                                           username=username, language_code=language_code, phone=phone)
        return self.users[user_id]

    def web_app_init_data(self, user_id: int, bot_token: str, *, auth_date: int | None = None) -> str:
        """What Telegram hands a Mini App opened by this user: the query string signed with the bot's token,
        exactly as the Mini App spec describes (HMAC-SHA256 keyed by HMAC("WebAppData", token))."""
        user = self.user(user_id)
        fields = {
            "query_id": f"AAH{user_id}",
            "user": json.dumps(user.user_dict, separators=(",", ":"), ensure_ascii=False),
            "auth_date": str(auth_date if auth_date is not None else int(time.time())),
        }
        check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
        secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
        fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
        return urlencode(fields)

    def calls_of(self, method: str) -> list[ApiCall]:
        name = TELEGRAM_METHODS.get(method.lower(), method)
        return [call for call in self.calls if call.method == name]

    def commands(self, language_code: str | None = None, scope_type: str = "default",
                 chat_id: int | None = None) -> list[dict]:
        """The command list stored for exactly this scope and language (no fallback, like getMyCommands)."""
        scope: dict[str, Any] = {"type": scope_type}
        if chat_id is not None:
            scope["chat_id"] = chat_id
        return [dict(c) for c in self._commands.get((_scope_key(scope), language_code or ""), [])]

    # ---- faults ---------------------------------------------------------------------------------------------

    def fail_next(self, method: str, mode: str, *, retry_after: int | None = None) -> None:
        """The next call of `method` that is not already claimed by a fault fails, and its effect does not happen.

        mode "429": HTTP 429 "Too Many Requests: retry after N" with parameters.retry_after (N = retry_after, 1 by
        default), as Telegram's flood control answers. A 5xx status as text ("500", "502", …): that status with
        Telegram's JSON error shape. "refuse" (deleteMessage only): 400 "message can't be deleted", the message
        stays. Several faults queue up for successive calls of the same method.
        """
        name = _method_name(method)
        if retry_after is not None and mode != "429":
            raise ValueError("retry_after goes with a '429' fault")
        if mode == "429":
            seconds = 1 if retry_after is None else retry_after
            if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
                raise ValueError(f"retry_after must be a whole number of seconds, not {seconds!r}")
            fault = _Fault("429", retry_after=seconds)
        elif mode == "refuse":
            if name != "deleteMessage":
                raise ValueError("a 'refuse' fault is for deleteMessage")
            fault = _Fault("refuse")
        elif mode == "hold":
            raise ValueError("a hold is ordered with hold_next(), which returns it")
        elif _server_error(mode):
            fault = _Fault(mode)
        else:
            raise ValueError(f"unknown fault mode {mode!r}: '429', a 5xx status such as '500', or 'refuse'")
        self._faults.setdefault(name, deque()).append(fault)

    def hold_next(self, method: str, *, apply: bool = False) -> Hold:
        """The next call of `method` (after any fault queued before this) parks until the test releases it.

        apply=False parks before the method's effect, apply=True after it (a sent message is already in the chat).
        `hold.release()` answers as usual; `release(proceed=False)` closes the connection unanswered (with
        apply=False the effect then never happens). `await hold.reached()` waits for the request to park.
        """
        hold = Hold()
        self._faults.setdefault(_method_name(method), deque()).append(_Fault("hold", hold=hold, apply=apply))
        self._holds.append(hold)
        return hold

    def pending_faults(self, method: str) -> list[str]:
        """The modes still queued for `method`, next first."""
        return [fault.mode for fault in self._faults.get(_method_name(method), ())]

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if queue:
            return queue.popleft()
        if method == "deleteMessage" and self.refuse_deletes:
            return _Fault("refuse")
        return None

    @property
    def polls_started(self) -> int:
        """How many getUpdates requests have reached the double."""
        return self._poll_generation

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Until predicate() holds; re-checked when the update queue changes, a long poll starts or a call is
        recorded in the ledger."""
        async with self._updates_changed:
            await asyncio.wait_for(self._updates_changed.wait_for(predicate), timeout)

    @property
    def last_update_id(self) -> int:
        """The update_id of the update most recently created (by any user's action); 0 before the first."""
        return self._next_update_id - 1 if self._next_update_id > 100_000_001 else 0

    async def delivered(self, update_id: int, timeout: float = 5.0) -> Delivery:
        """Until update `update_id` has been answered 2xx by the webhook; returns that attempt."""
        def accepted() -> Delivery | None:
            return next((d for d in self.deliveries if d.update_id == update_id and d.ok), None)

        await self.wait_for(lambda: accepted() is not None, timeout)
        found = accepted()
        assert found is not None
        return found

    async def resend(self, update_id: int) -> None:
        """Delivers an update once more, as Telegram does when the answer to its post never reached it (a dropped
        connection after the bot had handled it): the bot must not run it twice."""
        async with self._updates_changed:
            self.updates.append(self.created_updates[update_id])
            self._deliver_pending()
            self._updates_changed.notify_all()

    def deliveries_of(self, update_id: int) -> list[Delivery]:
        """Every attempt to deliver this update, first first."""
        return [d for d in self.deliveries if d.update_id == update_id]

    async def _push_update(self, kind: str, payload: dict) -> None:
        """Queues an update; Telegram does not create updates of types the bot's allowed_updates excludes."""
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self.created_updates[update["update_id"]] = update
        if kind not in self._allowed_updates:
            self.dropped_updates.append(update)
            return
        async with self._updates_changed:
            self.updates.append(update)
            self._deliver_pending()
            self._updates_changed.notify_all()

    # ---- webhook delivery -----------------------------------------------------------------------------------

    def _deliver_pending(self) -> None:
        """Starts a delivery task for every chat with pending updates that has none (no await: no race with the
        task's own decision to end)."""
        if self.webhook is None or self._runner is None:
            return
        for update in self.updates:
            key = _chat_key(update)
            if key not in self._chat_workers:
                self._chat_workers[key] = asyncio.create_task(self._deliver_chat(key),
                                                              name=f"telegram-webhook-{key}")

    async def _stop_deliveries(self) -> None:
        workers, self._chat_workers = list(self._chat_workers.values()), {}
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    async def _deliver_chat(self, key: int | str) -> None:
        """One chat's pending updates, strictly in order: the next only after the previous got a 2xx."""
        me = asyncio.current_task()
        try:
            while True:
                update = next((u for u in self.updates if _chat_key(u) == key), None)
                if update is None or self.webhook is None:
                    return
                await self._deliver(update, key)
        finally:
            if self._chat_workers.get(key) is me:
                del self._chat_workers[key]

    async def _deliver(self, update: dict, key: int | str) -> None:
        """Sends one update until the webhook answers 2xx, re-sending after webhook_backoff."""
        attempt = 0
        while True:
            webhook = self.webhook
            assert webhook is not None and self._connections is not None
            attempt += 1
            delivery: Delivery | None = None
            reply: tuple[str, dict] | None = None
            try:
                async with self._connections:  # `at` is when the request goes out, after waiting for a connection
                    delivery = Delivery(update["update_id"], key, attempt, webhook.url, time.time())
                    started = time.monotonic()
                    reply = await self._post(webhook, update, delivery)
                    delivery.elapsed = time.monotonic() - started
            except asyncio.CancelledError:
                if delivery is not None:
                    delivery.error = "cancelled: the webhook was deleted or changed, or the double stopped"
                    delivery.elapsed = time.monotonic() - started
                    self.deliveries.append(delivery)
                raise
            async with self._updates_changed:
                self.deliveries.append(delivery)
                if delivery.ok:
                    self.updates = [u for u in self.updates if u["update_id"] != update["update_id"]]
                else:
                    self._last_error = (_now(), delivery.error or "")
                self._updates_changed.notify_all()
            if delivery.ok:
                if reply is not None:
                    await self._webhook_reply(*reply)
                return
            await asyncio.sleep(self.webhook_backoff)

    async def _post(self, webhook: Webhook, update: dict, delivery: Delivery) -> tuple[str, dict] | None:
        """One POST; fills in the delivery's status or error. Returns a method the answer's body asks for."""
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers[SECRET_HEADER] = webhook.secret_token
        delivery.headers = dict(headers)
        host = urlsplit(webhook.url).hostname or ""
        if not _loopback(host):
            delivery.error = f"Failed to resolve host: the Telegram double delivers only to loopback, not {host}"
            return None
        if self._client is None:
            # A fresh connection per delivery (no keep-alive): with replicas listening on one port (SO_REUSEPORT)
            # the kernel picks a replica per connection, so a reused connection would pin a chat to one of them.
            self._client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        body = json.dumps(update, ensure_ascii=False).encode()
        try:
            async with self._client.post(webhook.url, data=body, headers=headers, ssl=False, allow_redirects=False,
                                         timeout=aiohttp.ClientTimeout(total=self.webhook_timeout)) as response:
                delivery.status = response.status
                if not 200 <= response.status <= 299:
                    delivery.error = f"Wrong response from the webhook: {response.status} {response.reason or ''}"
                    delivery.error = delivery.error.rstrip()
                    return None
                return await _reply_method(response)
        except TimeoutError:
            delivery.status, delivery.error = None, "Read timeout expired"
        except aiohttp.ClientConnectorError:
            delivery.error = "Connection refused"
        except (aiohttp.ClientError, OSError) as exc:
            delivery.status, delivery.error = None, f"Connection reset by peer ({type(exc).__name__})"
        return None

    async def _webhook_reply(self, method: str, params: dict) -> None:
        """A method in the answer's body is executed as Telegram does; its result goes nowhere."""
        name = TELEGRAM_METHODS.get(method.lower(), method)
        if method.lower() not in TELEGRAM_METHODS:
            status, body = 404, ApiError(404, "Not Found").envelope()
        else:
            status, body = await self._answer(name, params)
        await self._record(ApiCall(name, params, body["ok"], body, status, self.token or "", None, True))

    # ---- HTTP -----------------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        token, requested = request.match_info["token"], request.match_info["method"]
        method = TELEGRAM_METHODS.get(requested.lower(), requested)
        self.tokens_seen.add(token)
        params: dict = {}
        fault: _Fault | None = None
        try:
            if self.token is not None and token != self.token:
                raise ApiError(401, "Unauthorized")
            params = await _read_params(request)
            if requested.lower() not in TELEGRAM_METHODS:
                raise ApiError(404, "Not Found")
            fault = self._take_fault(method)
            if fault is not None and fault.hold is None:
                raise fault.error()  # answered instead of the method: its effect does not happen
        except ApiError as error:
            status, body = error.status, error.envelope()
        else:
            hold = fault.hold if fault is not None else None
            if hold is not None and not fault.apply and not await hold.park():
                return await self._hang_up(request, ApiCall(method, params, False, {}, 0, token, "hold"))
            status, body = await self._answer(method, params)
            if hold is not None and fault.apply and not await hold.park():
                return await self._hang_up(request, ApiCall(method, params, False, {}, 0, token, "hold"))
            if hold is not None and (request.transport is None or request.transport.is_closing()):
                # the client hung up while the request was parked (a killed bot): it never gets this answer
                return await self._hang_up(request, ApiCall(method, params, False, {}, 0, token, "hold"))
        await self._record(ApiCall(method, params, body["ok"], body, status, token,
                                   fault.mode if fault is not None else None))
        return web.json_response(body, status=status, dumps=partial(json.dumps, ensure_ascii=False))

    async def _answer(self, method: str, params: dict) -> tuple[int, dict]:
        """The method's own answer: (HTTP status, envelope)."""
        try:
            handler = self._methods.get(method)
            if handler is None:
                raise ApiError(501, f"Not Implemented: the Telegram double does not emulate {method}")
            return 200, {"ok": True, "result": await handler(params)}
        except ApiError as error:
            return error.status, error.envelope()
        except Exception:  # a bug in the double: answer like a server error instead of a bare 500 page
            logger.exception("the Telegram double failed on %s", method)
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}

    async def _hang_up(self, request: web.Request, call: ApiCall) -> web.Response:
        """Closes the connection without an answer; the client sees a dropped connection."""
        await self._record(call)
        if request.transport is not None:  # None when the client has already hung up
            request.transport.close()
        # aiohttp finds the connection closed when it writes this, and drops it quietly.
        return web.Response(status=504)

    async def _record(self, call: ApiCall) -> None:
        async with self._updates_changed:
            self.calls.append(call)
            self._updates_changed.notify_all()

    # ---- methods: bot and updates ---------------------------------------------------------------------------

    async def _true(self, params: dict) -> bool:
        return True

    async def _get_me(self, params: dict) -> dict:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}

    async def _get_webhook_info(self, params: dict) -> dict:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self.updates)}
        webhook = self.webhook
        if webhook is None:
            return info
        info.update(url=webhook.url, max_connections=webhook.max_connections)
        if webhook.ip_address:
            info["ip_address"] = webhook.ip_address
        if self._last_error is not None:
            info["last_error_date"], info["last_error_message"] = self._last_error
        if self._allowed_updates != UPDATE_TYPES_BY_DEFAULT:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    async def _set_webhook(self, params: dict) -> bool:
        """Registers the webhook; pending updates stay (and are delivered) unless drop_pending_updates.
        An empty url removes the webhook, as on Telegram."""
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            # Telegram takes HTTPS only; the double also takes plain http to a loopback receiver (tests)
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        max_connections = _int(params, "max_connections", 40)
        if not 1 <= max_connections <= 100:
            raise bad("bad webhook: max_connections must be between 1 and 100")
        secret = params.get("secret_token")
        if secret is not None and secret != "" and not (isinstance(secret, str) and _SECRET_TOKEN.fullmatch(secret)):
            raise bad("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise bad("can't parse allowed_updates JSON array")
        await self._stop_deliveries()  # an attempt in flight to the old address is abandoned and re-sent
        if allowed is not None:
            self._allowed_updates = frozenset(allowed) or UPDATE_TYPES_BY_DEFAULT
        async with self._updates_changed:
            if params.get("drop_pending_updates"):
                self.updates.clear()
            self.webhook = Webhook(url, secret or None, max_connections,
                                   tuple(allowed) if allowed is not None else None,
                                   str(params["ip_address"]) if params.get("ip_address") else None)
            self._connections = asyncio.Semaphore(max_connections)
            self._last_error = None
            self._poll_generation += 1  # a long poll in progress ends with 409, as on Telegram
            self._updates_changed.notify_all()
            self._deliver_pending()
        return True

    async def _delete_webhook(self, params: dict) -> bool:
        """Back to long polling: pending updates stay for getUpdates unless drop_pending_updates."""
        await self._stop_deliveries()
        async with self._updates_changed:
            self.webhook = None
            self._connections = None
            self._last_error = None
            if params.get("drop_pending_updates"):
                self.updates.clear()
            self._updates_changed.notify_all()
        return True

    async def _get_updates(self, params: dict) -> list[dict]:
        """Long polling: answers as soon as there is an update, or with [] after `timeout` seconds."""
        if self.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset, limit, timeout = (_int(params, name, default) for name, default in
                                  (("offset", 0), ("limit", 100), ("timeout", 0)))
        limit = min(max(limit, 1), 100)
        if "allowed_updates" in params and params["allowed_updates"] is not None:
            if not isinstance(params["allowed_updates"], list):
                raise bad("can't parse allowed_updates JSON array")
            self._allowed_updates = frozenset(params["allowed_updates"]) or UPDATE_TYPES_BY_DEFAULT
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0)
        async with self._updates_changed:
            self._poll_generation += 1
            generation = self._poll_generation
            self._updates_changed.notify_all()  # an older long poll ends with 409, as on Telegram
            if offset > 0:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            elif offset < 0:
                self.updates = self.updates[offset:]
            while True:
                if self.webhook is not None:
                    raise ApiError(409, "Conflict: terminated by setWebhook request")
                if generation != self._poll_generation:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure that only "
                                        "one bot instance is running")
                if self.updates or self._closing:
                    return list(self.updates[:limit])
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                try:
                    await asyncio.wait_for(self._updates_changed.wait(), remaining)
                except TimeoutError:
                    pass

    # ---- methods: commands ----------------------------------------------------------------------------------

    def _command_key(self, params: dict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in SCOPE_TYPES:
            raise bad("can't parse BotCommandScope JSON object")
        if scope["type"] in ("chat", "chat_administrators", "chat_member"):
            self._user_of(scope)
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad("invalid language code specified")
        return _scope_key(scope), language

    async def _set_my_commands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad("BOT_COMMANDS_TOO_MUCH")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise bad("BOT_COMMAND_INVALID")
            description = str(command.get("description", "")).strip()
            if not 1 <= len(description) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command["command"], "description": description})
        key = self._command_key(params)
        if cleaned:
            self._commands[key] = cleaned
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: dict) -> list[dict]:
        return [dict(c) for c in self._commands.get(self._command_key(params), [])]

    async def _delete_my_commands(self, params: dict) -> bool:
        self._commands.pop(self._command_key(params), None)
        return True

    # ---- methods: messages ----------------------------------------------------------------------------------

    def _user_of(self, params: dict, *, writing: bool = False) -> FakeUser:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str) and _INTEGER.fullmatch(chat_id):
            chat_id = int(chat_id)
        if chat_id is None or chat_id == "":
            raise bad("chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            user = next((u for u in self.users.values() if u.username and f"@{u.username}" == chat_id), None)
        else:
            user = self.users.get(chat_id) if isinstance(chat_id, int) else None
        if user is None:
            raise bad("chat not found")
        if writing and not user.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return user

    def _target(self, user: FakeUser, params: dict) -> Msg | None:
        message_id = params.get("message_id")
        if message_id is None:
            if params.get("inline_message_id"):
                raise bad("inline messages are not emulated by the double")
            raise bad("message identifier is not specified")
        return user.message(message_id) if isinstance(message_id, int) else None

    async def _send_message(self, params: dict) -> dict:
        user = self._user_of(params, writing=True)
        text, entities = _formatted_text(params)
        inline, reply_keyboard = _reply_markup(params.get("reply_markup"), inline_only=False,
                                                    http_web_apps=self.test_environment)
        reply_to = _reply_to(user, params)
        msg = Msg(0, True, text=text, html=str(params.get("text", "")), entities=entities,
                  buttons=_buttons(inline), reply_to=reply_to,
                  link_preview_options=params.get("link_preview_options"))
        msg.message_id = user._take_message_id()
        msg.raw = self._message_raw(user, msg, inline)
        if reply_to is not None:
            replied = user.message(reply_to)
            msg.raw["reply_to_message"] = {k: v for k, v in replied.raw.items() if k != "reply_to_message"}
        await user._bot_sent(msg, reply_keyboard)
        return msg.raw

    def _message_raw(self, user: FakeUser, msg: Msg, inline: list[list[dict]] | None) -> dict:
        raw: dict[str, Any] = {"message_id": msg.message_id, "from": self.bot_user, "chat": user.chat_dict,
                               "date": msg.raw.get("date") or _now(), "text": msg.text}
        if msg.entities:
            raw["entities"] = msg.entities
        if inline:
            raw["reply_markup"] = {"inline_keyboard": inline}
        return raw

    def _editable(self, params: dict) -> tuple[FakeUser, Msg]:
        user = self._user_of(params)
        msg = self._target(user, params)
        if msg is None or msg.deleted:
            raise bad("message to edit not found")
        if not msg.from_bot:
            raise bad("message can't be edited")
        return user, msg

    async def _edit_message_text(self, params: dict) -> dict:
        user, msg = self._editable(params)
        text, entities = _formatted_text(params)
        inline, _ = _reply_markup(params.get("reply_markup"), inline_only=True,
                                   http_web_apps=self.test_environment)
        if msg.kind != "text":
            raise bad("there is no text in the message to edit")
        if (text, entities, _buttons(inline)) == (msg.text, msg.entities, msg.buttons):
            raise bad(NOT_MODIFIED)
        return await self._apply_edit(user, msg, text=text, html=str(params.get("text", "")), entities=entities,
                                      inline=inline)

    async def _edit_message_reply_markup(self, params: dict) -> dict:
        user, msg = self._editable(params)
        inline, _ = _reply_markup(params.get("reply_markup"), inline_only=True,
                                   http_web_apps=self.test_environment)
        if _buttons(inline) == msg.buttons:
            raise bad(NOT_MODIFIED)
        return await self._apply_edit(user, msg, text=msg.text, html=msg.html, entities=msg.entities, inline=inline)

    async def _apply_edit(self, user: FakeUser, msg: Msg, *, text: str, html: str, entities: list[dict],
                          inline: list[list[dict]] | None) -> dict:
        """Without reply_markup an edit removes the inline keyboard, as on Telegram."""

        def apply() -> None:
            msg.text, msg.html, msg.entities, msg.buttons = text, html, entities, _buttons(inline)
            raw = self._message_raw(user, msg, inline)
            raw["edit_date"] = _now()
            if "reply_to_message" in msg.raw:
                raw["reply_to_message"] = msg.raw["reply_to_message"]
            msg.raw = raw

        await user._bot_edited(msg, apply)
        return msg.raw

    async def _delete_message(self, params: dict) -> bool:
        user = self._user_of(params)
        msg = self._target(user, params)
        if msg is None or msg.deleted:
            raise bad("message to delete not found")
        await user._deleted(msg)
        return True

    async def _delete_messages(self, params: dict) -> bool:
        user = self._user_of(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad("message identifiers are not specified")
        for message_id in ids:
            msg = user.message(message_id)
            if msg is not None and not msg.deleted:
                await user._deleted(msg)
        return True

    async def _answer_callback_query(self, params: dict) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        user = self._open_queries.pop(query_id, None)
        if user is None:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad("MESSAGE_TOO_LONG")
        await user._answered({"callback_query_id": query_id, "text": text,
                              "show_alert": bool(params.get("show_alert")), "url": params.get("url")})
        return True

    async def _send_photo(self, params: dict) -> dict:
        """A photo uploaded in the request (multipart, `attach://name` or the field itself); its bytes and caption
        are kept on the message. A file_id or URL is refused: the double stores no files to send again."""
        user = self._user_of(params, writing=True)
        photo = params.get("photo")
        if isinstance(photo, str) and not isinstance(photo, Upload) and photo.startswith("attach://"):
            photo = params.get(photo.removeprefix("attach://"))
        if not isinstance(photo, Upload):
            raise bad("wrong file identifier/HTTP URL specified" if photo else "there is no photo in the request")
        size = _image_size(photo.data)
        if size is None:
            raise bad("IMAGE_PROCESS_FAILED")
        caption, entities = ("", [])
        if params.get("caption"):
            caption, entities = _formatted_text({"text": params["caption"], "parse_mode": params.get("parse_mode"),
                                                 "entities": params.get("caption_entities")})
            if len(caption) > CAPTION_LIMIT:
                raise bad("message caption is too long")
        inline, reply_keyboard = _reply_markup(params.get("reply_markup"), inline_only=False,
                                               http_web_apps=self.test_environment)
        msg = Msg(0, True, text=caption, html=str(params.get("caption") or ""), entities=entities,
                  buttons=_buttons(inline), kind="photo", photo=photo.data)
        msg.message_id = user._take_message_id()
        unique = hashlib.sha256(photo.data).hexdigest()[:16]
        msg.raw = {"message_id": msg.message_id, "from": self.bot_user, "chat": user.chat_dict, "date": _now(),
                   "photo": [{"file_id": f"photo-{unique}", "file_unique_id": unique, "width": size[0],
                              "height": size[1], "file_size": len(photo.data)}]}
        if caption:
            msg.raw["caption"] = caption
        if entities:
            msg.raw["caption_entities"] = entities
        if inline:
            msg.raw["reply_markup"] = {"inline_keyboard": inline}
        await user._bot_sent(msg, reply_keyboard)
        return msg.raw

    async def _send_chat_action(self, params: dict) -> bool:
        user = self._user_of(params, writing=True)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        await user._chat_action(action)
        return True


# ---- request parsing and validation ---------------------------------------------------------------------------

class Upload(str):
    """A file sent in a multipart request: reads as `<file name>` wherever params are shown (the call ledger),
    and keeps its bytes for the method that takes it (sendPhoto)."""

    data: bytes

    @classmethod
    def of(cls, field: Any, key: str) -> Upload:
        upload = cls(f"<file {getattr(field, 'filename', None) or key}>")
        upload.data = field.file.read() if hasattr(field, "file") else bytes(field)
        return upload


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG, as Telegram accepts for photos; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    elif data.startswith(b"\xff\xd8"):
        width, height = 1, 1  # a JPEG's size is in a frame header further in: not needed by any test
    else:
        return None
    if not (0 < width and 0 < height and width + height <= 10000 and max(width, height) <= 20 * min(width, height)):
        return None
    return width, height


async def _read_params(request: web.Request) -> dict:
    """Query string plus a JSON, multipart or urlencoded body; strings decoded where Telegram decodes them."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad("can't parse JSON encoded request body") from None
            if not isinstance(body, dict):
                raise bad("can't parse JSON encoded request body")
            params.update(body)
        elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for key, value in form.items():
                params[key] = value if isinstance(value, str) else Upload.of(value, key)
    return _decode_params(params)


def _decode_params(params: dict) -> dict:
    """Strings decoded where Telegram decodes them: JSON objects, integers, booleans."""
    for key, value in list(params.items()):
        if not isinstance(value, str):
            continue
        if key in JSON_FIELDS and value.strip()[:1] in ("{", "["):
            try:
                params[key] = json.loads(value)
            except ValueError:
                raise bad(f"can't parse {key} JSON object") from None
        elif key in INT_FIELDS and _INTEGER.fullmatch(value):
            params[key] = int(value)
        elif key in BOOL_FIELDS and value.lower() in ("true", "false", "1", "0"):
            params[key] = value.lower() in ("true", "1")
    return params


async def _reply_method(response: aiohttp.ClientResponse) -> tuple[str, dict] | None:
    """The method a webhook answer's body asks Telegram to run (JSON or form data with "method"), if any."""
    params: dict[str, Any] = {}
    try:
        if response.content_type == "application/json":
            body = await response.json(content_type=None)
            if isinstance(body, dict):
                params = body
        elif response.content_type == "multipart/form-data":
            reader = aiohttp.MultipartReader.from_response(response)
            while (part := await reader.next()) is not None:
                if isinstance(part, aiohttp.BodyPartReader) and part.name:
                    params[part.name] = await part.text()
        elif response.content_type == "application/x-www-form-urlencoded":
            params = dict(parse_qsl(await response.text()))
    except (ValueError, aiohttp.ClientError):
        return None
    method = params.pop("method", None)
    if not isinstance(method, str) or not method:
        return None
    return method, _decode_params(params)


def _chat_key(update: dict) -> int | str:
    """What Telegram orders an update by: its chat (or the sender when there is no chat)."""
    for kind, payload in update.items():
        if kind == "update_id" or not isinstance(payload, dict):
            continue
        for holder in (payload, payload.get("message")):
            if isinstance(holder, dict) and isinstance(holder.get("chat"), dict) and "id" in holder["chat"]:
                return holder["chat"]["id"]
        sender = payload.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return sender["id"]
    return f"update:{update['update_id']}"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _method_name(method: str) -> str:
    """The canonical name of a Bot API method; a name Telegram does not have is refused (a typo never fires)."""
    name = TELEGRAM_METHODS.get(method.lower())
    if name is None:
        raise ValueError(f"the Bot API has no method {method!r}")
    return name


def _int(params: dict, name: str, default: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"field \"{name}\" must be of type Integer")
    return value


def _formatted_text(params: dict) -> tuple[str, list[dict]]:
    """Plain text and entities, as Telegram stores them; the errors sendMessage and editMessageText give."""
    raw = params.get("text")
    text = "" if raw is None else str(raw)
    parse_mode = str(params.get("parse_mode") or "")
    entities: list[dict] = []
    if parse_mode.lower() == "html":
        try:
            text, entities = parse_html(text)
        except EntityParseError as exc:
            raise bad(f"can't parse entities: {exc}") from None
    elif parse_mode and parse_mode.lower() not in ("markdown", "markdownv2"):
        raise bad("unsupported parse_mode")
    elif isinstance(params.get("entities"), list):
        entities = params["entities"]
    text, entities = strip_text(text, entities)
    if not text:
        raise bad("message text is empty")
    if len(text) > TEXT_LIMIT:
        raise bad("message is too long")
    return text, entities


def _reply_markup(markup: Any, *, inline_only: bool,
                  http_web_apps: bool = False) -> tuple[list[list[dict]] | None, list[list[Button]] | None]:
    """(inline keyboard rows, new reply keyboard); a reply keyboard of [] means ReplyKeyboardRemove."""
    if markup is None or markup == "":
        return None, None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return _inline_keyboard(markup["inline_keyboard"], http_web_apps), None
    if inline_only:
        raise bad("inline keyboard expected")
    if "keyboard" in markup:
        return None, _reply_keyboard(markup["keyboard"])
    if markup.get("remove_keyboard"):
        return None, []
    if markup.get("force_reply"):
        return None, None
    raise bad("can't parse reply keyboard markup JSON object")


def _inline_keyboard(rows: Any, http_web_apps: bool = False) -> list[list[dict]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad("can't parse inline keyboard button: InlineKeyboardMarkup must be an Array of Arrays")
    cleaned: list[list[dict]] = []
    for row in rows:
        cleaned_row = []
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad("can't parse inline keyboard button: Field \"text\" must be of type String")
            if not button["text"].strip():
                raise bad("can't parse inline keyboard button: Text must be non-empty")
            actions = [name for name in INLINE_ACTIONS if name in button]
            if not actions:
                raise bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                    raise bad("BUTTON_DATA_INVALID")
            if "url" in button and not re.match(r"(https?|tg)://\S+$", str(button["url"])):
                raise bad(f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL")
            if "web_app" in button:
                url = (button["web_app"] or {}).get("url", "") if isinstance(button["web_app"], dict) else ""
                if not (url.startswith("https://") or (http_web_apps and url.startswith("http://"))):
                    raise bad(f"inline keyboard button Web App URL '{url}' is invalid: Only HTTPS links are allowed")
            cleaned_row.append({"text": button["text"], **{name: button[name] for name in actions}})
        if cleaned_row:
            cleaned.append(cleaned_row)
    return cleaned


def _reply_keyboard(rows: Any) -> list[list[Button]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad("can't parse reply keyboard markup JSON object")
    keyboard = []
    for row in rows:
        buttons = []
        for button in row:
            text = button if isinstance(button, str) else button.get("text") if isinstance(button, dict) else None
            if not isinstance(text, str) or not text.strip():
                raise bad("can't parse keyboard button: Text must be non-empty")
            asks_contact = isinstance(button, dict) and bool(button.get("request_contact"))
            buttons.append(Button(text, request_contact=asks_contact))
        if buttons:
            keyboard.append(buttons)
    if not keyboard:
        raise bad("keyboard must be non-empty")
    return keyboard


def _buttons(inline: list[list[dict]] | None) -> list[list[Button]]:
    return [[Button(b["text"], callback_data=b.get("callback_data"), url=b.get("url"),
                    web_app=(b.get("web_app") or {}).get("url")) for b in row] for row in inline or []]


def _reply_to(user: FakeUser, params: dict) -> int | None:
    reply = params.get("reply_parameters")
    if isinstance(reply, dict):
        message_id, lenient = reply.get("message_id"), bool(reply.get("allow_sending_without_reply"))
    else:
        message_id, lenient = params.get("reply_to_message_id"), bool(params.get("allow_sending_without_reply"))
    if message_id is None:
        return None
    target = user.message(message_id) if isinstance(message_id, int) else None
    if target is None or target.deleted:
        if lenient:
            return None
        raise bad("message to be replied not found")
    return message_id


def _scope_key(scope: dict) -> str:
    return json.dumps(scope, sort_keys=True)


def _now() -> int:
    return int(time.time())
