"""The card page as a Telegram Mini App on a 360 px phone, in headless Chromium (issue 21, item 6): Telegram's theme
colours, its main button driving each step, the card brand named as the number is typed, placeholders and errors in
the user's language, an error taken back when the field is edited, and a layout where nothing is cut, overlaps or
overflows, in uz, ru and en. Each run saves its screenshots (card-page-{uz,ru,en}.png) in the test's folder, or in
docs/ with SCREENSHOTS=docs (how docs/card-page-*.png were made).

Telegram's script is the stand-in of tests/browser/conftest.py: it reads the platform and the theme from the address
as the real one does and records every main-button call; the page runs under its strict CSP throughout."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.sandbox.scenarios import open_card_page_in_any_language, registered
from tests.browser.conftest import PHONE, open_page

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def screenshots(tmp_path) -> Path:
    return DOCS if os.environ.get("SCREENSHOTS") == "docs" else tmp_path
NUMBER = "8600069195406311"  # seed 001's UzCard
# Telegram for Android's default light theme, as its client sends it.
ANDROID_LIGHT = {"bg_color": "#ffffff", "secondary_bg_color": "#f0f0f0", "text_color": "#222222",
                 "hint_color": "#a8a8a8", "link_color": "#2678b6", "button_color": "#50a8eb",
                 "button_text_color": "#ffffff", "destructive_text_color": "#cc2929", "header_bg_color": "#527da3",
                 "section_bg_color": "#ffffff", "bottom_bar_bg_color": "#ffffff"}
# A dark theme no default of the page's stylesheet matches.
DARK = {"bg_color": "#1e1e2e", "secondary_bg_color": "#313244", "text_color": "#cdd6f4", "hint_color": "#a6adc8",
        "link_color": "#89b4fa", "button_color": "#f38ba8", "button_text_color": "#11111b"}
LOCALE = {"uz": "uz-UZ", "ru": "ru-RU", "en": "en-US"}
WORDS = {  # what each language shows: the main button's steps and the placeholders
    "en": {"continue": "Continue", "confirm": "Confirm", "expiry": "MM/YY", "code": "6 digits"},
    "ru": {"continue": "Продолжить", "confirm": "Подтвердить", "expiry": "ММ/ГГ",
           "code": "6 цифр"},
    "uz": {"continue": "Davom etish", "confirm": "Tasdiqlash", "expiry": "OO/YY", "code": "6 ta raqam"},
}

# Every visible element inside the viewport's width and not overflowing its own box; no two of the page's parts
# overlapping (the brand sits inside the number's field, right of the room the digits have).
LAYOUT = """() => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  const name = (el) => el.id ? "#" + el.id : el.tagName.toLowerCase() + (el.getAttribute("class") ?
    "." + el.getAttribute("class").split(" ")[0] : "");
  const shown = (el) => {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return false;
    for (let e = el; e; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (style.display === "none" || style.visibility === "hidden") return false;
    }
    return true;
  };
  const visible = [...document.body.querySelectorAll("*")].filter(shown);
  for (const el of visible) {
    const box = el.getBoundingClientRect();
    if (box.left < -0.5 || box.right > width + 0.5) problems.push(`${name(el)} is cut: ${box.left}..${box.right}`);
    if (el instanceof HTMLElement && el.clientWidth > 0 &&
        (el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight + 1)) {
      problems.push(`${name(el)} overflows: ${el.scrollWidth}x${el.scrollHeight} in ` +
                    `${el.clientWidth}x${el.clientHeight}`);
    }
  }
  if (document.documentElement.scrollWidth > width) problems.push("the page scrolls sideways");
  const parts = visible.filter((el) => el.matches(
    "h1, label, input, .brand, .field-error, button, #message, #code-sent, .note, footer a"));
  for (let i = 0; i < parts.length; i++) {
    for (let j = i + 1; j < parts.length; j++) {
      const [a, b] = [parts[i], parts[j]];
      if (a.contains(b) || b.contains(a) || (a.id === "number" && b.id === "brand")) continue;
      const [p, q] = [a.getBoundingClientRect(), b.getBoundingClientRect()];
      const x = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const y = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (x > 0.5 && y > 0.5) problems.push(`${name(a)} overlaps ${name(b)}`);
    }
  }
  const brand = document.getElementById("brand"), number = document.getElementById("number");
  if (shown(brand)) {
    const [box, field] = [brand.getBoundingClientRect(), number.getBoundingClientRect()];
    const room = field.right - parseFloat(getComputedStyle(number).paddingRight);
    if (box.left < room - 0.5 || box.right > field.right || box.top < field.top || box.bottom > field.bottom) {
      problems.push("the brand is not beside the digits inside the number's field");
    }
  }
  return problems;
}"""

COLOURS = """() => {
  const colour = (selector, property) => getComputedStyle(document.querySelector(selector))[property];
  return {bg: colour("body", "backgroundColor"), text: colour("body", "color"), hint: colour("label", "color"),
          field: colour("#number", "backgroundColor"), accent: colour("#brand", "backgroundColor"),
          accent_text: colour("#brand", "color"), link: colour("#terms", "color"),
          scheme: document.documentElement.dataset.scheme || ""};
}"""


def rgb(hex_colour: str) -> str:
    value = hex_colour.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(value[i:i + 2], 16) for i in (0, 2, 4)))


def expected_colours(theme: dict[str, str], scheme: str) -> dict[str, str]:
    return {"bg": rgb(theme["bg_color"]), "text": rgb(theme["text_color"]), "hint": rgb(theme["hint_color"]),
            "field": rgb(theme["secondary_bg_color"]), "accent": rgb(theme["button_color"]),
            "accent_text": rgb(theme["button_text_color"]), "link": rgb(theme["link_color"]), "scheme": scheme}


async def main_button(page) -> dict:
    return await page.evaluate("window.__telegram.mainButton.state")


async def main_button_calls(page) -> list[str]:
    return [call[0] for call in await page.evaluate("window.__telegram.mainButton.calls")]


async def press_main_button(page) -> bool:
    return await page.evaluate("window.__telegram.pressMainButton()")


async def assert_laid_out(page, when: str) -> None:
    assert await page.evaluate("window.innerWidth") == PHONE["width"]
    assert await page.evaluate(LAYOUT) == [], when


async def type_number(page, digits: str) -> None:
    await page.locator("#number").fill("")
    await page.locator("#number").press_sequentially(digits)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the layout does not depend on the database
@pytest.mark.parametrize("language", ["uz", "ru", "en"])
async def test_the_card_page_in_telegram_at_360_px(language, payme_app, telegram, payme, browser, screenshots):
    user = await registered(telegram, 961, language=language)
    url = await open_card_page_in_any_language(user)
    opened = await open_page(browser, telegram, user, url, locale=LOCALE[language], platform="android",
                             theme=ANDROID_LIGHT, scale=2)
    page, words = opened.page, WORDS[language]
    texts = await page.evaluate("JSON.parse(document.getElementById('config').textContent).texts")

    # Telegram's theme and placeholders in the user's language
    assert await page.locator("html").get_attribute("lang") == language
    assert await page.evaluate(COLOURS) == expected_colours(ANDROID_LIGHT, "light")
    assert await page.locator("#number").get_attribute("placeholder") == "0000 0000 0000 0000"
    assert await page.locator("#expiry").get_attribute("placeholder") == words["expiry"]
    assert await page.locator("#code").get_attribute("placeholder") == words["code"]

    # Telegram's main button, not the page's own, and disabled until the form is right
    assert await page.locator("#continue").is_hidden()
    state = await main_button(page)
    assert (state["text"], state["isVisible"], state["isActive"]) == (words["continue"], True, False)
    assert {"onClick", "setText", "show", "disable"} <= set(await main_button_calls(page))
    assert state["color"] == ANDROID_LIGHT["secondary_bg_color"]  # drawn quiet while it cannot be used
    assert await press_main_button(page) is False
    await assert_laid_out(page, "empty form")

    # the brand as the number is typed
    assert await page.locator("#brand").is_hidden()
    await type_number(page, "9860")
    assert await page.locator("#brand").inner_text() == "HUMO"
    await type_number(page, "5614")
    assert await page.locator("#brand").inner_text() == "UZCARD"
    await type_number(page, "4444")
    assert await page.locator("#brand").is_hidden()
    await type_number(page, "860006919540631")
    assert await page.locator("#brand").inner_text() == "UZCARD"
    assert await page.locator("#number").input_value() == "8600 0691 9540 631"

    # a field left wrong says so in the user's language; editing it takes the error back
    assert await page.locator("#number-error").inner_text() == ""  # nothing is said while typing
    await page.locator("#expiry").fill("139")  # the number is left with 15 digits
    assert await page.locator("#number-error").inner_text() == texts["bad_number"]
    await page.locator("#expiry").blur()
    assert await page.locator("#expiry-error").inner_text() == texts["bad_expiry"]
    assert await page.locator("#expiry").get_attribute("aria-invalid") == "true"
    await assert_laid_out(page, "two errors")
    await page.locator("#number").press("End")
    await page.locator("#number").press_sequentially("2")  # a typo: told at once
    assert await page.locator("#number-error").inner_text() == texts["bad_luhn"]
    await page.locator("#number").press("Backspace")
    assert await page.locator("#number-error").inner_text() == ""
    await page.locator("#number").press_sequentially("1")
    assert await page.locator("#number-error").inner_text() == ""
    assert (await main_button(page))["isActive"] is False  # the expiry is still wrong
    await page.locator("#expiry").fill("0399")
    assert await page.locator("#expiry-error").inner_text() == ""
    assert await page.locator("#expiry").get_attribute("aria-invalid") is None
    state = await main_button(page)
    assert state["isActive"] is True and state["color"] == ANDROID_LIGHT["button_color"]
    await assert_laid_out(page, "filled form")

    screenshots.mkdir(exist_ok=True)
    await page.locator("#expiry").blur()
    await page.evaluate("window.__telegram.drawMainButton()")
    shot = screenshots / f"card-page-{language}.png"
    await page.screenshot(path=shot, full_page=True)
    assert shot.stat().st_size > 10_000
    await page.evaluate("""() => { document.getElementById("telegram-main-button").remove();
                                   document.documentElement.style.paddingBottom = ""; }""")

    # a tap on the main button sends the card to Payme, with the button in progress meanwhile
    calls_before = len(await main_button_calls(page))
    assert await press_main_button(page) is True
    await page.wait_for_selector("body[data-step=code]")
    assert [c for c in (await main_button_calls(page))[calls_before:] if "Progress" in c] == [
        "showProgress", "hideProgress"]
    assert len(payme.calls("cards.create")) == 1
    state = await main_button(page)
    assert (state["text"], state["isVisible"], state["isActive"], state["isProgressVisible"]) == (
        words["confirm"], True, False, False)
    assert await page.locator("#confirm").is_hidden()
    assert "+998 90 *** ** 66" in await page.locator("#code-sent").inner_text()
    await assert_laid_out(page, "code step")

    # Payme refuses a wrong code; editing the code takes the refusal back
    await page.locator("#code").fill("123456")
    assert await press_main_button(page) is True
    await page.wait_for_selector("#message.error")
    refusal = await page.locator("#message").inner_text()
    assert refusal and refusal != texts["busy"]
    await assert_laid_out(page, "code refused")
    await page.locator("#code").fill("666666")
    assert await page.locator("#message").inner_text() == ""

    assert await press_main_button(page) is True
    await page.wait_for_selector("body[data-step=added]")
    assert "6311" in await page.locator("#message").inner_text()
    assert (await main_button(page))["isVisible"] is False
    await assert_laid_out(page, "card added")
    await page.wait_for_function("() => window.__telegram.closed")  # the Mini App closes itself, back to the chat
    assert await page.evaluate("window.__telegram.haptics") == ["error", "success"]
    assert await opened.csp_violations() == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_page_follows_telegram_s_theme_and_its_changes(payme_app, telegram, payme, browser):
    user = await registered(telegram, 962)
    url = await open_card_page_in_any_language(user)
    opened = await open_page(browser, telegram, user, url, platform="ios", theme=DARK)
    page = opened.page
    await type_number(page, "9860")  # the brand is drawn in the button colours
    assert await page.evaluate(COLOURS) == expected_colours(DARK, "dark")

    await page.evaluate(f"window.__telegram.changeTheme({json.dumps(ANDROID_LIGHT)})")
    assert await page.evaluate(COLOURS) == expected_colours(ANDROID_LIGHT, "light")
    assert (await main_button(page))["color"] == ANDROID_LIGHT["secondary_bg_color"]  # recoloured, still disabled

    # colours Telegram does not send keep the page's own for the scheme it names
    await page.evaluate("window.__telegram.changeTheme({bg_color: '#000000', text_color: '#eeeeee'})")
    colours = await page.evaluate(COLOURS)
    assert (colours["bg"], colours["text"], colours["scheme"]) == (rgb("#000000"), rgb("#eeeeee"), "dark")
    assert colours["field"] == rgb("#232e3c") and colours["accent"] == rgb("#5288c1")  # the dark defaults
    assert await opened.csp_violations() == []  # colours are set through the CSSOM, which the CSP allows


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_outside_telegram_the_page_keeps_its_own_button(payme_app, telegram, payme, browser):
    user = await registered(telegram, 963, language="ru")
    url = await open_card_page_in_any_language(user)
    opened = await open_page(browser, telegram, user, url, locale="ru-RU")  # the stub's platform: "unknown"
    page = opened.page
    assert await page.locator("#continue").is_visible()
    assert await main_button_calls(page) == []  # Telegram's button is not touched in a plain browser
    await page.locator("#continue").click()
    texts = await page.evaluate("JSON.parse(document.getElementById('config').textContent).texts")
    assert await page.locator("#number-error").inner_text() == texts["bad_number"]
    assert await page.locator("#expiry-error").inner_text() == texts["bad_expiry"]
    await page.locator("#number").fill("8600")
    assert await page.locator("#number-error").inner_text() == ""  # the edited field's error goes...
    assert await page.locator("#expiry-error").inner_text() == texts["bad_expiry"]  # ...the other's stays
    await assert_laid_out(page, "outside Telegram, with an error")
    assert payme.calls("cards.create") == []

    # the layout check sees what it is there to see
    await page.evaluate("""() => {
      document.querySelector(".field.short").style.marginTop = "-40px";
      document.getElementById("number").style.paddingRight = "14px";
      document.querySelector("h1").style.width = "400px";
      document.getElementById("message").style.whiteSpace = "nowrap";
      document.getElementById("message").textContent = "x".repeat(80);
    }""")
    problems = " | ".join(await page.evaluate(LAYOUT))
    for seen in ("h1 is cut", "#message overflows", "#number overlaps label", "the brand is not beside the digits"):
        assert seen in problems, problems
