"""Usage and prices: tokens a call used, and what they cost in USD.

Contract:
- ``Usage`` is a frozen record of input and output tokens (from the APIs' usage fields).
- ``PriceTable`` maps model names to USD per million input and output tokens (and, third,
  cached input tokens; without it cached input costs the input rate); the
  longest matching prefix wins, so ``gpt-4o-mini-2024-07-18`` finds ``gpt-4o-mini``.
  A table's own entries come first (``PriceTable({"my-model": (1.0, 2.0)})``), then the
  prices of the maintained ``genai-prices`` package (its bundled snapshot, read offline), then
  ``DEFAULT_PRICES``, a dated list kept for when that package is missing. A model with no
  price costs 0 and ``known(model)`` says so.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from autoprompt.records.usage import Usage

# USD per 1M tokens (input, output, cached input), list prices as published by OpenAI and Anthropic
# (checked 2025-08; a maintained price package is not reachable from here). Anthropic's cached rate is
# its cache-read price, a tenth of the input price.
DEFAULT_PRICES: dict[str, tuple[float, ...]] = {
    "gpt-5": (1.25, 10.00, 0.125),
    "gpt-5-mini": (0.25, 2.00, 0.025),
    "gpt-5-nano": (0.05, 0.40, 0.005),
    "gpt-4.1": (2.00, 8.00, 0.50),
    "gpt-4.1-mini": (0.40, 1.60, 0.10),
    "gpt-4.1-nano": (0.10, 0.40, 0.025),
    "gpt-4o": (2.50, 10.00, 1.25),
    "gpt-4o-mini": (0.15, 0.60, 0.075),
    "o3": (2.00, 8.00, 0.50),
    "o4-mini": (1.10, 4.40, 0.275),
    "claude-opus-4": (15.00, 75.00, 1.50),
    "claude-sonnet-4": (3.00, 15.00, 0.30),
    "claude-haiku-4-5": (1.00, 5.00, 0.10),
    "claude-3-5-haiku": (0.80, 4.00, 0.08),
    "claude-3-7-sonnet": (3.00, 15.00, 0.30),
}


class PriceTable:
    """USD per million tokens, by model-name prefix: the entries given here first, then the
    maintained snapshot of the ``genai-prices`` package, then ``DEFAULT_PRICES``."""

    def __init__(self, prices: Mapping[str, tuple[float, ...]] | None = None) -> None:
        self.prices = dict(prices or {})

    def _match(self, model: str) -> tuple[float, ...] | None:
        return _prefix_match(self.prices, model) or maintained_rates(model) or _prefix_match(DEFAULT_PRICES, model)

    def known(self, model: str) -> bool:
        return self._match(model) is not None

    def cost(self, model: str, usage: Usage) -> float:
        price = self._match(model)
        if price is None:
            return 0.0
        cached_rate = price[2] if len(price) > 2 else price[0]
        fresh = usage.input_tokens - usage.cached_input_tokens
        return (fresh * price[0] + usage.cached_input_tokens * cached_rate + usage.output_tokens * price[1]) / 1_000_000


def _prefix_match(prices: Mapping[str, tuple[float, ...]], model: str) -> tuple[float, ...] | None:
    matches = [name for name in prices if model == name or model.startswith(name + "-")]
    return prices[max(matches, key=len)] if matches else None


@functools.lru_cache(maxsize=256)
def maintained_rates(model: str) -> tuple[float, float, float] | None:
    """USD per million input, output and cached input tokens from the ``genai-prices`` package's
    bundled snapshot (read offline; it is never asked to update), or None for a model it does not
    know (or when it is not installed)."""
    try:
        import genai_prices
    except ImportError:
        return None
    million = 1_000_000

    def price(**tokens: int) -> float:
        return float(genai_prices.calc_price(genai_prices.Usage(**tokens), model).total_price)

    try:
        return (price(input_tokens=million), price(output_tokens=million),
                price(input_tokens=million, cache_read_tokens=million))
    except (LookupError, ValueError):
        return None
