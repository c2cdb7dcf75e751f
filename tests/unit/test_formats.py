"""The presentation layer as case tables, in the three languages. Spaces are regular ones (formats.py says why)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.texts import formats
from bot.texts.formats import card, day, day_month, moment, money, number, phone, provider_amount, provider_date, tiyin


@pytest.mark.parametrize("amount, locale, shown", [
    (Decimal("15105.15"), "uz", "15 105,15 so‘m"),
    (Decimal("15105.15"), "ru", "15 105,15 сум"),
    (Decimal("15105.15"), "en", "15,105.15 sum"),
    (50000, "uz", "50 000 so‘m"),
    (50000, "ru", "50 000 сум"),
    (50000, "en", "50,000 sum"),
    (Decimal("50000.00"), "uz", "50 000 so‘m"),
    (Decimal("15105.10"), "ru", "15 105,10 сум"),
    (Decimal("0.5"), "en", "0.50 sum"),
    (-48200, "ru", "-48 200 сум"),
    (1500000, "uz", "1 500 000 so‘m"),
    (700, "en", "700 sum"),
    (15000, None, "15,000 sum"),
    (15000, "ru_RU", "15 000 сум"),
])
def test_money(amount, locale, shown):
    assert money(amount, locale) == shown


def test_money_has_no_babel_spaces():
    for locale in ("uz", "ru", "en"):
        text = money(Decimal("1234567.89"), locale)
        assert "\u00a0" not in text and "\u202f" not in text


@pytest.mark.parametrize("amount, locale, shown", [
    (1510515, "uz", "15 105,15 so‘m"),
    (1510515, "ru", "15 105,15 сум"),
    (1510515, "en", "15,105.15 sum"),
    (5000000, "uz", "50 000 so‘m"),
    (5000000, "en", "50,000 sum"),
    (50, "ru", "0,50 сум"),
    (-50, "en", "-0.50 sum"),
    (700050, "uz", "7 000,50 so‘m"),
])
def test_tiyin(amount, locale, shown):
    assert tiyin(amount, locale) == shown


def test_number_leaves_the_currency_word_to_the_sentence():
    assert number(15000, "uz") == "15 000"
    assert number(Decimal("15105.15"), "en") == "15,105.15"
    assert formats.tiyin_number(1510515, "ru") == "15 105,15"


@pytest.mark.parametrize("value, shown", [
    (datetime(2026, 11, 30, 9, 5), "30.11.2026 14:05"),  # naive = UTC
    (datetime(2026, 11, 30, 9, 5, tzinfo=timezone.utc), "30.11.2026 14:05"),
    (datetime(2026, 11, 30, 14, 5, tzinfo=timezone(timedelta(hours=5))), "30.11.2026 14:05"),
    (datetime(2026, 11, 30, 21, 30), "01.12.2026 02:30"),  # the day turns in Tashkent
    (datetime(2026, 7, 1, 7, 0), "01.07.2026 12:00"),  # no daylight saving
])
@pytest.mark.parametrize("locale", ["uz", "ru", "en", None])
def test_moment(value, shown, locale):
    assert moment(value, locale) == shown


def test_day_and_day_month():
    assert day(date(2026, 11, 30)) == "30.11.2026"
    assert day_month(date(2026, 11, 28)) == "28.11"
    assert day(datetime(2026, 11, 30, 20, 0)) == "01.12.2026"
    assert day_month(datetime(2026, 11, 27, 20, 0)) == "28.11"


@pytest.mark.parametrize("brand, last4, name, shown", [
    ("humo", "6311", None, "HUMO •6311"),
    ("UzCard", "6311", None, "UZCARD •6311"),
    ("HUMO", "6311", "Salary", "HUMO •6311 · Salary"),
    ("uzcard", "6311", "Зарплата", "UZCARD •6311 · Зарплата"),
    ("uzcard", "6311", "Maosh kartasi", "UZCARD •6311 · Maosh kartasi"),
    ("uzcard", "6311", "•6311", "UZCARD •6311"),
    ("uzcard", "6311", "UZCARD •6311", "UZCARD •6311"),
    ("uzcard", "6311", "8600 06** **** 6311", "UZCARD •6311"),
    ("uzcard", "6311", "860006******6311", "UZCARD •6311"),
    ("humo", "860006******6311", None, "HUMO •6311"),
    ("humo", "8600 06** **** 6311", "Mom's", "HUMO •6311 · Mom's"),
    (None, "6311", None, "•6311"),
    (None, "6311", "  ", "•6311"),
    ("humo", "6311", "6312", "HUMO •6311 · 6312"),
])
def test_card(brand, last4, name, shown):
    assert card(brand, last4, name) == shown


@pytest.mark.parametrize("raw, shown", [
    ("998901234567", "+998 90 *** ** 67"),
    ("+998 90 123 45 67", "+998 90 *** ** 67"),
    ("901234567", "+998 90 *** ** 67"),
    ("********4567", "•••• 4567"),
    ("99890*****66", "+998 90 *** ** 66"),
    ("+998 ** *** 45 67", "+998 ** *** 45 67"),
    ("*****67", "•••• 67"),
    ("", ""),
])
def test_phone(raw, shown):
    assert phone(raw) == shown


@pytest.mark.parametrize("raw, value", [
    ("-48200.00", Decimal("-48200.00")),
    ("50000", Decimal("50000")),
    ("15105.15", Decimal("15105.15")),
    ("15 105,15", Decimal("15105.15")),
    ("50000 UZS", Decimal("50000")),
    (50000, Decimal("50000")),
    (Decimal("1.5"), Decimal("1.5")),
    ("abc", None),
    ("1,500,00", None),
    ("2024-08-23", None),
    (None, None),
    (True, None),
])
def test_provider_amount(raw, value):
    assert provider_amount(raw) == value


@pytest.mark.parametrize("raw, value", [
    ("2024-08-23", date(2024, 8, 23)),
    ("23.08.2024", date(2024, 8, 23)),
    ("2024-08-23 10:11:12", datetime(2024, 8, 23, 10, 11, 12, tzinfo=formats.TASHKENT)),
    ("2024-08-23T10:11:12+00:00", datetime(2024, 8, 23, 15, 11, 12, tzinfo=formats.TASHKENT)),
    ("1724407872000", datetime(2024, 8, 23, 10, 11, 12, tzinfo=timezone.utc)),
    ("-48200.00", None),
    ("Toshkent", None),
    ("", None),
    (None, None),
])
def test_provider_date(raw, value):
    assert provider_date(raw) == value


def test_provider_moment_is_shown_as_the_provider_wrote_it():
    assert moment(provider_date("2024-08-23 10:11:12")) == "23.08.2024 10:11"


@pytest.mark.parametrize("raw, locale, shown", [
    ("2024-08-23", "uz", "23.08.2024"),
    ("50000", "ru", "50 000 сум"),
    ("-48200.00", "en", "-48,200 sum"),
    ("Toshkent sh.", "uz", "Toshkent sh."),
])
def test_provider_value(raw, locale, shown):
    assert formats.provider_value(raw, locale) == shown


@pytest.mark.parametrize("masked, shown", [
    ("860006******6311", "UZCARD •6311"),
    ("9860 12** **** 0117", "HUMO •0117"),
    ("418222******1234", "•1234"),
    ("6311", "•6311"),
])
def test_card_brand_from_the_masked_number(masked, shown):
    assert card(None, masked) == shown
