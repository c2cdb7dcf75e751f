"""When the "TEST MODE — no real money" line is shown: emulated money (PROVIDERS=sandbox) in front of the real
Telegram (no loopback TELEGRAM_API_URL), or TEST_MODE_BANNER=always; never with PROVIDERS=live."""

from __future__ import annotations

import pytest
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import MessageEntity
from aiogram.utils.i18n import I18n

from bot.app import LOCALES
from bot.middlewares.sandbox_banner import SandboxBanner, is_loopback_url, shows_test_mode
from bot.settings import load_settings

LIVE = {"PAYLOV_BASE_URL": "https://paylov.example", "PAYLOV_USERNAME": "u", "PAYLOV_PASSWORD": "p",
        "PAYLOV_CONSUMER_KEY": "k", "PAYLOV_CONSUMER_SECRET": "s"}


def settings(**values):
    return load_settings(BOT_TOKEN="1:x", **values)


@pytest.mark.parametrize(("url", "loopback"), [
    (None, False), ("", False),
    ("https://api.telegram.org", False), ("http://telegram-bot-api:8081", False), ("http://10.0.0.5:8081", False),
    ("http://127.0.0.1:8081", True), ("http://127.0.0.53", True), ("http://localhost:8081/", True),
    ("http://LOCALHOST.", True), ("http://[::1]:8081", True), ("http://0.0.0.0:8081", True),
    ("http://bot.localhost", True), ("127.0.0.1:8081", True),
])
def test_loopback_urls(url, loopback):
    assert is_loopback_url(url) is loopback


@pytest.mark.parametrize(("values", "shown"), [
    ({"PROVIDERS": "sandbox"}, True),  # Telegram's own Bot API
    ({"PROVIDERS": "sandbox", "TELEGRAM_API_URL": "http://telegram-bot-api:8081"}, True),
    ({"PROVIDERS": "sandbox", "TELEGRAM_API_URL": "http://127.0.0.1:8081"}, False),  # the double, the demo
    ({"PROVIDERS": "sandbox", "TELEGRAM_API_URL": "http://127.0.0.1:8081", "TEST_MODE_BANNER": "always"}, True),
    ({"PROVIDERS": "live", **LIVE}, False),
    ({"PROVIDERS": "live", "TEST_MODE_BANNER": "always", **LIVE}, False),
])
def test_when_the_line_is_shown(values, shown):
    assert shows_test_mode(settings(**values)) is shown


def test_the_setting_takes_auto_or_always_only(monkeypatch):
    monkeypatch.setenv("TEST_MODE_BANNER", "off")
    with pytest.raises(Exception, match="TEST_MODE_BANNER"):
        settings(PROVIDERS="sandbox")


async def _sent(method):
    seen = []

    async def make_request(bot, request):
        seen.append(request)
        return True

    await SandboxBanner()(make_request, None, method)
    return seen[0]


async def test_every_text_starts_with_the_line_in_the_users_language():
    i18n = I18n(path=LOCALES, default_locale="en", domain="messages")
    with i18n.context(), i18n.use_locale("ru"):
        sent = await _sent(SendMessage(chat_id=1, text="✅ <b>Оплачено</b>"))
    assert sent.text == "🧪 ТЕСТОВЫЙ РЕЖИМ — деньги не настоящие\n✅ <b>Оплачено</b>"
    with i18n.context(), i18n.use_locale("uz"):
        sent = await _sent(EditMessageText(chat_id=1, message_id=2, text="x"))
    assert sent.text == "🧪 TEST REJIMI — haqiqiy pul emas\nx"


async def test_outside_a_conversation_it_is_english_and_entities_are_left_alone():
    assert (await _sent(SendMessage(chat_id=1, text="x"))).text == "🧪 TEST MODE — no real money\nx"
    entities = [MessageEntity(type="bold", offset=0, length=1)]
    assert (await _sent(SendMessage(chat_id=1, text="x", entities=entities))).text == "x"
