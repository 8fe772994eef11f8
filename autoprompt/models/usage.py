"""Usage and prices: tokens a call used, and what they cost in USD.

Contract:
- ``Usage`` is a frozen record of input and output tokens (from the APIs' usage fields).
- ``PriceTable`` maps model names to USD per million input and output tokens; the
  longest matching prefix wins, so ``gpt-4o-mini-2024-07-18`` finds ``gpt-4o-mini``.
  Users override or extend it with ``PriceTable({**DEFAULT_PRICES, "my-model": (1.0, 2.0)})``.
  A model with no price costs 0 and ``known(model)`` says so.
"""

from __future__ import annotations

from collections.abc import Mapping

from autoprompt.records.usage import Usage

# USD per 1M tokens (input, output), list prices as published by OpenAI and Anthropic.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "o3": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
    "claude-opus-4": (15.00, 75.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-7-sonnet": (3.00, 15.00),
}


class PriceTable:
    """USD per million tokens, by model-name prefix."""

    def __init__(self, prices: Mapping[str, tuple[float, float]] | None = None) -> None:
        self.prices = dict(DEFAULT_PRICES if prices is None else prices)

    def _match(self, model: str) -> tuple[float, float] | None:
        matches = [name for name in self.prices if model == name or model.startswith(name + "-")]
        return self.prices[max(matches, key=len)] if matches else None

    def known(self, model: str) -> bool:
        return self._match(model) is not None

    def cost(self, model: str, usage: Usage) -> float:
        price = self._match(model)
        if price is None:
            return 0.0
        return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1_000_000
