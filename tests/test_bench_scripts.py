"""The benchmark and data scripts import what they use: a moved name breaks here, not an hour into a run."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(
    p for p in [*ROOT.glob("bench/*.py"), *ROOT.glob("bench/suite/*.py"), *ROOT.glob("datasets/*.py")]
)


def _load(path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import a script as its own module (its imports run, not its main())."""
    monkeypatch.syspath_prepend(str(path.parent))
    monkeypatch.syspath_prepend(str(ROOT))
    name = f"_script_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_imports(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _load(path, monkeypatch)
    assert module.__doc__, f"{path.name} says what it measures in its docstring"


def test_fewshot_sampling_floor_is_the_binomial_mean_absolute_error(monkeypatch: pytest.MonkeyPatch) -> None:
    fewshot = _load(ROOT / "bench" / "fewshot.py", monkeypatch)
    assert fewshot.expected_error(0.5, 1) == pytest.approx(0.5)
    assert fewshot.expected_error(0.5, 2) == pytest.approx(0.25)  # 0 or 2 of 2 half the time, off by 0.5
    assert fewshot.expected_error(1.0, 16) == 0.0
    # large n: the normal approximation sqrt(2/pi) * sd
    assert fewshot.expected_error(0.85, 180) == pytest.approx(math.sqrt(2 / math.pi * 0.85 * 0.15 / 180), rel=0.05)
    runs = [{"winner_test": 0.5, "holdout_n": 2}, {"winner_test": 0.5, "holdout_n": 0}]
    assert fewshot._floor(runs, "holdout_n") == pytest.approx(0.25)  # a run without held-out rows is left out


