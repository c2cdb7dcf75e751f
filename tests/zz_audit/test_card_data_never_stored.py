"""Runs after the whole suite: no card number or typed SMS code in any database (SQLite files and PostgreSQL
dumps), FSM row or log line."""

from __future__ import annotations

import pytest

from tests.conftest import AUDIT

CARD_NUMBERS = [
    "8600069195406311", "8600495473316478", "3333336415804657", "4444445987459073",
    "8600060921090842", "8600143417770323", "8600134301849596",
]
CODES = ["666666", "271828", "314159"]  # the right code and the wrong ones the tests type


def variants(number: str) -> list[str]:
    spaced = " ".join(number[i:i + 4] for i in range(0, 16, 4))
    return [number, spaced, spaced.replace(" ", "-")]


def test_no_card_data_anywhere():
    databases = [path for path in AUDIT.databases if path.exists()]
    if not databases:
        pytest.skip("run with the whole suite: it scans what the other tests wrote")
    needles = [v for number in CARD_NUMBERS for v in variants(number)] + CODES
    places = {str(path): path.read_bytes() for path in databases}
    for suffix in ("-wal", "-journal"):
        for path in databases:
            sidecar = path.with_name(path.name + suffix)
            if sidecar.exists():
                places[str(sidecar)] = sidecar.read_bytes()
    if AUDIT.postgres is not None and AUDIT.postgres.pid is not None:
        for name in AUDIT.postgres_databases:
            places[f"postgresql/{name}"] = AUDIT.postgres.dump(name).encode()
    places["log"] = AUDIT.log_file.read_bytes()
    found = [(needle, place) for place, content in places.items() for needle in needles if needle.encode() in content]
    assert found == []
