"""The form engine over tables of field sets: the seed's form, a three-level chain, optional fields, validation."""

from __future__ import annotations

import json

import pytest

from bot.domain.forms import (
    Content,
    Field,
    FieldError,
    FieldType,
    Option,
    account,
    back,
    choose,
    dependents,
    display,
    example,
    fields_from_provider,
    next_field,
    options,
    parse,
    prune,
    skip,
)

# servicePayment/fields from seed 003, as the provider sends it.
SEED_FIELDS = [
    {"field_id": "9", "name": "region", "title": "region", "type": "select", "content": "text", "validation": None,
     "length": None, "required": True, "dependency_of": None,
     "values": [{"id": 7, "value": "1", "title": "г. Ташкент", "filter": None},
                {"id": 8, "value": "2", "title": "Ташкентская область", "filter": None}]},
    {"field_id": "10", "name": "soato", "title": "soato", "type": "select", "content": "text", "validation": None,
     "length": None, "required": True, "dependency_of": "region",
     "values": [{"id": 48, "value": "26280", "title": "26280 - Алмазарский ЭСП", "filter": "1"},
                {"id": 49, "value": "26264", "title": "26264 - Бектемирский ЭСП", "filter": "1"}]},
    {"field_id": "11", "name": "customer_code", "title": "customer_code", "type": "text", "content": "number",
     "validation": None, "length": None, "required": True, "values": []},
]


def select(name, values, dependency_of=None, required=True):
    return Field.from_provider({
        "name": name, "title": name.title(), "type": "select", "content": "text", "required": required,
        "dependency_of": dependency_of,
        "values": [{"id": i, "value": v, "title": t, "filter": f} for i, (v, t, f) in enumerate(values, start=1)],
    })


def text(name, content="number", validation=None, length=None, required=True):
    return Field.from_provider({"name": name, "title": name, "type": "text", "content": content,
                                "validation": validation, "length": length, "required": required, "values": []})


REGION = select("region", [("1", "Tashkent", None), ("2", "Samarkand", None)])
# District "5" exists in both regions: the same value, a different place.
DISTRICT = select("district", [("11", "Chilanzar", "1"), ("5", "Yunusabad", "1"), ("5", "Urgut", "2")],
                  dependency_of="region")
STREET = select("street", [("111", "Bunyodkor", "11"), ("112", "Qatortol", "11"), ("51", "Amir Temur", "5"),
                           ("99", "Orphan", "77")], dependency_of="district")
CODE = text("customer_code", length=7)
CHAIN = [REGION, DISTRICT, STREET, CODE]
NOTE = text("note", content="text", required=False)
FLAT = select("flat", [("a", "A", None), ("b", "B", None)], required=False)


def titles(field, answers):
    return [o.title for o in options(field, answers)]


# ---- the provider's schema ---------------------------------------------------------------------------------


def test_seed_fields_are_read_as_the_provider_sends_them():
    region, soato, code = fields_from_provider(SEED_FIELDS)
    assert region == Field(name="region", title="region", type=FieldType.select, field_id="9",
                           values=(Option(7, "1", "г. Ташкент"), Option(8, "2", "Ташкентская область")))
    assert soato.dependency_of == "region" and soato.values[0].filter == "1"
    assert (code.type, code.content, code.length, code.validation) == (FieldType.text, Content.number, None, None)
    assert code.type == "text"  # the enums are str enums: plain comparisons keep working


class Model:  # what a pydantic model looks like to from_provider
    def __init__(self, data):
        self.data = data

    def model_dump(self):
        return self.data


@pytest.mark.parametrize("raw, expected", [
    ({"name": "a", "type": "SELECT", "values": []}, {"type": FieldType.select, "title": "a", "required": True}),
    ({"name": "a", "type": "phone"}, {"type": FieldType.text, "content": Content.text}),
    ({"name": "a", "type": "text", "length": "7", "required": "false"}, {"length": 7, "required": False}),
    ({"name": "a", "type": "text", "length": 0, "validation": ""}, {"length": None, "validation": None}),
    ({"name": "a", "type": "text", "content": "number", "dependency_of": ""}, {"content": "number",
                                                                              "dependency_of": None}),
])
def test_from_provider_tolerates_loose_values(raw, expected):
    for data in (raw, Model(raw)):
        f = Field.from_provider(data)
        assert {key: getattr(f, key) for key in expected} == expected


def test_fields_from_provider_repairs_dependencies_the_form_could_never_answer():
    raw = [
        {"name": "street", "type": "select", "dependency_of": "district",
         "values": [{"id": 1, "value": "s", "title": "S", "filter": "d"}]},
        {"name": "district", "type": "select", "dependency_of": "nowhere",
         "values": [{"id": 2, "value": "d", "title": "D", "filter": None}]},
        {"name": "self", "type": "select", "dependency_of": "self", "values": []},
    ]
    fields = fields_from_provider(raw)
    assert [(f.name, f.dependency_of) for f in fields] == [("district", None), ("street", "district"),
                                                           ("self", None)]


