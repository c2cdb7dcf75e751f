"""The everyday-word table: which words stand for which bills, and what they find in the sandbox catalogue."""

from __future__ import annotations

import pytest

from bot.domain.synonyms import CONCEPTS, concepts_for, search
from bot.domain.translit import fold
from bot.sandbox import paylov_catalogue as catalogue

NAMES = [service["name"] for service in catalogue.SERVICES]
BY_CONCEPT = {
    "electricity": catalogue.ELECTRICITY, "hot water": catalogue.HOT_WATER, "water": catalogue.COLD_WATER,
    "gas": catalogue.GAS, "waste": catalogue.WASTE, "internet": catalogue.INTERNET, "mobile": catalogue.MOBILE,
}


def found(query: str) -> list[str]:
    return [catalogue.SERVICES[index]["service_id"] for index in search(query, NAMES)]


@pytest.mark.parametrize("query, concept", [
    ("свет", "electricity"), ("СВЕТ", "electricity"), ("svet", "electricity"), ("tok", "electricity"),
    ("ток", "electricity"), ("электричество", "electricity"), ("электрич", "electricity"), ("light", "electricity"),
    ("оплатить свет", "electricity"), ("power", "electricity"),
    ("hot water", "hot water"), ("горячая вода", "hot water"), ("issiq suv", "hot water"), ("иссиқ сув", "hot water"),
    ("heating", "hot water"), ("отопление", "hot water"),
    ("water", "water"), ("вода", "water"), ("suv", "water"), ("cold water", "water"),
    ("gas", "gas"), ("газ", "gas"), ("gaz", "gas"),
    ("мусор", "waste"), ("chiqindi", "waste"), ("чиқинди", "waste"), ("waste", "waste"), ("axlat", "waste"),
    ("интернет", "internet"), ("wifi", "internet"),
    ("мобильная связь", "mobile"), ("mobil aloqa", "mobile"), ("mobile", "mobile"), ("телефон", "mobile"),
])
def test_a_word_stands_for_its_concept_only(query, concept):
    assert [c.name for c in concepts_for(query)] == [concept]


@pytest.mark.parametrize("query", ["", "  ", "wat", "Beeline", "Hududgaz", "xyz", "10000001"])
def test_other_queries_stand_for_nothing(query):
    assert concepts_for(query) == []


@pytest.mark.parametrize("concept", [c.name for c in CONCEPTS])
def test_every_language_has_words_that_find_the_sandbox_service(concept):
    table = next(c for c in CONCEPTS if c.name == concept)
    assert set(table.words) == {"ru", "uz", "en"}
    for language, words in table.words.items():
        assert words, language
        for word in words:
            assert BY_CONCEPT[concept] in found(word), (language, word)


def test_no_word_belongs_to_two_concepts():
    owners: dict[str, str] = {}
    for concept in CONCEPTS:
        for word in {fold(w) for words in concept.words.values() for w in words}:
            assert owners.setdefault(word, concept.name) == concept.name, word


def test_the_query_itself_ranks_first_and_each_service_appears_once():
    assert found("свет") == [catalogue.ELECTRICITY]
    assert found("hot water")[0] == catalogue.HOT_WATER and catalogue.COLD_WATER not in found("hot water")
    water = found("water")
    assert catalogue.COLD_WATER in water and catalogue.HOT_WATER in water and len(water) == len(set(water))
    assert found("suv")[0] == catalogue.COLD_WATER  # the name's own match first
    assert found("Beeline") == [catalogue.MOBILE]
