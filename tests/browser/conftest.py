"""Headless Chromium (Debian's package, driven by Playwright) for the card page, with Telegram's script stubbed.

There is no internet here, so https://telegram.org/js/telegram-web-app.js is answered by the test (page.route)
with a small stand-in that does what the page uses of it, read from the address as the real script reads it
(`#tgWebAppData=`, `tgWebAppPlatform`, `tgWebAppThemeParams`): `initData`, `platform`, `themeParams` and
`colorScheme`, `onEvent`, `ready()`, `expand()`, `close()`, haptics, and a `MainButton` that records every call
(`window.__telegram.mainButton`) and is tapped by `window.__telegram.pressMainButton()`. Every
Content-Security-Policy violation the page reports is recorded (`window.__csp`) by an init script, which the page's
own CSP does not govern."""

from __future__ import annotations

import json
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
  // What the real script reads from the address Telegram opens: initData, the platform and the theme.
  var hash = new URLSearchParams(location.hash.slice(1));
  var theme = {};
  try { theme = JSON.parse(hash.get("tgWebAppThemeParams") || "{}") || {}; } catch (e) { theme = {}; }
  var handlers = {};
  function fire(name) { (handlers[name] || []).slice().forEach(function (cb) { cb(); }); }
  function on(name, cb) { (handlers[name] = handlers[name] || []).push(cb); }
  function off(name, cb) { handlers[name] = (handlers[name] || []).filter(function (f) { return f !== cb; }); }
  function isDark(hex) {  // as the real script decides colorScheme from bg_color
    var c = (hex || "").replace("#", "");
    if (c.length === 3) c = c[0] + c[0] + c[1] + c[1] + c[2] + c[2];
    var r = parseInt(c.slice(0, 2), 16), g = parseInt(c.slice(2, 4), 16), b = parseInt(c.slice(4, 6), 16);
    return Math.sqrt(0.299 * r * r + 0.587 * g * g + 0.114 * b * b) < 120;
  }

  // The main button, as the real script keeps it (showProgress(false) makes it inactive, hideProgress active
  // again), with every call recorded. Telegram runs its click handlers only while it is active.
  var calls = [];
  var state = {text: "", isVisible: false, isActive: true, isProgressVisible: false, color: null, textColor: null};
  var mb = {};
  function record(name, args) { calls.push([name].concat(args)); }
  function setParams(p) {
    if (p.text !== undefined) state.text = String(p.text).trim();
    if (p.color !== undefined) state.color = p.color || null;
    if (p.text_color !== undefined) state.textColor = p.text_color || null;
    if (p.is_visible !== undefined) state.isVisible = !!p.is_visible;
    if (p.is_active !== undefined) state.isActive = !!p.is_active;
    return mb;
  }
  mb.setText = function (text) { record("setText", [text]); return setParams({text: text}); };
  mb.setParams = function (p) { record("setParams", [p]); return setParams(p); };
  mb.show = function () { record("show", []); return setParams({is_visible: true}); };
  mb.hide = function () { record("hide", []); return setParams({is_visible: false}); };
  mb.enable = function () { record("enable", []); return setParams({is_active: true}); };
  mb.disable = function () { record("disable", []); return setParams({is_active: false}); };
  mb.showProgress = function (leaveActive) {
    record("showProgress", [!!leaveActive]); state.isActive = !!leaveActive; state.isProgressVisible = true; return mb;
  };
  mb.hideProgress = function () {
    record("hideProgress", []); if (!state.isActive) state.isActive = true; state.isProgressVisible = false; return mb;
  };
  mb.onClick = function (cb) { record("onClick", []); on("mainButtonClicked", cb); return mb; };
  mb.offClick = function (cb) { record("offClick", []); off("mainButtonClicked", cb); return mb; };
  ["text", "isVisible", "isActive", "isProgressVisible", "color", "textColor"].forEach(function (key) {
    Object.defineProperty(mb, key, {get: function () { return state[key]; }, enumerable: true});
  });

  var app = {
    initData: hash.get("tgWebAppData") || "",
    platform: hash.get("tgWebAppPlatform") || "unknown",
    version: hash.get("tgWebAppVersion") || "6.0",
    themeParams: theme,
    colorScheme: theme.bg_color && isDark(theme.bg_color) ? "dark" : "light",
    MainButton: mb,
    HapticFeedback: {notificationOccurred: function (kind) { window.__telegram.haptics.push(kind); }},
    onEvent: on,
    offEvent: off,
    ready: function () { window.__telegram.ready = true; },
    expand: function () { window.__telegram.expanded = true; },
    close: function () { window.__telegram.closed = true; },
  };
  window.__telegram = {
    loaded: true, ready: false, expanded: false, closed: false, haptics: [],
    mainButton: {calls: calls, state: state},
    // The user taps Telegram's main button; false when Telegram would not run the handlers.
    pressMainButton: function () {
      if (!state.isVisible || !state.isActive) return false;
      fire("mainButtonClicked");
      return true;
    },
    // The user switches Telegram's theme while the page is open.
    changeTheme: function (params) {
      app.themeParams = params;
      app.colorScheme = params.bg_color && isDark(params.bg_color) ? "dark" : "light";
      fire("themeChanged");
    },
    // For screenshots: the main button drawn below the page, as a Telegram client draws it (the real script's
    // tgWebAppDebug button does the same), from the state the page left it in.
    drawMainButton: function () {
      if (!state.isVisible) return;
      var bar = document.createElement("div"), button = document.createElement("div");
      bar.id = "telegram-main-button";
      Object.assign(bar.style, {position: "fixed", left: "0", right: "0", bottom: "0", padding: "8px 16px 12px",
        background: theme.bottom_bar_bg_color || theme.bg_color || "#ffffff",
        borderTop: "1px solid rgba(127,127,127,.15)"});
      Object.assign(button.style, {font: "600 16px system-ui, sans-serif", height: "48px", lineHeight: "48px",
        borderRadius: "12px", textAlign: "center", background: state.color || theme.button_color || "#2481cc",
        color: state.textColor || theme.button_text_color || "#ffffff"});
      button.textContent = state.text;
      bar.appendChild(button);
      document.body.appendChild(bar);
      document.documentElement.style.paddingBottom = "68px";
    },
  };
  window.Telegram = {WebApp: app};
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


async def open_page(browser, telegram, user, url: str, *, locale: str = "en-US", signed: bool = True,
                    platform: str | None = None, theme: dict[str, str] | None = None, scale: float = 1) -> OpenedPage:
    """The page as Telegram opens it for `user` (signed initData after #), Telegram's script stubbed. Without a
    `platform` the stub says "unknown", as the real script does in a plain browser (no main button); with one, and
    `theme` (Telegram's themeParams), the page is in a Telegram client. `scale`: device pixels per CSS pixel."""
    context = await browser.new_context(viewport=PHONE, is_mobile=True, locale=locale, device_scale_factor=scale)
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
        if platform:
            address += f"&tgWebAppPlatform={platform}"
        if theme:
            address += f"&tgWebAppThemeParams={quote(json.dumps(theme))}"
    opened.response = await page.goto(address, wait_until="load")
    return opened
