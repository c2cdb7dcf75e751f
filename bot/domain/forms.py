"""The form engine: the provider's `fields` in, one step at a time, the `account` dict out.

Pure Python: answers are a JSON-plain dict (field name -> value) so they live in FSM data as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 256


class FieldError(ValueError):
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
    type: str  # "select" | "text"
    content: str = "text"  # "text" | "number"
    validation: str | None = None
    length: int | None = None
    required: bool = True
    dependency_of: str | None = None
    values: tuple[Option, ...] = field(default_factory=tuple)

    @classmethod
    def from_provider(cls, data: Any) -> Field:
        d = data if isinstance(data, dict) else data.model_dump()
        return cls(
            name=str(d["name"]),
            title=str(d.get("title") or d["name"]),
            type=str(d.get("type") or "text"),
            content=str(d.get("content") or "text"),
            validation=d.get("validation") or None,
            length=int(d["length"]) if d.get("length") not in (None, "", 0) else None,
            required=bool(d.get("required", True)),
            dependency_of=d.get("dependency_of") or None,
            values=tuple(
                Option(id=int(v["id"]), value=str(v["value"]), title=str(v.get("title") or v["value"]),
                       filter=None if v.get("filter") in (None, "") else str(v["filter"]))
                for v in (d.get("values") or [])
            ),
        )


def next_field(fields: list[Field], answers: dict[str, str]) -> Field | None:
    return next((f for f in fields if f.name not in answers), None)


def options(f: Field, answers: dict[str, str]) -> list[Option]:
    """Select values; with `dependency_of`, only those whose filter is the chosen value of that field."""
    if f.dependency_of is None:
        return list(f.values)
    chosen = answers.get(f.dependency_of)
    return [o for o in f.values if o.filter == chosen]


def choose(f: Field, answers: dict[str, str], option_id: int, fields: list[Field] | None = None) -> dict[str, str]:
    option = next((o for o in options(f, answers) if o.id == option_id), None)
    if option is None:
        raise FieldError("not_an_option")
    new = {k: v for k, v in answers.items() if k not in _dependents(f.name, fields or [])}
    new[f.name] = option.value
    return new


def _dependents(name: str, fields: list[Field]) -> set[str]:
    found: set[str] = set()
    frontier = {name}
    while frontier:
        nxt = {f.name for f in fields if f.dependency_of in frontier and f.name not in found}
        found |= nxt
        frontier = nxt
    return found


def parse(f: Field, text: str | None) -> str:
    value = (text or "").strip()
    if len(value) > MAX_TEXT:
        raise FieldError("too_long")
    if f.content == "number":
        value = re.sub(r"[\s\-]", "", value)
    if not value:
        raise FieldError("required")
    if f.content == "number" and not value.isdigit():
        raise FieldError("digits_only")
    if f.length and len(value) != f.length:
        raise FieldError("length", length=f.length)
    if f.validation:
        try:
            matched = re.fullmatch(f.validation, value) is not None
        except re.error:
            matched = True  # a pattern we cannot read is the provider's to enforce
        if not matched:
            raise FieldError("pattern", example=example(f))
    return value


def example(f: Field) -> str | None:
    if f.type != "text":
        return None
    if f.validation:
        guess = _example_from_pattern(f.validation)
        if guess is not None:
            return guess
    if f.content == "number":
        size = f.length or 7
        return ("1234567890" * (size // 10 + 1))[:size]
    return None


def _example_from_pattern(pattern: str) -> str | None:
    """A sample for simple patterns: literal prefixes, (a|b) groups, \\d{n}, [0-9]{n}."""
    body = pattern.removeprefix("^").removesuffix("$")
    out = []
    i = 0
    digits = "1234567890"
    while i < len(body):
        c = body[i]
        if c == "(":
            end = body.find(")", i)
            if end < 0:
                return None
            out.append(body[i + 1:end].split("|")[0])
            i = end + 1
        elif body.startswith(r"\d", i) or body.startswith("[0-9]", i):
            i += 2 if body.startswith(r"\d", i) else 5
            count = 1
            m = re.match(r"\{(\d+)(?:,(\d*))?\}", body[i:])
            if m:
                count = int(m.group(1))
                i += m.end()
            elif i < len(body) and body[i] in "+*":
                count = 7
                i += 1
            out.append((digits * (count // 10 + 1))[:count])
        elif c.isalnum():
            out.append(c)
            i += 1
        else:
            return None
    sample = "".join(out)
    try:
        return sample if re.fullmatch(pattern, sample) else None
    except re.error:
        return None


def skip(f: Field, answers: dict[str, str]) -> dict[str, str]:
    if f.required:
        raise FieldError("required")
    return {**answers, f.name: ""}


def back(fields: list[Field], answers: dict[str, str]) -> dict[str, str]:
    """Drop the answer of the last answered field; earlier answers stay."""
    answered = [f.name for f in fields if f.name in answers]
    if not answered:
        return dict(answers)
    return {k: v for k, v in answers.items() if k != answered[-1]}


def account(fields: list[Field], answers: dict[str, str]) -> dict[str, str]:
    if next_field(fields, answers) is not None:
        raise FieldError("incomplete")
    return {f.name: answers[f.name] for f in fields}


def display(fields: list[Field], answers: dict[str, str]) -> list[tuple[Field, str]]:
    shown = []
    for f in fields:
        if f.name not in answers or answers[f.name] == "":
            continue
        value = answers[f.name]
        if f.type == "select":
            value = next((o.title for o in f.values if o.value == value), value)
        shown.append((f, value))
    return shown
