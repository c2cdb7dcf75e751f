"""Every message id in the code has a translation in each language, and no catalog keeps a dead id."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("uz", "ru", "en")
KEYWORDS = {"_": None, "__": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2), "lazy_ngettext": (1, 2)}


def message_ids() -> set[str]:
    ids: set[str] = set()
    for package in ("bot", "handlers"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def catalog(language: str):
    with open(ROOT / "locales" / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language):
    translations = catalog(language)
    missing = sorted(
        mid for mid in message_ids()
        if not (translations.get(mid) and _filled(translations.get(mid).string))
        or translations.get(mid).fuzzy
    )
    assert missing == [], f"{language}: untranslated {missing}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_dead_entries(language):
    used = message_ids()
    dead = sorted(m.id if isinstance(m.id, str) else m.id[0] for m in catalog(language) if m.id and
                  (m.id if isinstance(m.id, str) else m.id[0]) not in used)
    assert dead == [], f"{language}: entries no code uses {dead}"


def _filled(string) -> bool:
    return all(string) if isinstance(string, tuple) else bool(string)


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_survive_translation(language):
    import string

    fields = lambda text: {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}  # noqa: E731
    for message in catalog(language):
        if not message.id or not isinstance(message.id, str):
            continue
        assert fields(message.string) == fields(message.id), (language, message.id)
