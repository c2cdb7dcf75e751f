"""Script-aware search: Cyrillic (Russian, Uzbek) and Uzbek Latin folded to one lowercase Latin skeleton.

"elektr" finds "Электроэнергия", "газ" finds "Gaz", "СУВ" finds "Sovuq suv". Limits: the skeleton is phonetic
only as far as a letter table goes; brand names spelt differently by sound ("Билайн" / "Beeline") do not meet.
"""

from __future__ import annotations

import re

CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "j", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "h", "ц": "s", "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "", "ы": "i", "ь": "",
    "э": "e", "ю": "yu", "я": "ya", "ў": "o", "қ": "k", "ғ": "g", "ҳ": "h",
}
APOSTROPHES = "'‘’ʻʼ`´"
LATIN_RULES = [("kh", "h"), ("x", "h"), ("q", "k"), ("w", "v"), ("ts", "s"), ("yo", "e"), ("ya", "a"), ("yu", "u")]

MIN_QUERY = 2


def fold(text: str) -> str:
    lowered = (text or "").lower()
    latin = "".join(CYRILLIC.get(char, char) for char in lowered)
    latin = "".join(char for char in latin if char not in APOSTROPHES)
    for old, new in LATIN_RULES:
        latin = latin.replace(old, new)
    return re.sub(r"[^a-z0-9]+", " ", latin).strip()


def matches(query: str, name: str) -> bool:
    folded = fold(query)
    return len(folded.replace(" ", "")) >= MIN_QUERY and folded in fold(name)


def search(query: str, names: list[str]) -> list[int]:
    """Indexes of the names that contain the query, those where a word starts with it first."""
    folded = fold(query)
    if len(folded.replace(" ", "")) < MIN_QUERY:
        return []
    scored = []
    for index, name in enumerate(names):
        target = fold(name)
        position = target.find(folded)
        if position < 0:
            continue
        word_start = position == 0 or target[position - 1] == " "
        scored.append((0 if word_start else 1, index))
    return [index for _, index in sorted(scored)]
