"""The user's side of the Telegram double: one private chat, seen and driven the way a person would.

Tests and the terminal demo act through FakeUser (send, press, tap, share a contact) and wait on what the chat
shows; every change to the chat wakes waiters through one asyncio.Condition, so nothing polls or sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![^\s])")
_SELF: Any = "self"
TEXT_LIMIT = 4096
_query_ids = itertools.count(4_000_000_000_000_000_001)


@dataclass(frozen=True)
class Button:
    """An inline button (callback_data, url or web_app set) or a reply-keyboard button (request_contact)."""

    text: str
    callback_data: str | None = None
    url: str | None = None
    web_app: str | None = None
    request_contact: bool = False


class ButtonNotFound(LookupError):
    def __init__(self, label: str, available: list[str]) -> None:
        super().__init__(f"no button {label!r}; available: {available!r}")
        self.label = label
        self.available = available


@dataclass(eq=False)
class Msg:
    """One message as the user sees it; the same object is updated in place when the bot edits or deletes it."""

    message_id: int
    from_bot: bool
    text: str = ""
    html: str = ""
    buttons: list[list[Button]] = field(default_factory=list)
    deleted: bool = False
    edited: bool = False
    kind: str = "text"  # text, sticker, photo, contact
    entities: list[dict] = field(default_factory=list)
    contact: dict | None = None
    reply_to: int | None = None
    link_preview_options: dict | None = None
    raw: dict = field(default_factory=dict, repr=False)  # the Bot API Message object
    photo: bytes | None = field(default=None, repr=False)  # a sendPhoto upload as the bot sent it; `text` is its caption

    @property
    def labels(self) -> list[str]:
        return [button.text for row in self.buttons for button in row]

    def button(self, label: str) -> Button:
        for row in self.buttons:
            for button in row:
                if button.text == label:
                    return button
        raise ButtonNotFound(label, self.labels)

    def describe(self) -> str:
        """One line for transcripts: the text, or what was sent instead of text."""
        if self.kind == "contact" and self.contact:
            owner = self.contact.get("user_id")
            return f"[contact {self.contact['phone_number']}{'' if owner else ', no user id'}]"
        if self.kind == "photo" and self.text:
            return f"[photo] {self.text}"
        if self.kind != "text":
            return f"[{self.kind}]"
        return self.text


class ChatServer(Protocol):
    """What a chat needs from the Telegram double (bot.sandbox.telegram.TelegramDouble), which imports this module."""

    bot_id: int
    _open_queries: dict[str, FakeUser]

    async def _push_update(self, kind: str, payload: dict) -> None: ...


class FakeUser:
    """A Telegram user in a private chat with the bot (chat id == user id)."""

    def __init__(
        self, double: ChatServer, user_id: int, *, first_name: str, last_name: str | None,
        username: str | None, language_code: str | None, phone: str,
    ) -> None:
        self._double = double
        self.user_id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.phone = phone
        self.messages: list[Msg] = []
        self.alerts: list[str] = []
        self.callback_answers: list[dict] = []
        self.chat_actions: list[str] = []
        self.reply_keyboard_buttons: list[list[Button]] | None = None
        self.started = False  # Telegram lets a bot write only to users who wrote to it first
        self.patience = 5.0  # seconds a wait gives the bot by default; a benchmark under load gives more
        self.version = 0  # bumped on every change to the chat
        self._changed = asyncio.Condition()
        self._next_message_id = 1
        self._action_mark = 0  # version at the user's last action
        self._events: list[tuple[int, Msg, str]] = []  # bot sends and edits: (version, message, text then)

    # ---- Bot API shapes -------------------------------------------------------------------------------------

    @property
    def user_dict(self) -> dict:
        data = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        data.update({k: v for k, v in (("last_name", self.last_name), ("username", self.username),
                                       ("language_code", self.language_code)) if v})
        return data

    @property
    def chat_dict(self) -> dict:
        data = {"id": self.user_id, "type": "private", "first_name": self.first_name}
        data.update({k: v for k, v in (("last_name", self.last_name), ("username", self.username)) if v})
        return data

    @property
    def chat_instance(self) -> str:
        return str((self.user_id * 2_654_435_761 + self._double.bot_id) % 10**19)

    # ---- what the user sees ---------------------------------------------------------------------------------

    @property
    def bot_messages(self) -> list[Msg]:
        return [m for m in self.messages if m.from_bot and not m.deleted]

    @property
    def last(self) -> Msg:
        """The newest visible bot message."""
        visible = self.bot_messages
        if not visible:
            raise LookupError(f"the bot has sent nothing visible yet\n{self.transcript()}")
        return visible[-1]

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        if self.reply_keyboard_buttons is None:
            return None
        return [[button.text for button in row] for row in self.reply_keyboard_buttons]

    def message(self, message_id: int) -> Msg | None:
        return next((m for m in self.messages if m.message_id == message_id), None)

    def answered(self, query_id: str) -> bool:
        """Whether the bot has answered this callback query (the app's spinner stops then)."""
        return any(answer["callback_query_id"] == query_id for answer in self.callback_answers)

    def transcript(self) -> str:
        lines = [f"chat with {self.first_name} ({self.user_id}):"]
        for m in self.messages:
            marks = "".join(f" ({flag})" for flag, on in (("edited", m.edited), ("deleted", m.deleted)) if on)
            who = "bot" if m.from_bot else "you"
            body = m.describe().replace("\n", "\n" + " " * 10)
            lines.append(f"  #{m.message_id:<3} {who}{marks}: {body}")
            for row in m.buttons:
                lines.append(" " * 10 + " ".join(f"[{b.text}]" for b in row))
        if self.reply_keyboard is not None:
            lines.append("  keyboard: " + " | ".join("  ".join(f"[{t}]" for t in row) for row in self.reply_keyboard))
        if self.alerts:
            lines.append(f"  alerts: {self.alerts!r}")
        return "\n".join(lines)

    # ---- waiting --------------------------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], bool], timeout: float | None = None) -> None:
        """Until predicate() holds; re-checked on every change to this chat. TimeoutError shows the chat."""
        timeout = timeout or self.patience
        if predicate():
            return
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            except TimeoutError:
                raise TimeoutError(f"condition not met within {timeout}s\n{self.transcript()}") from None

    async def wait_message(self, contains: str | None = None, *, timeout: float | None = None) -> Msg:
        """The first bot message sent or edited since the user's last action whose text contains `contains`."""
        timeout = timeout or self.patience
        mark = self._action_mark

        def found() -> Msg | None:
            return next((m for version, m, text in self._events
                         if version > mark and (contains is None or contains in text)), None)

        try:
            await self.wait_for(lambda: found() is not None, timeout)
        except TimeoutError as exc:
            wanted = "any message" if contains is None else f"a message containing {contains!r}"
            raise TimeoutError(f"the bot sent {wanted} within {timeout}s: no\n{self.transcript()}") from exc
        message = found()
        assert message is not None
        return message

    async def _change(self, apply: Callable[[], None], *, action: bool = False, event: Msg | None = None) -> None:
        """Apply one change to the chat under the condition's lock and wake every waiter."""
        async with self._changed:
            apply()
            self.version += 1
            if action:
                self._action_mark = self.version
            if event is not None:
                self._events.append((self.version, event, event.text))
            self._changed.notify_all()

    # ---- user actions ---------------------------------------------------------------------------------------

    async def send(self, text: str) -> Msg:
        """A text message; commands (/start) carry a bot_command entity as Telegram adds it.

        Like Telegram's apps, a text over 4096 characters goes out as several messages; the last is returned.
        """
        while len(text) > TEXT_LIMIT:
            await self._send_text(text[:TEXT_LIMIT])
            text = text[TEXT_LIMIT:]
        return await self._send_text(text)

    async def _send_text(self, text: str) -> Msg:
        entities = _command_entities(text)
        extra: dict[str, Any] = {"text": text}
        if entities:
            extra["entities"] = entities
        return await self._user_message(Msg(0, False, text=text, html=text, entities=entities), extra)

    async def send_in_group(self, text: str, group_id: int = -1001234567890) -> None:
        """A text by this user in a group the bot is in (the double keeps no group chat: the bot's replies there
        fail with "chat not found", as for a group the bot has left)."""
        entities = _command_entities(text)
        raw = {"message_id": self._take_message_id(), "from": self.user_dict,
               "chat": {"id": group_id, "type": "supergroup", "title": "Operators"}, "date": int(time.time()),
               "text": text, **({"entities": entities} if entities else {})}
        await self._double._push_update("message", raw)

    async def send_sticker(self) -> Msg:
        sticker = {"file_id": f"CAACAgIAAxkBAAE{self.user_id}", "file_unique_id": "AgADsticker", "type": "regular",
                   "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}
        return await self._user_message(Msg(0, False, kind="sticker"), {"sticker": sticker})

    async def send_photo(self) -> Msg:
        photo = [{"file_id": f"AgACAgIAAxkBAAE{self.user_id}{size}", "file_unique_id": f"AQAD{size}",
                  "width": size, "height": size * 3 // 4, "file_size": size * 40} for size in (90, 320, 800)]
        return await self._user_message(Msg(0, False, kind="photo"), {"photo": photo})

    async def share_contact(self, phone: str | None = None, *, user_id: int | None = _SELF) -> Msg:
        """The user's own contact by default; user_id=None is a contact without an account, an int someone else."""
        own = user_id == _SELF
        contact: dict[str, Any] = {"phone_number": phone or self.phone,
                                   "first_name": self.first_name if own else "Friend"}
        if own and self.last_name:
            contact["last_name"] = self.last_name
        if own:
            contact["user_id"] = self.user_id
        elif user_id is not None:
            contact["user_id"] = user_id
        return await self._user_message(Msg(0, False, kind="contact", contact=contact), {"contact": contact})

    async def tap(self, label: str, *, timeout: float | None = None) -> Msg:
        """A button of the current reply keyboard: its text, or the user's contact for request_contact.

        Waits up to `timeout` for the keyboard to show it, as a person waits for the bot's reply.
        """
        def find() -> Button | None:
            rows = self.reply_keyboard_buttons or []
            return next((b for row in rows for b in row if b.text == label), None)

        with suppress(TimeoutError):
            await self.wait_for(lambda: find() is not None, timeout)
        button = find()
        if button is None:
            raise ButtonNotFound(label, [t for row in self.reply_keyboard or [] for t in row])
        return await (self.share_contact() if button.request_contact else self.send(label))

    async def press(self, label: str, *, message: Msg | None = None, timeout: float | None = None) -> str:
        """An inline button on the newest visible bot message that shows it (or on the given message).

        Waits up to `timeout` for such a message; returns the callback query id (see answered()).
        """
        def find() -> Msg | None:
            if message is not None:
                target = self.message(message.message_id)
                shown = target is not None and target.from_bot and not target.deleted and label in target.labels
                return target if shown else None
            return next((m for m in reversed(self.bot_messages) if label in m.labels), None)

        with suppress(TimeoutError):
            await self.wait_for(lambda: find() is not None, timeout)
        target = find()
        if target is None:
            if message is not None:
                current = self.message(message.message_id)
                raise ButtonNotFound(label, current.labels if current and not current.deleted else [])
            with_buttons = [m for m in self.bot_messages if m.buttons]
            raise ButtonNotFound(label, with_buttons[-1].labels if with_buttons else [])
        button = target.button(label)
        if button.callback_data is None:
            raise ValueError(f"{label!r} opens {button.url or button.web_app}: pressing it sends nothing to the bot")
        return await self.press_data(button.callback_data, message=target)

    async def press_data(self, callback_data: str, *, message: Msg) -> str:
        """A callback query with any data, as a modified client could send (for security tests)."""
        self.started = True
        query = {"id": str(next(_query_ids)), "from": self.user_dict, "message": message.raw,
                 "chat_instance": self.chat_instance, "data": callback_data}
        self._double._open_queries[query["id"]] = self
        await self._change(lambda: None, action=True)
        await self._double._push_update("callback_query", query)
        return query["id"]

    async def _user_message(self, msg: Msg, extra: dict[str, Any]) -> Msg:
        self.started = True
        msg.message_id = self._take_message_id()
        msg.raw = {"message_id": msg.message_id, "from": self.user_dict, "chat": self.chat_dict,
                   "date": int(time.time()), **extra}
        await self._change(lambda: self.messages.append(msg), action=True)
        await self._double._push_update("message", msg.raw)
        return msg

    def _take_message_id(self) -> int:
        message_id, self._next_message_id = self._next_message_id, self._next_message_id + 1
        return message_id

    # ---- the bot's side, called by the double's API handlers ----------------------------------------------

    async def _bot_sent(self, msg: Msg, keyboard: list[list[Button]] | None) -> None:
        """A new bot message; keyboard is its new reply keyboard ([] removes it, None keeps the current one)."""

        def apply() -> None:
            self.messages.append(msg)
            if keyboard is not None:
                self.reply_keyboard_buttons = keyboard or None

        await self._change(apply, event=msg)

    async def _bot_edited(self, msg: Msg, apply: Callable[[], None]) -> None:
        def edit() -> None:
            apply()
            msg.edited = True

        await self._change(edit, event=msg)

    async def _deleted(self, msg: Msg) -> None:
        await self._change(lambda: setattr(msg, "deleted", True))

    async def _answered(self, answer: dict) -> None:
        def record() -> None:
            self.callback_answers.append(answer)
            if answer.get("text"):
                self.alerts.append(answer["text"])

        await self._change(record)

    async def _chat_action(self, action: str) -> None:
        await self._change(lambda: self.chat_actions.append(action))


def _command_entities(text: str) -> list[dict]:
    """The bot_command entities Telegram adds to a text (offsets in UTF-16 code units)."""
    return [{"type": "bot_command", "offset": len(text[: m.start()].encode("utf-16-le")) // 2,
             "length": len(m.group().encode("utf-16-le")) // 2} for m in _COMMAND.finditer(text)]
