"""The search loop end to end on the deterministic fake backend."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import autoprompt
from autoprompt.errors import ConfigError, TemplateError
from autoprompt.models.backend import FakeBackend
from autoprompt.models.client import Client
from autoprompt.prompts.compose import pick_demos
from autoprompt.records.candidate import Candidate
from autoprompt.records.message import Message
from autoprompt.records.trial import Trial, TrialState
from autoprompt.search.assembly import build_optimizer
from autoprompt.spec import Start, spec_from
from tests.conftest import ChatAPIBackend, PricedAPIBackend

START = "Text: {{ text }}\nLabel:"


def run(frame: pd.DataFrame, **kwargs: object) -> autoprompt.OptimizationResult:
    options: dict[str, object] = {"inputs": "text", "target": "label", "template": START, "model": FakeBackend(),
                                  "budget": 400, "seed": 0, "search": autoprompt.Search(first_rung=4)}
    options.update(kwargs)
    return autoprompt.optimize(frame, **options)  # type: ignore[arg-type]


def test_search_finds_the_prompt_the_fake_model_needs(keyword_frame: pd.DataFrame) -> None:
    result = run(keyword_frame)
    assert result.baseline.dev_score < 0.6
    assert result.best.dev_score >= 0.95
    assert "one of" in result.best.prompt.render({"text": "x"})
    assert result.test is not None and result.test.difference.excludes_zero()
    assert result.calls <= 400
    assert {TrialState.COMPLETE, TrialState.PRUNED} <= {t.state for t in result.trials}


def test_same_seed_same_result(keyword_frame: pd.DataFrame) -> None:
    a, b = run(keyword_frame, seed=5), run(keyword_frame, seed=5)
    assert a.best.candidate == b.best.candidate
    assert [t.score for t in a.trials] == [t.score for t in b.trials]
    assert a.test == b.test
    assert run(keyword_frame, seed=6).trials != a.trials


def test_budget_spent_mid_trial_keeps_what_was_computed(keyword_frame: pd.DataFrame) -> None:
    backend = FakeBackend()
    result = run(keyword_frame, model=backend, budget=60)
    assert result.calls <= 60
    assert result.trials[0].state is TrialState.COMPLETE
    assert result.stop_reason == "budget spent"
    assert backend.calls == result.calls + result.test_calls


def test_budget_spent_while_calibrating_a_trial_ends_the_search_not_the_run(keyword_frame: pd.DataFrame) -> None:
    """Calibration spends three calls before any row: when they are the budget's last, the trial is
    interrupted (nothing scored) and the run ends as any spent run does."""
    from autoprompt.evaluate.evaluator import Evaluator
    from autoprompt.evaluate.registry import get_metric
    from autoprompt.models.budget import Budget
    from autoprompt.models.client import Client
    from autoprompt.prompts.compose import compose
    from autoprompt.records.candidate import Candidate
    from autoprompt.search.racing import Racer
    from tests.conftest import refine_context

    context = refine_context(keyword_frame)
    client = Client(FakeBackend(), Budget(1))
    racer = Racer(Evaluator(client, get_metric("accuracy"), context.setup.kind), list(context.dev.values()), (4,))
    candidate = Candidate("fields", calibrate=True)
    trial = racer.race(1, candidate, compose(candidate, context.setup, context.custom), lambda n, s: False)
    assert trial.state is TrialState.INTERRUPTED and trial.predictions == ()


def test_leaderboard_ranks_complete_candidates_first(keyword_frame: pd.DataFrame) -> None:
    board = run(keyword_frame).leaderboard
    assert list(board.columns[:4]) == ["trial", "candidate", "dev_score", "n_dev"]
    winner = board[board["winner"].astype(bool)]
    assert len(winner) == 1 and winner.iloc[0]["dev_score"] == board.iloc[0]["dev_score"]  # chosen by the signal
    complete = board[board["state"] == "complete"]
    assert list(complete["dev_score"]) == sorted(complete["dev_score"], reverse=True)


def test_bad_inputs_fail_before_any_model_call(keyword_frame: pd.DataFrame) -> None:
    backend = FakeBackend()
    with pytest.raises(TemplateError, match="'review'"):
        run(keyword_frame, model=backend, template="Review: {{ review }}")
    with pytest.raises(ConfigError, match="positive"):
        run(keyword_frame, model=backend, budget=0)
    with pytest.raises(ConfigError, match="cannot score even the starting prompt"):
        run(keyword_frame, model=backend, budget=5)
    assert backend.calls == 0


def test_callback_stops_the_search(keyword_frame: pd.DataFrame) -> None:
    seen: list[int] = []

    def stop_after_three(trial: autoprompt.Trial, progress: object) -> bool:
        seen.append(trial.number)
        return len(seen) >= 3

    result = run(keyword_frame, callbacks=[stop_after_three])
    assert len(result.trials) == 3 and result.stop_reason == "stopped by function"


def test_generation_task_with_exact_match(tmp_path: Path) -> None:
    verbs = ["walk", "jump", "play", "call", "look", "open", "help", "turn", "work", "kick"] * 3
    frame = pd.DataFrame({"verb": verbs, "past": [v + "ed" for v in verbs]})
    result = autoprompt.optimize(frame, inputs="verb", target="past", model=FakeBackend(), budget=200, seed=0,
                                 answers=autoprompt.Answers(kind="generation"),
                                 search=autoprompt.Search(first_rung=4))
    assert result.metric == "exact_match"
    assert result.best.dev_score >= result.baseline.dev_score
    assert 0.0 <= result.best.dev_score <= 1.0
    assert result.test is not None and result.test.constant is None  # free text: no label to answer always


def test_user_clarifiers_join_the_search(keyword_frame: pd.DataFrame) -> None:
    told = "Pick one of: yes, no or maybe."
    result = run(keyword_frame, template=autoprompt.Start(template=START, clarifiers=[told]),
                 search=autoprompt.Search(strategy="components", first_rung=4))
    used = [t for t in result.trials if "user1" in t.candidate.clarifiers]
    assert used, "the user's clarifier was never proposed"
    assert max(t.score for t in used if t.state is TrialState.COMPLETE) >= 0.9
    assert "one of" in result.best.prompt.render({"text": "x"}).lower()


def test_history_has_every_trial_and_its_choices(keyword_frame: pd.DataFrame) -> None:
    result = run(keyword_frame)
    history = result.history
    assert len(history) == len(result.trials)
    assert list(history["number"]) == list(range(len(result.trials)))
    assert {"state", "score", "n", "calls", "choice_task", "choice_clarifiers", "choice_n_demos"} <= set(history)
    assert history.loc[0, "choice_task"] == "custom"
    assert result.study is not None and len(result.study.trials) == len(result.trials)


def test_held_out_rows_are_every_third_row_of_each_label(keyword_frame: pd.DataFrame) -> None:
    optimizer = build_optimizer(spec_from({"data": keyword_frame, "inputs": "text", "target": "label",
                                           "model": FakeBackend(), "budget": 400}, "test"))
    search, held = optimizer.selection_rows()
    for label in ("yes", "no", "maybe"):
        total = sum(ex.target == label for ex in [*search, *held])
        assert sum(ex.target == label for ex in held) == total // 3 > 0
    assert {ex.id for ex in search}.isdisjoint(ex.id for ex in held)


def test_calibration_keeps_the_label_mix_of_the_pool_and_search_rows(keyword_frame: pd.DataFrame) -> None:
    """The evaluator's label shares are those of the rows the search may read (pool and search rows,
    not the held-out ones): uneven here, even on the balanced frame."""
    yes = keyword_frame[keyword_frame.label == "yes"]
    skewed = pd.concat([keyword_frame, yes.assign(text=yes.text + " again")], ignore_index=True)
    shares = {}
    for name, frame in (("skewed", skewed), ("even", keyword_frame)):
        optimizer = build_optimizer(spec_from({"data": frame, "inputs": "text", "target": "label",
                                               "model": FakeBackend(), "budget": 400}, "test"))
        search, held = optimizer.selection_rows()
        seen = [*optimizer.task.setup.train, *search]
        shares[name] = optimizer.evaluator(Client(FakeBackend())).label_shares
        assert held and shares[name] == {label: sum(ex.target == label for ex in seen) / len(seen)
                                         for label in ("yes", "no", "maybe")}
    assert shares["skewed"]["yes"] > 0.45 and len(set(shares["even"].values())) == 1


def test_the_final_check_adds_the_pool_rows_no_finalist_shows_unless_one_carries_a_pool_reading(
        keyword_frame: pd.DataFrame) -> None:
    """Pool rows no finalist shows were read by no search decision: the check takes them beside the
    held-out rows. A finalist carrying label words ``words.vocab`` fit on the pool (directly or through
    a merge), or a written instruction once ``rewrite`` ran, keeps the check to the held-out rows."""
    optimizer = build_optimizer(spec_from({"data": keyword_frame, "inputs": "text", "target": "label",
                                           "model": FakeBackend(), "budget": 400}, "test"))
    _, held = optimizer.selection_rows()
    setup = optimizer.task.setup
    pool = list(setup.train)
    base = Trial(0, Candidate("fields", n_demos=2), TrialState.COMPLETE, 0.5, (), 0, 0.0, 0)
    step = replace(base, number=1, candidate=Candidate("fields", demo_ids=tuple(ex.id for ex in pool[:3])),
                   operator="demos.hard", parent=0)
    shown = {ex.id for t in (base, step) for ex in pick_demos(setup, t.candidate)}
    rows, n = optimizer._check_rows([base, step], [base, step])
    assert rows[:len(held)] == held and n == len(rows) - len(held) == len(pool) - len(shown) > 0
    assert {ex.id for ex in rows[len(held):]} == {ex.id for ex in pool} - shown
    bare = [replace(base, candidate=Candidate("fields")), replace(step, candidate=Candidate("fields", calibrate=True))]
    every, n_every = optimizer._check_rows(bare, bare)  # no demonstrations shown: the whole pool
    assert n_every == len(pool) > 3
    paid_for = (len(held) + 3) + 2 * 4  # the held-out rows and 3 pool rows, asked once for a prompt and its
    assert optimizer._check_rows(bare, bare, paid_for) == (every[:len(held) + 3], 3)  # calibrated copy; 4 spare each
    assert optimizer._check_rows(bare, bare, paid_for - 1) == (every[:len(held) + 2], 2)
    assert optimizer._check_rows(bare, bare, len(held)) == (held, 0)  # too few calls even for the held-out rows
    two = [bare[0], replace(bare[1], candidate=Candidate("question"))]  # two prompts: two requests per row
    assert optimizer._check_rows(two, two, 2 * (len(held) + 3) + 2 * 4) == (every[:len(held) + 3], 3)
    assert optimizer._check_rows(two, two, 2 * (len(held) + 3) + 2 * 4 - 1) == (every[:len(held) + 2], 2)
    vocab = replace(base, number=2, candidate=replace(base.candidate, word_overrides=(("yes", "sure"),)),
                    operator="words.vocab", parent=0)
    assert optimizer._check_rows([base, step], [base, step, vocab]) == (rows, n)  # its words are not carried
    merged = replace(step, number=3, candidate=replace(step.candidate, word_overrides=(("yes", "sure"),)),
                     operator="move.merge", parent=1)
    assert optimizer._check_rows([base, merged], [base, step, vocab, merged]) == (held, 0)
    written = replace(step, number=4, candidate=replace(step.candidate, instruction="Say yes or no."),
                      operator="rewrite.opro", parent=1)
    edited = replace(written, number=5, candidate=replace(written.candidate, instruction="Say yes, no."),
                     operator="edit.delete", parent=4)
    assert optimizer._check_rows([base, edited], [base, step, written, edited]) == (held, 0)


def test_plain_skeletons_are_starts_and_the_best_is_the_base(keyword_frame: pd.DataFrame) -> None:
    result = run(keyword_frame, template=None, budget=600)
    starts = [t for t in result.trials if t.operator == "start"]
    assert [t.candidate.task for t in starts[:4]] == ["instruction", "fields", "question", "quoted"]
    assert starts[4].candidate.task == "fields" and starts[4].candidate.n_demos == 3  # one worked example per label
    titled = [t.candidate.answer_title for t in starts[5:]]
    assert titled == ["Maybe, no or yes", "Answer", "Sentiment", "Topic", "Category", "Rating", "Type", "Class",
                      "Output"][:len(titled)]
    assert len(titled) >= 3 and all(t.candidate.task == "fields" and not t.candidate.n_demos for t in starts[5:])
    assert all(t.state is not TrialState.INTERRUPTED for t in starts) and starts[0].state is TrialState.COMPLETE
    assert result.selection is not None and result.baseline.trial_number == result.selection.base
    base = result.trials[result.selection.base]
    assert base.operator == "start" and base.state is TrialState.COMPLETE
    assert base is starts[0] or base.signal > starts[0].signal   # a start other than the first must beat it


def test_the_users_prompt_is_kept_unless_a_challenger_beats_it_beyond_noise() -> None:
    """A model that answers by chance: the search accepts a lucky step on its rows, and the held-out
    check sends it back to the user's own prompt, saying so in one line."""
    frame = pd.DataFrame([{"text": f"item {i} says something {i * 7 % 13}", "label": ("yes", "no", "maybe")[i % 3]}
                          for i in range(150)])
    result = autoprompt.optimize(frame, inputs="text", target="label", budget=1500, seed=1,
                                 model=FakeBackend(rule=lambda text, label: 0.0), template=START)
    assert len(result.accepted) > 1, "the search should have accepted a step on its own rows"
    assert result.best.candidate == result.baseline.candidate == result.trials[0].candidate
    assert result.best.prompt.render({"text": "x"}) == result.baseline.prompt.render({"text": "x"})
    line = next(x for x in result.summary().splitlines() if x.startswith("chosen:"))
    assert "held-out rows no search decision read" in line and "did not pass" in line and "returned unchanged" in line


