"""Amounts as case tables: typed sums, limits, formatting, the provider's decimal strings, the debt rule."""

from __future__ import annotations

import pytest

from bot.domain import money
from bot.domain.money import (
    AmountError,
    check_limits,
    debt_from_saldo,
    format_sums,
    parse_provider_amount,
    parse_sums,
    sums_to_tiyin,
    tiyin_to_sums_floor,
)


@pytest.mark.parametrize("typed, sums", [
    ("15000", 15000), (" 15000 ", 15000), ("15 000", 15000), ("1\u00a0500\u00a0000", 1500000),
    ("1\u202f500\u2009000", 1500000), ("15,000", 15000), ("1.500.000", 1500000), ("1,500", 1500),
    ("15000.00", 15000), ("15000,0", 15000), ("15 000 so'm", 15000), ("15000 so‘m", 15000), ("15000сум", 15000),
    ("15 000 сўм", 15000), ("15000 UZS", 15000), ("500 sum", 500), ("1", 1), ("999999999999", 999999999999),
])
def test_amounts_accepted(typed, sums):
    value = parse_sums(typed)
    assert value == sums and type(value) is int


@pytest.mark.parametrize("typed, code", [
    ("15000.50", "whole_sums"), ("15,5", "whole_sums"), ("1,50", "whole_sums"), ("15000.500", "whole_sums"),
    ("abc", "not_a_number"), ("", "not_a_number"), (None, "not_a_number"), ("15 000 $", "not_a_number"),
    ("1e5", "not_a_number"), ("0x10", "not_a_number"), ("12,34,567", "not_a_number"), ("1,000.000", "not_a_number"),
    ("١٥٠٠٠", "not_a_number"),  # digits of another script
    ("9" * 13, "not_a_number"), ("1" + " " * 50 + "0", "not_a_number"),
    ("0", "positive"), ("000", "positive"), ("-5", "positive"), ("\u22125 000", "positive"), ("-0", "positive"),
])
def test_amounts_refused(typed, code):
    with pytest.raises(AmountError) as error:
        parse_sums(typed)
    assert error.value.code == code


@pytest.mark.parametrize("amount, minimum, maximum, code", [
    (500, 500, 5000000, None), (5000000, 500, 5000000, None), (499, 500, 5000000, "below_min"),
    (5000001, 500, 5000000, "above_max"),
])
def test_limits(amount, minimum, maximum, code):
    if code is None:
        assert check_limits(amount, minimum, maximum) == amount
        return
    with pytest.raises(AmountError) as error:
        check_limits(amount, minimum, maximum)
    assert (error.value.code, error.value.params) == (code, {"min": minimum, "max": maximum})


@pytest.mark.parametrize("amount, shown", [
    (0, "0"), (500, "500"), (15000, "15 000"), (1234567, "1 234 567"), (1000000000, "1 000 000 000"),
])
def test_format_sums(amount, shown):
    assert format_sums(amount) == shown


@pytest.mark.parametrize("sums, tiyin", [(0, 0), (1, 100), (15000, 1500000)])
def test_sums_to_tiyin(sums, tiyin):
    assert sums_to_tiyin(sums) == tiyin


@pytest.mark.parametrize("tiyin, sums", [(0, 0), (99, 0), (100, 1), (1510515, 15105), (1510599, 15105)])
def test_tiyin_to_sums_floor(tiyin, sums):
    assert tiyin_to_sums_floor(tiyin) == sums


@pytest.mark.parametrize("text, tiyin", [
    ("15105.15 UZS", 1510515), ("50000 UZS", 5000000), ("-15105.15 UZS", -1510515), ("0", 0), ("0.1", 10),
    ("15 105,15", 1510515), ("1,234.56", 123456), ("+5", 500), ("15105.1500", 1510515),
    ("0.07 UZS", 7),  # 0.07 is not exact in binary floating point; here it is
    ("\u22121000", -100000),
])
def test_provider_amounts_exact_in_tiyin(text, tiyin):
    value = parse_provider_amount(text)
    assert value == tiyin and type(value) is int


@pytest.mark.parametrize("text", ["", None, "n/a", "15105.155 UZS", "UZS", "1.2.3", "--5", "15105.15 USD"])
def test_provider_amounts_refused(text):
    with pytest.raises(AmountError) as error:
        parse_provider_amount(text)
    assert error.value.code == "not_a_number"


@pytest.mark.parametrize("saldo, debt", [
    ("-15105.15 UZS", 15106), ("-15105.01 UZS", 15106), ("-15105.00 UZS", 15105), ("-1000 UZS", 1000),
    ("-0.01", 1), ("-15105.155", 15106),  # finer than a tiyin still rounds up
    ("15105.15 UZS", None), ("25000.00 UZS", None), ("0", None), ("-0.00", None), ("n/a", None), ("", None),
    (None, None),
])
def test_debt_is_a_negative_saldo_rounded_up(saldo, debt):
    assert debt_from_saldo(saldo) == debt


def test_the_saldo_convention_is_one_switch(monkeypatch):
    monkeypatch.setattr(money, "DEBT_IS_NEGATIVE_SALDO", False)
    assert debt_from_saldo("15105.15 UZS") == 15106
    assert debt_from_saldo("-15105.15 UZS") is None
