"""Review: a person reads the winner's answers in the terminal and says what is wrong.

Contract:
- ``review(directory, n=8, seed=0, ask=input, say=print)`` shows the winning prompt's
  answers on up to ``n`` dev examples of a finished run (``dev_predictions.jsonl``):
  each example's inputs, the reference, the answer, its score and the judge's reason.
  Examples already reviewed for this winner come last, so a second session shows new ones.
- For each, the reviewer may rate it (1-5), type free-text feedback and accept or
  reject it; Enter skips a question, ``q`` ends the session. Each record is appended
  to ``DIR/feedback.jsonl`` as soon as it is given (nothing is lost on Ctrl-C or EOF),
  with the answer, the winner's trial number and its candidate.
- A later ``autoprompt resume DIR`` (``--budget`` to raise the budget) or
  ``optimize(..., run_dir=DIR)`` reads the file: the reviewed prompt is evaluated right
  after the start, and the notes become clarifiers and rewrites (``autoprompt.propose.feedback``).
- Returns the records given in this session. Needs no model: it only reads files.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autoprompt.export.manifest import load_prompt
from autoprompt.records.feedback import Feedback, Verdict
from autoprompt.storage.feedback_file import FEEDBACK_FILE, append_feedback, load_feedback

from .errors import ConfigError

DEV_PREDICTIONS = "dev_predictions.jsonl"


class _Quit(Exception):
    """The reviewer typed q (or the input ended)."""


def _answer(ask: Callable[[str], str], question: str) -> str:
    try:
        reply = ask(question).strip()
    except EOFError:
        raise _Quit from None
    if reply.lower() in ("q", "quit"):
        raise _Quit
    return reply


def _rating(ask: Callable[[str], str], say: Callable[[str], None]) -> int | None:
    while True:
        reply = _answer(ask, "  rate 1-5 (Enter: skip, q: quit): ")
        if not reply:
            return None
        if reply in ("1", "2", "3", "4", "5"):
            return int(reply)
        say(f"  '{reply}' is not a rating; type a number from 1 to 5, or press Enter to skip")


def _verdict(ask: Callable[[str], str], say: Callable[[str], None]) -> Verdict:
    while True:
        reply = _answer(ask, "  accept or reject? [a/r] (Enter: skip): ").lower()
        if reply in ("", "a", "accept", "r", "reject"):
            return {"": Verdict.NONE, "a": Verdict.ACCEPT, "accept": Verdict.ACCEPT}.get(reply, Verdict.REJECT)
        say(f"  '{reply}' is neither a nor r")


def _rows(run: Path) -> list[dict[str, Any]]:
    path = run / DEV_PREDICTIONS
    if not path.is_file():
        raise ConfigError(f"{run} holds no finished run ({DEV_PREDICTIONS} is missing); finish it first with "
                          f"'autoprompt resume {run}' or start one with 'autoprompt optimize ... --out {run}'")
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is damaged ({exc}); re-run 'autoprompt resume {run}' to write it again") from None
    if not all(isinstance(r, dict) and {"id", "inputs", "target", "output", "score"} <= set(r) for r in rows):
        raise ConfigError(f"{path} is damaged (a line is not a prediction record); re-run 'autoprompt resume {run}'")
    return rows


def _shown(value: Any) -> str:
    """Text from the data as it may be shown on a terminal: control characters (escape
    sequences that could recolour, move the cursor or retitle the window) written as escapes."""
    return "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in str(value))


def _show(row: dict[str, Any], number: int, total: int, say: Callable[[str], None]) -> None:
    say(f"\n[{number}/{total}] example {_shown(row['id'])}  (score {float(row['score']):.2f})")
    for name, value in dict(row["inputs"]).items():
        say(f"  {_shown(name)}: {_shown(value)}")
    say(f"  reference: {_shown(row['target'])}")
    say(f"  answer:    {_shown(row['output']) or '(no answer)'}")
    if row.get("reason"):
        say(f"  judge:     {_shown(row['reason'])}")


def review(directory: str | Path, *, n: int = 8, seed: int = 0, ask: Callable[[str], str] = input,
           say: Callable[[str], None] = print) -> list[Feedback]:
    """Ask a person about the winner's answers on ``n`` dev examples; see the module contract."""
    run = Path(directory)
    if n < 1:
        raise ConfigError(f"--n must be at least 1 (how many examples to review), got {n}")
    rows = _rows(run)
    winner = dict(load_prompt(run).manifest)
    trial, candidate = winner.get("trial"), winner.get("candidate")
    path = run / FEEDBACK_FILE
    done = {r.example_id for r in load_feedback(path) if r.trial == trial} if path.is_file() else set()
    order = random.Random(seed).sample(rows, len(rows))
    picked = sorted(order, key=lambda row: row["id"] in done)[:n]
    say(f"Reviewing the winner (trial {trial}) on {len(picked)} dev examples. Rate each answer, type what "
        "should change, accept or reject it. Enter skips a question; q ends the review (what you gave is saved).")
    given: list[Feedback] = []
    try:
        for number, row in enumerate(picked, 1):
            _show(row, number, len(picked), say)
            rating = _rating(ask, say)
            note = _answer(ask, "  feedback (Enter: none): ")
            record = Feedback(row["id"], note, rating, _verdict(ask, say), row["output"], trial, candidate)
            if rating is not None or note or record.verdict is not Verdict.NONE:
                append_feedback(path, record)
                given.append(record)
    except _Quit:
        pass
    say(f"\n{len(given)} record(s) saved to {path}." + (
        f" Continue the search with them: autoprompt resume {run} --budget N (N above the run's budget)"
        if given else ""))
    return given
