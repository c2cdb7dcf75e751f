"""One presentation for money, dates, cards and phones, so every message, the receipt and the card page agree.

Numbers come from Babel's locale data (uz/ru `15 105,15`, en `15,105.15`); the currency word is ours per language.
Babel separates thousands with a no-break space (U+00A0, sometimes a narrow U+202F); we print a regular space
instead, as the bot always has: Telegram renders it everywhere and `parse_sums` reads it back.
Times are shown in Tashkent time (UTC+5, no daylight saving); a naive datetime is UTC, as the database stores it.
Plain text: callers still `html.quote` what they embed in HTML (a card name is the user's own text).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal

from bot.domain.cards import BRAND_NAMES

TASHKENT = timezone(timedelta(hours=5), "Asia/Tashkent")
CURRENCY = {"uz": "so‘m", "ru": "сум", "en": "sum"}
DEFAULT_LOCALE = "en"
SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})
BULLET = "•"
MASKS = "*•xX●∗·"


def _language(locale: str | None) -> str:
    code = (locale or DEFAULT_LOCALE).replace("-", "_").split("_")[0].lower()
    return code if code in CURRENCY else DEFAULT_LOCALE


def number(amount: int | Decimal, locale: str | None) -> str:
    """An amount in sums without the currency word, for sentences whose catalog entry carries the word (Uzbek
    declines it: `so‘mdan`, `so‘mni`). Tiyin are shown only when there are any: 50 000, 15 105,15."""
    value = Decimal(amount)
    pattern = "#,##0" if value == value.to_integral_value() else "#,##0.00"
    return format_decimal(value, format=pattern, locale=_language(locale)).translate(SPACES)


def money(amount: int | Decimal, locale: str | None) -> str:
    """15 105,15 so‘m / 15 105,15 сум / 15,105.15 sum; a whole amount without decimals (50 000 so‘m)."""
    language = _language(locale)
    return f"{number(amount, language)} {CURRENCY[language]}"


def tiyin(amount: int, locale: str | None) -> str:
    """An amount in tiyin (Payme, PaySys, card balances) shown as sums."""
    return money(Decimal(amount).scaleb(-2), locale)


def tiyin_number(amount: int, locale: str | None) -> str:
    """`number` for an amount in tiyin."""
    return number(Decimal(amount).scaleb(-2), locale)


def local(value: datetime) -> datetime:
    """The moment in Tashkent time; a naive datetime is UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(TASHKENT)


def moment(value: datetime, locale: str | None = None) -> str:
    """30.11.2026 14:05 in Tashkent time, whatever the language (the form people see on receipts here)."""
    return local(value).strftime("%d.%m.%Y %H:%M")


def day(value: date) -> str:
    """30.11.2026. A datetime is first moved to Tashkent time."""
    if isinstance(value, datetime):
        value = local(value)
    return value.strftime("%d.%m.%Y")


def day_month(value: date) -> str:
    """28.11"""
    if isinstance(value, datetime):
        value = local(value)
    return value.strftime("%d.%m")


def _last4(text: str) -> str:
    digits = re.sub(r"\D", "", text or "")
    return digits[-4:]


def _names_the_card(name: str, brand: str, last4: str) -> bool:
    """True when a name only repeats the brand and number (`•6311`, `UZCARD •6311`, `8600 06** **** 6311`)."""
    compact = re.sub(r"[\s\-.·•*●∗xX]", "", name).lower()
    for word in (brand.lower(), "uzcard", "humo", "uzkard", "хумо", "узкард"):
        if word:
            compact = compact.replace(word, "")
    return compact == "" or (compact.isdigit() and compact.endswith(last4))


def brand_of(number: str | None) -> str:
    """The brand a masked number's first digits name (8600 UzCard, 9860 HUMO); "" when it shows none."""
    digits = re.sub(r"[^\d*•]", "", number or "")
    return BRAND_NAMES.get(digits[:4], "") if len(digits) >= 12 else ""


