"""Headless Chromium (Debian's package, driven by Playwright) for the card page, with Telegram's script stubbed.

There is no internet here, so https://telegram.org/js/telegram-web-app.js is answered by the test (page.route)
with a small stand-in that does what the page uses of it: `Telegram.WebApp.initData` read from the address's
`#tgWebAppData=` (as the real script does), `ready()` and `close()`. Every Content-Security-Policy violation the
page reports is recorded (`window.__csp`) by an init script, which the page's own CSP does not govern."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from playwright.async_api import Page, Response, async_playwright

from tests.conftest import BOT_TOKEN

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root in a closed network: no sandbox, no GPU, no background connections to Google's hosts.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 360, "height": 640}
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
TELEGRAM_STUB = """
(function () {
  var hash = new URLSearchParams(location.hash.slice(1));
  window.__telegram = {loaded: true, ready: false, closed: false};
  window.Telegram = {WebApp: {
    initData: hash.get("tgWebAppData") || "",
    ready: function () { window.__telegram.ready = true; },
    close: function () { window.__telegram.closed = true; },
  }};
})();
"""
CSP_RECORDER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.effectiveDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
async def browser(tmp_path):
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        await browser.close()


@dataclass
class OpenedPage:
    page: Page
    response: Response | None  # the page's own answer (its headers)
    seen: list[tuple[str, str]] = field(default_factory=list)  # every request the page made: (url, body)

    async def csp_violations(self) -> list[str]:
        return await self.page.evaluate("window.__csp")


async def open_page(browser, telegram, user, url: str, *, locale: str = "en-US", signed: bool = True) -> OpenedPage:
    """The page as Telegram opens it for `user` (signed initData after #), Telegram's script stubbed."""
    context = await browser.new_context(viewport=PHONE, is_mobile=True, locale=locale)
    await context.route(TELEGRAM_SCRIPT, lambda route: route.fulfill(
        status=200, content_type="application/javascript", body=TELEGRAM_STUB))
    await context.add_init_script(CSP_RECORDER)
    page = await context.new_page()
    opened = OpenedPage(page, None)
    page.on("request", lambda request: opened.seen.append((request.url, request.post_data or "")))
    address = url
    if signed:
        init_data = telegram.web_app_init_data(user.user_id, BOT_TOKEN)
        address = f"{url}#tgWebAppData={quote(init_data)}&tgWebAppVersion=8.0"
    opened.response = await page.goto(address, wait_until="load")
    return opened
