"""Runs after the whole suite (tests/zz_audit sorts last) and scans what every test's bot left behind.

The places: the databases (SQLite files with their WAL and journal, bytes and rows; PostgreSQL dumps), the FSM
rows in them, the suite's log (the whole suite logs at DEBUG through the production setup, tests/conftest.py) and
the chats of every Telegram double (what the bot sent or edited, and the user's messages still in the chat).

- No card number the tests type, no expiry as they type it, no SMS code: in no place at all.
- Card tokens (Payme tokens, Paylov card ids) and phone numbers only in the columns that hold them by design
  (TOKEN_COLUMNS, PHONE_COLUMNS): never in another column, the FSM, the log or a message of the bot.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

import pytest

from bot.sandbox import paylov_catalogue
from bot.sandbox import payme as payme_sandbox
from tests.conftest import AUDIT

ROOT = Path(__file__).resolve().parents[2]
CODES = ["666666", "271828", "314159"]  # the right code and the wrong ones the tests type
TOKEN_COLUMNS = {("cards", "provider_card_id"), ("payments", "provider_card_id")}
PHONE_COLUMNS = {("users", "phone"), ("payments", "otp_phone")}
FSM_TABLE = "fsm_states"

PAYME_TOKEN = re.compile(r"(?<![0-9a-f])[0-9a-f]{24}_[A-Za-z0-9]{64}(?![A-Za-z0-9])")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MASKED = re.compile(r"\d{6}\*{6}\d{4}|•\d{4}")  # a saved card as the bot shows it: 860006******6311, •6311
# A phone stands apart from letters and digits: the same twelve digits inside a random hex token (a lease owner's
# claim id) are not one.
PHONE = re.compile(r"(?<![0-9A-Za-z])\+?998[\s-]?\(?\d{2}\)?[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2}(?![0-9A-Za-z])")


def luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def sources() -> Iterator[str]:
    for folder in (ROOT / "tests", ROOT / "bot" / "sandbox"):
        for path in folder.rglob("*.py"):
            yield path.read_text(encoding="utf-8")


@cache
def card_numbers() -> list[str]:
    """Every Luhn-valid 16-digit number the tests or the emulators' seeds hold: the cards the tests type."""
    found = {re.sub(r"\D", "", m) for text in sources()
             for m in re.findall(r"(?<!\d)\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}(?!\d)", text)}
    return sorted(number for number in found if luhn(number))


@cache
def expiries() -> list[tuple[str, str]]:
    """(month, year) of every expiry the tests type as MM/YY."""
    found = {(m, y) for text in sources() for m, y in re.findall(r"[\"'](\d{2}) ?/ ?(\d{2})[\"']", text)}
    return sorted(found)


def card_forms(number: str) -> list[str]:
    groups = [number[i:i + 4] for i in range(0, 16, 4)]
    return [number, " ".join(groups), "-".join(groups)]


def typed_needles() -> list[str]:
    """What may be nowhere: card numbers as typed, expiries as typed, codes."""
    slashed = [form for month, year in expiries() for form in (f"{month}/{year}", f"{month} / {year}")]
    return [form for number in card_numbers() for form in card_forms(number)] + slashed + CODES


@cache
def digit_forms_of_expiries() -> re.Pattern[str]:
    """The test cards' expiry as the emulators take it (MMYY at Payme, YYMM at Paylov), standing alone: for the
    log, the FSM and the bot's messages, where it has no business at all. (The other expiries the tests type are
    refused before any provider call; they are looked for as typed.)"""
    forms = sorted({payme_sandbox.TEST_EXPIRY, paylov_catalogue.TEST_EXPIRY})
    return re.compile(r"(?<![\w.,:-])(?:" + "|".join(forms) + r")(?![\w.,:])")


# ---- what the suite left -------------------------------------------------------------------------------------------

Row = tuple[str, str, str, str]  # (database, table, column, value)


def sqlite_rows(path: Path) -> Iterator[Row]:
    connection = sqlite3.connect(path)
    try:
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row):
                    if value is not None:
                        yield str(path), table, column, value.decode(errors="replace") if isinstance(
                            value, bytes) else str(value)
    finally:
        connection.close()


