"""The sealed expiry: readable only with the same bot token, and only for a while."""

from __future__ import annotations

from unittest.mock import patch

from bot.services.sealing import Sealer


def test_sealed_value_opens_only_with_the_same_secret():
    sealed = Sealer("123:abc").seal("9903")
    assert "9903" not in sealed
    assert Sealer("123:abc").open(sealed) == "9903"
    assert Sealer("456:def").open(sealed) is None
    assert Sealer("123:abc").open(sealed[:-4] + "AAAA") is None
    assert Sealer("123:abc").open(None) is None


def test_sealed_value_expires():
    sealer = Sealer("123:abc", ttl=900)
    with patch("time.time", return_value=1_000_000.0):
        sealed = sealer.seal("9903")
    with patch("time.time", return_value=1_000_000.0 + 899):
        assert sealer.open(sealed) == "9903"
    with patch("time.time", return_value=1_000_000.0 + 901):
        assert sealer.open(sealed) is None