@pytest.mark.parametrize("budget", [318, 346, 381, 437, 472, 675, 696])
def test_the_held_out_check_always_has_the_budget_it_needs(keyword_frame: pd.DataFrame, budget: int) -> None:
    """Whatever trial runs last, the final check can still score the start and the checked steps on
    every held-out row (these budgets once left a trial eating into what the check needed)."""
    result = run(keyword_frame, template=None, budget=budget)
    assert result.selection is not None and result.selection.holdout_rows > 0
    assert result.selection.base in result.selection.holdout_scores
    assert all(n in result.selection.holdout_scores for n in result.selection.checked)
    assert result.calls <= budget


def test_max_usd_needs_a_price_for_an_api_model_and_price_counts(keyword_frame: pd.DataFrame) -> None:
    """A priced (API) model without a price would count as free and never stop at --max-usd."""
    from autoprompt.errors import ConfigError


    task = {"inputs": "text", "target": "label", "budget": 200}
    with pytest.raises(ConfigError, match=r"needs the price of acme-1.*--price IN,OUT"):
        autoprompt.optimize(keyword_frame, model=PricedAPIBackend(), calls=autoprompt.Calls(max_usd=1.0), **task)  # type: ignore[arg-type]
    result = autoprompt.optimize(keyword_frame, model=PricedAPIBackend(),
                                 calls=autoprompt.Calls(max_usd=1.0, price=(2.0, 4.0)), **task)  # type: ignore[arg-type]
    assert result.usd > 0 and result.usd == pytest.approx(
        (result.tokens - result.calls) * 2.0 / 1e6 + result.calls * 4.0 / 1e6, rel=0.05)
    free = autoprompt.optimize(keyword_frame, model=FakeBackend(), calls=autoprompt.Calls(max_usd=1.0), **task)
    assert free.usd == 0.0  # local: free


