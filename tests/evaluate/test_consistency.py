"""Consistency: sampled answers per example, their agreement, and agreement as an objective."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import autoprompt
from autoprompt.errors import ConfigError
from autoprompt.evaluate.consistency import Consistency, agreement
from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.evaluate.registry import get_metric
from autoprompt.models.backend import FakeBackend
from autoprompt.models.cache import SQLiteCache
from autoprompt.models.client import Client
from autoprompt.prompts.prompt import Prompt
from autoprompt.records.example import Example
from autoprompt.records.task_kind import TaskKind


def test_settings_are_checked_with_the_fix() -> None:
    with pytest.raises(ConfigError, match="at least 2 samples"):
        Consistency(samples=1).check()
    with pytest.raises(ConfigError, match="temperature above 0"):
        Consistency(temperature=0).check()
    with pytest.raises(ConfigError, match="between 0 and 1"):
        Consistency(weight=1.5).check()
    with pytest.raises(ConfigError, match="a mean over examples; 'macro_f1'"):
        autoprompt.optimize("sentiment", model="fake",
                            answers=autoprompt.Answers(metric="macro_f1", consistency=4, consistency_weight=0.5))


def test_agreement_is_the_mean_over_pairs() -> None:
    same = lambda a, b: float(a == b)  # noqa: E731
    assert agreement(["a", "a", "a"], same) == 1.0
    assert agreement(["a", "a", "b"], same) == pytest.approx(1 / 3)
    assert agreement(["a", "b", "c", "d"], same) == 0.0


def test_label_draws_are_seeded_and_follow_the_temperature() -> None:
    probabilities = {"yes": 0.6, "no": 0.4}
    cold, hot = Consistency(samples=40, temperature=0.1), Consistency(samples=40, temperature=3.0)
    assert cold.draw_labels(probabilities, "x") == cold.draw_labels(probabilities, "x")
    assert cold.draw_labels(probabilities, "x").count("yes") >= 39
    assert 8 <= hot.draw_labels(probabilities, "x").count("no") <= 32


def test_classification_consistency_costs_no_extra_call(keyword_frame: pd.DataFrame) -> None:
    examples = [Example(str(i), {"text": row.text}, row.label) for i, row in keyword_frame.head(20).iterrows()]
    prompt = Prompt("Text: {{ text }}\nAnswer:", {}, ("text",), {"yes": "yes", "no": "no", "maybe": "maybe"})
    plain = Client(FakeBackend())
    sampled = Client(FakeBackend())
    base = Evaluator(plain, get_metric("accuracy"), TaskKind.CLASSIFICATION).evaluate(prompt, examples)
    with_agreement = Evaluator(sampled, get_metric("accuracy"), TaskKind.CLASSIFICATION,
                               consistency=Consistency(samples=5)).evaluate(prompt, examples)
    assert plain.calls == sampled.calls == 20
    assert [p.output for p in base] == [p.output for p in with_agreement]
    assert all(p.agreement is not None and 0 <= p.agreement <= 1 for p in with_agreement)
    assert len({p.agreement for p in with_agreement}) > 1


def test_generation_samples_are_separate_cached_requests(tmp_path: Path) -> None:
    prompt = Prompt("Write the past tense.\nVerb: {{ verb }}\nPast:", {}, ("verb",))
    examples = [Example(str(i), {"verb": v}, v + "ed") for i, v in enumerate(["walk", "jump", "talk", "play"])]
    settings = Consistency(samples=4, temperature=1.0)
    cache = SQLiteCache(tmp_path / "cache.sqlite")
    first = Client(FakeBackend(), cache=cache)
    predictions = Evaluator(first, get_metric("exact_match"), TaskKind.GENERATION,
                            consistency=settings).evaluate(prompt, examples)
    assert first.backend_calls == 4 * (1 + 4)
    assert any(p.agreement is not None and p.agreement < 1 for p in predictions)
    again = Client(FakeBackend(), cache=cache)
    replayed = Evaluator(again, get_metric("exact_match"), TaskKind.GENERATION,
                         consistency=settings).evaluate(prompt, examples)
    assert again.backend_calls == 0 and again.calls == 20 and replayed == predictions


def test_a_steadier_prompt_wins_when_agreement_counts(tmp_path: Path) -> None:
    """The fake drifts four times less often when told to keep it short: with weight 0.5 the search finds that."""
    weighted = autoprompt.optimize("past_tense", model="fake", budget=12000, seed=0,
                                   answers=autoprompt.Answers(consistency=4, consistency_weight=0.5),
                                   run=tmp_path / "run")
    assert weighted.metric == "exact_match~0.5*consistency"
    start, best = weighted.trials[0], weighted.trials[weighted.best.trial_number]
    assert start.consistency is not None and best.consistency is not None
    assert best.consistency > start.consistency + 0.2
    assert "short" in weighted.best.prompt.render({"verb": "walk"}).lower()
    assert weighted.test is not None and weighted.test.consistency() is not None
    assert "consistency" in weighted.leaderboard.columns
    assert "consistency on test (agreement of sampled answers)" in (tmp_path / "run" / "report.md").read_text()
    resumed = autoprompt.resume(tmp_path / "run")
    assert resumed.best.candidate == weighted.best.candidate and resumed.paid_calls == 0


@pytest.mark.model
def test_local_sampling_is_seeded_and_a_consistency_run_measures_agreement(tmp_path: Path) -> None:
    from autoprompt.models.local import LocalBackend

    model = LocalBackend("local")
    prompt = "Write the past tense of the verb.\nVerb: swim\nPast:"
    first = model.generate(prompt, max_tokens=6, temperature=1.2, seed=3)
    model.reset()
    assert model.generate(prompt, max_tokens=6, temperature=1.2, seed=3) == first
    assert len({model.generate(prompt, max_tokens=6, temperature=1.2, seed=s) for s in range(6)}) >= 2
    from autoprompt.data.bundled import bundled_path

    data = pd.read_csv(bundled_path("past_tense"))
    result = autoprompt.optimize(data.head(10), inputs="verb", target="past", model=model, budget=70, seed=0,
                                 search=autoprompt.Search(dev=data.iloc[10:18], test=data.iloc[18:22]),
                                 answers=autoprompt.Answers(consistency=3, temperature=1.0),
                                 calls=autoprompt.Calls(cache=tmp_path / "cache.sqlite"))
    start = result.trials[0]
    # selection reads the 8 dev rows and the 6 train rows outside the demo pool (round(10 × 0.375) = 4)
    assert start.n == 8 + 6 and start.consistency is not None and 0.0 <= start.consistency <= 1.0
    assert all(p.agreement is not None for p in start.predictions)
    assert result.test is not None and result.test.consistency() is not None
    again = autoprompt.optimize(data.head(10), inputs="verb", target="past", model=model, budget=70, seed=0,
                                search=autoprompt.Search(dev=data.iloc[10:18], test=data.iloc[18:22]),
                                answers=autoprompt.Answers(consistency=3, temperature=1.0),
                                calls=autoprompt.Calls(cache=tmp_path / "cache.sqlite"))
    assert again.paid_calls == 0 and again.trials[0].consistency == start.consistency


class ExactlyTheProtocol:
    """A backend written from the ``Backend`` protocol alone: its four members and nothing else."""

    name = "exact"
    supports_chat = False

    def score(self, text, continuations, *, chat=False, on_usage=None):  # type: ignore[no-untyped-def]
        return [-float(len(c)) for c in continuations]

    def generate(self, text, *, chat=False, max_tokens=16, stop=(), on_usage=None,  # type: ignore[no-untyped-def]
                 temperature=0.0, seed=None):
        verb = text.rsplit(":", 2)[-2].split()[-1] if ":" in text else "x"
        return verb + ("ed" if temperature == 0 or (seed or 0) % 2 else "")


def test_a_backend_that_follows_the_protocol_exactly_runs_under_consistency_sampling() -> None:
    from autoprompt.models.backend import Backend

    backend = ExactlyTheProtocol()
    assert isinstance(backend, Backend)
    result = autoprompt.optimize("past_tense", model=backend, budget=400, seed=0,
                                 answers=autoprompt.Answers(consistency=3))
    assert result.trials[0].consistency is not None and 0.0 <= result.trials[0].consistency <= 1.0