def card(brand: str | None, last4: str, name: str | None = None) -> str:
    """HUMO •6311, and the user's name for it when it says something else: HUMO •6311 · Salary.
    `last4` may be a whole masked number (860006******6311): only its last four digits are shown, and its first
    digits name the brand when `brand` is not given."""
    label = (brand or "").strip().upper()
    label = {"UZ CARD": "UZCARD", "UZKARD": "UZCARD", "SV": "UZCARD"}.get(label, label) or brand_of(last4)
    digits = _last4(last4) or (last4 or "").strip()[-4:]
    shown = f"{label} {BULLET}{digits}" if label else f"{BULLET}{digits}"
    extra = (name or "").strip()
    if extra and not _names_the_card(extra, label, digits):
        shown += f" · {extra}"
    return shown


def phone(raw: str | None) -> str:
    """+998 90 *** ** 67 from a full number. From a provider's masked value, only what it revealed: a full-length
    Uzbek mask keeps its groups (99890*****66 -> +998 90 *** ** 66), any other shows its trailing digits
    (********4567 -> •••• 4567). Never a guessed digit."""
    text = re.sub(r"[\s()\-]", "", raw or "").lstrip("+")
    if not text:
        return ""
    masked = any(ch in MASKS for ch in text)
    if not masked and text.isdigit():
        if len(text) == 9:
            text = "998" + text
        if len(text) == 12 and text.startswith("998"):
            return f"+998 {text[3:5]} *** ** {text[-2:]}"
        return f"{BULLET * 4} {text[-2:]}"
    if len(text) == 12 and text.startswith("998") and all(ch.isdigit() or ch in MASKS for ch in text):
        shown = "".join(ch if ch.isdigit() else "*" for ch in text)
        return f"+{shown[:3]} {shown[3:5]} {shown[5:8]} {shown[8:10]} {shown[10:]}"
    tail = re.search(r"(\d+)$", text)
    if tail is None:
        return (raw or "").strip()
    return f"{BULLET * 4} {tail.group(1)}"


AMOUNT = re.compile(r"([+\-\u2212]?)(\d{1,3}(?:[ ,]\d{3})+|\d+)(?:[.,](\d{1,2}))?")
AMOUNT_CURRENCY = re.compile(r"\s*(?:uzs|sum|so['‘’ʻ`]?m|сум|сўм)\.?\s*$", re.IGNORECASE)


def provider_amount(raw: object) -> Decimal | None:
    """A provider's figure as sums ("-48200.00", "50000", 50000, "15 105,15 UZS"); None when it is not one, and the
    caller shows the raw value as it came."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, Decimal)):
        return Decimal(raw)
    if isinstance(raw, float):
        raw = repr(raw)
    if not isinstance(raw, str):
        return None
    text = AMOUNT_CURRENCY.sub("", raw.strip().translate(SPACES))
    match = AMOUNT.fullmatch(text)
    if match is None:
        return None
    sign, whole, part = match.groups()
    if "," in whole and part is not None and "," in text[len(sign) + len(whole):]:
        return None  # "1,500,00": both separators the same, not a figure we can read with confidence
    try:
        value = Decimal(whole.replace(" ", "").replace(",", "") + (f".{part}" if part else ""))
    except InvalidOperation:
        return None
    return -value if sign in ("-", "\u2212") else value


DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")
MOMENT_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f",
)


def provider_date(raw: object) -> date | datetime | None:
    """A provider's date ("2024-08-23", "23.08.2024") or moment ("2024-08-23 10:11:12", ISO with an offset, epoch
    milliseconds as Payme sends them). A moment without an offset is the provider's local time, Tashkent: it comes
    back aware so `moment()` shows it unchanged. None when not recognised."""
    if isinstance(raw, datetime):
        return raw
    if isinstance(raw, date):
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if re.fullmatch(r"\d{13}", text):
        return datetime.fromtimestamp(int(text) / 1000, timezone.utc)
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            pass
    for pattern in MOMENT_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=TASHKENT)
        except ValueError:
            pass
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=TASHKENT)


def provider_value(raw: object, locale: str | None) -> str:
    """A provider's value shown in our format when it is a date or an amount (sums), verbatim otherwise."""
    when = provider_date(raw)
    if isinstance(when, datetime):
        return moment(when)
    if when is not None:
        return day(when)
    amount = provider_amount(raw)
    if amount is not None:
        return money(amount, locale)
    return str(raw).strip() if raw is not None else ""
