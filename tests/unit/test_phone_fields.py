"""A phone field takes the number in the shapes people type it, written as the provider's field wants it."""

from __future__ import annotations

import pytest

from bot.domain.forms import Field, FieldError, is_phone, parse

NINE = Field(name="phone", title="phone", type="text", content="number", validation=r"^(90|91)\d{7}$", length=9)
FULL = Field(name="phone", title="phone", type="text", content="text", validation=r"^\+?998\d{9}$")
PLUS = Field(name="msisdn", title="Номер", type="text", content="text", validation=r"^\+998\d{9}$")


@pytest.mark.parametrize("typed", ["+998 90 123 45 67", "+998 (90) 123-45-67", "90 123 45 67", "998901234567",
                                   "+998901234567", "(90) 123-45-67", "90-123-45-67", "+998 90 123 45 67 "])
@pytest.mark.parametrize("field, stored", [(NINE, "901234567"), (FULL, "998901234567"), (PLUS, "+998901234567")])
def test_every_shape_is_one_number(field, stored, typed):
    assert parse(field, typed) == stored


@pytest.mark.parametrize("typed, code", [("+7 900 123 45 67", "length"), ("+998 90 123 45", "length"),
                                         ("8 800 555 35 35", "length"), ("93 123 45 67", "pattern"),
                                         ("abc", "digits_only")])
def test_other_numbers_are_refused(typed, code):
    with pytest.raises(FieldError) as error:
        parse(NINE, typed)
    assert error.value.code == code


def test_only_phone_fields_are_read_as_phones():
    assert is_phone(NINE) and is_phone(PLUS)
    account = Field(name="account", title="account", type="text", content="number", length=12)
    assert not is_phone(account)
    with pytest.raises(FieldError):  # brackets are not dropped outside phone fields
        parse(account, "(99) 8901234567")
