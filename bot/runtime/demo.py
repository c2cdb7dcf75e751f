"""The terminal demo: sandbox providers, the Telegram double and the real bot, with a chat in this terminal.

Each run starts fresh: the demo's own database (`data/demo.db` under the working folder) is removed first, so the
README's examples run the same way every time and no lock or half-finished step of an earlier run is left over.
With `DEMO_KEEP=1` it is kept, and the emulators keep their state beside it (`data/demo.sandboxes.json`: cards with
their numbers masked, payments, payouts), so a card saved in an earlier run still pays. A `DATABASE_URL` given in
the environment is used as it is and never removed; the emulators' state is kept beside it as well.

Whatever goes wrong prints one line: the bot's log lines are shortened to one line each in the terminal (the full
log, traces included, is in `data/demo.log`), and the demo's own errors (a script it cannot read, a start-up that
fails) end the run with one line and exit code 2.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from bot.app import Services
from bot.runtime.logs import CapFilter, RedactingFilter, setup_logging
from bot.sandbox.harness import BotProcess
from bot.sandbox.telegram import TelegramDouble
from bot.sandbox.terminal import run_terminal
from bot.settings import SettingsError, load_settings

logger = logging.getLogger(__name__)

DEMO_TOKEN = "1000:demo-token-for-the-local-telegram-double"
DEMO_DATABASE = Path("data") / "demo.db"  # under the working folder, as `make demo` and the README run it
SANDBOXES = ("paylov", "payme", "paysys")


class DemoError(Exception):
    """Ends the demo with this one line and exit code 2."""


@dataclass(frozen=True)
class DemoFiles:
    database_url: str
    wipe: tuple[Path, ...]  # removed before the run (the demo's own database); empty when kept or supplied
    state: Path | None  # the emulators' state, loaded and saved; None: they start fresh
    log: Path


def demo_files(environ: dict[str, str] | os._Environ = os.environ) -> DemoFiles:
    """Where this run's database, emulator state and log live, and what is removed first."""
    keep = environ.get("DEMO_KEEP", "").strip().lower() in ("1", "true", "yes", "on")
    supplied = environ.get("DATABASE_URL", "").strip()
    if not supplied:
        database = DEMO_DATABASE.resolve()
        files = tuple(database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm", "-journal"))
        state = database.with_suffix(".sandboxes.json")
        return DemoFiles(f"sqlite+aiosqlite:///{database}", () if keep else (*files, state), state,
                         database.with_suffix(".log"))
    try:
        url = make_url(supplied)
    except Exception as exc:  # SQLAlchemy's ArgumentError, and whatever a malformed URL raises
        raise DemoError(f"DATABASE_URL is not a database URL ({type(exc).__name__})") from None
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database).resolve()
        return DemoFiles(supplied, (), database.with_suffix(".sandboxes.json"), database.with_suffix(".log"))
    base = DEMO_DATABASE.resolve()  # another server's database: the files go where the demo's own would
    return DemoFiles(supplied, (), base.with_name("demo-external.sandboxes.json"), base.with_suffix(".log"))


async def run_demo(*, script: str | None, user_id: int, language_code: str) -> int:
    """0 when the chat ended, 1 when a scripted step failed, 2 (after one line on stderr) when the demo could not
    run. No traceback reaches the terminal."""
    log: Path | None = None
    try:
        if user_id < 1:
            raise DemoError(f"--user-id must be a positive Telegram user id, not {user_id}")
        steps = _read_script(script) if script not in (None, "-") else None
        files = demo_files()
        log = files.log
        _prepare(files)
        _setup_logging(files)
        return await _run(files, script=script, steps=steps, user_id=user_id, language_code=language_code)
    except DemoError as exc:
        _say(f"demo: {exc}")
    except SettingsError as exc:
        _say(f"demo: {exc}")
    except Exception as exc:  # anything else: one line here, the whole trace in the log
        logger.info("the demo stopped", exc_info=exc)  # the log file only, unless LOG_LEVEL asks for INFO
        _say(f"demo: stopped by {_where(exc)}" + (f"; the trace is in {log}" if log else ""))
    return 2


