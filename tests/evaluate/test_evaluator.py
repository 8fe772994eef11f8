"""The evaluator: the same predictions one at a time, concurrently, or in a batching backend's batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd
import pytest

from autoprompt.errors import BudgetExhausted
from autoprompt.evaluate.consistency import Consistency
from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.evaluate.registry import get_metric
from autoprompt.models.backend import FakeBackend, Generated, Scored
from autoprompt.models.budget import Budget
from autoprompt.models.cache import MemoryCache
from autoprompt.models.client import Client
from autoprompt.prompts.compose import compose
from autoprompt.prompts.prompt import Prompt
from autoprompt.records.candidate import Candidate
from autoprompt.records.example import Example
from autoprompt.records.message import Conversation
from autoprompt.records.task_kind import TaskKind
from autoprompt.records.usage import Usage
from autoprompt.search.task import prepare_task
from autoprompt.spec import Answers, RunSpec


class Batching(FakeBackend):
    """The fake, scoring ``batch_size`` requests per ``score_many`` call (a request with "broken" in it
    fails, as a prompt too long for a local model's context does)."""

    def __init__(self, size: int = 4) -> None:
        super().__init__()
        self.batch_size = size
        self.batches: list[int] = []

    def score_many(self, texts: Sequence[str | Conversation], continuations: Sequence[str], *,
                   chat: bool = False) -> list[Scored]:
        self.batches.append(len(texts))
        return [Scored(error="too long") if "broken" in str(text) else
                Scored(tuple(self.score(text, continuations, chat=chat)), usage=Usage(7, 0)) for text in texts]

    def generate_many(self, texts: Sequence[str | Conversation], *, chat: bool = False, max_tokens: int = 16,
                      stop: Sequence[str] = (), temperature: float = 0.0, seed: int | None = None) -> list[Generated]:
        self.batches.append(len(texts))
        return [Generated(self.generate(text, chat=chat, max_tokens=max_tokens, stop=stop, temperature=temperature,
                                        seed=seed), usage=Usage(7, 2)) for text in texts]


@pytest.fixture
def task(keyword_frame: pd.DataFrame):  # type: ignore[no-untyped-def]
    return prepare_task(RunSpec(data=keyword_frame, inputs="text", target="label", seed=0))


def test_batches_give_the_predictions_of_one_at_a_time(task) -> None:  # type: ignore[no-untyped-def]
    prompt = compose(Candidate("instruction", n_demos=3), task.setup)
    examples = list(task.data.dev.examples)
    one = Evaluator(Client(FakeBackend()), get_metric("accuracy"), task.setup.kind).evaluate(prompt, examples)
    backend = Batching()
    client = Client(backend)
    batched = Evaluator(client, get_metric("accuracy"), task.setup.kind).evaluate(prompt, examples)
    assert batched == one
    assert sum(backend.batches) == len(examples) and max(backend.batches) == 4
    assert client.calls == len(examples) and client.usage.input_tokens == 7 * len(examples)
    again = Evaluator(client, get_metric("accuracy"), task.setup.kind).evaluate(prompt, examples)
    assert again == one and sum(backend.batches) == len(examples)  # answered from memory: no new batch


def test_a_failed_request_in_a_batch_is_a_failed_prediction(task) -> None:  # type: ignore[no-untyped-def]
    prompt = compose(Candidate("fields"), task.setup)
    examples = [ex for ex in task.data.dev.examples][:5]
    broken = examples[2].__class__(examples[2].id, {"text": "broken row"}, examples[2].target)
    predictions = Evaluator(Client(Batching()), get_metric("accuracy"), task.setup.kind).evaluate(
        prompt, [*examples[:2], broken, *examples[3:]])
    assert [p.failed for p in predictions] == [False, False, True, False, False]
    assert predictions[2].error == "too long"


def test_a_budget_that_cannot_pay_a_whole_batch_stops_exactly_where_it_runs_out(task) -> None:  # type: ignore[no-untyped-def]
    prompt = compose(Candidate("fields"), task.setup)
    examples = list(task.data.dev.examples)[:10]
    cache = MemoryCache()
    with pytest.raises(BudgetExhausted) as info:
        Evaluator(Client(Batching(), Budget(6), cache=cache), get_metric("accuracy"), task.setup.kind).evaluate(
            prompt, examples)
    assert len(info.value.predictions) == 6  # one batch of 4, then 2 one at a time
    full = Evaluator(Client(FakeBackend()), get_metric("accuracy"), task.setup.kind).evaluate(prompt, examples)
    assert info.value.predictions == full[:6]


def test_sampled_labels_come_out_the_same_in_batches(task) -> None:  # type: ignore[no-untyped-def]
    prompt = compose(Candidate("fields", calibrate=False), task.setup)
    examples = list(task.data.dev.examples)
    sampling = Consistency(samples=3, temperature=0.7)
    one = Evaluator(Client(FakeBackend()), get_metric("accuracy"), task.setup.kind, consistency=sampling)
    batched = Evaluator(Client(Batching()), get_metric("accuracy"), task.setup.kind, consistency=sampling)
    assert batched.evaluate(prompt, examples) == one.evaluate(prompt, examples)


def test_greedy_free_text_answers_come_out_the_same_in_batches() -> None:
    frame = pd.DataFrame({"verb": [f"walk{i}" for i in range(30)], "past": [f"walk{i}ed" for i in range(30)]})
    task = prepare_task(RunSpec(data=frame, inputs="verb", target="past", seed=0, answers=Answers(kind="generation")))
    prompt = compose(Candidate("task_instruction", n_demos=2), task.setup)
    examples = list(task.data.dev.examples)
    one = Evaluator(Client(FakeBackend()), get_metric("exact_match"), task.setup.kind).evaluate(prompt, examples)
    backend = Batching()
    batched = Evaluator(Client(backend), get_metric("exact_match"), task.setup.kind).evaluate(prompt, examples)
    assert batched == one and sum(backend.batches) == len(examples)


def test_sampled_free_text_answers_come_out_the_same_in_batches() -> None:
    """Consistency's samples go in batches too: per sample, every example's from one call, under
    the keys one at a time would use (so a cache filled either way serves the other)."""
    frame = pd.DataFrame({"verb": [f"walk{i}" for i in range(30)], "past": [f"walk{i}ed" for i in range(30)]})
    task = prepare_task(RunSpec(data=frame, inputs="verb", target="past", seed=0, answers=Answers(kind="generation")))
    prompt = compose(Candidate("task_instruction", n_demos=2), task.setup)
    examples = list(task.data.dev.examples)
    sampling = Consistency(samples=3, temperature=0.9)
    one_client = Client(FakeBackend())
    one = Evaluator(one_client, get_metric("exact_match"), task.setup.kind, consistency=sampling).evaluate(
        prompt, examples)
    backend = Batching()
    client = Client(backend)
    batched = Evaluator(client, get_metric("exact_match"), task.setup.kind, consistency=sampling).evaluate(
        prompt, examples)
    assert batched == one
    assert any(p.agreement is not None and p.agreement < 1 for p in batched)  # the samples do differ
    assert sum(backend.batches) == 4 * len(examples) and max(backend.batches) == 4  # greedy + 3 samples
    assert client.memo.entries.keys() == one_client.memo.entries.keys()


@pytest.mark.parametrize("rubric", ["judge:correctness", "geval:correctness"])
def test_a_judge_grades_each_batch_of_answers_together(rubric: str) -> None:
    frame = pd.DataFrame({"verb": [f"walk{i}" for i in range(30)], "past": [f"walk{i}ed" for i in range(30)]})
    task = prepare_task(RunSpec(data=frame, inputs="verb", target="past", seed=0, answers=Answers(kind="generation")))
    prompt = compose(Candidate("task_instruction", n_demos=2), task.setup)
    examples = list(task.data.dev.examples)
    one = Evaluator(Client(FakeBackend()), get_metric(rubric).bind(Client(FakeBackend())),
                    task.setup.kind).evaluate(prompt, examples)
    judge = Batching()
    batched = Evaluator(Client(Batching()), get_metric(rubric).bind(Client(judge)),
                        task.setup.kind).evaluate(prompt, examples)
    assert batched == one and len({p.score for p in one}) > 1
    assert sum(judge.batches) == len(examples) and max(judge.batches) == 4


def test_a_label_prediction_carries_its_brier_score_as_the_selection_signal(task) -> None:  # type: ignore[no-untyped-def]
    from autoprompt.evaluate.evaluator import brier_score
    from autoprompt.prompts.prompt import probabilities

    assert brier_score({"yes": 1.0, "no": 0.0}, "yes") == 1.0 and brier_score({"yes": 1.0, "no": 0.0}, "no") == 0.0
    assert brier_score({"a": 0.5, "b": 0.5}, "a") == 0.75
    prompt = compose(Candidate("instruction", calibrate=True), task.setup)
    examples = list(task.data.dev.examples)
    client = Client(FakeBackend())
    evaluator = Evaluator(client, get_metric("accuracy"), task.setup.kind)
    prompt = evaluator.prepare(prompt)
    predictions = evaluator.evaluate(prompt, examples)
    for example, prediction in zip(examples, predictions):
        scores = client.score(prompt.request(example.inputs), list(prompt.continuations().values()))
        probs = probabilities(dict(zip(prompt.continuations(), scores)), prompt.calibration)
        assert prediction.signal == pytest.approx(brier_score(probs, example.target))   # calibrated, as decided
        assert prediction.value == prediction.signal != prediction.score
    exact = Evaluator(client, get_metric("regex:yes"), task.setup.kind).evaluate(prompt, examples[:3])
    assert all(p.signal is None and p.value == p.score for p in exact)   # not accuracy: the score itself


def test_free_text_scored_all_or_nothing_carries_its_closeness_to_the_target_as_the_signal() -> None:
    """Exact match gives a wrong answer 0 however near it came; the signal counts an exact answer 1 and a near
    miss up to a half (half the score, half the characters' similarity), one at a time and in batches."""
    from autoprompt.evaluate.evaluator import BRIER, CLOSENESS
    from autoprompt.evaluate.metric import closeness

    assert closeness(Example("", {}, "He does not walk"), "he does not  walk.") == 1.0  # equal once normalized
    assert closeness(Example("", {}, "walked"), "walk") == pytest.approx(0.8)  # 2 * 4 matching / 10 characters
    assert closeness(Example("", {}, "walked"), "") == 0.0
    words = ["walk", "jump", "play", "call", "look", "open", "clean", "cook", "paint", "watch", "fill", "kick"]
    frame = pd.DataFrame({"text": words, "answer": [w + "ed" * (i % 2) for i, w in enumerate(words)]})
    task = prepare_task(RunSpec(data=frame, inputs="text", target="answer", answers=Answers(kind="generation"),
                                seed=0))
    prompt = compose(Candidate("fields"), task.setup)
    examples = list(task.data.dev.examples)
    for backend in (FakeBackend(), Batching(size=4)):
        evaluator = Evaluator(Client(backend), get_metric("exact_match"), task.setup.kind)
        predictions = evaluator.evaluate(prompt, examples)
        labels = Evaluator(Client(backend), get_metric("accuracy"), TaskKind.CLASSIFICATION)
        assert evaluator.signal is CLOSENESS and labels.signal is BRIER
        for example, prediction in zip(examples, predictions):
            assert prediction.value == prediction.signal == pytest.approx(
                (prediction.score + closeness(example, prediction.output)) / 2)
        assert any(p.score == 0.0 and 0.0 < p.value < 0.5 for p in predictions)  # the fake echoes: a near miss
        assert any(p.score == 1.0 and p.value == 1.0 for p in predictions)
    graded = Evaluator(Client(FakeBackend()), get_metric("token_f1"), task.setup.kind)
    assert graded.signal is None and all(p.signal is None for p in graded.evaluate(prompt, examples))


@pytest.mark.parametrize(("backend", "kept"), [(FakeBackend(), 7), (Batching(size=4), 6)],
                         ids=["one at a time", "batched, one row failing"])
def test_calibration_divides_by_the_mean_label_probabilities_over_the_tasks_own_inputs(task, backend, kept) -> None:  # type: ignore[no-untyped-def]
    from autoprompt.prompts.prompt import normalize

    prompt = compose(Candidate("instruction", calibrate=True), task.setup)
    rows = [*list(task.data.dev.examples)[:6], Example("x", {"text": "broken row"}, "")]
    client = Client(backend, cache=MemoryCache())
    evaluator = Evaluator(client, get_metric("accuracy"), task.setup.kind, calibration_rows=rows)
    calibrated = evaluator.prepare(prompt)
    labels = list(prompt.continuations())
    scored = [normalize(dict(zip(labels, FakeBackend().score(prompt.request(r.inputs),
                                                              list(prompt.continuations().values())))))
              for r in rows[:kept]]   # a row the backend cannot score is left out
    assert calibrated.calibration == pytest.approx({k: sum(p[k] for p in scored) / kept for k in labels})
    content_free = Evaluator(Client(FakeBackend()), get_metric("accuracy"), task.setup.kind).prepare(prompt)
    assert content_free.calibration != calibrated.calibration  # no inputs given: the content-free prior
    before = client.calls
    evaluator.evaluate(calibrated, rows[:6])
    assert client.calls == before  # the rows the prior read cost nothing more when scored


def test_uneven_label_shares_divide_the_calibration_prior_and_even_ones_change_nothing(task) -> None:  # type: ignore[no-untyped-def]
    """The prior correction (Saerens et al., 2002): each label's mean probability over the inputs is divided
    by its share of the labelled rows, so calibrated answers follow the rows' mix; even shares (the
    16-shot suites), or shares that miss a label, leave batch calibration exactly as it was."""
    prompt = compose(Candidate("instruction", calibrate=True), task.setup)
    rows = list(task.data.dev.examples)
    labels = list(prompt.continuations())

    def prepared(shares: dict[str, float] | None) -> Prompt:
        return Evaluator(Client(FakeBackend()), get_metric("accuracy"), task.setup.kind,
                         calibration_rows=rows, label_shares=shares).prepare(prompt)

    plain = prepared(None)
    assert prepared({k: 1 / len(labels) for k in labels}).calibration == plain.calibration
    assert prepared({labels[0]: 1.0}).calibration == plain.calibration
    skewed = {k: (0.8 if i == 0 else 0.2 / (len(labels) - 1)) for i, k in enumerate(labels)}
    assert prepared(skewed).calibration == pytest.approx({k: plain.calibration[k] / skewed[k] for k in labels})
    client = Client(FakeBackend())
    evaluator = Evaluator(client, get_metric("accuracy"), task.setup.kind)
    answers = {name: [p.output for p in evaluator.evaluate(chosen, rows)]
               for name, chosen in (("even", plain), ("skewed", prepared(skewed)))}
    assert answers["skewed"].count(labels[0]) > answers["even"].count(labels[0])


def test_uneven_shares_fit_how_far_the_calibrated_prompt_trusts_the_model_on_the_rows_labels(task) -> None:  # type: ignore[no-untyped-def]
    """The calibration rows' targets fit the power (``prior_power``) only when the shares are uneven:
    targets drawn at random in the shares' mix, which the model cannot read, give a power below 1 and
    answers that lean to the commonest label; the same rows unlabelled, or even shares, keep 1."""
    import random

    prompt = compose(Candidate("instruction", calibrate=True), task.setup)
    labels = list(prompt.continuations())
    rows = [*task.data.train.examples, *task.data.dev.examples]
    rng = random.Random(0)
    skewed = {k: (0.8 if i == 0 else 0.2 / (len(labels) - 1)) for i, k in enumerate(labels)}
    drawn = [replace(ex, target=rng.choices(labels, weights=[skewed[k] for k in labels])[0]) for ex in rows]

    def prepared(calibration_rows: list[Example], shares: dict[str, float]) -> Prompt:
        return Evaluator(Client(FakeBackend()), get_metric("accuracy"), task.setup.kind,
                         calibration_rows=calibration_rows, label_shares=shares).prepare(prompt)

    fitted, unlabelled = prepared(drawn, skewed), prepared([replace(ex, target="") for ex in drawn], skewed)
    assert fitted.calibration_power < 1.0 and unlabelled.calibration_power == 1.0
    assert prepared(drawn, {k: 1 / len(labels) for k in labels}).calibration_power == 1.0
    evaluator = Evaluator(Client(FakeBackend()), get_metric("accuracy"), task.setup.kind)
    answers = {name: [p.output for p in evaluator.evaluate(chosen, rows)]
               for name, chosen in (("fitted", fitted), ("full trust", unlabelled))}
    assert answers["fitted"].count(labels[0]) > answers["full trust"].count(labels[0])
