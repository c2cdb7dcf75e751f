"""The catalogs keep to the glossary (bot/texts/glossary.py): one word per idea, Uzbek in Latin letters with its own
apostrophes, each language's own quotes, and every placeholder of the message id kept."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.texts import glossary

ROOT = Path(__file__).resolve().parents[2]
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def catalog(language: str):
    with open(ROOT / "locales" / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=language)


def translations(language: str):
    """(message id, one translated form) for every entry, plural forms included."""
    for message in catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            yield ids, form


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("language", glossary.LANGUAGES)
def test_no_catalog_uses_a_forbidden_synonym(language):
    found = [(ids[0], hits) for ids, text in translations(language)
             if (hits := glossary.forbidden_in(text, language))]
    assert found == [], f"{language}: {found}"


def test_the_check_catches_a_synonym_in_any_form():
    assert glossary.forbidden_in("Ответ провайдера: нет", "ru") == [("payment_system", "провайдер"),
                                                                    ("supplier", "провайдер")]
    assert ("supplier", "ta’minotchi") in glossary.forbidden_in("Ta'minotchi to‘lovni qabul qilmadi", "uz")
    assert glossary.forbidden_in("Xizmat ko‘rsatuvchi bu hisob raqamini topmadi", "uz") == []


def test_uzbek_is_latin_with_its_own_apostrophes_and_quotes():
    bad = []
    for ids, text in translations("uz"):
        if CYRILLIC.search(text):
            bad.append(("cyrillic", ids[0], text))
        if re.search(r"['`ʻʼ]", text):
            bad.append(("apostrophe: o‘/g‘ take ‘ (U+2018), the tutuq belgisi ’ (U+2019)", ids[0], text))
        if re.search(r"[oOgG]’", text) or re.search(r"(?<![oOgG])‘", text):
            bad.append(("o‘ and g‘ take ‘, other letters ’", ids[0], text))
        if re.search(r"«[^»]*»", text):  # a quote; a lone « is the Back arrow on a button
            bad.append(("quotes: “…” in Uzbek", ids[0], text))
    assert bad == []


def test_russian_uses_its_own_quotes():
    bad = [ids[0] for ids, text in translations("ru") if re.search(r"“[^”]*”", text)]
    assert bad == []


@pytest.mark.parametrize("language", glossary.LANGUAGES)
def test_every_form_keeps_the_placeholders_of_its_id(language):
    """Plural forms too (test_translations checks the singular entries): a lost {id} is a KeyError at run time."""
    bad = [(ids, text) for ids, text in translations(language)
           if fields(text) != set().union(*(fields(i) for i in ids))]
    assert bad == []


def test_the_readable_glossary_matches_the_module():
    assert (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8") == glossary.markdown(), (
        "run: python -m bot.texts.glossary > docs/glossary.md")
