"""Logging setup: no card number, expiry, SMS code, token, phone or SQL parameter reaches a log line, at any level.

Three layers, all on the root handler (so every logger, ours and the libraries', goes through them):
- the loggers that print SQL parameters, URLs or bodies are capped (`CAPS`), whatever LOG_LEVEL says: their level
  is raised at setup and the handler drops their records below the cap even if someone turns them up later;
- exception messages are never printed: a traceback keeps each exception's type and frames, and an exception
  passed as a %-argument prints as its type (a driver's message names the values of the failed statement);
- what remains is redacted by pattern (`redact`).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from typing import IO, Any

# Loggers that print what they carry below these levels: SQL parameters (aiosqlite at DEBUG, sqlalchemy.engine at
# INFO), request lines and URLs with ids in them (httpx, aiohttp.access at INFO), connection traffic (httpcore).
CAPS: dict[str, int] = {
    "aiosqlite": logging.INFO,
    "asyncpg": logging.INFO,
    "httpcore": logging.INFO,
    "sqlalchemy.engine": logging.WARNING,
    "sqlalchemy.pool": logging.WARNING,
    "httpx": logging.WARNING,
    "aiohttp.access": logging.WARNING,
}

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_TOKEN_CHARS = r"[A-Za-z0-9_+=-]"
_BASE64_CHARS = r"[A-Za-z0-9+/]"

_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"\bbot\d+:[\w-]{20,}"), "bot<redacted>"),  # Bot API URLs carry the token
    (re.compile(r"\b\d{5,12}:[\w-]{30,}\b"), "<bot-token>"),
    (re.compile(r"(?i)(bearer\s+)[\w.\-~+/=]+"), r"\1<redacted>"),
    (re.compile(r"(?i)((?:access|refresh)_token\W+)[\w.\-~+/=]+"), r"\1<redacted>"),
    # Paylov card ids are UUIDs, as are its transaction ids: the ones named as a card's go.
    (re.compile(rf"(?i)(card\w*\W{{1,5}}){_UUID}(?![\w-])"), r"\1<card-id>"),
    # Payme card tokens (24 hex, "_", 64 letters and digits in the emulator; base64 at Payme) and any other long
    # opaque string of letters and digits: an access token, a key. UUIDs are left to the rule above.
    (re.compile(rf"(?<![\w+=/-])(?!{_UUID}(?![\w-]))(?=[A-Za-z_+=-]*\d)(?=[\d_+=-]*[A-Za-z])"
                rf"{_TOKEN_CHARS}{{32,}}"), "<token>"),
    # Base64 with slashes: only with capitals, small letters and digits, and no "-", "_" or ".", unlike a path.
    (re.compile(rf"(?<![\w+=/.-])(?=[A-Za-z+/]*\d)(?=[\d+/a-z]*[A-Z])(?=[\d+/A-Z]*[a-z])"
                rf"{_BASE64_CHARS}{{40,}}={{0,2}}(?![\w.-])"), "<token>"),
]
_CARD = re.compile(r"(?<![\d.,])(?:\d[ -]?){12,18}\d(?![\d.,]\d|\d)")
_AFTER_CARD = [
    # Phones: 998 and nine digits, with a plus, spaces, dashes or brackets as people write them.
    (re.compile(r"(?<![\d.,])\+?998[\s-]?\(?\d{2}\)?[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2}(?!\d)"), "<phone>"),
    # Expiries as typed (MM/YY); dates (29/03/2024) and paths are left alone.
    (re.compile(r"(?<![\d/])\d{2}\s?/\s?\d{2}(?![\d/])"), "<expiry>"),
    (re.compile(r"(?i)(expir\w*\W{1,4})\d{2}\W?\d{2}(?!\d)"), r"\1<expiry>"),
    (re.compile(r"(?i)((?:otp|code|sms)\W{1,4})\d{4,8}(?!\d)"), r"\1<code>"),
]


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "<card>" if len(digits) == 16 or _luhn(digits) else match.group()


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    text = _CARD.sub(_card, text)
    for pattern, replacement in _AFTER_CARD:
        text = pattern.sub(replacement, text)
    return text


def _type_name(error: BaseException) -> str:
    kind = type(error)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def format_exception(error: BaseException) -> str:
    """A traceback as Python prints it, with each exception's type and frames but not its message or notes
    (SQLAlchemy's carries the statement and "[parameters: …]", PostgreSQL's the duplicate key's value)."""
    lines: list[str] = []
    _describe(error, lines, set())
    return "".join(lines).rstrip("\n")


def _describe(error: BaseException, lines: list[str], seen: set[int]) -> None:
    seen.add(id(error))
    if error.__cause__ is not None and id(error.__cause__) not in seen:
        _describe(error.__cause__, lines, seen)
        lines.append("\nThe above exception was the direct cause of the following exception:\n\n")
    elif (error.__context__ is not None and not error.__suppress_context__
          and id(error.__context__) not in seen):
        _describe(error.__context__, lines, seen)
        lines.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    if error.__traceback__ is not None:
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(error.__traceback__))
    lines.append(f"{_type_name(error)}: <message not logged>\n")
    if isinstance(error, BaseExceptionGroup):
        for number, member in enumerate(error.exceptions, 1):
            lines.append(f"\n+-- {number} of the group:\n")
            _describe(member, lines, seen)


def _plain(value: Any) -> Any:
    return f"<{_type_name(value)}>" if isinstance(value, BaseException) else value


class RedactingFilter(logging.Filter):
    """On the root handler: exception messages out, then the patterns."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _plain(record.msg)  # logger.error(exc)
        if isinstance(record.args, tuple):
            record.args = tuple(_plain(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _plain(value) for key, value in record.args.items()}
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format: logging would print them raw
            message = f"{record.msg} <arguments not logged>"
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            # A formatter uses exc_text when it is set: the exception itself is never formatted again.
            record.exc_text = redact(format_exception(record.exc_info[1]))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class CapFilter(logging.Filter):
    """On the root handler: records of a capped logger below its cap are dropped, whatever that logger's level."""

    def __init__(self, caps: dict[str, int] = CAPS) -> None:
        super().__init__()
        self._caps = caps

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        while True:
            cap = self._caps.get(name)
            if cap is not None:
                return record.levelno >= cap
            if "." not in name:
                return True
            name = name.rpartition(".")[0]


def setup_logging(level: str = "INFO", *, stream: IO[str] | None = None) -> logging.Handler:
    """The one root handler (stderr unless `stream`), with the caps and the redaction; returns it."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(CapFilter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name, cap in CAPS.items():
        logging.getLogger(name).setLevel(max(cap, root.level))
    return handler
