"""Callbacks: the progress line (calls, best score, time, ETA and spend) and the trial log lines."""

from __future__ import annotations

import io
import logging

import pytest

from autoprompt.records.candidate import Candidate
from autoprompt.records.prediction import Prediction
from autoprompt.records.progress import Progress
from autoprompt.records.trial import Trial, TrialState
from autoprompt.search.callbacks import LogTrials, ProgressBar


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def trial(number: int = 1) -> Trial:
    rows = tuple(Prediction(f"r{i}", "yes", float(i % 4 != 0)) for i in range(16))
    return Trial(number=number, candidate=Candidate("fields"), state=TrialState.COMPLETE, score=0.75,
                 predictions=rows, calls=16, seconds=1.0, prompt_chars=40, operator="demos.hard", parent=0)


def test_the_progress_line_shows_time_eta_and_spend() -> None:
    stream = Pipe()
    ProgressBar(stream, width=10, every=1)(trial(), Progress(1, 200, 800, 0.75, "fields", seconds=65.0, usd=0.0123))
    line = stream.getvalue()
    assert "[##........] 200/800 calls | trial 1 | best dev 0.750" in line
    assert "| 1m05s, ETA 3m15s | $0.0123" in line    # 600 calls left at 200 calls per 65 s
    stream = Pipe()
    ProgressBar(stream, every=1)(trial(), Progress(1, 0, None, 0.0, "fields"))
    assert "ETA" not in stream.getvalue() and "$" not in stream.getvalue()  # nothing to extrapolate or pay


@pytest.mark.parametrize(("progress", "eta"), [(Progress(1, 100, 400, 0.5, "x", seconds=10.0), 30.0),
                                                (Progress(1, 500, 400, 0.5, "x", seconds=10.0), 0.0),
                                                (Progress(1, 0, 400, 0.5, "x", seconds=10.0), None),
                                                (Progress(1, 100, None, 0.5, "x", seconds=10.0), None)])
def test_eta_is_the_time_left_at_the_pace_so_far(progress: Progress, eta: float | None) -> None:
    assert progress.eta() == eta


def test_each_trial_is_one_info_line_of_the_search_logger(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="autoprompt.search"):
        LogTrials()(trial(3), Progress(3, 48, 800, 0.75, "fields"))
    assert [r.getMessage() for r in caplog.records] == [
        "trial 3 (demos.hard from trial 0): fields: dev 0.750 on 16 rows, complete, 16 calls (48/800 in all)"]
