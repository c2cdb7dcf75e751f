"""Script-aware search: Cyrillic (Russian and Uzbek) and Uzbek Latin folded to one lowercase Latin skeleton.

Users type in whichever script their keyboard has; provider names come in Russian, Uzbek Cyrillic or Uzbek Latin.
So "elektr" finds "Плата за электроэнергию", "газ" finds "Hududgaz: Tabiiy gaz", "СУВ" finds "Sovuq suv".

How: letters map to Latin (х/ҳ/x -> h, қ/q -> k, ў/o‘ -> o, ғ/g‘ -> g, ж -> j, ц/ts -> s, щ -> sh), apostrophes
(‘ ’ ʻ ʼ ' `) and ъ/ь vanish, and the y-glides ya/yo/yu/ye lose their y, so я, ya and a meet. When that finds
nothing, a second, looser pass compares consonants only ("билайн" and "Beeline" are both b-l-n), word by word
from the start of a word, and only for a query with at least three consonants.

A c outside "ch" (never Uzbek) is read the English way: s before e/i/y, k elsewhere (Ucell/Юселл, Comnet/Комнет).

Limits: the skeleton is a letter table, not phonetics. An English x (Express) becomes the Uzbek x, an h, so it does
not meet "Экспресс"; the consonant pass can find names that merely share consonants (it ranks last).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "j", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "h", "ц": "s", "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "", "ы": "i", "ь": "",
    "э": "e", "ю": "yu", "я": "ya", "є": "e", "і": "i",
    "ў": "o", "қ": "k", "ғ": "g", "ҳ": "h",  # Uzbek Cyrillic
}
APOSTROPHES = "'‘’ʻʼ`´ʹ′"
# Applied in order on the Latin text. Each pair makes two common spellings of one sound meet.
LATIN_RULES = (("shch", "sh"), ("kh", "h"), ("zh", "j"), ("x", "h"), ("q", "k"), ("w", "v"), ("ts", "s"),
               ("ya", "a"), ("yo", "o"), ("yu", "u"), ("ye", "e"))
SOFT_C = re.compile(r"c(?=[eiy])")  # Ucell, Cinema: an s
HARD_C = re.compile(r"c(?!h)")  # Comnet, Electric: a k
VOWELS = re.compile(r"[aeiouy]")
MIN_QUERY = 2  # letters or digits typed; fewer match nothing
MIN_CONSONANTS = 3  # below this the consonant pass would match almost anything


def fold(text: str) -> str:
    """The skeleton: lowercase Latin letters and digits, words separated by single spaces."""
    lowered = unicodedata.normalize("NFC", text or "").casefold()
    latin = "".join(CYRILLIC.get(char, char) for char in lowered if char not in APOSTROPHES)
    latin = "".join(char for char in unicodedata.normalize("NFKD", latin) if not unicodedata.combining(char))
    latin = SOFT_C.sub("s", latin)  # Uzbek Latin has no c outside "ch": any other c is a foreign spelling
    latin = HARD_C.sub("k", latin)
    for old, new in LATIN_RULES:
        latin = latin.replace(old, new)
    return " ".join(re.findall(r"[a-z0-9]+", latin))


def matches(query: str, name: str) -> bool:
    return _rank(_Query(query), name) is not None


def search(query: str, names: Sequence[str]) -> list[int]:
    """Indexes of the matching names: those where a word starts with the query first, then those containing it,
    then consonant-only matches; ties keep the given order."""
    prepared = _Query(query)
    scored = [(rank, index) for index, name in enumerate(names) if (rank := _rank(prepared, name)) is not None]
    return [index for _, index in sorted(scored)]


class _Query:
    def __init__(self, text: str) -> None:
        self.usable = sum(char.isalnum() for char in (text or "")) >= MIN_QUERY
        self.folded = fold(text)
        words = self.folded.split()
        self.consonants = _consonants(words[0]) if len(words) == 1 else ""


def _rank(query: _Query, name: str) -> int | None:
    if not query.usable or not query.folded:
        return None
    target = fold(name)
    position = target.find(query.folded)
    if position >= 0:
        word_start = position == 0 or target[position - 1] == " "
        return 0 if word_start else 1
    if len(query.consonants) >= MIN_CONSONANTS and any(
            _consonants(word).startswith(query.consonants) for word in target.split()):
        return 2
    return None


def _consonants(word: str) -> str:
    """Consonants with doubles collapsed: "beeline" and "bilayn" both give "bln"."""
    return re.sub(r"(.)\1+", r"\1", VOWELS.sub("", word))