def test_fields_from_provider_breaks_a_cycle():
    raw = [{"name": "a", "type": "select", "dependency_of": "b", "values": []},
           {"name": "b", "type": "select", "dependency_of": "a", "values": []}]
    assert [(f.name, f.dependency_of) for f in fields_from_provider(raw)] == [("a", None), ("b", "a")]


# ---- walking a form ----------------------------------------------------------------------------------------


def test_the_seed_form_builds_the_account_the_seed_shows():
    fields = fields_from_provider(SEED_FIELDS)
    answers: dict[str, str] = {}
    answers = choose(fields[0], answers, 7, fields)
    assert [o.id for o in options(fields[1], answers)] == [48, 49]
    answers = choose(fields[1], answers, 48, fields)
    assert next_field(fields, answers).name == "customer_code"
    answers[fields[2].name] = parse(fields[2], "1000000")
    assert next_field(fields, answers) is None
    assert account(fields, answers) == {"region": "1", "soato": "26280", "customer_code": "1000000"}
    assert json.loads(json.dumps(answers)) == answers  # FSM data round-trips as JSON


def test_region_two_has_no_soato_in_the_seed():
    fields = fields_from_provider(SEED_FIELDS)
    assert options(fields[1], choose(fields[0], {}, 8)) == []


CHAIN_CASES = [
    # (option ids chosen in order, titles offered at each next select, account)
    ([1, 1, 1], [["Chilanzar", "Yunusabad"], ["Bunyodkor", "Qatortol"]], {"region": "1", "district": "11",
                                                                          "street": "111"}),
    ([1, 2, 3], [["Chilanzar", "Yunusabad"], ["Amir Temur"]], {"region": "1", "district": "5", "street": "51"}),
    ([2, 3, 3], [["Urgut"], ["Amir Temur"]], {"region": "2", "district": "5", "street": "51"}),
]


@pytest.mark.parametrize("chosen, offered, expected", CHAIN_CASES)
def test_three_level_chain(chosen, offered, expected):
    answers: dict[str, str] = {}
    seen = []
    for field, option_id in zip(CHAIN[:3], chosen):
        assert next_field(CHAIN, answers) is field
        if field is not REGION:
            seen.append(titles(field, answers))
        answers = choose(field, answers, option_id, CHAIN)
    assert seen == offered
    assert next_field(CHAIN, answers) is CODE
    answers = {**answers, CODE.name: parse(CODE, "1 000 001")}
    assert account(CHAIN, answers) == {**expected, "customer_code": "1000001"}
    assert list(account(CHAIN, answers)) == ["region", "district", "street", "customer_code"]


def test_an_option_of_another_branch_or_an_unknown_id_is_refused():
    answers = choose(REGION, {}, 2)
    for option_id in (1, 2, 99):  # Chilanzar and Yunusabad belong to region 1
        with pytest.raises(FieldError) as error:
            choose(DISTRICT, answers, option_id)
        assert error.value.code == "not_an_option"


@pytest.mark.parametrize("answers, offered", [
    ({}, []),  # the parent is not answered yet
    ({"region": "9"}, []),  # nothing matches
    ({"region": "1", "district": "77"}, ["Chilanzar", "Yunusabad"]),
])
def test_options_follow_the_parent_answer(answers, offered):
    assert titles(DISTRICT, answers) == offered


def test_a_skipped_optional_parent_offers_the_unfiltered_options():
    child = select("entrance", [("e1", "Any", None), ("e2", "Flat A only", "a")], dependency_of="flat")
    assert titles(child, skip(FLAT, {})) == ["Any"]
    assert titles(child, choose(FLAT, {}, 1)) == ["Flat A only"]


def test_changing_an_answer_drops_its_dependents_transitively():
    answers = {"region": "1", "district": "5", "street": "51", "customer_code": "1234567"}
    changed = choose(REGION, answers, 2, CHAIN)
    # District "5" would still be a valid value under region 2, but it names another place: it must go.
    assert changed == {"region": "2", "customer_code": "1234567"}
    assert next_field(CHAIN, changed) is DISTRICT
    assert dependents("region", CHAIN) == {"district", "street"}
    assert dependents("customer_code", CHAIN) == set()


def test_choosing_the_same_value_again_keeps_the_dependents():
    answers = {"region": "1", "district": "11", "street": "111"}
    assert choose(REGION, answers, 1, CHAIN) == answers


def test_stale_dependent_answers_never_count():
    # Region changed without `fields`: district 11 no longer fits, and street hangs off it.
    answers = choose(REGION, {"region": "1", "district": "11", "street": "111", "customer_code": "1234567"}, 2)
    assert prune(CHAIN, answers) == {"region": "2", "customer_code": "1234567"}
    assert next_field(CHAIN, answers) is DISTRICT
    assert [f.name for f, _ in display(CHAIN, answers)] == ["region", "customer_code"]
    with pytest.raises(FieldError) as error:
        account(CHAIN, answers)
    assert error.value.code == "incomplete"


@pytest.mark.parametrize("answers", [
    {"region": "3"},  # an option that no longer exists
    {"region": ""},  # a required field cannot be empty
    {"region": 1},  # not JSON-plain text
])
def test_unfit_answers_are_unanswered(answers):
    assert next_field(CHAIN, answers) is REGION


