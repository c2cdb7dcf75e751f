"""Search across Cyrillic (Russian, Uzbek) and Uzbek Latin, as case tables."""

from __future__ import annotations

import pytest

from bot.domain.translit import fold, matches, search


@pytest.mark.parametrize("text, skeleton", [
    ("Плата за электроэнергию", "plata za elektroenergiu"),
    ("Hududgaz: Tabiiy gaz", "hududgaz tabiiy gaz"),
    ("O‘zbektelekom", "ozbektelekom"), ("Oʻzbektelekom", "ozbektelekom"), ("O'zbektelekom", "ozbektelekom"),
    ("O`zbektelekom", "ozbektelekom"), ("O’zbektelekom", "ozbektelekom"), ("Ўзбектелеком", "ozbektelekom"),
    ("G‘alla", "galla"), ("Ғалла", "galla"),
    ("Issiqlik", "issiklik"), ("Иссиқлик", "issiklik"),
    ("Xizmat", "hizmat"), ("Хизмат", "hizmat"), ("Ҳоким", "hokim"),
    ("Shahar", "shahar"), ("Шаҳар", "shahar"), ("Chiqindi", "chikindi"), ("Чиқинди", "chikindi"),
    ("Yangi", "angi"), ("Янги", "angi"), ("Ёшлик", "oshlik"), ("Yoshlik", "oshlik"),
    ("Маълумот", "malumot"), ("Ma'lumot", "malumot"),
    ("Ucell", "usell"), ("Comnet", "komnet"),
    ("й" + "\u0306", "y"),  # a decomposed letter is composed first
    ("  Sovuq   suv!! ", "sovuk suv"), ("", ""),
])
def test_fold(text, skeleton):
    assert fold(text) == skeleton


@pytest.mark.parametrize("query, name", [
    ("elektr", "Плата за электроэнергию"),
    ("электр", "Elektr energiya"),
    ("elektroenergiya", "Плата за электроэнергию"),
    ("газ", "Hududgaz: Tabiiy gaz"),
    ("suv", "Sovuq suv"), ("СУВ", "Sovuq suv"), ("сув", "Suvsoz"),
    ("internet", "Интернет"), ("интернет", "Internet provayderlari"),
    ("beeline", "Beeline"), ("билайн", "Beeline"), ("Beeline", "Билайн"),
    ("ucell", "Юселл"), ("toshkent", "Тошкент шаҳри"), ("o'zbek", "Ўзбектелеком"), ("ўзбек", "O‘zbektelekom"),
    ("issiq suv", "Иссиқ сув"), ("ХУДУД", "Hududgaz"), ("chiqindi", "Чиқинди олиб кетиш"),
])
def test_matches_across_scripts(query, name):
    assert matches(query, name)


@pytest.mark.parametrize("query, name", [
    ("s", "Sovuq suv"), ("С", "Sovuq suv"), (" ", "Sovuq suv"), ("", "Sovuq suv"), ("'", "O'zbek"),
    ("ш", "Shahar"),  # one typed letter, though it folds to two
    ("gaz", "Sovuq suv"), ("suv", "Gaz"), ("internet", "Telefon"),
    ("blnx", "Beeline"),  # the consonant pass is word-by-word and needs every consonant
    ("sv", "Sovuq suv"),  # too few consonants for the loose pass; not a substring either
])
def test_does_not_match(query, name):
    assert not matches(query, name)


def test_search_ranks_word_starts_first_then_substrings_then_consonants():
    names = ["Hududgaz", "Gaz ta'minoti", "Tabiiy gaz", "Sovuq suv", "Gazeta"]
    assert search("gaz", names) == [1, 2, 4, 0]
    assert search("газ", names) == [1, 2, 4, 0]


def test_search_keeps_the_given_order_among_equals():
    names = ["Sovuq suv", "Suv ta'minoti", "Gaz"]
    assert search("suv", names) == [0, 1]


def test_search_puts_consonant_matches_last():
    names = ["Bilayn Plus", "Beeline"]
    assert search("beeline", names) == [1, 0]


@pytest.mark.parametrize("query", ["", "s", "ш", "  a  ", "!!"])
def test_short_queries_find_nothing(query):
    assert search(query, ["Sovuq suv", "Shahar", "A"]) == []
