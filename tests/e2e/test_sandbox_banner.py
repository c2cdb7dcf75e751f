"""PROVIDERS=sandbox in front of the real Telegram: every message, the payment's summary and receipt among them,
starts with "TEST MODE — no real money" in the user's language (issue 18, item 3). The Telegram double is on
loopback, which by itself means "not the real Telegram", so TEST_MODE_BANNER=always stands for the real one here
(which URLs count as real is tested in tests/unit/test_sandbox_banner.py)."""

from __future__ import annotations

from bot.sandbox.harness import BotProcess
from bot.sandbox.scenarios import add_card, pay_text_service, registered

LINE = "🧪 TEST MODE — no real money\n"


async def test_every_payment_message_says_test_mode(make_settings, telegram):
    process = BotProcess(make_settings(PROVIDERS="sandbox", TEST_MODE_BANNER="always"))
    await process.start()
    try:
        user = await registered(telegram, 8801)
        await add_card(user)
        await pay_text_service(user)
        summary = next(m for m in user.bot_messages if "Check the payment" in m.text)
        receipt = next(m for m in user.bot_messages if "✅ <b>Paid</b>" in m.text or "✅ Paid" in m.text)
        assert summary.text.startswith(LINE) and "Amount:" in summary.text
        assert receipt.text.startswith(LINE) and "Transaction:" in receipt.text
        assert [m.text for m in user.bot_messages if not m.text.startswith(LINE)] == []

        russian = await registered(telegram, 8802, language="ru")
        assert russian.last.text.startswith("🧪 ТЕСТОВЫЙ РЕЖИМ — деньги не настоящие\n")
    finally:
        await process.stop()


async def test_no_line_with_the_local_telegram(make_settings, telegram):
    process = BotProcess(make_settings(PROVIDERS="sandbox"))  # the double on loopback: auto says no
    await process.start()
    try:
        user = await registered(telegram, 8803)
        assert user.bot_messages and not any("TEST MODE" in m.text for m in user.bot_messages)
    finally:
        await process.stop()
