"""The card page in real headless Chromium (Debian's package, driven by Playwright): it binds a seed card through
the Payme emulator, the bot stores the token, and no request that reached our server carries the card number."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from bot.sandbox.scenarios import open_card_page, registered
from bot.storage.models import Card
from tests.browser.conftest import PHONE, open_page

NUMBER = "8600069195406311"


async def test_the_page_binds_a_seed_card_and_our_server_never_sees_the_number(payme_app, telegram, payme, browser):
    user = await registered(telegram, 951)
    url = await open_card_page(user)
    opened = await open_page(browser, telegram, user, url)
    page, seen = opened.page, opened.seen

    # seed 001's form rules
    assert await page.eval_on_selector_all("input", "els => els.map(e => e.getAttribute('name'))") == [None] * 3
    assert await page.eval_on_selector_all("form", "els => els.map(e => e.getAttribute('action'))") == [None, None]
    powered = page.locator("#powered")
    assert await powered.inner_text() == "Powered by Payme" and "payme.uz" in await powered.get_attribute("href")
    assert "payme.uz" in await page.locator("#terms").get_attribute("href")
    assert "payme.uz" in await page.locator("#privacy").get_attribute("href")
    assert await page.locator("#terms").inner_text() == "Terms of use"
    assert await page.locator("#privacy").inner_text() == "Privacy policy"

    await page.locator("#number").fill(NUMBER)
    await page.locator("#expiry").fill("0399")
    assert await page.locator("#number").input_value() == "8600 0691 9540 6311"  # grouped as typed
    assert await page.locator("#expiry").input_value() == "03/99"
    await page.locator("#continue").click()
    await page.wait_for_selector("body[data-step=code]")
    assert "+998 90 *** ** 66" in await page.locator("#code-sent").inner_text()  # Payme's 99890*****66
    assert await page.locator("#resend").is_disabled()  # Payme's `wait` before a new code
    await page.locator("#code").fill("666666")
    await page.locator("#confirm").click()
    await page.wait_for_selector("body[data-step=added]")
    assert "UZCARD •6311" in await page.locator("#message").inner_text()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # fits a phone

    await user.wait_message("is added")
    async with payme_app.services.sessionmaker() as session:
        card = (await session.scalars(select(Card).where(Card.user_id == user.user_id))).one()
    assert (card.vault, card.masked_number) == ("payme", "860006******6311")

    ours = urlsplit(url).netloc
    to_us = [(u, body) for u, body in seen if urlsplit(u).netloc == ours]
    # the page, its script and style (in either order), then the token
    paths = [urlsplit(u).path for u, _body in to_us]
    assert paths[0] == urlsplit(url).path and paths[-1] == "/card/token"
    assert sorted(paths[1:-1]) == ["/card/page.css", "/card/page.js"]
    for request_url, body in to_us:
        for form in (NUMBER, "8600 0691 9540 6311", "0399", "666666"):
            assert form not in request_url and form not in body
    to_payme = [body for u, body in seen if u == payme.base_url]
    assert any(NUMBER in body for body in to_payme)  # the number went to Payme, from the browser
    assert {entry.auth for entry in payme.calls("cards.create")} == {"id"}


async def test_a_refused_seed_card_shows_payme_s_message_in_the_user_s_language(payme_app, telegram, payme, browser):
    user = await registered(telegram, 952, language="ru")
    url = await page_url_ru(user)
    assert url.endswith("/card?lang=ru")
    page = (await open_page(browser, telegram, user, url)).page
    assert await page.locator("html").get_attribute("lang") == "ru"
    assert await page.locator("h1").inner_text() == "Добавить карту"
    assert await page.locator("#terms").inner_text() == "Условия использования"
    assert await page.locator("#powered").inner_text() == "Powered by Payme"
    await page.locator("#number").fill("3333336415804657")  # seed 001: expired
    await page.locator("#expiry").fill("0399")
    await page.locator("#continue").click()
    await page.wait_for_selector("#message.error")
    assert await page.locator("#message").inner_text() == "Срок действия карты истёк"
    assert await page.locator("body").get_attribute("data-step") == "card"
    async with payme_app.services.sessionmaker() as session:
        assert (await session.scalars(select(Card).where(Card.user_id == user.user_id))).all() == []


async def page_url_ru(user) -> str:
    await user.tap("💳 Мои карты")
    await user.wait_for(lambda: any(label.startswith("➕") for label in user.last.labels))
    await user.press(next(label for label in user.last.labels if label.startswith("➕")))
    await user.wait_for(lambda: any(button.web_app for row in user.last.buttons for button in row))
    return next(button.web_app for row in user.last.buttons for button in row if button.web_app)


async def test_opened_outside_telegram_the_page_sends_nothing_anywhere(payme_app, telegram, payme, browser):
    user = await registered(telegram, 953)
    url = await open_card_page(user)
    opened = await open_page(browser, telegram, user, url, signed=False)  # no tgWebAppData: not opened by Telegram
    page = opened.page
    assert "“Add a card” button" in await page.locator("#message").inner_text()
    await page.locator("#number").fill(NUMBER)
    await page.locator("#expiry").fill("0399")
    await page.locator("#continue").click()
    assert await page.locator("body").get_attribute("data-step") == "card"
    ours = urlsplit(url).netloc
    assert [u for u, _body in opened.seen if urlsplit(u).netloc not in (ours, "telegram.org")] == []  # not to Payme
    assert sorted(urlsplit(u).path for u, _body in opened.seen if urlsplit(u).netloc == ours) == sorted([
        urlsplit(url).path, "/card/page.js", "/card/page.css"])
    assert payme.calls("cards.create") == []
