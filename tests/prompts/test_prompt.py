"""The calibration prior and how far a calibrated prompt trusts the model against the label mix."""

from __future__ import annotations

import random

import pytest

from autoprompt.prompts.prompt import calibration_from, decide, normalize, prior_power, probabilities

SHARES = {"yes": 0.8, "no": 0.2}


def _rows(n: int, *, signal: float, seed: int = 0) -> tuple[list[dict[str, float]], list[str]]:
    """``n`` rows in SHARES' mix whose label scores lean ``signal`` nats to the gold label, over noise
    of the same size for every row."""
    rng = random.Random(seed)
    targets = ["yes" if i % 5 else "no" for i in range(n)]
    scored = [{label: rng.gauss(0.0, 1.0) + (signal if label == gold else 0.0) for label in SHARES}
              for gold in targets]
    return scored, targets


def test_a_model_that_reads_the_task_keeps_full_trust() -> None:
    scored, targets = _rows(40, signal=6.0)
    assert prior_power(scored, targets, SHARES) == 1.0


def test_a_model_that_reads_nothing_leans_to_the_commonest_label_as_its_rows_say() -> None:
    """With scores that carry nothing of the gold label, power 1 answers in the rows' mix (about one
    in five 'no', each a coin flip); the fitted power trusts the model less, and on fresh rows of the
    same mix it answers the commonest label almost always and is right more often."""
    scored, targets = _rows(40, signal=0.0)
    power = prior_power(scored, targets, SHARES)
    assert power < 0.5
    fresh, gold = _rows(400, signal=0.0, seed=1)

    def accuracy(p: float) -> float:
        prior = calibration_from(scored, SHARES, p)
        return sum(decide(lp, prior, p) == g for lp, g in zip(fresh, gold, strict=True)) / len(gold)

    fitted = [decide(lp, calibration_from(scored, SHARES, power), power) for lp in fresh]
    assert fitted.count("yes") / len(fresh) > 0.9
    assert accuracy(power) > accuracy(1.0) + 0.1


def test_the_power_changes_nothing_with_even_shares_or_at_one() -> None:
    scored, _ = _rows(20, signal=1.0)
    even = {"yes": 0.5, "no": 0.5}
    assert calibration_from(scored, even, 0.25) == calibration_from(scored, even) == calibration_from(scored)
    prior = calibration_from(scored, SHARES)
    for lp in scored:
        old = {k: p / prior[k] for k, p in normalize(lp).items()}
        assert probabilities(lp, prior, 1.0) == pytest.approx({k: v / sum(old.values()) for k, v in old.items()})


def test_tempered_probabilities_decide_as_decide_does_and_sum_to_one() -> None:
    scored, _ = _rows(30, signal=1.0)
    prior = calibration_from(scored, SHARES, 0.25)
    for lp in scored:
        probs = probabilities(lp, prior, 0.25)
        assert sum(probs.values()) == pytest.approx(1.0)
        assert max(probs, key=lambda k: probs[k]) == decide(lp, prior, 0.25)


def test_rows_without_a_known_target_are_left_out_of_the_fit() -> None:
    scored, _ = _rows(30, signal=0.0)
    assert prior_power(scored, [""] * len(scored), SHARES) == 1.0
    assert prior_power([], [], SHARES) == 1.0
