"""The form engine: the provider's `fields` in, one question at a time, the `account` dict out.

Answers are a JSON-plain `dict[str, str]` (field name -> value; a skipped optional field -> "") so they live in FSM
data as they are. Every reader goes through `prune()`: an answer that no longer fits (a select value outside the
options its parent now allows, or the child of a dropped parent) counts as unanswered, so a stale dependent answer
can never reach `account()`.

Assumptions about the provider's schema, kept here: `length` is the exact length of a text value; `validation` is a
Python-compatible regex that must match the whole value (one we cannot compile is left to the provider to enforce);
an option's `filter` is the chosen `value` of the field named by `dependency_of`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

MAX_TEXT = 256  # longer input is refused before any other check
NUMBER_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]")  # spaces and dashes people type inside numbers
DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also accepts "²" and other scripts' digits
SAMPLE_DIGITS = "1234567890"
PHONE_NAMES = re.compile(r"phone|msisdn|telefon|^tel$", re.IGNORECASE)  # provider field names of a phone number
PHONE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015().]")
COUNTRY_CODE = "998"
PHONE_DIGITS = 9  # an Uzbek number after the country code: operator code (2) + subscriber (7)
UNBOUNDED_DIGITS = 7  # how many digits an example shows for `\d+` or a number field without a length


class FieldType(StrEnum):
    select = "select"
    text = "text"


class Content(StrEnum):
    text = "text"
    number = "number"


class FieldError(ValueError):
    """`code` is what the UI translates; `params` fill its message (length=, example=)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Option:
    id: int
    value: str
    title: str
    filter: str | None = None


@dataclass(frozen=True)
class Field:
    name: str
    title: str
    type: FieldType
    content: Content = Content.text
    validation: str | None = None
    length: int | None = None
    required: bool = True
    dependency_of: str | None = None
    values: tuple[Option, ...] = ()
    field_id: str = ""

    def __post_init__(self) -> None:  # plain strings and lists are accepted, and stored as the enums and a tuple
        object.__setattr__(self, "type", FieldType(self.type))
        object.__setattr__(self, "content", Content(self.content))
        object.__setattr__(self, "values", tuple(self.values))

    @classmethod
    def from_provider(cls, data: Any) -> Field:
        """One item of servicePayment/fields `fields`: a dict, or a pydantic model (read via `model_dump`)."""
        d = data if isinstance(data, Mapping) else data.model_dump()
        return cls(
            name=str(d["name"]),
            title=str(d.get("title") or d["name"]),
            type=FieldType.select if str(d.get("type") or "").lower() == "select" else FieldType.text,
            content=Content.number if str(d.get("content") or "").lower() == "number" else Content.text,
            validation=str(d["validation"]) if d.get("validation") else None,
            length=_positive_int(d.get("length")),
            required=_truthy(d.get("required", True)),
            dependency_of=str(d["dependency_of"]) if d.get("dependency_of") else None,
            values=tuple(
                Option(id=int(v["id"]), value=str(v["value"]), title=str(v.get("title") or v["value"]),
                       filter=None if v.get("filter") in (None, "") else str(v["filter"]))
                for v in (d.get("values") or [])
            ),
            field_id=str(d.get("field_id") or ""),
        )


def fields_from_provider(items: Sequence[Any]) -> list[Field]:
    """The whole `fields` list, made safe to walk in order: a `dependency_of` naming no field (or itself) is
    dropped, and a field listed before the field it depends on is moved after it; otherwise the form would stop
    at a select with no options forever."""
    fields = [Field.from_provider(item) for item in items]
    names = {f.name for f in fields}
    fields = [f if f.dependency_of in names and f.dependency_of != f.name else replace(f, dependency_of=None)
              for f in fields]
    ordered: list[Field] = []
    placed: set[str] = set()
    pending = list(fields)
    while pending:
        ready = [f for f in pending if f.dependency_of is None or f.dependency_of in placed]
        if not ready:  # a cycle: break it at the first field in provider order
            ready = [replace(pending[0], dependency_of=None)]
            pending[0] = ready[0]
        first = ready[0]
        ordered.append(first)
        placed.add(first.name)
        pending = [f for f in pending if f.name != first.name]
    return ordered


# ---- reading answers ---------------------------------------------------------------------------------------


def options(field: Field, answers: Mapping[str, str]) -> list[Option]:
    """The select values on offer. With `dependency_of`, only those whose filter is the parent's chosen value;
    a skipped parent ("") offers the unfiltered ones; an unanswered parent offers none."""
    if field.dependency_of is None:
        return list(field.values)
    if field.dependency_of not in answers:
        return []
    chosen = answers[field.dependency_of] or None
    return [o for o in field.values if o.filter == chosen]


def prune(fields: Sequence[Field], answers: Mapping[str, str]) -> dict[str, str]:
    """The answers that still fit, in field order; unknown names are dropped."""
    kept: dict[str, str] = {}
    for f in fields:
        value = answers.get(f.name)
        if not isinstance(value, str):
            continue
        if value == "":
            fits = not f.required
        elif f.type is FieldType.select:
            fits = any(o.value == value for o in options(f, kept))
        else:
            fits = True  # stored only after parse()
        if fits:
            kept[f.name] = value
    return kept


