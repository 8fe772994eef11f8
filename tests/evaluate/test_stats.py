"""Bootstrap intervals."""

from __future__ import annotations

import pytest

from autoprompt.evaluate.stats import bootstrap, paired_difference


def test_bootstrap_contains_mean_and_is_seeded() -> None:
    scores = [1.0] * 70 + [0.0] * 30
    interval = bootstrap(scores, seed=1)
    assert interval.estimate == pytest.approx(0.7)
    assert 0.58 < interval.low < 0.7 < interval.high < 0.82
    assert bootstrap(scores, seed=1) == interval


def test_paired_difference_detects_a_clear_gain() -> None:
    before = [0.0] * 50 + [1.0] * 50
    after = [1.0] * 90 + [0.0] * 10
    diff = paired_difference(before, after)
    assert diff.estimate == pytest.approx(0.4)
    assert diff.excludes_zero()
    assert not paired_difference(before, before).excludes_zero()
    with pytest.raises(ValueError):
        paired_difference([1.0], [1.0, 0.0])
