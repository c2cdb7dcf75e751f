"""Pictures through the Telegram double: a paid bill's receipt as a PNG (only its owner can have it), and History's
12-month chart (a PNG after payments in two months; a text when there is nothing to draw)."""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta

from PIL import Image

from bot.sandbox.scenarios import add_card, hot_water_to_code, pay_service, registered
from bot.services.history import TASHKENT

HOT = dict(query="горячая", service="Горячая вода и отопление")
GAS = dict(query="gaz", service="Hududgaz: Tabiiy gaz")


def picture(message) -> Image.Image:
    """The photo the user got, decoded: a PNG, fully readable."""
    assert message.kind == "photo" and message.photo
    image = Image.open(io.BytesIO(message.photo))
    image.load()
    assert image.format == "PNG"
    return image


def photos(user) -> list:
    return [m for m in user.bot_messages if m.kind == "photo"]


async def test_receipt_as_a_picture(app, telegram):
    user = await registered(telegram, 1501)
    await add_card(user)
    await pay_service(user, **HOT, account="10000002", amount="7000")
    paid = user.last
    assert "🖼 Receipt as a picture" in paid.labels

    query = await user.press("🖼 Receipt as a picture")
    sent = await user.wait_message("Receipt: Горячая вода и отопление, 7,000 sum")
    await user.wait_for(lambda: user.answered(query))
    image = picture(sent)
    width, height = image.size
    assert 600 <= width <= 1280 and width < height <= 3000  # a phone-screen receipt, drawn at twice the size
    assert sent.buttons == []
    call = telegram.calls_of("sendPhoto")[-1]
    assert call.ok and call.params["caption"].startswith("🧾")  # the audit reads captions too

    await user.tap("🧾 History")  # the same picture from History's entry
    view = await user.wait_message("History —")
    await user.press(next(label for label in view.labels if label.startswith("✅")))
    await user.wait_message("Payment reference")
    await user.press("🖼 Receipt as a picture")
    await user.wait_for(lambda: len(photos(user)) == 2)
    assert photos(user)[1].photo == sent.photo  # one model, one picture


async def test_someone_elses_receipt_picture_is_refused(app, telegram):
    owner = await registered(telegram, 1502)
    await add_card(owner)
    await pay_service(owner, **HOT, account="10000002", amount="5000")
    data = owner.last.button("🖼 Receipt as a picture").callback_data
    assert data.startswith("pic:")

    other = await registered(telegram, 1503)
    query = await other.press_data(data, message=other.last)  # the owner's button, forged by another client
    await other.wait_for(lambda: other.answered(query))
    assert other.alerts[-1] == "This payment is not available."
    assert photos(other) == [] and photos(owner) == []
    assert telegram.calls_of("sendPhoto") == []

    query = await other.press_data("pic:99999999999999999999", message=other.last)  # out of range: an old button
    await other.wait_for(lambda: other.answered(query))
    assert other.alerts[-1] == "This button is no longer active."


async def test_chart_of_two_months(app, telegram, provider_clock):
    user = await registered(telegram, 1504)
    await add_card(user)
    today = datetime.now(TASHKENT).date()
    last_month_day = today.replace(day=1) - timedelta(days=1)
    real_now = provider_clock.now
    provider_clock.now = datetime.combine(last_month_day, time(12)).timestamp()  # the provider's paid-at
    await pay_service(user, **HOT, account="10000001", amount="10000")
    await pay_service(user, **GAS, account="4000000001", amount="30000")
    provider_clock.now = real_now
    await pay_service(user, **HOT, account="10000002", amount="7000")

    await user.tap("🧾 History")
    await user.wait_message("History —")
    await user.press("📊 Chart for 12 months")
    sent = await user.wait_message("Bills paid in this bot")
    image = picture(sent)
    assert 800 <= image.size[0] <= 1280 and 600 <= image.size[1] <= 2000
    # the caption says in words what the bars show: each service's total over the months, and the sum
    assert "Горячая вода и отопление: 17,000 sum" in sent.text
    assert "Hududgaz: Tabiiy gaz: 30,000 sum" in sent.text
    assert "Total for 12 months: 47,000 sum" in sent.text


async def test_nothing_to_chart(app, telegram):
    user = await registered(telegram, 1505)
    await add_card(user, "8600 4954 7331 6478")  # 20 000 sum on it: the payment below is refused
    await hot_water_to_code(user, amount="30000")
    await user.send("666666")
    await user.wait_message("Not paid")

    await user.tap("🧾 History")  # a failed payment: History has a month to show, the chart nothing to draw
    await user.wait_message("History —")
    await user.press("📊 Chart for 12 months")
    said = await user.wait_message("Nothing to chart yet")
    assert said.kind == "text"
    assert photos(user) == [] and telegram.calls_of("sendPhoto") == []
