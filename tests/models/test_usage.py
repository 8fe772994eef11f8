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


def test_cached_input_tokens_cost_the_cached_rate() -> None:
    from autoprompt.models.usage import PriceTable
    from autoprompt.records.usage import Usage

    table = PriceTable({"m": (2.0, 8.0, 0.5), "plain": (2.0, 8.0)})
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000, cached_input_tokens=600_000)
    assert table.cost("m", usage) == pytest.approx(0.4 * 2.0 + 0.6 * 0.5 + 0.1 * 8.0)
    assert table.cost("plain", usage) == pytest.approx(2.0 + 0.8)  # no cached rate: the input rate
    assert (usage + usage).cached_input_tokens == 1_200_000
    assert Usage(*usage.as_list()) == usage and Usage(3, 4).as_list() == [3, 4]  # old cache entries read the same
    assert PriceTable().cost("gpt-4o-mini", Usage(1_000_000, 0, 1_000_000)) == pytest.approx(0.075)


def test_the_apis_report_their_cached_tokens() -> None:
    from types import SimpleNamespace

    from autoprompt.models.openai_backend import _usage

    reported = SimpleNamespace(prompt_tokens=100, completion_tokens=7,
                               prompt_tokens_details=SimpleNamespace(cached_tokens=64))
    assert _usage(reported).as_list() == [100, 7, 64]
    assert _usage(SimpleNamespace(prompt_tokens=5, completion_tokens=1, prompt_tokens_details=None)).as_list() == [5, 1]


def test_prices_come_from_the_table_then_the_maintained_package_then_the_dated_list() -> None:
    from autoprompt.models.usage import DEFAULT_PRICES, PriceTable, maintained_rates
    from autoprompt.records.usage import Usage

    million = Usage(input_tokens=1_000_000)
    assert PriceTable({"gemini-2.0-flash": (9.0, 9.0)}).cost("gemini-2.0-flash", million) == 9.0  # yours first
    rates = maintained_rates("gemini-2.0-flash")  # not in the dated list: genai-prices knows it
    assert "gemini-2.0-flash" not in DEFAULT_PRICES and rates is not None and rates[0] > 0
    assert PriceTable().cost("gemini-2.0-flash", million) == pytest.approx(rates[0])
    assert PriceTable().cost("gpt-4o-mini", Usage(1_000_000, 1_000_000, 1_000_000)) == pytest.approx(0.075 + 0.6)
    assert not PriceTable().known("some-unknown-model") and maintained_rates("some-unknown-model") is None
