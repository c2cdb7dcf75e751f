"""Webhook mode's settings rules (bot.settings.Settings._webhook), as `load_settings` reports them: one SettingsError
line naming the setting. http:// is taken only with a loopback Bot API server (the Telegram double); the secret is
required and of Telegram's alphabet; an update's deadline ends before its inbox lease and before aiogram's 55 s."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError, load_settings

BASE = {"BOT_TOKEN": "1:x", "WEBHOOK_SECRET": "webhook-secret_42"}
HTTPS = "https://bot.example.org/telegram/updates"
HTTP = "http://127.0.0.1:8443/telegram/updates"


@pytest.fixture(autouse=True)
def no_environment(monkeypatch, tmp_path):
    """Only what a test gives: no setting from the shell, no .env from the working directory."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.chdir(tmp_path)


def load(**settings: object) -> Settings:
    return load_settings(**{**BASE, **settings})


def test_https_webhook_is_taken():
    settings = load(WEBHOOK_URL=HTTPS)
    assert settings.webhook_mode and settings.WEBHOOK_SECRET.get_secret_value() == BASE["WEBHOOK_SECRET"]
    assert (settings.UPDATE_DEADLINE, settings.inbox_lease, settings.redis_lock_timeout) == (20, 25, 25)


def test_no_webhook_url_is_polling():
    assert not load_settings(BOT_TOKEN="1:x").webhook_mode  # no secret needed either


@pytest.mark.parametrize("api", ["http://127.0.0.1:8081", "http://localhost:8081", "http://[::1]:8081"])
def test_http_webhook_with_a_loopback_bot_api(api):
    assert load(WEBHOOK_URL=HTTP, TELEGRAM_API_URL=api).WEBHOOK_URL == HTTP


@pytest.mark.parametrize("api", [None, "https://api.telegram.org", "http://10.0.0.5:8081", "http://bot-api:8081"])
def test_http_webhook_refused_unless_the_bot_api_is_loopback(api):
    with pytest.raises(SettingsError, match=r"WEBHOOK_URL must be an https:// address") as refused:
        load(WEBHOOK_URL=HTTP, TELEGRAM_API_URL=api)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("url", ["ftp://bot.example.org/hook", "bot.example.org/hook"])
def test_other_schemes_refused_even_with_a_loopback_bot_api(url):
    with pytest.raises(SettingsError, match="WEBHOOK_URL must be an https:// address"):
        load(WEBHOOK_URL=url, TELEGRAM_API_URL="http://127.0.0.1:8081")


@pytest.mark.parametrize("secret", [None, ""])
def test_a_missing_secret_is_refused(secret):
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET is required when WEBHOOK_URL is set"):
        load(WEBHOOK_URL=HTTPS, WEBHOOK_SECRET=secret)


@pytest.mark.parametrize("secret", ["has space", "semi;colon", "ünïcode", "dot.ted", "x" * 257],
                         ids=["space", "semicolon", "non-ascii", "dot", "257 characters"])
def test_a_malformed_secret_is_refused(secret):
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -") \
            as refused:
        load(WEBHOOK_URL=HTTPS, WEBHOOK_SECRET=secret)
    assert secret not in str(refused.value)  # the line never carries the secret


def test_the_longest_secret_is_taken():
    assert load(WEBHOOK_URL=HTTPS, WEBHOOK_SECRET="A-z_9" * 51 + "x").webhook_mode  # 256 characters


@pytest.mark.parametrize("deadline, lease", [(3, 3), (4, 3), (55, 60), (56, 100), (60, 60)],
                         ids=["equal to the lease", "past the lease", "55", "past 55", "60"])
def test_a_deadline_not_below_the_lease_and_55_s_is_refused(deadline, lease):
    with pytest.raises(SettingsError, match=r"UPDATE_DEADLINE must be shorter than INBOX_LEASE"):
        load(WEBHOOK_URL=HTTPS, UPDATE_DEADLINE=deadline, INBOX_LEASE=lease)


@pytest.mark.parametrize("deadline, lease", [(2, 3), (54.9, 100), (20, 60)])
def test_a_deadline_below_both_is_taken(deadline, lease):
    settings = load(WEBHOOK_URL=HTTPS, UPDATE_DEADLINE=deadline, INBOX_LEASE=lease)
    assert (settings.UPDATE_DEADLINE, settings.inbox_lease) == (deadline, lease)


def test_the_deadline_rule_holds_from_the_environment_too(monkeypatch):
    monkeypatch.setenv("BOT_TOKEN", "1:x")
    monkeypatch.setenv("UPDATE_DEADLINE", "30")
    monkeypatch.setenv("INBOX_LEASE", "30")
    with pytest.raises(SettingsError, match="UPDATE_DEADLINE must be shorter than INBOX_LEASE"):
        load_settings()