def test_the_test_phase_reports_what_a_production_call_costs_for_start_and_winner(keyword_frame: pd.DataFrame,
                                                                                   tmp_path: Path) -> None:
    """Tokens per call and USD per 1,000 calls, from each prompt's own answers on test (cached or paid)."""
    from autoprompt.report.writer import summary_lines
    from autoprompt.search.run_report import read_run


    result = autoprompt.optimize(keyword_frame, model=PricedAPIBackend(), inputs="text", target="label", budget=300,
                                 calls=autoprompt.Calls(price=(2.0, 4.0)), template="Text: {{ text }}\nLabel:")  # type: ignore[arg-type]
    assert result.test is not None
    start, winner = result.test.baseline_spend, result.test.winner_spend
    assert start.calls == winner.calls == result.test.n
    for spend in (start, winner):  # every call answered one token; the rest is input at $2 per million
        assert spend.usd_per_1000 == pytest.approx(1000 * ((spend.per_call - 1) * 2.0 + 4.0) / 1e6)
    assert start.per_call < winner.per_call or result.best.prompt == result.baseline.prompt
    assert f"start {start.per_call:.0f} tokens, ${start.usd_per_1000:.4f} per 1,000 calls" in result.summary()
    result.export(tmp_path / "run")
    assert result.test.production() in summary_lines(read_run(tmp_path / "run"))


