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


def test_scoring_rows_shows_a_bar_with_eta_and_a_line_each_quarter_when_not_a_terminal() -> None:
    from autoprompt.records.progress import Scoring

    stream, bar = Pipe(), ProgressBar(width=10)
    bar.stream = stream
    for done in range(0, 501, 50):
        bar.rows(Scoring("the winner on test", done, 500, seconds=done / 10))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[..........] the winner on test: 0/500 rows | 0s"
    assert "[##........] the winner on test: 100/500 rows | 10s, ETA 40s" not in lines  # not a quarter mark
    assert [line.split(": ")[1].split(" rows")[0] for line in lines] == ["0/500", "150/500", "250/500", "400/500",
                                                                          "500/500"]
    assert lines[-1] == "[##########] the winner on test: 500/500 rows | 50s"


def test_the_search_and_eval_report_rows_scored_on_test(tmp_path, keyword_csv, capsys) -> None:  # type: ignore[no-untyped-def]
    """Scoring the start and the winner on test, and 'autoprompt eval', show how far they are."""
    from autoprompt.cli import main

    out = tmp_path / "run"
    assert main(["optimize", "--data", str(keyword_csv), "--input", "text", "--target", "label", "--model", "fake",
                 "--budget", "150", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "the start on test: 0/" in err and "the winner on test: 0/" in err
    test_rows = sum(1 for _ in (out / "data" / "test.csv").open()) - 1
    assert f"the winner on test: {test_rows}/{test_rows} rows" in err
    assert main(["eval", "--prompt", str(out), "--data", str(out / "data" / "test.csv")]) == 0
    assert f"on {out / 'data' / 'test.csv'}: {test_rows}/{test_rows} rows" in capsys.readouterr().err
    assert main(["eval", "--prompt", str(out), "--data", str(out / "data" / "test.csv"), "-q"]) == 0
    assert "rows" not in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_tqdm_draws_calls_of_the_budget_eta_trial_score_and_spend_then_each_set_of_rows() -> None:
    from autoprompt.records.progress import Scoring

    stream = Terminal()
    bar = ProgressBar(stream)
    bar(trial(), Progress(1, 200, 800, 0.75, "fields", seconds=65.0, usd=0.0123))
    bar(trial(2), Progress(2, 400, 800, 0.8, "fields", seconds=130.0, usd=0.0246))
    drawn = stream.getvalue()
    assert "\r" in drawn and "search:" in drawn and "400/800" in drawn and "call/s" in drawn
    assert "trial 2, best dev 0.800, $0.0246" in drawn and "<" in drawn  # tqdm's elapsed<remaining
    for done in (0, 60, 120):
        bar.rows(Scoring("the winner on test", done, 120))
    drawn = stream.getvalue()
    assert "the winner on test: 100%" in drawn and "120/120" in drawn and "row/s" in drawn
    assert drawn.endswith("\n")  # both bars closed: what is printed next starts on its own line


def test_a_bar_can_be_forced_live_or_plain_whatever_the_stream() -> None:
    stream = Pipe()
    ProgressBar(stream, live=True)(trial(), Progress(1, 10, 100, 0.5, "fields"))
    assert "10/100" in stream.getvalue() and "call" in stream.getvalue() and "[" in stream.getvalue()
    stream = Terminal()
    ProgressBar(stream, live=False, width=4, every=1)(trial(), Progress(1, 10, 100, 0.5, "fields"))
    assert stream.getvalue().startswith("[....] 10/100 calls | trial 1")
