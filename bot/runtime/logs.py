"""Logging setup with a redaction filter: card numbers, codes and tokens never reach a log line."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    (re.compile(r"\bbot\d+:[\w-]{20,}"), "bot<redacted>"),  # Bot API URLs carry the token
    (re.compile(r"\b\d{5,12}:[\w-]{30,}\b"), "<bot-token>"),
    (re.compile(r"(?i)(bearer\s+)[\w.\-~+/=]+"), r"\1<redacted>"),
    (re.compile(r"(?i)((?:access|refresh)_token\W+)[\w.\-~+/=]+"), r"\1<redacted>"),
    (re.compile(r"(?<!\d)(?:\d[ -]?){15}\d(?!\d)"), "<card>"),
    (re.compile(r"(?i)((?:otp|code)\W{1,4})\d{4,8}"), r"\1<code>"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