def test_fewshot_means_pair_the_splits_on_the_shared_test_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """A task's mean over its splits, winner minus bar, with an interval that resamples the test rows; the
    mean over tasks weighs each task once, whatever its row count; old runs without rows show no interval."""
    fewshot = _load(ROOT / "bench" / "fewshot.py", monkeypatch)
    assert fewshot._rows(fewshot._bits([1.0, 0.0, 1.0])) == [1.0, 0.0, 1.0]
    bar = [1.0, 0.0, 1.0, 0.0]
    one = fewshot.mean_difference([([bar, bar], [[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])])
    assert one["estimate"] == pytest.approx(0.375)  # per row over the splits: 0, 1, 0, 0.5
    assert 0.0 <= one["low"] <= one["estimate"] <= one["high"] <= 0.75
    two = fewshot.mean_difference([([bar], [bar]), ([[0.0, 0.0]], [[1.0, 1.0]])])
    assert two == {"estimate": pytest.approx(0.5), "low": pytest.approx(0.5), "high": pytest.approx(0.5)}
    assert fewshot.mean_difference([([[]], [[1.0]])]) is None
    run = {"start_test": 0.5, "winner_test": 0.75, "step": {"estimate": 0.25}, "holdout": None, "dev": 0.7,
           "dev_n": 4, "holdout_n": 0, "winner_balanced": 0.75, "start_bits": "1010", "winner_bits": "1110"}
    result = {"hand": [{"test": 0.5}], "bar": 0, "bar_bits": "1010", "runs": {"seed13/none": run}}
    lines = fewshot.means_table({"tasks": {"cr": result}})
    assert "| none | cr | 1 | 0.500 | 0.500 | 0.750 | +0.250 [" in lines[-2]
    old = {**result, "runs": {"seed13/none": {k: v for k, v in run.items() if not k.endswith("_bits")}}}
    assert "| **0.750** | +0.250 | +0.250 | - |" in fewshot.means_table({"tasks": {"cr": old}})[-1]


def test_suite_mix_rebuilds_recorded_winners_and_weighs_each_label_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A recorded winner is rebuilt from its recorded fields (old records lack newer ones; one with
    demonstrations is not rebuilt); balanced accuracy weighs each gold label once, and the difference pairs
    the seeds' means on the test rows."""
    mix = _load(ROOT / "bench" / "suite_mix.py", monkeypatch)
    recorded = ("{'task': 'instruction', 'clarifiers': [], 'context': ['background'], 'n_demos': 0, 'demo_seed': 0, "
                "'verbalizer': 'as_is', 'calibrate': False, 'word_overrides': [['entity', 'Entity']], 'gone': 1}")
    assert mix.candidate(recorded) == mix.Candidate("instruction", context=("background",),
                                                    word_overrides=(("entity", "Entity"),))
    assert mix.candidate("{'task': 'fields', 'n_demos': 3}") is None
    targets = ["no", "no", "no", "yes"]
    always_no = [1.0, 1.0, 1.0, 0.0]
    assert mix.scored(targets, always_no) == {"accuracy": 0.75, "balanced": 0.5}
    diff = mix.difference(targets, [always_no], [[1.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    assert diff["accuracy"]["estimate"] == pytest.approx(0.125)  # per row: 0, -0.5, 0, +1
    assert diff["balanced"]["estimate"] == pytest.approx(0.5 * (-0.5 / 3) + 0.5 * 1.0)
    # the one "yes" row always moves +1; only the "no" rows (0, -0.5, 0) are resampled
    assert 0.25 <= diff["balanced"]["low"] <= diff["balanced"]["high"] <= 0.5


def test_suite_seeds_pools_the_spread_within_each_file_and_prices_a_one_point_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The spread pools each file's deviations from its own mean; the drop chance is the normal tail of the
    difference of two k-seed means; new minus old resamples each side's seeds apart."""
    seeds = _load(ROOT / "bench" / "suite_seeds.py", monkeypatch)
    # two files, each 0.1 either side of its own mean: the shift between files adds nothing
    assert seeds.pooled_spread([[0.4, 0.6], [0.8, 1.0], [0.3]]) == pytest.approx(math.sqrt(0.04 / 2))
    assert seeds.pooled_spread([[0.5]]) is None
    assert seeds.drop_chance(0.0, 3, 0.01) == 0.0
    assert seeds.drop_chance(0.1, 2, 0.1) == pytest.approx(0.5 * math.erfc(1 / math.sqrt(2)))  # one sd: 0.159
    assert seeds.drop_chance(0.2, 3, 0.01) > 0.45  # negation's spread: a 1-point line is a coin flip
    diff = seeds.difference({"0": 0.5, "1": 0.7}, {"3": 0.7, "4": 0.7, "5": 0.7})
    assert diff["mean"] == {"estimate": pytest.approx(0.1), "low": pytest.approx(0.0), "high": pytest.approx(0.2)}
    assert seeds.difference({}, {"0": 0.5}) is None
    record = {"t": {"0": 0.5, "1": 0.7}, "flat": {"0": 0.5, "1": 0.5}}
    result = seeds.analyse(record, {"suite": record}, record, {}, 0.01)
    chance = result["tasks"][0]["drop_chance"]
    assert result["tasks"][1]["drop_chance"] == 0.0 and result["none_drops"] == pytest.approx(1 - chance)
    assert "| t | 0.500, 0.700 | 0.141 | 0.47 | - | - | - |" in seeds.markdown(result, ["suite"], ["x"])


def test_signal_power_counts_the_draws_each_value_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A step right where its start is wrong passes on both values; one that only comes nearer passes on the
    signal alone; an identical one never passes."""
    power = _load(ROOT / "bench" / "signal_power.py", monkeypatch)
    wrong, right, nearer = [(0.0, 0.2)] * 30, [(1.0, 1.0)] * 30, [(0.0, 0.45)] * 30
    assert power.pass_rates(wrong, right, rows=10, draws=5) == {"score": 1.0, "signal": 1.0}
    assert power.pass_rates(wrong, nearer, rows=10, draws=5) == {"score": 0.0, "signal": 1.0}
    assert power.pass_rates(wrong, wrong, rows=10, draws=5) == {"score": 0.0, "signal": 0.0}
    half = [(1.0, 1.0)] * 15 + [(0.0, 0.2)] * 15   # right on half the rows: draws of 6 pass when 5 or 6 gain
    assert 0.0 < power.pass_rates(wrong, half, rows=6, draws=200)["score"] < 1.0


def test_label_mix_skews_an_evenly_mixed_task_and_leaves_the_uneven_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--skew R``: one label keeps all its rows, every other keeps R times as many (its first ones)."""
    from collections import Counter

    label_mix = _load(ROOT / "bench" / "label_mix.py", monkeypatch)
    assert [t["name"] for t in label_mix.uneven_tasks(["fever", "parentheses"])] == ["parentheses"]
    (task,) = label_mix.uneven_tasks(["fever", "parentheses"], skew=0.5)
    assert task["name"] == "fever-skewed" and label_mix.hand_templates(task) == [label_mix.HAND["fever"]]
    every = label_mix._rows({k: v for k, v in task.items() if k != "skew"})  # the file as it is
    rows = label_mix._rows(task)
    counts, full = Counter(r["label"] for r in rows), Counter(r["label"] for r in every)
    (kept, whole), (short, count) = sorted(counts.items(), key=lambda item: -item[1])
    assert whole == full[kept] and count == round(0.5 * full[kept]) < full[short]
    assert [r for r in every if r["label"] == short][:count] == [r for r in rows if r["label"] == short]
