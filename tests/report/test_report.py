"""Reports from a run directory: the figures' data, the Markdown, and the HTML page in a real browser."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import autoprompt
from autoprompt.errors import ConfigError
from autoprompt.export.manifest import load_prompt
from autoprompt.prompts.compose import compose
from autoprompt.records.candidate import Candidate
from autoprompt.report.writer import (
    best_so_far,
    confusion,
    examples,
    leaderboard,
    operators,
    pareto,
    word_diff,
)
from autoprompt.search.run_report import read_run, write_report
from autoprompt.search.task import prepare_task
from autoprompt.spec import RunSpec
from tests.conftest import RecordingBackend

WINNER = Candidate(task="question", clarifiers=("one_word",), n_demos=2)


@pytest.fixture
def run(tmp_path: Path, keyword_frame: pd.DataFrame) -> Path:
    """A finished run whose winner differs from the start (so the diff has something to show)."""
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=RecordingBackend(), budget=200,
                                 seed=5, search=autoprompt.Search(first_rung=4))
    setup = prepare_task(RunSpec(data=keyword_frame, inputs="text", target="label", seed=5)).setup
    result = dataclasses.replace(result, best=dataclasses.replace(result.best, candidate=WINNER,
                                                                  prompt=compose(WINNER, setup)))
    result.export(tmp_path / "run")
    return tmp_path / "run"


def test_run_record_reads_back_what_the_export_wrote(run: Path) -> None:
    record = read_run(run)
    trials = [json.loads(line) for line in (run / "trials.jsonl").read_text().splitlines()]
    assert [t.number for t in record.trials] == [t["number"] for t in trials]
    assert all(len(t.scores) == t.n for t in record.trials)
    manifest = json.loads((run / "winner.json").read_text())
    assert len(record.tests) == manifest["scores"]["test"]["n"]


def test_figures_data_is_consistent(run: Path) -> None:
    record = read_run(run)
    points = best_so_far(record)
    assert points and all(a[1] <= b[1] and a[0] < b[0] for a, b in itertools.pairwise(points))
    assert points[-1][1] == max(t.score for t in record.complete if t.n >= record.dev_size)
    front = pareto(record)
    assert all(not any(o.score > t.score and o.prompt_tokens <= t.prompt_tokens for o in record.complete)
               for t in front)
    for trial, ci in leaderboard(record):
        assert ci.low <= trial.score <= ci.high
    assert sum(r["trials"] for r in operators(record)) == len(record.trials)


def test_confusion_matrix_counts_the_test_answers(run: Path) -> None:
    record = read_run(run)
    manifest = record.manifest
    columns, matrix = confusion(record, "winner")
    assert columns[-1] == "(other)" and sum(map(sum, matrix)) == len(record.tests)
    diagonal = sum(matrix[i][i] for i in range(len(matrix)))
    assert diagonal / len(record.tests) == pytest.approx(manifest["scores"]["test"]["winner"])


def test_word_diff_rebuilds_both_texts() -> None:
    before, after = "Classify the text.\nText: {{text}}", "Classify each review carefully.\nText: {{text}}"
    pieces = word_diff(before, after)
    assert "".join(t for op, t in pieces if op != "+") == before
    assert "".join(t for op, t in pieces if op != "-") == after
    assert ("+", "each review carefully.") in pieces or any(op == "+" and "each" in t for op, t in pieces)


def test_markdown_and_html_hold_every_section(run: Path) -> None:
    md_path, html_path = write_report(run)
    md, page = md_path.read_text(), html_path.read_text()
    for heading in ("## Leaderboard", "## How the winner was reached", "## Pareto front", "## Operators",
                    "## Confusion on test: start", "## Confusion on test: winner", "## What changed"):
        assert heading in md
    assert "{+" in md and page.count("<svg") == 2 and "<ins>" in page
    assert "95% CI" in md and "$" in md and "tokens" in md
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page), "the page must not load anything"
    for heading in ("## The winner's request as sent", "## Use it", "## Run"):
        assert heading in md
    assert "<h2>The winner's request as sent</h2>" in page and "<h2>Run</h2>" in page and 'class="filter"' in page


def test_the_report_shows_the_request_sent_how_to_use_it_and_what_made_the_run(run: Path) -> None:
    from autoprompt.report.writer import run_metadata, use_it

    record = read_run(run)
    what, sent = record.winner.request or ("", "")
    first = record.tests[0]
    assert what == (f"the text fake was sent for test row {first.example_id}; each label is scored as the text "
                    "after it: [\" maybe\", \" no\", \" yes\"]")
    assert sent == load_prompt(run).render(**dict(first.fields))  # one user turn: the text itself, as scored
    meta = dict(run_metadata(record))
    assert meta["autoprompt"] == autoprompt.__version__ and meta["seed"] == "5" and meta["model"] == "fake"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", meta["finished"])
    snippets = dict(use_it(record))
    assert set(snippets) == {"jinja", "openai", "anthropic", "promptfoo", "dspy"}
    assert f'load_prompt("{run}")' in snippets["openai"] and "openai_request(text=...)" in snippets["openai"]


def test_a_hosted_runs_report_shows_the_whole_sdk_request(run: Path) -> None:
    """The request a hosted model was sent is the SDK's create() arguments, as the export writes them."""

    manifest = json.loads((run / "winner.json").read_text())
    (run / "winner.json").write_text(json.dumps({**manifest, "model": "openai:gpt-4o-mini"}))
    record = read_run(run)
    what, sent = record.winner.request or ("", "")
    assert "the openai SDK's create()" in what
    assert json.loads(sent) == load_prompt(run).openai_request(**dict(record.tests[0].fields))