def next_field(fields: Sequence[Field], answers: Mapping[str, str]) -> Field | None:
    """The first field, in provider order, without a fitting answer; None when the form is complete."""
    kept = prune(fields, answers)
    return next((f for f in fields if f.name not in kept), None)


next_step = next_field  # the name style.md uses


def account(fields: Sequence[Field], answers: Mapping[str, str]) -> dict[str, str]:
    """Exactly `{name: value}` for every field, in field order, as servicePayment info/create take it."""
    kept = prune(fields, answers)
    if any(f.name not in kept for f in fields):
        raise FieldError("incomplete")
    return {f.name: kept[f.name] for f in fields}


def display(fields: Sequence[Field], answers: Mapping[str, str]) -> list[tuple[Field, str]]:
    """(field, what to show) for a summary: an option's title for selects, the typed value for texts.
    Skipped fields are left out."""
    kept = prune(fields, answers)
    shown: list[tuple[Field, str]] = []
    for f in fields:
        value = kept.get(f.name, "")
        if value == "":
            continue
        if f.type is FieldType.select:
            value = next((o.title for o in options(f, kept) if o.value == value), value)
        shown.append((f, value))
    return shown


# ---- changing answers --------------------------------------------------------------------------------------


def choose(field: Field, answers: Mapping[str, str], option_id: int,
           fields: Sequence[Field] | None = None) -> dict[str, str]:
    """Answer a select by option id (what callback data carries). Given `fields`, a changed value also drops the
    answers of every field that depends on this one, transitively: the same value may mean another street under
    another district. Without `fields`, `prune()` still hides dependents that no longer fit."""
    option = next((o for o in options(field, answers) if o.id == option_id), None)
    if option is None:
        raise FieldError("not_an_option")
    new = dict(answers)
    if fields is not None and answers.get(field.name) != option.value:
        for name in dependents(field.name, fields):
            new.pop(name, None)
    new[field.name] = option.value
    return new


def dependents(name: str, fields: Sequence[Field]) -> set[str]:
    """Names of the fields whose options depend on `name`, directly or through other fields."""
    found: set[str] = set()
    frontier = {name}
    while frontier:
        frontier = {f.name for f in fields if f.dependency_of in frontier and f.name not in found | {name}}
        found |= frontier
    return found


def skip(field: Field, answers: Mapping[str, str]) -> dict[str, str]:
    if field.required:
        raise FieldError("required")
    return {**answers, field.name: ""}


def back(fields: Sequence[Field], answers: Mapping[str, str]) -> dict[str, str]:
    """Go to the previous question: drop the last answered field's answer, keep the earlier ones."""
    kept = prune(fields, answers)
    answered = [f.name for f in fields if f.name in kept]
    if answered:
        del kept[answered[-1]]
    return kept


# ---- typed values ------------------------------------------------------------------------------------------


def parse(field: Field, text: str | None) -> str:
    """A typed value, normalised and checked; raises FieldError with the first problem found."""
    if field.type is FieldType.select:
        raise FieldError("not_an_option")
    value = (text or "").strip()
    if len(value) > MAX_TEXT:
        raise FieldError("too_long")
    if is_phone(field):
        value = phone_digits(field, value)
    elif field.content is Content.number:
        value = NUMBER_SEPARATORS.sub("", value)
    else:
        value = " ".join(value.split())  # an account value never needs a newline or a run of spaces
    if not value:
        if field.required:
            raise FieldError("required")
        return ""
    code = _problem(field, value)
    if code == "length":
        raise FieldError("length", length=field.length, typed=len(value))  # the message says both numbers
    if code == "pattern":
        raise FieldError("pattern", example=example(field))
    if code is not None:
        raise FieldError(code)
    return value


def is_phone(field: Field) -> bool:
    """A phone number field (a mobile operator's account): typed in many shapes, all meaning the same number."""
    return field.type is FieldType.text and bool(PHONE_NAMES.search(field.name))


def phone_digits(field: Field, text: str) -> str:
    """'+998 (90) 123-45-67', '998901234567', '90 123 45 67': one number, written as the field takes it (the 9 digits
    after +998, or with 998 in front, by what its length and pattern accept). Anything else is returned without its
    separators, for the field's own checks to refuse."""
    digits = PHONE_SEPARATORS.sub("", text).removeprefix("+")
    if len(digits) == len(COUNTRY_CODE) + PHONE_DIGITS and digits.startswith(COUNTRY_CODE):
        national = digits[len(COUNTRY_CODE):]
    elif len(digits) == PHONE_DIGITS:
        national = digits
    else:
        return digits
    shapes = (national, COUNTRY_CODE + national, "+" + COUNTRY_CODE + national)
    return next((shape for shape in shapes if _problem(field, shape) is None), digits)


