"""The card page's HTML in the user's language: texts are translated here, the markup lives in card_page.html,
its script in card_page.js and its style in card_page.css (files, so that the Content-Security-Policy allows no
inline script or style).

Inside Telegram the page takes Telegram's theme colours and uses the Mini App's main button (card_page.js says why);
the card brand is hinted from the number's first digits as it is typed (bot.domain.cards.BRAND_NAMES, as every
message names it).

Seed 001's rules for a card form, kept by the template: card inputs carry no `name`, the form has no `action`
(so a browser can never submit it to us), and the page shows "Powered by Payme" with Payme's terms and privacy
policy. The page's script talks to Payme with the merchant id only, the X-Auth Payme allows from a browser.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from aiogram.utils.i18n import gettext as _

from bot.domain.cards import BRAND_NAMES
from bot.texts.formats import card
from bot.texts.outcomes import rule_text

HERE = Path(__file__).parent
TEMPLATE = Template((HERE / "card_page.html").read_text(encoding="utf-8"))
SCRIPT = (HERE / "card_page.js").read_bytes()
STYLE = (HERE / "card_page.css").read_bytes()
# Telegram's Mini App script (core.telegram.org/bots/webapps): the one script the page loads from elsewhere.
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
# Telegram's web clients (web.telegram.org/k/ and /a/) show a Mini App in an iframe; the apps open it in a webview.
TELEGRAM_WEB = "https://web.telegram.org"
PAYME_HOME = "https://payme.uz"
# Payme's public documents; confirm the addresses with Payme before going live.
PAYME_TERMS = "https://cdn.payme.uz/terms/main.html"
PAYME_PRIVACY = "https://cdn.payme.uz/terms/privacy.html"
# First digits -> the brand shown beside the number as it is typed, spelled as bot.texts.formats.card spells it.
NUMBER_PLACEHOLDER = "0000 0000 0000 0000"  # the same digits in every language


def texts() -> dict[str, str]:
    """Everything the page's script may show, in the current locale."""
    return {
        "title": _("Add a card"),
        "number": _("Card number"),
        "expiry": _("Expiry (MM/YY)"),
        "continue": _("Continue"),
        "code": _("Code from the SMS"),
        "code_sent": _("Payme sent a code to {phone}."),
        "confirm": _("Confirm"),
        "resend": _("Send a new code"),
        "resend_in": _("A new code can be asked in {seconds} s."),
        "added": _("The card {masked} is added. You can return to the chat."),
        "bad_number": _("A card number has 16 digits. Please check it."),
        "bad_luhn": _("This card number has a typo. Please check it."),
        "bad_expiry": _("Please type the expiry as on the card: month and year, like 03/29."),
        "bad_code": _("The code has 6 digits. Please type it again."),
        "no_answer": _("Payme did not answer. Please try again."),
        "not_in_telegram": rule_text("bad_signature"),
        "privacy_note": _("The card number goes straight to Payme. The bot never sees it."),
        "powered": _("Powered by Payme"),
        "terms": _("Terms of use"),
        "privacy": _("Privacy policy"),
        "busy": _("Please wait…"),
        "expiry_placeholder": _("MM/YY"),
        "code_placeholder": _("6 digits"),
    }


def render_card_page(*, language: str, payme_url: str, merchant_id: str, token_url: str, session: str | None,
                     notice: str | None, script_url: str, style_url: str) -> str:
    """`session`: the secret of the page's live binding session; `notice`: what to show instead of the form when
    there is none (a used or expired page, or an address without a session)."""
    shown = texts()
    config = {"lang": language, "paymeUrl": payme_url, "merchantId": merchant_id, "tokenUrl": token_url,
              "session": session, "notice": notice, "texts": shown,
              "brands": [list(pair) for pair in BRAND_NAMES.items()]}
    return TEMPLATE.substitute(
        lang=language,
        title=escape(shown["title"]),
        number=escape(shown["number"]),
        expiry=escape(shown["expiry"]),
        continue_=escape(shown["continue"]),
        code=escape(shown["code"]),
        number_placeholder=NUMBER_PLACEHOLDER,
        expiry_placeholder=escape(shown["expiry_placeholder"]),
        code_placeholder=escape(shown["code_placeholder"]),
        confirm=escape(shown["confirm"]),
        resend=escape(shown["resend"]),
        privacy_note=escape(shown["privacy_note"]),
        powered=escape(shown["powered"]),
        terms=escape(shown["terms"]),
        privacy=escape(shown["privacy"]),
        payme_home=PAYME_HOME,
        payme_terms=PAYME_TERMS,
        payme_privacy=PAYME_PRIVACY,
        telegram_script=TELEGRAM_SCRIPT,
        script_url=escape(script_url),
        style_url=escape(style_url),
        # JSON inside <script>: "</" would end the element early, so it is escaped.
        config=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
    )


def content_security_policy(payme_url: str) -> str:
    """Our own script and style, Telegram's script, calls to us and to Payme only; shown in Telegram's web client
    only; no <base>, no form posts. Without 'unsafe-inline' anywhere: an injected script or style does not run."""
    parts = urlsplit(payme_url)
    payme_origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return "; ".join([
        "default-src 'none'",
        f"script-src 'self' {TELEGRAM_SCRIPT}",
        "style-src 'self'",
        f"connect-src 'self' {payme_origin}".rstrip(),
        f"frame-ancestors {TELEGRAM_WEB}",
        "base-uri 'none'",
        "form-action 'none'",
    ])


def token_error_text(code: str, **params: object) -> str:
    """What the page shows when the bot could not save the token."""
    if code in ("bad_request", "page_unknown"):
        code = "bad_signature"
    words = {
        "page_expired": _("This page has expired. Please tap “Add a card” in the bot again."),
        "page_used": _("This page has already added a card. To add another card, tap “Add a card” in the bot "
                       "again."),
        "in_progress": _("The card is still being saved. Please wait a moment and try again."),
        "token_taken": _("This card is already added in another Telegram account, so it cannot be added here."),
    }
    return words[code] if code in words else rule_text(code, **params)


def added_text(masked: str) -> str:
    """The card as every message shows it (bot.texts.formats.card): UZCARD •6311."""
    return _("The card {masked} is added. You can return to the chat.").format(masked=card(None, masked))
