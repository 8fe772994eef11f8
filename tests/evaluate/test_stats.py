"""Bootstrap intervals: of a mean, of a paired difference, of a mean over groups resampled apart."""

from __future__ import annotations

import pytest

from autoprompt.evaluate.stats import bootstrap, paired_difference, stratified_bootstrap


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


def test_stratified_bootstrap_weighs_each_group_once_and_resamples_them_apart() -> None:
    scores = [1.0] * 70 + [0.0] * 30
    assert stratified_bootstrap([scores], seed=3) == bootstrap(scores, seed=3)  # one group: the same draws
    constant, varied = [1.0] * 10, [0.0] * 50 + [1.0] * 50
    both = stratified_bootstrap([constant, varied, []], seed=3)
    assert both.estimate == pytest.approx(0.75)  # (1.0 + 0.5) / 2, however many rows each has; empty left out
    alone = bootstrap(varied, seed=3)
    # the constant group never moves, so the mean's spread is half the varied group's
    assert both.high - both.low == pytest.approx((alone.high - alone.low) / 2, abs=0.02)
    assert 0.68 < both.low < 0.75 < both.high < 0.82
    assert stratified_bootstrap([[], []]).estimate == 0.0
