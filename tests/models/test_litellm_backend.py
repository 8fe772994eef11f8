"""The LiteLLM backend without a server: its spec, its prices from LiteLLM's bundled cost map, and
``--max-usd`` with a model the map lacks. Requests through it run against llama-server in
``test_api_server.py``."""

from __future__ import annotations

import pandas as pd
import pytest

import autoprompt
from autoprompt.errors import ConfigError
from autoprompt.models.litellm_backend import LiteLLMBackend
from autoprompt.models.registry import get_backend
from autoprompt.models.usage import PriceTable
from autoprompt.records.model_spec import ModelSpec
from autoprompt.search.assembly import price_table
from autoprompt.spec import spec_from


def test_the_spec_names_litellms_own_model_id_and_an_optional_base_url() -> None:
    backend = get_backend("litellm:groq/llama-3.1-8b-instant")
    assert isinstance(backend, LiteLLMBackend)
    assert (backend.model, backend.base_url, backend.name) == ("groq/llama-3.1-8b-instant", None,
                                                               "litellm:groq/llama-3.1-8b-instant")
    served = get_backend("litellm:openai/smollm2@http://127.0.0.1:8080/v1")
    assert (served.model, served.base_url) == ("openai/smollm2", "http://127.0.0.1:8080/v1")  # type: ignore[attr-defined]
    assert ModelSpec.parse("litellm:openai/smollm2@http://127.0.0.1:8080/v1").name == "openai/smollm2"


def test_prices_come_from_litellms_cost_map_and_an_unmapped_model_has_none() -> None:
    assert LiteLLMBackend("openai/gpt-4o-mini").rates() == pytest.approx((0.15, 0.60, 0.075))
    assert LiteLLMBackend("openai/no-such-model-4242").rates() is None


def test_the_run_prices_a_litellm_model_by_its_map_unless_price_says_otherwise() -> None:
    backend = LiteLLMBackend("openai/gpt-4o-mini")
    spec = spec_from({"data": "sentiment", "model": "litellm:openai/gpt-4o-mini", "max_usd": 1.0}, "test")
    assert price_table(spec, [backend]).prices["openai/gpt-4o-mini"] == pytest.approx((0.15, 0.60, 0.075))
    given = spec_from({"data": "sentiment", "model": "litellm:openai/gpt-4o-mini", "price": [1.0, 2.0]}, "test")
    assert price_table(given, [backend]).prices["openai/gpt-4o-mini"] == (1.0, 2.0)
    own = spec_from({"data": "sentiment", "prices": PriceTable({"openai/gpt-4o-mini": (5.0, 6.0)})}, "test")
    assert price_table(own, [backend]).prices["openai/gpt-4o-mini"] == (5.0, 6.0)


def test_max_usd_refuses_a_model_litellm_does_not_price(keyword_frame: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match=r"--max-usd needs the price of openai/no-such-model-4242"):
        autoprompt.optimize(keyword_frame, inputs="text", target="label", budget=50,
                            model="litellm:openai/no-such-model-4242@http://127.0.0.1:9/v1",
                            calls=autoprompt.Calls(max_usd=1.0))
