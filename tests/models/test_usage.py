"""Token accounting, prices and the token/USD caps."""

from __future__ import annotations

import pytest

from autoprompt.errors import BudgetExhausted
from autoprompt.models.budget import Budget
from autoprompt.models.usage import PriceTable
from autoprompt.records.usage import Usage


def test_prices_match_the_longest_prefix_and_can_be_overridden() -> None:
    table = PriceTable()
    assert table.cost("gpt-4o-mini-2024-07-18", Usage(1_000_000, 0)) == pytest.approx(0.15)
    assert table.cost("gpt-4o", Usage(0, 1_000_000)) == pytest.approx(10.0)
    assert not table.known("smollm2") and table.cost("smollm2", Usage(10, 10)) == 0.0
    assert PriceTable({"mine": (1.0, 2.0)}).cost("mine", Usage(500_000, 500_000)) == pytest.approx(1.5)


def test_token_and_usd_caps_stop_further_calls() -> None:
    budget = Budget(100, max_tokens=1000)
    budget.charge()
    budget.record(Usage(900, 200))
    with pytest.raises(BudgetExhausted, match="token budget"):
        budget.charge()
    usd = Budget(100, max_usd=0.01)
    usd.charge()
    usd.record(Usage(10, 10), 0.02)
    with pytest.raises(BudgetExhausted, match="USD budget"):
        usd.charge()


def test_usage_adds_up() -> None:
    assert Usage(1, 2) + Usage(10, 20) == Usage(11, 22)
    assert Usage.sum([Usage(1, 2), Usage(3, 4), Usage(5, 6)]) == Usage(9, 12)
    assert Usage.sum([]) == Usage()