def dump_rows(name: str, dump: str) -> Iterator[Row]:
    """The rows of pg_dump --data-only output (COPY blocks, tab-separated)."""
    table, columns = None, []
    for line in dump.splitlines():
        if table is None:
            head = re.match(r"COPY (?:\w+\.)?\"?(\w+)\"? \((.*)\) FROM stdin;", line)
            if head:
                table, columns = head[1], [c.strip().strip('"') for c in head[2].split(",")]
        elif line == "\\.":
            table = None
        else:
            for column, value in zip(columns, line.split("\t")):
                if value != "\\N":
                    yield f"postgresql/{name}", table, column, value


@cache
def places() -> dict[str, bytes]:
    """Each database as bytes (free pages and the WAL included) and as a dump."""
    found: dict[str, bytes] = {}
    for path in AUDIT.databases:
        for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")):
            if candidate.exists():
                found[str(candidate)] = candidate.read_bytes()
    for name, dump in dumps().items():
        found[f"postgresql/{name}"] = dump.encode()
    return found


@cache
def dumps() -> dict[str, str]:
    if AUDIT.postgres is None or AUDIT.postgres.pid is None:
        return {}
    return {name: AUDIT.postgres.dump(name) for name in AUDIT.postgres_databases}


@cache
def rows() -> list[Row]:
    found: list[Row] = []
    for path in AUDIT.databases:
        if path.exists():
            found.extend(sqlite_rows(path))
    for name, dump in dumps().items():
        found.extend(dump_rows(name, dump))
    return found


MIN_TOKEN = 12  # a provider's card id is longer; a shorter value saved by a test is a placeholder, not a secret


@cache
def tokens() -> frozenset[str]:
    """Every card token and card id the bots saved (Payme tokens are also found by their shape)."""
    return frozenset(value for _, table, column, value in rows() if (table, column) in TOKEN_COLUMNS and value)


@cache
def phones() -> frozenset[str]:
    return frozenset(re.sub(r"\D", "", value) for _, table, column, value in rows()
                     if (table, column) == ("users", "phone") and value)


@cache
def shapeless_tokens() -> tuple[str, ...]:
    """Saved card ids that are neither a Payme token nor a UUID (the merchant's settlement card): looked up one by
    one, the others by their shape."""
    return tuple(token for token in tokens()
                 if not UUID.fullmatch(token) and not PAYME_TOKEN.fullmatch(token) and len(token) >= MIN_TOKEN)


def tokens_in(text: str) -> set[str]:
    found = set(PAYME_TOKEN.findall(text)) | (set(UUID.findall(text)) & tokens())
    return found | {token for token in shapeless_tokens() if token in text}


@cache
def references() -> frozenset[str]:
    """Paylov's payment references the ledger holds: random 12-digit numbers, one in a thousand of which starts with
    998 and so has a phone's shape without being one (a typed or saved phone is still found, by its value)."""
    return frozenset(value for _, table, column, value in rows() if (table, column) == ("payments", "payment_ref")
                     and value)


def phones_in(text: str) -> set[str]:
    found = {re.sub(r"\D", "", m) for m in PHONE.findall(text)} - references()
    if any(char.isdigit() for char in text):
        digits = re.sub(r"[\s()+-]", "", text)
        found |= {phone for phone in phones() if len(phone) >= 9 and phone in digits}
    return found


@cache
def needle_patterns() -> dict[str, re.Pattern[str]]:
    """Each needle standing alone: a code is six digits of its own, not six digits inside a longer reference that
    happens to hold them (a random 12-digit receipt id once did)."""
    return {needle: re.compile(r"(?<!\d)" + re.escape(needle) + r"(?!\d)") for needle in typed_needles()}


def needles_in(text: str) -> set[str]:
    return {needle for needle, pattern in needle_patterns().items() if needle in text and pattern.search(text)}


