"""Account info as the user reads it: the provider's raw figures and dates in our format, the debt exactly with
what Paylov's whole sums make of it, in the three languages (the real catalogs, compiled)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from aiogram.utils.i18n import I18n

from bot.app import LOCALES
from bot.services.accounts import AccountInfo, InfoLine
from bot.texts.accounts import debt_text, info_text

LINES = [
    InfoLine("time", "time", "30.11.2026 06:58:49", False),
    InfoLine("fio", "fio", "KARIMOVA NODIRA", False),
    InfoLine("last_paid_date", "last_paid_date", "2024-08-23", False),
    InfoLine("last_paid", "last_paid", "50000 UZS", False),
    InfoLine("customer_code", "Customer code", "10000001", False),
    InfoLine("bypass_indication", "bypass_indication", "1234 kWh", False),
]


@pytest.fixture
def i18n() -> I18n:
    return I18n(path=LOCALES, default_locale="en", domain="messages")


def render(i18n: I18n, locale: str, info: AccountInfo) -> list[str]:
    with i18n.context(), i18n.use_locale(locale):
        return info_text(None, info)


@pytest.mark.parametrize("locale, debt_line, last_paid", [
    ("en", "⚠️ <b>Debt: 15,105.15 sum — pay 15,106 sum</b>", "50,000 sum"),
    ("ru", "⚠️ <b>Долг: 15 105,15 сум — к оплате 15 106 сум</b>", "50 000 сум"),
    ("uz", "⚠️ <b>Qarz: 15 105,15 so‘m — 15 106 so‘m to‘lanadi</b>", "50 000 so‘m"),
])
def test_debt_with_tiyin_shows_it_exactly_and_what_is_paid(i18n, locale, debt_line, last_paid):
    info = AccountInfo(LINES + [InfoLine("saldo", "balance", "-15105.15 UZS", True)], debt=15106,
                       owed=Decimal("15105.15"))
    lines = render(i18n, locale, info)
    assert debt_line in lines
    assert not any("UZS" in line or "-15105" in line for line in lines)
    assert any(line.endswith(": 30.11.2026 06:58") for line in lines)  # the provider's time, seconds dropped
    assert any(line.endswith(": 23.08.2024") for line in lines)
    assert any(line.endswith(": " + last_paid) for line in lines)
    assert any(line.endswith(": 10000001") for line in lines)  # a code is not money
    assert any(line.endswith(": 1234 kWh") for line in lines)  # nor a meter reading


def test_whole_debt_and_a_positive_balance(i18n):
    with i18n.context(), i18n.use_locale("en"):
        assert debt_text(48200, Decimal("48200.00")) == "Debt: 48,200 sum"
        assert debt_text(48200) == "Debt: 48,200 sum"
    balance = AccountInfo([InfoLine("saldo", "balance", "25000.00 UZS", True)], debt=None)
    assert render(i18n, "en", balance) == ["Balance: 25,000 sum"]
    assert render(i18n, "ru", balance) == ["Баланс: 25 000 сум"]


def test_an_unreadable_value_is_shown_as_it_came(i18n):
    info = AccountInfo([InfoLine("last_paid", "last_paid", "n/a <b>", False)], debt=None)
    assert render(i18n, "en", info) == ["Last payment: n/a &lt;b&gt;"]