def test_display_shows_titles_for_selects_and_values_for_texts():
    answers = {"region": "2", "district": "5", "street": "51", "customer_code": "7654321"}
    assert [(f.name, shown) for f, shown in display(CHAIN, answers)] == [
        ("region", "Samarkand"), ("district", "Urgut"), ("street", "Amir Temur"), ("customer_code", "7654321")]


# ---- back and skip -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("answers, after", [
    ({"region": "1", "district": "11", "street": "111", "customer_code": "1234567"},
     {"region": "1", "district": "11", "street": "111"}),
    ({"region": "1", "district": "11", "street": "111"}, {"region": "1", "district": "11"}),
    ({"region": "1"}, {}),
    ({}, {}),
    ({"region": "1", "district": "77", "junk": "x"}, {}),  # unfit and unknown answers go too
])
def test_back_drops_only_the_last_answer(answers, after):
    assert back(CHAIN, answers) == after


def test_back_then_a_new_region_asks_the_district_again():
    answers = {"region": "1", "district": "11"}
    answers = back(CHAIN, back(CHAIN, answers))
    answers = choose(REGION, answers, 2, CHAIN)
    assert next_field(CHAIN, answers) is DISTRICT and titles(DISTRICT, answers) == ["Urgut"]


def test_optional_fields_can_be_skipped_required_cannot():
    fields = [CODE, FLAT, NOTE]
    answers = {"customer_code": "1234567"}
    assert next_field(fields, answers) is FLAT
    answers = skip(FLAT, answers)
    assert next_field(fields, answers) is NOTE
    answers = skip(NOTE, answers)
    assert account(fields, answers) == {"customer_code": "1234567", "flat": "", "note": ""}
    assert [f.name for f, _ in display(fields, answers)] == ["customer_code"]
    assert back(fields, answers) == {"customer_code": "1234567", "flat": ""}
    with pytest.raises(FieldError) as error:
        skip(CODE, {})
    assert error.value.code == "required"


# ---- typed values ------------------------------------------------------------------------------------------

PHONE = text("phone", validation=r"^(90|91)\d{7}$", length=9)
LOGIN = text("login", content="text", validation=r"^[a-z0-9_.]{3,32}$")


@pytest.mark.parametrize("field, typed, expected", [
    (text("code"), " 12 34 ", "1234"),
    (text("code"), "12-34\u00a056", "123456"),
    (text("code", length=4), "1234", "1234"),
    (PHONE, "90 123 45 67", "901234567"),
    (PHONE, "91-123-45-67", "911234567"),
    (LOGIN, "  aziz_home ", "aziz_home"),
    (text("name", content="text"), " Aziz \n  Karimov ", "Aziz Karimov"),
    (text("name", content="text", validation="(unclosed"), "anything", "anything"),  # left to the provider
    (NOTE, "   ", ""),  # an optional field typed blank is skipped
])
def test_text_values_accepted(field, typed, expected):
    assert parse(field, typed) == expected


@pytest.mark.parametrize("field, typed, code, params", [
    (text("code"), "12a4", "digits_only", {}),
    (text("code"), "12²4", "digits_only", {}),  # str.isdigit() would let this through
    (text("code"), "١٢٣", "digits_only", {}),  # Arabic-Indic digits
    (text("code"), "   ", "required", {}),
    (text("code"), None, "required", {}),
    (text("code", length=7), "123456", "length", {"length": 7, "typed": 6}),
    (text("code", length=7), "12345678", "length", {"length": 7, "typed": 8}),
    (PHONE, "931234567", "pattern", {"example": "901234567"}),
    (LOGIN, "Имя", "pattern", {"example": "aaa"}),
    (text("code"), "1" * 257, "too_long", {}),
    (text("name", content="text"), "x" * 300, "too_long", {}),
    (REGION, "1", "not_an_option", {}),  # a select is answered with buttons
])
def test_text_values_refused(field, typed, code, params):
    with pytest.raises(FieldError) as error:
        parse(field, typed)
    assert (error.value.code, error.value.params) == (code, params)


@pytest.mark.parametrize("field, shape", [
    (PHONE, "901234567"),
    (text("code", length=7), "1234567"),
    (text("code", length=12), "123456789012"),
    (text("code"), "1234567"),
    (text("phone", validation=r"^998[0-9]{9}$"), "998123456789"),
    (text("phone", validation=r"^\+?998\d{9}$"), "998123456789"),
    (text("contract", content="text", validation=r"^[A-Z]{2}-\d{4,6}$"), "AA-123456"),
    (text("code", validation=r"^\d+$"), "1234567"),
    (text("code", validation=r"^\d{4,}$", length=5), "12345"),  # pattern sample is 7 long: the length wins
    (text("login", content="text"), None),
    (text("odd", content="text", validation=r"^[^0-9]+$"), None),  # beyond the sample generator
    (text("odd", content="text", validation=r"(?=x)x"), None),
    (REGION, None),
])
def test_example_shows_a_value_that_would_pass(field, shape):
    assert example(field) == shape
    if shape is not None:
        assert parse(field, shape) == shape
