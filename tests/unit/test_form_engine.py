"""The form engine over tables of field sets, including a three-level dependency chain."""

from __future__ import annotations

import pytest

from bot.domain.forms import Field, FieldError, account, back, choose, display, example, next_field, options, parse, skip


def select(name, values, dependency_of=None, required=True):
    return Field.from_provider({
        "name": name, "title": name, "type": "select", "content": "text", "required": required,
        "dependency_of": dependency_of,
        "values": [{"id": i, "value": v, "title": t, "filter": f} for i, (v, t, f) in enumerate(values, start=1)],
    })


def text(name, content="number", validation=None, length=None, required=True):
    return Field.from_provider({"name": name, "title": name, "type": "text", "content": content,
                                "validation": validation, "length": length, "required": required, "values": []})


CHAIN = [
    select("region", [("1", "Tashkent", None), ("2", "Samarkand", None)]),
    select("district", [("11", "Chilanzar", "1"), ("12", "Yunusabad", "1"), ("21", "Urgut", "2")],
           dependency_of="region"),
    select("street", [("111", "Bunyodkor", "11"), ("112", "Qatortol", "11"), ("121", "Amir Temur", "12"),
                      ("211", "Registon", "21")], dependency_of="district"),
    text("customer_code", length=7),
]


def titles(field, answers):
    return [option.title for option in options(field, answers)]


def test_three_level_chain_offers_only_matching_options_and_builds_the_account():
    answers: dict[str, str] = {}
    assert next_field(CHAIN, answers).name == "region"
    answers = choose(CHAIN[0], answers, 1)
    assert titles(CHAIN[1], answers) == ["Chilanzar", "Yunusabad"]
    answers = choose(CHAIN[1], answers, 2)
    assert titles(CHAIN[2], answers) == ["Amir Temur"]
    answers = choose(CHAIN[2], answers, 3)
    answers = {**answers, "customer_code": parse(CHAIN[3], "1 000 001")}
    assert next_field(CHAIN, answers) is None
    assert account(CHAIN, answers) == {"region": "1", "district": "12", "street": "121", "customer_code": "1000001"}
    assert [(f.name, v) for f, v in display(CHAIN, answers)] == [
        ("region", "Tashkent"), ("district", "Yunusabad"), ("street", "Amir Temur"), ("customer_code", "1000001")]


def test_other_branch_of_the_chain():
    answers = choose(CHAIN[0], {}, 2)
    assert titles(CHAIN[1], answers) == ["Urgut"]
    answers = choose(CHAIN[1], answers, 3)
    assert titles(CHAIN[2], answers) == ["Registon"]


def test_an_option_of_another_branch_is_refused():
    answers = choose(CHAIN[0], {}, 2)
    with pytest.raises(FieldError) as error:
        choose(CHAIN[1], answers, 1)  # Chilanzar belongs to region 1
    assert error.value.code == "not_an_option"


def test_no_option_left_is_an_empty_list():
    orphan = select("district", [("11", "Chilanzar", "1")], dependency_of="region")
    assert options(orphan, {"region": "9"}) == []


def test_back_keeps_earlier_answers():
    answers = {"region": "1", "district": "12", "street": "121"}
    assert back(CHAIN, answers) == {"region": "1", "district": "12"}
    assert back(CHAIN, back(CHAIN, answers)) == {"region": "1"}
    assert back(CHAIN, {}) == {}


@pytest.mark.parametrize("field, typed, expected", [
    (text("code"), " 12 34 ", "1234"),
    (text("code", length=4), "1234", "1234"),
    (text("login", content="text", validation=r"^[a-z0-9_.]{3,32}$"), "aziz_home", "aziz_home"),
    (text("phone", validation=r"^(90|91)\d{7}$", length=9), "90 123 45 67", "901234567"),
])
def test_text_values_accepted(field, typed, expected):
    assert parse(field, typed) == expected


@pytest.mark.parametrize("field, typed, code", [
    (text("code"), "12a4", "digits_only"),
    (text("code"), "   ", "required"),
    (text("code", length=7), "123456", "length"),
    (text("phone", validation=r"^(90|91)\d{7}$", length=9), "931234567", "pattern"),
    (text("login", content="text", validation=r"^[a-z0-9_.]{3,32}$"), "Имя", "pattern"),
    (text("code"), "1" * 300, "too_long"),
])
def test_text_values_refused(field, typed, code):
    with pytest.raises(FieldError) as error:
        parse(field, typed)
    assert error.value.code == code


@pytest.mark.parametrize("field, shape", [
    (text("phone", validation=r"^(90|91)\d{7}$", length=9), "901234567"),
    (text("code", length=7), "1234567"),
    (text("login", content="text"), None),
])
def test_example_shows_the_expected_shape(field, shape):
    assert example(field) == shape


def test_optional_fields_can_be_skipped_required_cannot():
    optional = text("note", content="text", required=False)
    assert skip(optional, {}) == {"note": ""}
    with pytest.raises(FieldError):
        skip(CHAIN[3], {})
    fields = [CHAIN[3], optional]
    answers = skip(optional, {"customer_code": "1234567"})
    assert account(fields, answers) == {"customer_code": "1234567", "note": ""}


def test_incomplete_form_has_no_account():
    with pytest.raises(FieldError) as error:
        account(CHAIN, {"region": "1"})
    assert error.value.code == "incomplete"
