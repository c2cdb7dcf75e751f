"""The card page's HTML in the user's language: texts are translated here, the markup lives in card_page.html.

Seed 001's rules for a card form, kept by the template: card inputs carry no `name`, the form has no `action`
(so a browser can never submit it to us), and the page shows "Powered by Payme" with Payme's terms and privacy
policy. The page's script talks to Payme with the merchant id only, the X-Auth Payme allows from a browser.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from string import Template

from aiogram.utils.i18n import gettext as _

from bot.texts.outcomes import rule_text

TEMPLATE = Template((Path(__file__).with_name("card_page.html")).read_text(encoding="utf-8"))
PAYME_HOME = "https://payme.uz"
# Payme's public documents; confirm the addresses with Payme before going live.
PAYME_TERMS = "https://cdn.payme.uz/terms/main.html"
PAYME_PRIVACY = "https://cdn.payme.uz/terms/privacy.html"


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
        "bad_expiry": _("Please type the expiry as on the card: month and year, like 03/29."),
        "bad_code": _("The code has 6 digits. Please type it again."),
        "no_answer": _("Payme did not answer. Please try again."),
        "not_in_telegram": rule_text("bad_signature"),
        "privacy_note": _("The card number goes straight to Payme. The bot never sees it."),
        "powered": _("Powered by Payme"),
        "terms": _("Terms of use"),
        "privacy": _("Privacy policy"),
        "busy": _("Please wait…"),
    }


def render_card_page(*, language: str, payme_url: str, merchant_id: str, token_url: str) -> str:
    shown = texts()
    config = {"lang": language, "paymeUrl": payme_url, "merchantId": merchant_id, "tokenUrl": token_url,
              "texts": shown}
    return TEMPLATE.substitute(
        lang=language,
        title=escape(shown["title"]),
        number=escape(shown["number"]),
        expiry=escape(shown["expiry"]),
        continue_=escape(shown["continue"]),
        code=escape(shown["code"]),
        confirm=escape(shown["confirm"]),
        resend=escape(shown["resend"]),
        privacy_note=escape(shown["privacy_note"]),
        powered=escape(shown["powered"]),
        terms=escape(shown["terms"]),
        privacy=escape(shown["privacy"]),
        payme_home=PAYME_HOME,
        payme_terms=PAYME_TERMS,
        payme_privacy=PAYME_PRIVACY,
        # JSON inside <script>: "</" would end the element early, so it is escaped.
        config=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
    )


def token_error_text(code: str, **params: object) -> str:
    """What the page shows when the bot could not save the token."""
    if code == "bad_request":
        code = "bad_signature"
    return rule_text(code, **params)