def test_report_of_a_directory_without_a_run_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="autoprompt optimize --out"):
        read_run(tmp_path)


def chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found and os.environ.get("AUTOPROMPT_REQUIRE_CHROMIUM"):
        pytest.fail("chromium is required here (.ci/run installs Debian's chromium)")
    return found


def render(browser: str, page: Path) -> tuple[str, list[str]]:
    """The DOM after load and the console lines of ``page`` in headless Chromium."""
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", "--dump-dom", page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def test_report_renders_in_headless_chromium_with_no_console_output(run: Path, tmp_path: Path) -> None:
    browser = chromium()
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    dom, console = render(browser, run / "report.html")
    assert console == [] and 'data-ready="1"' in dom and "<svg" in dom
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>throw new Error('boom')</script></body></html>")
    dom, console = render(browser, broken)
    assert any("boom" in line for line in console), "the console check must see a failing script"


def test_the_cli_table_the_csv_and_the_report_rank_one_run_alike(run: Path) -> None:
    """One leaderboard order (``records.trial.leaderboard_order``) behind every view of it."""
    csv = pd.read_csv(run / "leaderboard.csv")
    ranked = [t.number for t, _ in leaderboard(read_run(run), k=len(csv))]
    assert ranked == list(csv["trial"])
    assert len(ranked) > 3


def test_the_examples_table_puts_changed_answers_first(run: Path) -> None:
    record = read_run(run)
    shown = examples(record)
    changes = [row[-1] for row in shown]
    assert changes == sorted(changes, key=("fixed", "broken", "changed", "same").index)
    assert all(row[1] and row[5] and row[6] for row in shown)  # inputs and both scores, from predictions.jsonl
    for t in record.tests:
        if t.change in ("fixed", "broken"):
            assert (t.winner_score > t.start_score) == (t.change == "fixed")  # type: ignore[operator]
            assert (t.winner == t.target) == (t.change == "fixed")  # accuracy: the right label or not
    md = (run / "report.md").read_text()
    assert "## Examples on test" in md and "<h2>Examples on test" in (run / "report.html").read_text()


