"""Card rules as case tables: number, expiry, SMS code, masking; no card data in errors or reprs."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.cards import (
    CardError,
    Expiry,
    fingerprint,
    mask_pan,
    mask_pan_for_display,
    normalize_pan,
    parse_expiry,
    parse_otp,
    validate_pan,
)

TODAY = date(2026, 11, 23)
SANDBOX_EXTRA = frozenset({"3333336415804657", "4444445987459073"})  # seed 001: expired and blocked test cards


@pytest.mark.parametrize("typed, pan", [
    ("8600 0691 9540 6311", "8600069195406311"), ("8600-0691-9540-6311", "8600069195406311"),
    (" 8600\u00a00691\u202f9540 6311\n", "8600069195406311"), ("8600\u20130691\u20139540\u20136311", "8600069195406311"),
    ("", ""), (None, ""),
])
def test_normalize_pan(typed, pan):
    assert normalize_pan(typed) == pan


@pytest.mark.parametrize("typed", [
    "8600 0691 9540 6311", "8600 4954 7331 6478", "8600 0609 2109 0842", "8600 1434 1777 0323",
    "8600 1343 0184 9596",  # seed 001's test cards
    "9860 0000 0000 0000",  # HUMO
])
def test_uzcard_and_humo_numbers_accepted(typed):
    assert validate_pan(typed) == normalize_pan(typed)


@pytest.mark.parametrize("typed", ["3333 3364 1580 4657", "4444 4459 8745 9073"])
def test_sandbox_extra_numbers_pass_only_when_allowed(typed):
    assert validate_pan(typed, allowed_extra=SANDBOX_EXTRA) == normalize_pan(typed)
    with pytest.raises(CardError) as error:
        validate_pan(typed)
    assert error.value.code == "brand"


@pytest.mark.parametrize("typed, code", [
    ("8600 0691 9540 631", "length"), ("8600 0691 9540 63111", "length"), ("", "length"), (None, "length"),
    ("8600-0691-954O-6311", "digits"), ("8600 0691 9540 631²", "digits"), ("card", "digits"),
    ("8600 0691 9540 6312", "luhn"), ("3333 3364 1580 4658", "luhn"),
    ("4111 1111 1111 1111", "brand"), ("5555 5555 5555 4444", "brand"),
])
def test_card_numbers_refused(typed, code):
    with pytest.raises(CardError) as error:
        validate_pan(typed, allowed_extra=SANDBOX_EXTRA if typed and typed.startswith("3333") else frozenset())
    assert error.value.code == code
    assert error.value.params == {}
    # Nothing of the number in the message, the args or the repr.
    for shown in (str(error.value), repr(error.value), repr(error.value.args)):
        assert "0691" not in shown and "1111" not in shown and "3364" not in shown


@pytest.mark.parametrize("typed, month, year", [
    ("03/99", 3, 2099), ("0399", 3, 2099), ("03 99", 3, 2099), ("3/99", 3, 2099), ("03-99", 3, 2099),
    ("03.99", 3, 2099), (" 03 / 99 ", 3, 2099), ("03/2099", 3, 2099), ("11/26", 11, 2026), ("12/26", 12, 2026),
    ("1/27", 1, 2027),
])
def test_expiry_accepted(typed, month, year):
    expiry = parse_expiry(typed, TODAY)
    assert (expiry.month, expiry.year) == (month, year)


@pytest.mark.parametrize("typed, yymm, mmyy", [("03/99", "9903", "0399"), ("3/27", "2703", "0327"),
                                               ("11/26", "2611", "1126")])
def test_expiry_forms(typed, yymm, mmyy):
    expiry = parse_expiry(typed, TODAY)
    assert (expiry.yymm, expiry.mmyy) == (yymm, mmyy)


@pytest.mark.parametrize("typed, code", [
    ("13/30", "expiry_month"), ("00/30", "expiry_month"), ("3999", "expiry_month"), ("0/30", "expiry_month"),
    ("10/26", "expiry_past"), ("12/25", "expiry_past"), ("01/2020", "expiry_past"),
    ("soon", "expiry_format"), ("", "expiry_format"), (None, "expiry_format"), ("399", "expiry_format"),
    ("03/9", "expiry_format"), ("030399", "expiry_format"), ("03/1999", "expiry_format"), ("03//99", "expiry_format"),
    ("０３/９９", "expiry_format"),  # full-width digits
])
def test_expiry_refused(typed, code):
    with pytest.raises(CardError) as error:
        parse_expiry(typed, TODAY)
    assert error.value.code == code


def test_expiry_keeps_out_of_logs():
    expiry = parse_expiry("03/99", TODAY)
    assert "99" not in repr(expiry) and "03" not in repr(expiry) and "99" not in str(expiry)
    assert expiry == Expiry(3, 2099)


@pytest.mark.parametrize("typed, code", [(" 666 666 ", "666666"), ("666666", "666666"), ("123\u00a0456", "123456")])
def test_otp_accepted(typed, code):
    assert parse_otp(typed) == code


@pytest.mark.parametrize("typed", ["66666", "6666666", "66666a", "", None, "666-666", "６６６６６６"])
def test_otp_refused(typed):
    with pytest.raises(CardError) as error:
        parse_otp(typed)
    assert error.value.code == "otp_format"


@pytest.mark.parametrize("masked, shown", [
    ("860006******6311", "8600 06** **** 6311"), ("986034******8885", "9860 34** **** 8885"),
    ("8600 06** **** 6311", "8600 06** **** 6311"), ("", ""), (None, ""),
])
def test_mask_pan_for_display(masked, shown):
    assert mask_pan_for_display(masked) == shown


def test_mask_pan_keeps_what_the_provider_shows():
    assert mask_pan("8600069195406311") == "860006******6311"


@pytest.mark.parametrize("masked, expire, key", [
    ("860006******6311", "9903", "860006******6311:9903"),
    ("8600 06** **** 6311", "9903", "860006******6311:9903"),
    ("8600069195406311", "9903", "860006******6311:9903"),  # a full number by mistake: the middle is dropped
])
def test_fingerprint(masked, expire, key):
    assert fingerprint(masked, expire) == key


def test_fingerprint_tells_cards_apart_by_expiry():
    assert fingerprint("860006******6311", "9903") != fingerprint("860006******6311", "2703")
