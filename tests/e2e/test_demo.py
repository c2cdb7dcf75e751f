"""The terminal demo, as the README runs it: scripted steps on standard input."""

from __future__ import annotations

import os
import subprocess
import sys


def run_demo(tmp_path, steps: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"}
    return subprocess.run([sys.executable, "-m", "bot", "demo"], input=steps, capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)


def test_demo_reaches_the_main_menu(tmp_path):
    result = run_demo(tmp_path, "/start\npress: 🇬🇧 English ✓\n/contact\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "You're all set" in result.stdout and "💡 Pay bills" in result.stdout


def test_demo_fails_on_a_missing_button(tmp_path):
    result = run_demo(tmp_path, "/start\npress: Klingon\n")
    assert result.returncode == 1
    assert "no button 'Klingon'" in result.stdout


def test_demo_prints_the_card_page_address_signed_for_the_user(tmp_path):
    env_steps = "/start\npress: 🇬🇧 English ✓\n/contact\ntap: 💳 My cards\npress: ➕ Add a card\n"
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", "CARD_VAULT": "payme"}
    result = subprocess.run([sys.executable, "-m", "bot", "demo"], input=env_steps, capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "open in a browser" in line)
    address = line.split(": ")[-1]
    assert address.startswith("http://127.0.0.1:") and "/card?lang=en#tgWebAppData=" in address
    assert "hash%3D" in address  # Telegram's signature travels with it


# ---- issue 18, item 4: a fresh start each run, DEMO_KEEP, the demo user, one line per error -----------------------

import asyncio  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
from contextlib import suppress  # noqa: E402
from pathlib import Path  # noqa: E402

from bot.runtime.demo import OneLineFormatter, demo_files  # noqa: E402
from bot.sandbox.paylov import PaylovSandbox  # noqa: E402
from bot.sandbox.payme import PaymeSandbox  # noqa: E402
from bot.sandbox.paysys import PaysysSandbox  # noqa: E402
from bot.sandbox.telegram import TelegramDouble  # noqa: E402
from bot.sandbox.terminal import ChatView  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def as_a_user_runs_it(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m bot demo …` from a folder of its own, as a new user would: no DATABASE_URL, no DEMO_KEEP, so the
    demo's own default database (data/demo.db under that folder) is the one both runs meet."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEMO_KEEP", "CARD_VAULT")}
    return subprocess.run([sys.executable, "-m", "bot", "demo", *args], capture_output=True, text=True,
                          env={**clean, "HOME": str(home), **env}, cwd=home, timeout=90)


def readme_script() -> str:
    """The README's scripted example, as printed there: printf '<steps>' | .venv/bin/python -m bot demo."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^printf '([^']*)' \| \.venv/bin/python -m bot demo$", readme, re.MULTILINE)
    assert found, "the README's scripted demo example is gone"
    return found.group(1).replace("\\n", "\n")


def test_the_readme_scripted_example_runs_twice_in_a_row(tmp_path):
    script = tmp_path / "steps.txt"
    script.write_text(readme_script(), encoding="utf-8")
    for run in (1, 2):
        result = as_a_user_runs_it(tmp_path, "--script", str(script))
        assert result.returncode == 0, f"run {run}:\n{result.stdout}{result.stderr}"
        assert "Choose your language" in result.stdout and "[1] 🇬🇧 English ✓" in result.stdout, f"run {run}"
        assert "You're all set" in result.stdout and "💡 Pay bills" in result.stdout, f"run {run}"
        assert "Traceback" not in result.stdout + result.stderr
    assert (tmp_path / "data" / "demo.db").exists()  # the default file, under the folder it ran in


ADD_A_CARD = """/start
press: 🇬🇧 English ✓
/contact
tap: 💳 My cards
press: ➕ Add a card
03/99
wait: send the 16-digit card number
8600069195406311
wait: I sent a code by SMS
666666
wait: is saved
"""

PAY_WITH_IT = """/start
wait: Welcome back
tap: 💡 Pay bills
press: Gas and heating
press: Hududgaz: Tabiiy gaz
4000000001
1000
press: ⭐ UZCARD •6311
press: ✅ Confirm
wait: I sent a code by SMS
666666
wait: ✅ Paid
"""


def test_demo_keep_keeps_the_database_and_the_emulators_so_a_saved_card_still_pays(tmp_path):
    (tmp_path / "add.txt").write_text(ADD_A_CARD, encoding="utf-8")
    (tmp_path / "pay.txt").write_text(PAY_WITH_IT, encoding="utf-8")
    first = as_a_user_runs_it(tmp_path, "--script", "add.txt", "--user-id", "1002")
    assert first.returncode == 0, first.stdout + first.stderr
    state = (tmp_path / "data" / "demo.sandboxes.json").read_text(encoding="utf-8")
    assert "860006******6311" in state and "8600069195406311" not in state  # kept masked, never whole

    kept = as_a_user_runs_it(tmp_path, "--script", "pay.txt", "--user-id", "1002", DEMO_KEEP="1")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "✅ Paid" in kept.stdout and "Card: UZCARD •6311" in kept.stdout


def test_a_fresh_start_removes_only_the_demos_own_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    own = demo_files({})
    assert own.database_url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'demo.db'}"
    assert tmp_path / "data" / "demo.db" in own.wipe and tmp_path / "data" / "demo.db-wal" in own.wipe
    assert demo_files({"DEMO_KEEP": "1"}).wipe == ()
    supplied = demo_files({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'mine.db'}"})
    assert supplied.wipe == () and supplied.database_url.endswith("mine.db")
    assert supplied.state == tmp_path / "mine.sandboxes.json"
    assert demo_files({"DATABASE_URL": "postgresql+asyncpg://u:p@127.0.0.1/db"}).wipe == ()


def test_make_demo_passes_the_demo_user(tmp_path):
    default = subprocess.run(["make", "-n", "demo"], capture_output=True, text=True, cwd=ROOT, timeout=30)
    chosen = subprocess.run(["make", "-n", "demo", "DEMO_USER=1002"], capture_output=True, text=True, cwd=ROOT,
                            timeout=30)
    assert "-m bot demo --user-id 1001" in default.stdout, default.stdout + default.stderr
    assert "-m bot demo --user-id 1002" in chosen.stdout, chosen.stdout + chosen.stderr


def test_an_error_of_the_demo_itself_is_one_line(tmp_path):
    missing = as_a_user_runs_it(tmp_path, "--script", "no-such-steps.txt")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "demo: cannot read the script no-such-steps.txt: No such file or directory"
    assert missing.stdout == ""

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "demo.sandboxes.json").write_text("{not json", encoding="utf-8")
    broken = as_a_user_runs_it(tmp_path, "--script", "-", DEMO_KEEP="1")
    assert broken.returncode == 2
    assert len(broken.stderr.strip().splitlines()) == 1 and "Traceback" not in broken.stderr
    assert "demo.sandboxes.json" in broken.stderr and "remove it" in broken.stderr


def test_a_log_record_with_a_trace_is_one_line_in_the_terminal(tmp_path):
    try:
        {}["missing"]
    except KeyError as exc:
        error = exc
    record = logging.LogRecord("handlers.errors", logging.ERROR, __file__, 1, "unhandled %s in update %s",
                               ("KeyError", 7), (KeyError, error, error.__traceback__))
    line = OneLineFormatter(tmp_path / "demo.log").format(record)
    assert "\n" not in line and "Traceback" not in line and "'missing'" not in line  # no message, no frames
    assert line.startswith("⚠ error handlers.errors: unhandled KeyError in update 7 (KeyError at ")
    assert f"test_demo.py:{error.__traceback__.tb_lineno}" in line and str(tmp_path / "demo.log") in line


async def test_the_chat_keeps_printing_after_a_quiet_spell(monkeypatch):
    """A person reads and types slower than FakeUser's patience: the printer waits that out and goes on."""
    telegram = TelegramDouble()
    user = telegram.user(1001)
    out = io.StringIO()
    view = ChatView(user, out)
    real_wait, quiet = user.wait_for, asyncio.Event()

    async def wait_for(predicate, timeout=None):
        if not quiet.is_set():  # the first wait: nothing happens within the patience
            quiet.set()
            raise TimeoutError("condition not met")
        await real_wait(predicate, timeout)

    monkeypatch.setattr(user, "wait_for", wait_for)
    printed, flush = asyncio.Event(), view.flush

    def flush_and_tell() -> None:
        flush()
        if "Hello after a pause" in out.getvalue():
            printed.set()

    monkeypatch.setattr(view, "flush", flush_and_tell)
    printer = asyncio.create_task(view.follow())
    await quiet.wait()
    await user.send("/start")  # the chat exists: the bot may write to it
    await telegram._send_message({"chat_id": user.user_id, "text": "Hello after a pause"})
    try:
        await asyncio.wait_for(printed.wait(), 5)
    finally:
        printer.cancel()
        with suppress(asyncio.CancelledError):
            await printer
    assert "🤖 Hello after a pause" in out.getvalue()


async def test_the_payme_emulator_keeps_a_saved_card_across_dump_and_load():
    before = PaymeSandbox()
    token = (await before._cards_create({"card": {"number": "8600069195406311", "expire": "03/99"}}))["card"]["token"]
    await before._cards_get_verify_code({"token": token})
    await before._cards_verify({"token": token, "code": "666666"})
    receipt = (await before._receipts_create({"amount": 100_000, "account": {"order_id": "1"}}))["receipt"]["_id"]
    await before._receipts_pay({"id": receipt, "token": token})
    saved = json.dumps(before.dump())
    assert "8600069195406311" not in saved and "860006******6311" in saved

    after = PaymeSandbox()
    after.load(json.loads(saved))
    assert after.receipt(receipt) == before.receipt(receipt)
    again = (await after._receipts_create({"amount": 100_000, "account": {"order_id": "2"}}))["receipt"]["_id"]
    paid = await after._receipts_pay({"id": again, "token": token})
    assert paid["receipt"]["state"] == 4 and after.card_balance(token) == before.card_balance(token) - 100_000


def test_the_paylov_and_paysys_emulators_load_what_they_dumped():
    for kind in (PaylovSandbox, PaysysSandbox):
        before = kind()
        if kind is PaylovSandbox:
            before.add_merchant_card()
        saved = json.loads(json.dumps(before.dump()))
        after = kind()
        after.load(saved)
        assert after.dump() == saved