def card_data_in(text: str, *, digit_expiries: bool) -> set[str]:
    found = needles_in(text)
    if digit_expiries:
        found |= set(digit_forms_of_expiries().findall(text))
    return found


def report(findings: Iterable[tuple[str, str, str]]) -> str:
    """(what, where, which) grouped: what was found, how often, and the first places."""
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for what, where, which in findings:
        grouped[what, which].append(where)
    return "\n".join(f"{what} {which!r}: {len(where)}x, e.g. {sorted(set(where))[:3]}"
                     for (what, which), where in sorted(grouped.items()))


def require_the_suite() -> None:
    if not [path for path in AUDIT.databases if path.exists()]:
        pytest.skip("run with the whole suite: it scans what the other tests wrote")


# ---- the scans ------------------------------------------------------------------------------------------------------

def test_no_card_data_in_any_database():
    """Bytes, not rows: a deleted row left in a free page or the WAL counts too."""
    require_the_suite()
    patterns = {needle: re.compile(pattern.pattern.encode()) for needle, pattern in needle_patterns().items()}
    found = [("card data", place, needle) for place, content in places().items() for needle, pattern in patterns.items()
             if needle.encode() in content and pattern.search(content)]
    assert not found, report(found)


def test_tokens_and_phones_only_in_their_columns():
    require_the_suite()
    found = []
    for database, table, column, value in rows():
        if (table, column) not in TOKEN_COLUMNS:
            found += [("token", f"{database} {table}.{column}", t) for t in tokens_in(value)]
        if (table, column) not in PHONE_COLUMNS:
            found += [("phone", f"{database} {table}.{column}", p) for p in phones_in(value)]
    assert not found, report(found)


def test_nothing_in_the_fsm():
    """FSM data holds ids and answers: no card data in any form, no token, no phone."""
    require_the_suite()
    found = []
    for database, table, column, value in rows():
        if table != FSM_TABLE:
            continue
        where = f"{database} {table}.{column}"
        found += [("card data", where, n) for n in card_data_in(value, digit_expiries=True)]
        found += [("token", where, t) for t in tokens_in(value)]
        found += [("phone", where, p) for p in phones_in(value)]
    assert not found, report(found)


def test_nothing_in_the_log():
    """The suite's log at DEBUG, through setup_logging (and the kill tests' children's logs when run with them)."""
    require_the_suite()
    text = AUDIT.log_file.read_text(encoding="utf-8", errors="replace")
    assert "DEBUG" in text  # the suite did log at DEBUG: an empty scan proves nothing
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        where = f"log line {number}"
        found += [("card data", where, n) for n in card_data_in(line, digit_expiries=True)]
        found += [("token", where, t) for t in tokens_in(line)]
        found += [("phone", where, p) for p in phones_in(line)]
    assert not found, report(found)


def test_nothing_in_the_chats():
    """What the bot showed (texts, edits, buttons, alerts) holds no card data or token; a message of the user's
    with card data in it has been deleted (a phone the user shared as a contact is theirs to see).

    Two exceptions: a saved card's expiry (cards.expire, from the provider) shown beside its masked number, as My
    cards does (an expiry in any other message of the bot is an echo of what the user typed); and a message of the
    user's that the bot tried to delete and Telegram refused for good (the user is asked to delete it)."""
    require_the_suite()
    if not AUDIT.chats_file.exists():
        pytest.skip("no Telegram double was used")
    found = []
    for line in AUDIT.chats_file.read_text(encoding="utf-8").splitlines():
        shown = json.loads(line)
        if shown.get("refused"):
            continue
        where = f"{shown['test']} ({shown['who']})"
        by_bot = shown["who"] == "bot"
        text = shown["shown"] if isinstance(shown["shown"], str) else json.dumps(shown["shown"], ensure_ascii=False)
        data = card_data_in(text, digit_expiries=by_bot)
        if by_bot and MASKED.search(text):
            data -= {form for month, year in expiries() for form in (f"{month}/{year}", f"{month} / {year}")}
        found += [("card data", where, n) for n in data]
        if by_bot:
            found += [("token", where, t) for t in tokens_in(text)]
    assert not found, report(found)