async def _run(files: DemoFiles, *, script: str | None, steps: list[str] | None, user_id: int,
               language_code: str) -> int:
    state = _read_state(files.state) if files.state else None
    telegram = TelegramDouble(test_environment=True)  # the card page is served on http://127.0.0.1
    await telegram.start()
    settings = load_settings(
        BOT_TOKEN=DEMO_TOKEN,
        TELEGRAM_API_URL=telegram.base_url,
        PROVIDERS="sandbox",
        DATABASE_URL=files.database_url,
        WEBAPP_PORT=int(os.environ.get("WEBAPP_PORT", "0")),  # the card page (CARD_VAULT=payme): any free port
    )

    def restore(services: Services) -> None:
        """Before any job or update: the emulators take back what an earlier run left."""
        for name in SANDBOXES:
            if state and name in state and name in services.sandboxes:
                try:
                    services.sandboxes[name].load(state[name])
                except (TypeError, KeyError, ValueError, AttributeError):
                    raise DemoError(f"the sandbox state {files.state} is not what this demo saves ({name}): "
                                    "remove it to start the sandbox providers afresh") from None

    process = BotProcess(settings, on_services=restore)
    started = False
    try:
        await process.start()
        started = True
        user = telegram.user(user_id, language_code=language_code)

        def open_web_app(url: str) -> str:
            """What Telegram opens for a Mini App button: the page with this user's signed initData."""
            return f"{url}#tgWebAppData={quote(telegram.web_app_init_data(user_id, DEMO_TOKEN))}"

        if script is None and sys.stdin.isatty():
            print(f"Chat with the bot as Telegram user {user_id} (another: make demo DEMO_USER=1002). Type text, "
                  "a button's number, /contact to share your phone, /quit to leave.")
            print("This run started fresh; DEMO_KEEP=1 keeps its chat, cards and payments for the next one."
                  if files.wipe else "Kept from earlier runs: the database and the sandbox providers' cards.")
            print("Send /start to begin.\n")
            return await run_terminal(user, open_web_app=open_web_app)
        lines = _from_list(steps) if steps is not None else _stdin_steps()
        return await run_terminal(user, input_lines=lines, echo=True, open_web_app=open_web_app)
    finally:
        await process.stop()
        await telegram.stop()
        if started and files.state:
            _write_state(files.state, {name: services_state
                                       for name in SANDBOXES
                                       if (services_state := _dump(process.services, name)) is not None})


def _prepare(files: DemoFiles) -> None:
    """A fresh start removes the demo's own database and the emulators' state of the last run."""
    for path in files.wipe:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise DemoError(f"cannot remove {path} for a fresh start: {exc.strerror}") from None
    try:
        files.log.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoError(f"cannot create {files.log.parent}: {exc.strerror}") from None


def _setup_logging(files: DemoFiles) -> None:
    """The terminal gets one line per record; the log file beside the database gets everything, traces too."""
    console = setup_logging(os.environ.get("LOG_LEVEL", "WARNING"))
    console.setFormatter(OneLineFormatter(files.log))
    try:
        full = logging.FileHandler(files.log, mode="a" if not files.wipe else "w", encoding="utf-8")
    except OSError as exc:
        raise DemoError(f"cannot write the log {files.log}: {exc.strerror}") from None
    full.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    full.addFilter(CapFilter())
    full.addFilter(RedactingFilter())
    full.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(full)
    root.setLevel(min(root.level, logging.INFO))  # the file has the INFO lines too; the terminal keeps its level
    console.setLevel(os.environ.get("LOG_LEVEL", "WARNING"))


class OneLineFormatter(logging.Formatter):
    """A record as one line: level, logger, message and, for an exception, its type and the place it was raised
    (never its message, as the full log never prints one either); the trace itself stays in the log file."""

    def __init__(self, log: Path) -> None:
        super().__init__()
        self.log = log

    def format(self, record: logging.LogRecord) -> str:
        line = f"⚠ {record.levelname.lower()} {record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            line += f" ({_where(record.exc_info[1])}; the trace is in {self.log})"
        return " ".join(line.split())


def _where(error: BaseException) -> str:
    """`KeyError at handlers/pay.py:120`: the type and the last frame, without the message."""
    kind = type(error)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else []
    if not frames:
        return name
    path = Path(frames[-1].filename)
    shown = "/".join(path.parts[-2:]) if len(path.parts) > 1 else path.name
    return f"{name} at {shown}:{frames[-1].lineno}"


def _say(line: str) -> None:
    print(" ".join(line.split()), file=sys.stderr, flush=True)


def _read_script(script: str) -> list[str]:
    """A script's steps, read before anything starts: a missing or unreadable file is one line, not a run."""
    try:
        return _steps(Path(script).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DemoError(f"cannot read the script {script}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise DemoError(f"the script {script} is not UTF-8 text") from None


def _steps(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


async def _from_list(steps: list[str]) -> AsyncIterator[str]:
    for step in steps:
        yield step


async def _stdin_steps() -> AsyncIterator[str]:
    """Steps piped to standard input (`--script -` or no script and no terminal)."""
    data = await asyncio.to_thread(sys.stdin.buffer.read)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DemoError("the steps on standard input are not UTF-8 text") from None
    for step in _steps(text):
        yield step


def _read_state(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DemoError(f"cannot read the sandbox state {path} ({type(exc).__name__}): remove it to start "
                        "the sandbox providers afresh") from None
    if not isinstance(state, dict):
        raise DemoError(f"the sandbox state {path} is not what the demo saved: remove it to start afresh")
    return state


def _dump(services: Services | None, name: str) -> dict | None:
    sandbox = services.sandboxes.get(name) if services is not None else None
    return sandbox.dump() if sandbox is not None else None


def _write_state(path: Path, state: dict) -> None:
    """Whole or not at all: written beside and renamed, so a killed run leaves the last good state."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        _say(f"demo: the sandbox state was not saved to {path}: {exc.strerror}")
