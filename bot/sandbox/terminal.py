"""A chat with the bot in this terminal, as one FakeUser of the Telegram double.

Each step is a line: a number presses that button (inline buttons of the newest message first, then the reply
keyboard; a number past the last button is sent as text, so card numbers and codes still work), `press: <label>`
or `tap: <label>` names a button, `say: <text>` sends text as is, `wait: <text>` waits until the bot has sent or
edited a message containing it since the last step sent (for answers that come in more than one message),
`/contact` shares the phone, `/quit` leaves; anything else is sent as text. Typed (interactive) or from a script, where each step waits for the bot's answer
and a step naming a missing button ends the run with exit code 1.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from typing import TextIO

from bot.sandbox.telegram import ButtonNotFound, FakeUser, Msg

_NAMED = re.compile(r"(press|tap):\s*(.+)")
QUIET_WAIT = 3600.0  # seconds the printer waits for news before it looks again (woken by any change before that)


class _Quit(Exception):
    pass


class ChatView:
    """Prints what changed in the chat since the last flush: new and edited messages, deletions, alerts."""

    def __init__(self, user: FakeUser, out: TextIO, open_web_app: Callable[[str], str] | None = None) -> None:
        self.user = user
        self.out = out
        self.open_web_app = open_web_app  # a Mini App button's URL -> the address to open in a browser
        self._shown: dict[int, tuple] = {}
        self._alerts = 0
        self._keyboard: tuple[int, list[list[str]] | None] | None = None  # (first number, labels) last shown
        self.closed = False  # set before the printer (follow) is cancelled

    def choices(self) -> list[tuple[str, str]]:
        """What each number means now: ("press", label) for the newest message, then ("tap", label)."""
        newest = self.user.bot_messages[-1:]
        found = [("press", label) for label in (newest[0].labels if newest else [])]
        return found + [("tap", label) for row in self.user.reply_keyboard or [] for label in row]

    def has_news(self) -> bool:
        if self._alerts != len(self.user.alerts) or (self._keyboard or (0, None))[1] != self.user.reply_keyboard:
            return True
        return any(
            self._shown.get(m.message_id) != _state(m) for m in self.user.messages if m.from_bot or m.deleted
        )

    def flush(self) -> None:
        newest = self.user.bot_messages[-1] if self.user.bot_messages else None
        for m in self.user.messages:
            state, before = _state(m), self._shown.get(m.message_id)
            if before == state or not (m.from_bot or m.deleted):
                continue
            self._shown[m.message_id] = state
            if m.deleted:
                whose = "bot's message" if m.from_bot else "your message"
                if before is not None or not m.from_bot:
                    self._print(f"   🗑 the bot deleted {whose}: {_first_line(m.describe())}")
            else:
                self._print_message(m, numbered=m is newest, edited=before is not None)
        for alert in self.user.alerts[self._alerts:]:
            self._print(f"   🔔 {alert}")
        self._alerts = len(self.user.alerts)
        self._print_keyboard(len(newest.labels) if newest else 0)

    async def follow(self) -> None:
        """Prints each change as it comes, for as long as the chat lasts: a quiet spell (FakeUser.wait_for gives
        up after its patience) is only waited out again, so a reader who takes their time still sees the answers.
        Ends when cancelled, or at the next change once `closed` is set: Python 3.11's asyncio.wait_for may swallow
        a cancel that comes as the chat changes."""
        while not self.closed:
            with suppress(TimeoutError):
                await self.user.wait_for(self.has_news, timeout=QUIET_WAIT)
            self.flush()

    def _print_message(self, m: Msg, *, numbered: bool, edited: bool) -> None:
        lines = m.text.splitlines() or [""]
        self._print(f"{'✎' if edited else '🤖'} {lines[0]}")
        for line in lines[1:]:
            self._print(f"  {line}")
        number = 0
        for row in m.buttons:
            cells = []
            for button in row:
                number += 1
                cells.append(f"[{number}] {button.text}" if numbered else f"[{button.text}]")
            self._print("    " + "   ".join(cells))
        for button in (b for row in m.buttons for b in row if b.web_app):
            address = self.open_web_app(button.web_app) if self.open_web_app else button.web_app
            self._print(f"    🌐 {button.text}: open in a browser (signed for you as Telegram would): {address}")

    def _print_keyboard(self, offset: int) -> None:
        rows = self.user.reply_keyboard
        before, self._keyboard = self._keyboard, (offset, rows)
        if self._keyboard == before:
            return
        if rows is None:
            if before is not None and before[1] is not None:
                self._print("⌨  (keyboard removed)")
            return
        number = offset
        for index, row in enumerate(rows):
            cells = []
            for label in row:
                number += 1
                cells.append(f"[{number}] {label}")
            self._print(("⌨  " if index == 0 else "   ") + "   ".join(cells))

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


def _state(m: Msg) -> tuple:
    return m.text, tuple(tuple(m.labels)), m.deleted


def _first_line(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= 60 else line[:57] + "..."


async def run_terminal(
    user: FakeUser, *, input_lines: AsyncIterator[str] | None = None, echo: bool = True, out: TextIO = sys.stdout,
    answer_timeout: float = 10.0, open_web_app: Callable[[str], str] | None = None,
) -> int:
    """Interactive when input_lines is None (stdin; the terminal shows what you type), scripted otherwise
    (steps are echoed when echo is set). Returns 0, or 1 when a scripted step names a missing button or fails."""
    view = ChatView(user, out, open_web_app)
    view.flush()
    printer = asyncio.create_task(view.follow())
    scripted = input_lines is not None
    lines = input_lines if input_lines is not None else _stdin_lines()
    try:
        step = 0
        async for raw in lines:
            line = raw.strip()
            if not line:
                continue
            step += 1
            if scripted and echo:
                print(f"👤 {line}", file=out, flush=True)
            try:
                problem, answer = await _run_step(user, view, line, wait=answer_timeout if scripted else None)
            except _Quit:
                return 0
            except Exception as exc:  # one line, never a traceback in the chat; a script stops, a person goes on
                problem, answer = f"the step failed: {type(exc).__name__}", None
            if problem and scripted:
                print(f"step {step} ({line}): {problem}", file=out, flush=True)
                return 1
            if problem:
                print(f"   ({problem})", file=out, flush=True)
            if scripted and answer is not None:
                try:
                    await answer(answer_timeout)
                except TimeoutError:
                    print(f"   (no answer from the bot within {answer_timeout:g}s)", file=out, flush=True)
                view.flush()
        return 0
    finally:
        view.closed = True
        printer.cancel()
        with suppress(asyncio.CancelledError):
            await printer
        view.flush()


Answer = Callable[[float], Awaitable[object]]  # waits up to the given seconds for the bot's answer to a step


async def _run_step(
    user: FakeUser, view: ChatView, line: str, *, wait: float | None,
) -> tuple[str | None, Answer | None]:
    """Performs one step; returns why it could not be done, and what the bot's answer to it looks like."""
    if line == "/quit":
        raise _Quit
    if line.startswith("wait:"):  # a script's pause until the bot has said this (since the last thing sent)
        text = line.removeprefix("wait:").strip()
        try:
            await user.wait_message(text, timeout=wait or user.patience)
        except TimeoutError:
            return f"the bot said nothing with {text!r} within {wait or user.patience:g}s", None
        return None, None
    named = _NAMED.fullmatch(line)
    if named:
        kind, label = named.group(1), named.group(2).strip()
    elif line.isdigit() and 1 <= int(line) <= len(view.choices()):
        kind, label = view.choices()[int(line) - 1]
    else:
        if line == "/contact":
            await user.share_contact()
        else:
            await user.send(line.removeprefix("say:").strip() if line.startswith("say:") else line)
        return None, _message_answer(user)
    # A scripted step may run before the message carrying its button has arrived: press and tap wait for it.
    try:
        if kind == "press":
            query_id = await user.press(label, timeout=wait or 0)
            return None, lambda timeout: user.wait_for(lambda: user.answered(query_id), timeout)
        await user.tap(label, timeout=wait or 0)
        return None, _message_answer(user)
    except ButtonNotFound as exc:
        return f"no button {label!r}; buttons now: {', '.join(exc.available) or 'none'}", None
    except ValueError as exc:
        return str(exc), None


def _message_answer(user: FakeUser) -> Answer:
    """A message sent or edited after a text, tap or contact; a press is answered by answerCallbackQuery."""
    return lambda timeout: user.wait_message(timeout=timeout)


async def _stdin_lines() -> AsyncIterator[str]:
    """Lines typed on stdin, read by a daemon thread so the event loop (and the bot) keep running."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        try:
            for typed in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, typed)
            loop.call_soon_threadsafe(queue.put_nowait, None)
        except RuntimeError:  # the loop closed while the user was typing
            pass

    threading.Thread(target=pump, name="terminal-stdin", daemon=True).start()
    while (typed := await queue.get()) is not None:
        yield typed