def test_a_free_text_report_has_examples_and_no_confusion_matrix(tmp_path: Path) -> None:
    result = autoprompt.optimize("past_tense", model=autoprompt.FakeBackend(), budget=400, seed=0)
    result.export(tmp_path / "run")
    md, page = (tmp_path / "run" / "report.md").read_text(), (tmp_path / "run" / "report.html").read_text()
    assert "Confusion" not in md and "Confusion" not in page
    assert "## Examples on test" in md and "reference" in md
    assert len(page) < 200_000  # was 1.09 MB of empty confusion cells for an 85-row free-text test set


def test_a_thousand_row_free_text_report_lists_every_row_and_stays_under_two_megabytes(tmp_path: Path) -> None:
    words = ["walk", "jump", "play", "open", "call", "look", "cook", "clean"]
    rows = [{"text": f"Sentence {i}: they {words[i % 8]} to the market every morning before the long day's "
                     f"work begins, as usual.", "answer": f"they {words[i % 8]}ed"} for i in range(1060)]
    frame = pd.DataFrame(rows)
    result = autoprompt.optimize(frame.iloc[:60], inputs="text", target="answer", model=autoprompt.FakeBackend(),
                                 budget=300, seed=0, search=autoprompt.Search(test=frame.iloc[60:]),
                                 answers=autoprompt.Answers(kind="generation"))
    result.export(tmp_path / "run")
    page = (tmp_path / "run" / "report.html").read_bytes()
    assert len(page) < 2_000_000 and page.count(b"<tr>") > 1000  # all 1,000 test rows, and the other tables


def test_the_constant_answer_line_is_read_only_from_numbers_autoprompt_wrote() -> None:
    """winner.json is untrusted: a damaged constant entry leaves its line out instead of failing the report."""
    from autoprompt.report.writer import constant_line

    good = {"label": "neutral", "share": 0.8, "score": 0.814, "difference": -0.079, "difference_ci": [-0.14, -0.02]}
    assert constant_line(good) == ("always answering 'neutral' (the commonest label of the labelled rows, 80% of "
                                   "them) on test: 0.814; winner minus it -0.079 [-0.140, -0.020]; the winner does "
                                   "not beat it")
    assert constant_line({**good, "difference": 0.05, "difference_ci": [0.01, 0.09]}).endswith("[+0.010, +0.090]")
    for damaged in (None, [], {**good, "label": 3}, {**good, "score": "0.8"}, {**good, "difference_ci": [0.1]},
                    {**good, "share": True}, {key: v for key, v in good.items() if key != "difference"}):
        assert constant_line(damaged) == ""


def test_the_production_cost_is_read_only_from_numbers_autoprompt_wrote() -> None:
    """winner.json is untrusted: a damaged production entry leaves the line out instead of failing the report."""
    from autoprompt.records.usage import Spend
    from autoprompt.report.writer import production_line, production_spends

    good = {"production": {"start": {"calls": 4, "tokens": 400, "usd": 0.002},
                           "winner": {"calls": 4, "tokens": 800, "usd": 0.004}}}
    start, winner = production_spends(good) or (Spend(), Spend())
    assert (start.per_call, winner.usd_per_1000) == (100.0, 1.0)
    assert production_line(start, winner) == ("per production call: start 100 tokens, $0.5000 per 1,000 calls -> "
                                               "winner 200 tokens, $1.0000 per 1,000 calls (2.00x the tokens)")
    assert production_line(Spend(4, 400), Spend(4, 400)).endswith("no price for this model (--price sets one)")
    for damaged in ({"production": {"start": "x"}}, {"production": []}, None, {"production": {
            "start": {"calls": "4", "tokens": 1, "usd": 0}, "winner": {"calls": 4, "tokens": 1, "usd": 0}}},
                    {"production": {"start": {"calls": 0, "tokens": 0, "usd": 0},
                                    "winner": {"calls": 0, "tokens": 0, "usd": 0}}}):
        assert production_spends(damaged) is None