def test_the_test_phase_scores_always_answering_the_commonest_label(keyword_frame: pd.DataFrame,
                                                                   tmp_path: Path) -> None:
    """The floor a classifier must clear: the commonest label of the training and dev rows answered to every
    test row, graded by the metric, with the winner's paired difference against it, in the summary and report."""
    from autoprompt.report.writer import summary_lines
    from autoprompt.search.run_report import read_run

    maybe = keyword_frame[keyword_frame.label == "maybe"]
    skewed = pd.concat([keyword_frame, maybe.assign(text=maybe.text + " again")], ignore_index=True)
    result = run(skewed, budget=300)
    assert result.test is not None and result.test.constant is not None
    optimizer = build_optimizer(spec_from({"data": skewed, "inputs": "text", "target": "label",
                                           "model": FakeBackend(), "budget": 300}, "test"))
    labelled = [*optimizer.task.data.train.examples, *optimizer.task.data.dev.examples]
    test = optimizer.task.data.test.examples
    constant = result.test.constant
    assert constant.label == "maybe" and constant.share == sum(ex.target == "maybe" for ex in labelled) / len(labelled)
    assert constant.score == pytest.approx(sum(ex.target == "maybe" for ex in test) / len(test))
    assert constant.difference.estimate == pytest.approx(result.test.winner_score - constant.score)
    line = (f"always answering 'maybe' (the commonest label of the labelled rows, {constant.share:.0%} of them) "
            f"on test: {constant.score:.3f}; winner minus it {constant.difference.estimate:+.3f}")
    assert line in result.summary()
    result.export(tmp_path / "run")
    assert any(text.startswith(line) for text in summary_lines(read_run(tmp_path / "run")))


