"""Callbacks: progress display and early stopping, outside the search loop.

Contract: a callback is any callable ``(trial, progress) -> bool | None`` called
after each trial; returning True stops the search (the result keeps everything
found so far). ``Progress`` is a frozen snapshot of the run. ``ProgressBar`` (``tqdm.auto`` on a
terminal or in a notebook, plain lines in a log) also shows scoring a fixed set of rows
(``rows(scoring)``: the start and the winner on test, ``eval``).
``LogTrials`` writes each trial as one INFO line of the ``autoprompt.search`` logger (silent
unless the application, or the CLI's ``-v``, shows that level).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TextIO

from autoprompt.records.progress import Progress, Scoring
from autoprompt.records.trial import Trial

Callback = Callable[[Trial, Progress], "bool | None"]


class ProgressBar:
    """The search's calls of the budget (trial, best dev score, spend, ETA) and each fixed set of rows
    scored, drawn by ``tqdm.auto`` where someone watches: in place on a terminal, as a widget in a notebook
    (plain text there without ``ipywidgets``). Elsewhere (a log file, CI) a plain line every ``every``
    trials, and at the start, each quarter and the end of a set of rows. ``live`` forces either (None:
    a terminal or a notebook)."""

    def __init__(self, stream: TextIO | None = None, width: int = 30, every: int = 10,
                 live: bool | None = None) -> None:
        self.stream = stream
        self.width = width
        self.every = every
        self.live = live
        self._rows_shown: dict[str, int] = {}  # rows done when each scoring was last shown
        self._bars: dict[str, Any] = {}  # the live bars by what they count ("search", or a scoring's what)

    def __call__(self, trial: Trial, progress: Progress) -> None:
        stream = self.stream or sys.stderr
        postfix = f"trial {progress.trials}, best dev {progress.best_score:.3f}" + (
            f", ${progress.usd:.4f}" if progress.usd else "")
        if self._watched(stream):
            self._advance("search", progress.calls, progress.max_calls, "call", postfix)
            return
        total = progress.max_calls or max(progress.calls, 1)
        eta = progress.eta()
        line = (f"{self._gauge(progress.calls, total)} {progress.calls}/{total} calls "
                f"| trial {progress.trials} | best dev {progress.best_score:.3f} | {_clock(progress.seconds)}"
                + (f", ETA {_clock(eta)}" if eta is not None else "")
                + (f" | ${progress.usd:.4f}" if progress.usd else ""))
        if (progress.trials - 1) % self.every == 0:  # trials 1, 1 + every, ...: the first shows at once
            stream.write(line + "\n")

    def rows(self, scoring: Scoring) -> None:
        """Scoring a fixed set of rows (the start and the winner on test, ``autoprompt eval``); the search's
        bar, if any, is done by then."""
        stream = self.stream or sys.stderr
        if self._watched(stream):
            self.close("search")
            self._advance(scoring.what, scoring.done, scoring.total, "row", "")
            if scoring.done >= scoring.total:
                self.close(scoring.what)
            return
        eta = scoring.eta()
        line = (f"{self._gauge(scoring.done, max(scoring.total, 1))} {scoring.what}: {scoring.done}/{scoring.total} "
                f"rows | {_clock(scoring.seconds)}" + (f", ETA {_clock(eta)}" if eta is not None and eta > 0 else ""))
        if scoring.done in (0, scoring.total) or 4 * scoring.done // max(scoring.total, 1) != \
                4 * self._rows_shown.get(scoring.what, 0) // max(scoring.total, 1):
            stream.write(line + "\n")
        self._rows_shown[scoring.what] = scoring.done

    def close(self, what: str | None = None) -> None:
        """End the live bar of ``what`` (every bar when None), leaving its last state shown."""
        for name in [what] if what is not None else list(self._bars):
            bar = self._bars.pop(name, None)
            if bar is not None:
                bar.close()

    def _watched(self, stream: TextIO) -> bool:
        return self.live if self.live is not None else stream.isatty() or in_notebook()

    def _advance(self, what: str, done: int, total: int | None, unit: str, postfix: str) -> None:
        bar = self._bars.get(what)
        if bar is None:
            from tqdm.auto import tqdm

            bar = self._bars[what] = tqdm(total=total, desc=what, unit=unit, file=self.stream or sys.stderr,
                                          smoothing=0, dynamic_ncols=True, leave=True)
        if postfix:
            bar.set_postfix_str(postfix, refresh=False)
        bar.update(done - bar.n)  # redrawn at most every 0.1 s (tqdm's pace) while rows stream in
        if what == "search":
            bar.refresh()  # after every trial: they come seconds apart

    def _gauge(self, done: int, total: int) -> str:
        filled = int(self.width * min(done / total, 1.0))
        return f"[{'#' * filled}{'.' * (self.width - filled)}]"


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (where ``tqdm.auto`` draws widgets)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in shell.config


def _clock(seconds: float) -> str:
    """``42s``, ``3m05s`` or ``1h02m``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class LogTrials:
    """Each trial as one line of the ``autoprompt.search`` logger, at INFO."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger

    def __call__(self, trial: Trial, progress: Progress) -> None:
        logger = self.logger or logging.getLogger("autoprompt.search")
        if not logger.isEnabledFor(logging.INFO):
            return
        origin = trial.operator + (f" from trial {trial.parent}" if trial.parent is not None else "")
        logger.info("trial %d (%s): %s: dev %.3f on %d rows, %s, %d calls (%d/%s in all)", trial.number, origin,
                    trial.candidate.describe(), trial.score, trial.n, trial.state.value, trial.calls,
                    progress.calls, progress.max_calls or "-")


class StopWhenExhausted:
    """Stop once ``patience`` trials in a row made no new model call (every proposal was seen)."""

    def __init__(self, patience: int = 25) -> None:
        self.patience = patience
        self.stale = 0

    def __call__(self, trial: Trial, progress: Progress) -> bool:
        self.stale = self.stale + 1 if trial.calls == 0 else 0
        return self.stale >= self.patience


class StopOnFailures:
    """Stop when more than ``max_rate`` of a trial's examples failed (after ``min_examples``).

    A failed example is one the model could not answer at all, e.g. a request that
    still failed after its retries; when most do, the service is down and spending
    more of the budget would only buy failures.
    """

    def __init__(self, max_rate: float = 0.5, min_examples: int = 8) -> None:
        self.max_rate = max_rate
        self.min_examples = min_examples

    def __call__(self, trial: Trial, progress: Progress) -> bool:
        return trial.n >= self.min_examples and trial.failures > self.max_rate * trial.n
