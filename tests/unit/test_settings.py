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
    # payouts on with PROVIDERS=live need PaySys
    ({"BOT_TOKEN": "1:x", "PROVIDERS": "live", "PAYLOV_BASE_URL": "https://p", "PAYLOV_USERNAME": "u",
      "PAYLOV_PASSWORD": "p", "PAYLOV_CONSUMER_KEY": "k", "PAYLOV_CONSUMER_SECRET": "s", "CASHBACK_PERCENT": "1"},
     "PAYSYS_BASE_URL"),
    ({"BOT_TOKEN": "1:x", "CASHBACK_PERCENT": "100.5"}, "CASHBACK_PERCENT"),
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


# ---- PaySys payouts ------------------------------------------------------------------------------------------------

LIVE = {"BOT_TOKEN": "1:x", "PROVIDERS": "live", "PAYLOV_BASE_URL": "https://p", "PAYLOV_USERNAME": "u",
        "PAYLOV_PASSWORD": "p", "PAYLOV_CONSUMER_KEY": "k", "PAYLOV_CONSUMER_SECRET": "s"}
PAYSYS = {"PAYSYS_BASE_URL": "https://paysys.uz/gateway", "PAYSYS_SERVICE_ID": "svc", "PAYSYS_SECRET_KEY": "key",
          "PAYSYS_SENDER_LAST_NAME": "Karimov", "PAYSYS_SENDER_FIRST_NAME": "Aziz"}


@pytest.fixture
def load(monkeypatch, tmp_path):
    """load_settings from the given values alone: no inherited environment, no .env."""
    from bot.settings import Settings, load_settings

    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return load_settings


def test_payouts_are_off_by_default_and_paysys_is_then_optional(load):
    from decimal import Decimal

    settings = load(**LIVE)
    assert settings.CASHBACK_PERCENT == Decimal(0) and settings.OPERATOR_REFUNDS is False
    assert not settings.payouts_enabled and not settings.paysys_configured
    assert settings.PAYSYS_DOC_THRESHOLD == 18_750_000  # 50 base calculation values of 375 000 sum
    assert settings.PAYSYS_SENDER_MIDDLE_NAME == ""


@pytest.mark.parametrize("switch", [{"CASHBACK_PERCENT": "0.5"}, {"OPERATOR_REFUNDS": "true"}])
def test_payouts_on_when_live_need_every_paysys_setting(load, switch):
    from bot.settings import SettingsError

    settings = load(**LIVE, **switch, **PAYSYS)
    assert settings.payouts_enabled and settings.paysys_configured
    assert settings.PAYSYS_SECRET_KEY.get_secret_value() == "key" and "key" not in repr(settings)
    for name in PAYSYS:
        values = {**LIVE, **switch, **PAYSYS}
        del values[name]
        with pytest.raises(SettingsError, match=f"^setting {name} is required when payouts are on"):
            load(**values)
    sandbox = load(BOT_TOKEN="1:x", **switch)  # sandbox mode points PAYSYS_* at its emulator itself
    assert sandbox.payouts_enabled and not sandbox.paysys_configured


def test_cashback_percent_is_an_exact_decimal_never_a_float(load):
    from decimal import Decimal

    from bot.settings import SettingsError

    assert load(BOT_TOKEN="1:x", CASHBACK_PERCENT="0.1").CASHBACK_PERCENT == Decimal("0.1")
    assert load(BOT_TOKEN="1:x", CASHBACK_PERCENT=2).CASHBACK_PERCENT == Decimal(2)
    for bad in (0.1, "-1", "101", "ten"):
        with pytest.raises(SettingsError, match="CASHBACK_PERCENT"):
            load(BOT_TOKEN="1:x", CASHBACK_PERCENT=bad)
    with pytest.raises(SettingsError, match="PAYSYS_DOC_THRESHOLD"):
        load(BOT_TOKEN="1:x", PAYSYS_DOC_THRESHOLD="0")


def test_payout_max_must_stay_below_the_passport_threshold(load):
    from bot.settings import SettingsError

    assert load(BOT_TOKEN="1:x").PAYOUT_MAX == 1_000_000
    assert load(BOT_TOKEN="1:x", PAYOUT_MAX="18749999").PAYOUT_MAX == 18_749_999
    for values in ({"PAYOUT_MAX": "18750000"}, {"PAYOUT_MAX": "5000", "PAYSYS_DOC_THRESHOLD": "5000"}):
        with pytest.raises(SettingsError, match="PAYOUT_MAX must be below PAYSYS_DOC_THRESHOLD"):
            load(BOT_TOKEN="1:x", **values)
    with pytest.raises(SettingsError, match="PAYOUT_MAX"):
        load(BOT_TOKEN="1:x", PAYOUT_MAX="0")


@pytest.mark.parametrize("given, ids", [(None, ()), ("", ()), ("42", (42,)), ("1,2", (1, 2)), (" 1 , 2 ", (1, 2)),
                                        ("[7, 8]", (7, 8)), ([3], (3,))])
def test_operator_ids_from_the_environment_or_code(load, monkeypatch, given, ids):
    if isinstance(given, str):
        monkeypatch.setenv("OPERATOR_IDS", given)
        assert load(BOT_TOKEN="1:x").OPERATOR_IDS == ids
    else:
        assert load(BOT_TOKEN="1:x", **({} if given is None else {"OPERATOR_IDS": given})).OPERATOR_IDS == ids


def test_operator_ids_are_numbers(load):
    from bot.settings import SettingsError

    with pytest.raises(SettingsError, match="OPERATOR_IDS"):
        load(BOT_TOKEN="1:x", OPERATOR_IDS="admin")
