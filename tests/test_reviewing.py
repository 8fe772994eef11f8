"""``autoprompt review``: a scripted terminal session whose feedback steers the next search."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autoprompt.errors import ConfigError
from autoprompt.records.feedback import Verdict
from autoprompt.reviewing import review
from autoprompt.storage.feedback_file import load_feedback


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autoprompt.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def finished_run(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    done = cli("optimize", "--data", "past_tense", "--model", "fake", "--budget", "300", "--seed", "0",
               "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def trials(run: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (run / "trials.jsonl").read_text().splitlines()]


def test_typed_feedback_becomes_a_clarifier_in_the_next_round(finished_run: Path) -> None:
    before = trials(finished_run)
    assert not any("feedback" in t["label"] for t in before)
    # example 1: rating 9 (refused, asked again), then 2, a note, reject; example 2: skip all; example 3: quit
    session = cli("review", str(finished_run), "--n", "3", stdin="9\n2\nthe answer is too long\nr\n\n\n\nq\n")
    assert session.returncode == 0, session.stderr
    assert "'9' is not a rating" in session.stdout
    assert "[3/3]" in session.stdout
    assert "1 record(s) saved" in session.stdout and f"autoprompt resume {finished_run} --budget" in session.stdout
    (record,) = load_feedback(finished_run / "feedback.jsonl")
    assert (record.rating, record.note, record.verdict) == (2, "the answer is too long", Verdict.REJECT)
    rows = {json.loads(line)["id"]: json.loads(line) for line in
            (finished_run / "dev_predictions.jsonl").read_text().splitlines()}
    assert record.output == rows[record.example_id]["output"] and record.candidate is not None

    resumed = cli("resume", str(finished_run), "--budget", "600")
    assert resumed.returncode == 0, resumed.stderr
    after = trials(finished_run)
    next_round = [t for t in after if t["parent"] is not None][:4]
    proposed = [t for t in next_round if t["operator"] == "feedback.clarifier"]
    assert proposed and "feedback1" in proposed[0]["candidate"]["clarifiers"]
    assert "+feedback1" in proposed[0]["label"]
    report = (finished_run / "report.md").read_text()
    assert "## Reviewer feedback" in report and "the answer is too long" in report
    saved = json.loads((finished_run / "run.json").read_text())["arguments"]
    assert saved["budget"] == 600 and saved["feedback"][0]["note"] == "the answer is too long"


def test_a_second_session_shows_new_examples_first_and_eof_saves_what_was_given(finished_run: Path) -> None:
    said: list[str] = []
    script = iter(["4", "", "a", "", "fine", ""])
    first = review(finished_run, n=2, ask=lambda question: next(script), say=said.append)
    assert [r.rating for r in first] == [4, None] and first[1].note == "fine"
    shown = {r.example_id for r in first}
    replies = iter(["5", "", ""])

    def ask(question: str) -> str:
        try:
            return next(replies)
        except StopIteration:
            raise EOFError from None

    second = review(finished_run, n=2, ask=ask, say=said.append)
    assert len(second) == 1 and second[0].example_id not in shown
    assert len(load_feedback(finished_run / "feedback.jsonl")) == 3


def test_review_without_a_finished_run_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"holds no finished run.*autoprompt resume"):
        review(tmp_path)
    done = cli("review", str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "holds no finished run" in done.stderr and "Traceback" not in done.stderr
