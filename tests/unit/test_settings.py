"""`python -m bot` refuses a bad setting with one line that names it, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CASES = [
    ({}, "BOT_TOKEN"),
    ({"BOT_TOKEN": "1:x", "PROVIDERS": "production"}, "PROVIDERS"),
    ({"BOT_TOKEN": "1:x", "PROVIDERS": "live"}, "PAYLOV_BASE_URL"),
    ({"BOT_TOKEN": "1:x", "CATALOGUE_TTL": "ten minutes"}, "CATALOGUE_TTL"),
    ({"BOT_TOKEN": "1:x", "CARD_VAULT": "bank"}, "CARD_VAULT"),
    ({"BOT_TOKEN": "1:x", "PROVIDERS": "live", "PAYLOV_BASE_URL": "https://p", "PAYLOV_USERNAME": "u",
      "PAYLOV_PASSWORD": "p", "PAYLOV_CONSUMER_KEY": "k", "PAYLOV_CONSUMER_SECRET": "s", "CARD_VAULT": "payme"},
     "PAYME_BASE_URL"),
    ({"BOT_TOKEN": "1:x", "CARD_VAULT": "payme", "WEBAPP_URL": "http://example.org"}, "WEBAPP_URL"),
    # a claim must outlive the provider call it covers: 2 × (3 + 15) + 2 = 38 s
    ({"BOT_TOKEN": "1:x", "PAYING_STALE_AFTER": "30"}, "PAYING_STALE_AFTER"),
]


@pytest.mark.parametrize("env, named", CASES, ids=[named for _, named in CASES])
def test_bad_setting_stops_with_one_line(tmp_path, env, named):
    clean = {key: value for key, value in os.environ.items() if not key.isupper() or key in ("PATH", "HOME")}
    result = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env={**clean, **env},
        capture_output=True, text=True, timeout=60,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_the_example_env_file_is_a_valid_configuration(monkeypatch):
    """`cp .env.example .env` must start: empty values mean "not set"."""
    from pathlib import Path

    from bot.settings import Settings

    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    example = Path(__file__).resolve().parents[2] / ".env.example"
    settings = Settings(_env_file=example)
    assert (settings.CARD_VAULT, settings.OPERATOR_CHAT_ID, settings.WEBAPP_URL) == ("paylov", None, None)
    assert settings.TELEGRAM_API_URL is None and settings.PROVIDERS == "sandbox"