def example(field: Field) -> str | None:
    """A value of the expected shape to show the user, or None when we cannot tell one that would pass."""
    if field.type is not FieldType.text:
        return None
    candidates = []
    if field.validation:
        candidates.append(_sample(field.validation))
    if field.content is Content.number:
        candidates.append(_digits(field.length or UNBOUNDED_DIGITS))
    return next((c for c in candidates if c and _problem(field, c) is None), None)


def _problem(field: Field, value: str) -> str | None:
    if field.content is Content.number and not DIGITS.fullmatch(value):
        return "digits_only"
    if field.length is not None and len(value) != field.length:
        return "length"
    if field.validation:
        pattern = _compiled(field.validation)
        if pattern is not None and pattern.fullmatch(value) is None:
            return "pattern"
    return None


@functools.lru_cache(maxsize=256)
def _compiled(validation: str) -> re.Pattern[str] | None:
    try:
        return re.compile(validation)
    except re.error:
        return None


def _digits(count: int) -> str:
    return (SAMPLE_DIGITS * (count // len(SAMPLE_DIGITS) + 1))[:count]


def _positive_int(raw: Any) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def _truthy(raw: Any) -> bool:
    if isinstance(raw, str):
        return raw.strip().lower() not in ("false", "0", "no", "")
    return bool(raw)


# ---- an example from a pattern -----------------------------------------------------------------------------
# Enough of regex syntax for the shapes providers use: literals, (a|b) groups, [classes], \d \w \s, quantifiers.
# Anything else gives up (None); whatever comes out is checked against the real pattern before it is shown.


class _Unsupported(Exception):
    pass


def _sample(pattern: str) -> str | None:
    try:
        reader = _PatternReader(pattern)
        tree = reader.alternation()
        if reader.pos != len(pattern):
            raise _Unsupported
        out = _render(tree, [0])
    except (_Unsupported, RecursionError):
        return None
    return out if 0 < len(out) <= MAX_TEXT else None


# Nodes: ("lit", char) | ("digit",) | ("alt", [sequence, ...]) | ("seq", [node, ...]) | ("rep", node, count)


class _PatternReader:
    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        if not char:
            raise _Unsupported
        self.pos += 1
        return char

    def alternation(self) -> tuple:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence())
        return ("alt", branches)

    def sequence(self) -> tuple:
        nodes = []
        while self.peek() not in ("", "|", ")"):
            atom = self.atom()
            if atom is not None:
                nodes.append(self.quantified(atom))
        return ("seq", nodes)

    def atom(self) -> tuple | None:
        char = self.take()
        if char in "^$":
            return None
        if char == "(":
            if self.text.startswith("?:", self.pos):
                self.pos += 2
            elif self.text.startswith("?P<", self.pos):
                self.pos = self.text.index(">", self.pos) + 1
            elif self.peek() == "?":
                raise _Unsupported
            inner = self.alternation()
            if self.take() != ")":
                raise _Unsupported
            return inner
        if char == "[":
            return self.char_class()
        if char == "\\":
            return self.escape()
        if char == ".":
            return ("lit", "a")
        if char in "*+?{)":
            raise _Unsupported
        return ("lit", char)

    def escape(self) -> tuple | None:
        char = self.take()
        if char == "d":
            return ("digit",)
        if char == "w":
            return ("lit", "a")
        if char == "s":
            return ("lit", " ")
        if char in "AZb":
            return None
        if char.isalnum():
            raise _Unsupported
        return ("lit", char)

    def char_class(self) -> tuple:
        if self.peek() == "^":
            raise _Unsupported
        first = None
        start = self.pos
        while True:
            char = self.take()
            if char == "]" and self.pos - 1 > start:
                break
            if char == "\\":
                char = self.take()
                if char == "d":
                    char = "0"
                elif char.isalnum():
                    raise _Unsupported
            if first is None:
                first = char
        return ("digit",) if first is not None and first.isdigit() else ("lit", first or "a")

    def quantified(self, atom: tuple) -> tuple:
        char = self.peek()
        unbounded = UNBOUNDED_DIGITS if atom == ("digit",) else 1
        if char == "?":
            count = 0
        elif char == "*":
            count = 0
        elif char == "+":
            count = unbounded
        elif char == "{":
            match = re.match(r"\{(\d+)(?:(,)(\d*))?\}", self.text[self.pos:])
            if not match:
                return atom
            low = int(match.group(1))
            high = int(match.group(3)) if match.group(3) else None
            count = low if not match.group(2) else max(low, unbounded)
            if high is not None:
                count = min(count, high)
            self.pos += match.end() - 1
        else:
            return atom
        self.pos += 1
        if self.peek() in ("?", "+"):  # lazy or possessive: same example
            self.pos += 1
        return ("rep", atom, count)


def _render(node: tuple, counter: list[int]) -> str:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "digit":
        digit = SAMPLE_DIGITS[counter[0] % len(SAMPLE_DIGITS)]
        counter[0] += 1
        return digit
    if kind == "seq":
        return "".join(_render(child, counter) for child in node[1])
    if kind == "alt":
        return _render(node[1][0], counter)
    if kind == "rep":
        return "".join(_render(node[1], counter) for _ in range(node[2]))
    raise _Unsupported
