"""Money, card and payment-state rules, as case tables."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.cards import CardError, parse_expiry, parse_otp, validate_pan
from bot.domain.money import AmountError, check_limits, debt_from_saldo, format_sums, parse_provider_amount, parse_sums
from bot.domain.payments import InvalidTransition, PaymentState as S, check_transition
from bot.domain.translit import matches, search

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize("typed, sums", [("15000", 15000), ("15 000", 15000), ("1\u00a0500\u00a0000", 1500000)])
def test_amounts_accepted(typed, sums):
    assert parse_sums(typed) == sums and type(parse_sums(typed)) is int


@pytest.mark.parametrize("typed, code", [
    ("15000.50", "whole_sums"), ("15,5", "whole_sums"), ("abc", "not_a_number"), ("", "not_a_number"),
    ("0", "positive"), ("-5", "positive"), ("9" * 20, "not_a_number"),
])
def test_amounts_refused(typed, code):
    with pytest.raises(AmountError) as error:
        parse_sums(typed)
    assert error.value.code == code


def test_limits():
    assert check_limits(500, 500, 1000) == 500
    for amount, code in [(499, "below_min"), (1001, "above_max")]:
        with pytest.raises(AmountError) as error:
            check_limits(amount, 500, 1000)
        assert error.value.code == code and error.value.params == {"min": 500, "max": 1000}


@pytest.mark.parametrize("saldo, debt", [
    ("-15105.15 UZS", 15106), ("-1000 UZS", 1000), ("25000.00 UZS", None), ("0", None), ("n/a", None),
])
def test_debt_is_rounded_up_to_whole_sums(saldo, debt):
    assert debt_from_saldo(saldo) == debt


def test_provider_amounts_exact_in_tiyin():
    assert parse_provider_amount("15105.15 UZS") == 1510515
    assert format_sums(1234567) == "1 234 567"


@pytest.mark.parametrize("typed, code", [
    ("8600 0691 9540 631", "length"), ("8600 0691 9540 6312", "luhn"), ("4111 1111 1111 1111", "brand"),
    ("8600-0691-954O-6311", "digits"),
])
def test_card_numbers_refused(typed, code):
    with pytest.raises(CardError) as error:
        validate_pan(typed)
    assert error.value.code == code and "0691" not in str(error.value)


def test_card_numbers_accepted():
    assert validate_pan("8600-0691-9540-6311") == "8600069195406311"
    assert validate_pan("3333 3364 1580 4657", allowed_extra=frozenset({"3333336415804657"}))


@pytest.mark.parametrize("typed, yymm", [("03/99", "9903"), ("0399", "9903"), ("03 99", "9903"), ("3/27", "2703"),
                                         ("11/26", "2611")])
def test_expiry_accepted(typed, yymm):
    assert parse_expiry(typed, TODAY).yymm == yymm


@pytest.mark.parametrize("typed, code", [("13/30", "expiry_month"), ("00/30", "expiry_month"),
                                         ("10/26", "expiry_past"), ("soon", "expiry_format"), ("3999", "expiry_month")])
def test_expiry_refused(typed, code):
    with pytest.raises(CardError) as error:
        parse_expiry(typed, TODAY)
    assert error.value.code == code


def test_otp():
    assert parse_otp(" 666 666 ") == "666666"
    with pytest.raises(CardError):
        parse_otp("66666")


@pytest.mark.parametrize("old, new", [(S.draft, S.created), (S.created, S.paying), (S.paying, S.paid),
                                      (S.paying, S.unknown), (S.unknown, S.paid), (S.unknown, S.created),
                                      (S.created, S.created), (S.paying, S.created)])
def test_allowed_moves(old, new):
    check_transition(old, new)


@pytest.mark.parametrize("old, new", [(S.paid, S.paying), (S.failed, S.created), (S.draft, S.paid),
                                      (S.created, S.paid), (S.unknown, S.paying)])
def test_forbidden_moves(old, new):
    with pytest.raises(InvalidTransition):
        check_transition(old, new)


@pytest.mark.parametrize("query, name", [("elektr", "Плата за электроэнергию"), ("газ", "Hududgaz: Tabiiy gaz"),
                                         ("СУВ", "Sovuq suv"), ("internet", "Интернет"), ("ХУДУД", "Hududgaz")])
def test_search_across_scripts(query, name):
    assert matches(query, name)


def test_search_ranks_word_starts_first_and_ignores_one_letter():
    names = ["Sovuq suv", "Suv ta'minoti", "Gaz"]
    assert search("suv", names) == [0, 1]
    assert search("s", names) == []
