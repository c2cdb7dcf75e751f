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
