"""Which failures "Try again" answers with another card or amount instead of the same again."""

from __future__ import annotations

import pytest

from bot.domain.retry import refused_for_money


@pytest.mark.parametrize("code", ["insufficient_funds", "daily_limit_used_for_this_card", "-31303"])
def test_refusals_for_money(code):
    assert refused_for_money(code)


@pytest.mark.parametrize("code", [None, "", "card_is_blocked", "too_many_attempts", "provider_unavailable",
                                  "-31301", "processing_error", "cancelled", "not_charged"])
def test_other_failures(code):
    assert not refused_for_money(code)