def _restaurant_frame(n: int = 36) -> pd.DataFrame:
    names, areas, foods = ["Blue Spice", "Cotto", "Strada", "Giraffe"], ["riverside", "city centre"], ["French", "Thai"]
    rows = []
    for i in range(n):
        fields = {"name": names[i % 4], "area": areas[i % 2], "food": foods[(i // 2) % 2]}
        text = f"listing {i}{' garbled' if i % 9 == 0 else ''}; name: {fields['name']}, area: {fields['area']}, " \
               f"food: {fields['food']}"
        rows.append({"text": text, "fields": json.dumps(fields)})
    return pd.DataFrame(rows)


SCHEMA = '{"type": "object", "properties": {"name": {"type": "string"}, "area": {"type": "string"}, ' \
         '"food": {"type": "string"}}}'


def test_json_answers_follow_the_schema_and_are_graded_field_by_field(tmp_path: Path) -> None:
    result = autoprompt.optimize(_restaurant_frame(), inputs="text", target="fields", model=FakeBackend(), budget=300,
                                 seed=0, answers=autoprompt.Answers(json_schema=SCHEMA),
                                 search=autoprompt.Search(first_rung=4),
                                 template=autoprompt.Start(clarifiers=["Give every field the text names."]))
    assert result.metric == "json_f1" and result.best.prompt.json_schema == json.dumps(
        json.loads(SCHEMA), separators=(",", ":"))
    assert result.best.prompt.stop == ()  # JSON may span lines: nothing cuts it
    assert result.test is not None and result.test.winner_score > 0.5
    failed = [p for p in result.test.winner_predictions if p.failed]
    assert failed and all("not valid JSON" in p.error for p in failed)  # the garbled rows: counted, scored 0
    assert f"{len(failed)} of {result.test.n} on test" in result.summary()
    exported = autoprompt.load_prompt(Path(result.export(tmp_path)).parent)
    assert exported.prompt.json_schema == result.best.prompt.json_schema


def test_json_schema_errors_are_caught_before_any_call(tmp_path: Path) -> None:
    frame = _restaurant_frame()
    backend = FakeBackend()
    with pytest.raises(ConfigError, match="cannot read the JSON schema"):
        autoprompt.optimize(frame, inputs="text", target="fields", model=backend,
                            answers=autoprompt.Answers(json_schema=str(tmp_path / "none.json")))
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(ConfigError, match=r"bad\.json is not a JSON schema"):
        autoprompt.optimize(frame, inputs="text", target="fields", model=backend,
                            answers=autoprompt.Answers(json_schema=str(tmp_path / "bad.json")))
    with pytest.raises(ConfigError, match="given as classification"):
        autoprompt.optimize(frame, inputs="text", target="fields", model=backend,
                            answers=autoprompt.Answers(kind="classification", json_schema=SCHEMA))
    with pytest.raises(ConfigError, match="not JSON"):
        autoprompt.optimize(frame.assign(fields=[f"plain {i}" for i in range(36)]), inputs="text", target="fields",
                            model=backend, answers=autoprompt.Answers(kind="generation", metric="json_exact"))
    assert backend.calls == 0


def test_the_bundled_json_task_brings_its_schema() -> None:
    optimizer = build_optimizer(spec_from({"data": "restaurant", "model": FakeBackend()}, "test"))
    assert optimizer.grading.metric.name == "json_f1"
    assert '"familyFriendly"' in (optimizer.task.setup.json_schema or "")


def test_on_a_chat_api_the_search_moves_instructions_and_demonstrations_between_messages(
        keyword_frame: pd.DataFrame) -> None:
    backend = ChatAPIBackend()
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=backend, budget=400, seed=0,
                                 search=autoprompt.Search(first_rung=4),
                                 template=autoprompt.Start(system="Texts to sort: {{ labels | join(', ') }}."))
    operators = {t.operator for t in result.trials}
    assert {"move.system", "move.turns"} & operators, operators
    placed = [t for t in result.trials if t.candidate.system or t.candidate.demo_turns]
    assert placed and any(t.state is TrialState.COMPLETE and not t.failures for t in placed)
    sent = [r for r in backend.requests if not isinstance(r, str)]
    assert sent and all(r[0] == Message("system", r[0].content) and r[0].content.lower().startswith(
        "texts to sort: maybe, no, yes.") for r in sent)  # every request carries the user's system message first
    turns = [r for r in sent if any(m.role == "assistant" for m in r)]
    assert turns, "no request with demonstration turns"


def test_a_local_model_keeps_its_search_space(keyword_frame: pd.DataFrame) -> None:
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=FakeBackend(), budget=300,
                                 seed=0, search=autoprompt.Search(first_rung=4))
    assert not any(t.candidate.system or t.candidate.demo_turns for t in result.trials)


def test_starts_race_the_leading_start_so_a_small_budget_goes_to_search_steps(keyword_frame: pd.DataFrame) -> None:
    """Every start after the first races the best start so far: on a 500-call run the starts cost a
    third of the budget at most, and only a start that leads is scored on every row."""
    result = run(keyword_frame, template=None, budget=500, search=autoprompt.Search(first_rung=16))
    starts = [t for t in result.trials if t.operator == "start"]
    assert len(starts) == 1 + 500 // 64   # the first, and at most budget / (4 x first rung) others
    assert sum(t.calls for t in starts) <= result.calls / 3
    complete = [t for t in starts if t.state is TrialState.COMPLETE]
    assert all(t is starts[0] or t.signal > max(s.signal for s in complete if s.number < t.number)
               for t in complete)
    assert any(t.operator != "start" for t in result.trials)


def test_a_task_description_is_a_start_of_its_own(keyword_frame: pd.DataFrame) -> None:
    from autoprompt.prompts.compose import compose
    from autoprompt.search.task import prepare_task
    from autoprompt.spec import RunSpec

    result = run(keyword_frame, template=autoprompt.Start(description="Say whether the item agrees."), budget=300)
    second = [t for t in result.trials if t.operator == "start"][1]
    assert second.candidate == autoprompt.Candidate("fields", context=("background",))
    setup = prepare_task(RunSpec(data=keyword_frame, inputs="text", target="label",
                                 start=Start(description="Say whether the item agrees."))).setup
    assert compose(second.candidate, setup).render({"text": "x"}).startswith("Task: Say whether the item agrees.")


@pytest.mark.parametrize("strategy", ["refine", "components"])
def test_a_search_keeps_optuna_quiet_for_its_own_studies_only(keyword_frame: pd.DataFrame, strategy: str,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)  # a user who wants Optuna's trial lines for their studies
    optuna.logging.enable_propagation()
    try:
        with caplog.at_level("INFO", logger="optuna"):
            autoprompt.optimize(keyword_frame, inputs="text", target="label", model=FakeBackend(), budget=120, seed=0,
                                search=autoprompt.Search(strategy=strategy))
            ours = [r for r in caplog.records if r.name.startswith("optuna") and r.levelname == "INFO"]
            study = optuna.create_study()
            study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
        theirs = [r for r in caplog.records if r.name.startswith("optuna") and r.levelname == "INFO"]
        assert ours == []
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
        assert any("Trial 1 finished" in r.getMessage() for r in theirs)
    finally:
        optuna.logging.disable_propagation()
        optuna.logging.set_verbosity(before)
