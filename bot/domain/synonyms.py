"""Everyday words for the kinds of bill, per language, and the catalogue terms that name those bills.

Providers name services formally ("Плата за электроэнергию", "Hududgaz: Tabiiy gaz"); people type "свет", "tok",
"hot water". A query that is one of a concept's words, holds one as whole words ("оплатить свет"), or is the start of
one (four letters or more: "электрич") is searched as each of the concept's catalogue terms too, after the query
itself. When two words match and one is part of the other ("water" in "hot water"), only the longer one counts, so
"hot water" does not bring cold water.

Every language's words apply whatever the user's language: in Tashkent people type Russian words in an Uzbek chat
and the other way round; the table is by language so that each can be reviewed by a speaker. Words and terms are
compared as translit skeletons (bot.domain.translit.fold), so either script works: свет = svet, чиқинди = chiqindi.
Terms are matched as parts of a service name, never by the loose consonant pass (they are ours, not typos).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.translit import fold
from bot.domain.translit import search as search_names

MIN_PREFIX = 4  # folded letters before a query may stand for a longer word ("wat" is too little)


@dataclass(frozen=True)
class Concept:
    name: str
    words: dict[str, tuple[str, ...]]  # language -> what people type
    terms: tuple[str, ...]  # parts of the catalogue's service names for it


CONCEPTS: tuple[Concept, ...] = (
    Concept("electricity", {
        "ru": ("свет", "электричество", "электроэнергия", "ток", "энергосбыт"),
        "uz": ("tok", "svet", "elektr", "elektr energiya", "elektr toki", "elektroenergiya", "электр"),
        "en": ("electricity", "electric", "light", "power", "energy"),
    }, ("электроэнерг", "электричеств", "elektr energ", "elektr tarmoq", "энергосбыт", "electricity")),
    Concept("hot water", {
        "ru": ("горячая вода", "отопление", "теплоснабжение", "тепло", "горячее водоснабжение"),
        "uz": ("issiq suv", "issiqlik", "isitish", "issiqlik ta'minoti"),
        "en": ("hot water", "heating", "heat"),
    }, ("горяч", "отоплен", "теплоснабж", "issiq")),
    Concept("water", {
        "ru": ("вода", "холодная вода", "водоснабжение", "водоканал"),
        "uz": ("suv", "sovuq suv", "ichimlik suvi", "suv ta'minoti"),
        "en": ("water", "cold water", "water supply"),
    }, ("вода", "водоснабж", "водоканал", "suv")),
    Concept("gas", {
        "ru": ("газ", "природный газ", "газоснабжение"),
        "uz": ("gaz", "tabiiy gaz", "gaz ta'minoti"),
        "en": ("gas", "natural gas"),
    }, ("газ",)),
    Concept("waste", {
        "ru": ("мусор", "вывоз мусора", "тбо", "отходы"),
        "uz": ("chiqindi", "axlat", "chiqindi olib ketish"),
        "en": ("waste", "garbage", "trash", "rubbish"),
    }, ("чиқинди", "мусор", "отход", "toza hudud", "maxsustrans", "спецтранс")),
    Concept("internet", {
        "ru": ("интернет", "домашний интернет", "вайфай"),
        "uz": ("internet", "uy interneti"),
        "en": ("internet", "broadband", "wifi", "wi-fi"),
    }, ("интернет", "uzonline", "sarkor", "comnet", "uztelecom", "o‘zbektelekom")),
    Concept("mobile", {
        "ru": ("мобильная связь", "мобильный", "сотовая связь", "телефон", "баланс телефона"),
        "uz": ("mobil aloqa", "mobil", "uyali aloqa", "telefon"),
        "en": ("mobile", "mobile phone", "phone", "cell phone", "top up"),
    }, ("мобильн", "mobil", "beeline", "ucell", "mobiuz", "humans", "perfectum")),
)


def concepts_for(query: str) -> list[Concept]:
    """The concepts a query stands for, the exact ones first; a word inside a longer matched word is dropped."""
    folded = fold(query)
    if not folded:
        return []
    found: list[tuple[int, str, Concept]] = []  # (how: 0 exact, 1 whole words inside, 2 a start), word, concept
    for concept in CONCEPTS:
        best: tuple[int, str] | None = None
        for word in (fold(word) for words in concept.words.values() for word in words):
            if folded == word:
                how = 0
            elif _holds(folded, word):
                how = 1
            elif len(folded) >= MIN_PREFIX and word.startswith(folded):
                how = 2
            else:
                continue
            if best is None or (how, -len(word)) < (best[0], -len(best[1])):
                best = (how, word)
        if best is not None:
            found.append((best[0], best[1], concept))
    kept = [(how, word, concept) for how, word, concept in found
            if not any(other != word and _holds(other, word) for _, other, _ in found)]
    return [concept for _, _, concept in sorted(kept, key=lambda item: item[0])]


def search(query: str, names: Sequence[str]) -> list[int]:
    """Indexes of the matching names: the query's own matches (bot.domain.translit.search), then those of the
    concepts it stands for, each name once."""
    order = search_names(query, names)
    folded_names = [fold(name) for name in names]
    for concept in concepts_for(query):
        for term in (fold(term) for term in concept.terms):
            order += [index for index, name in enumerate(folded_names) if term in name and index not in order]
    return order


def _holds(text: str, word: str) -> bool:
    """`word` appears in `text` as whole words."""
    return f" {word} " in f" {text} "
