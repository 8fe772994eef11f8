"""Reports: a run directory as a Markdown summary and a self-contained HTML page.

Contract:
- The run comes as a ``run_record.RunRecord`` (``search.run_report.read_run(directory)`` reads one).
- ``markdown(run)`` is ``report.md`` and ``html.page(run)`` is ``report.html``
  (``search.run_report.write_report(directory)`` writes both). Both hold: what improved (dev and
  test, with 95% intervals), best dev score against model calls, the Pareto front of score against
  prompt tokens, confusion matrices of the start and the winner on test, a word-level diff from the
  starting prompt to the winner, which operators produced accepted improvements, cost
  in calls (judge calls apart), tokens and USD, the start's and the winner's tokens per production call
  and USD per 1,000 calls (from their answers on test), consistency on test when it was
  measured, the reviewers' feedback, the top-k leaderboard with 95% bootstrap intervals, the
  winner's request as sent on one test row, a use-it snippet per export format, and the run's
  metadata.
- ``run_summary(record, ...)`` is the summary both open with, from the run's ``winner.json`` record: the one
  renderer of it (``OptimizationResult.summary()`` prints it too).
- Plots are matplotlib SVGs written into the page: it opens offline, with no external
  file, and its small script (sortable tables) logs nothing to the console.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from autoprompt.records.feedback import Feedback
from autoprompt.records.interval import Interval
from autoprompt.records.trial import leaderboard_order
from autoprompt.records.usage import Spend
from autoprompt.report.run_record import RunRecord, TrialRow, number

TOP_K = 10


def best_so_far(run: RunRecord) -> list[tuple[int, float]]:
    """(model calls spent, best dev score of a complete trial so far) after each complete trial."""
    points, spent, best = [], 0, float("-inf")
    for t in run.trials:
        spent += t.calls
        if t.state == "complete" and t.n >= run.dev_size:
            best = max(best, t.score)
            points.append((spent, best))
    return points


def pareto(run: RunRecord) -> list[TrialRow]:
    """Complete trials that no other beats on both dev score and prompt tokens, shortest first."""
    return list(run.pareto)


def ranked(run: RunRecord, k: int = TOP_K) -> list[TrialRow]:
    """The best ``k`` distinct candidates, in the one leaderboard order (``leaderboard_order``)."""
    return leaderboard_order(run.trials, lambda t: t.label, run.dev_size)[:k]


def leaderboard(run: RunRecord, k: int = TOP_K) -> list[tuple[TrialRow, Interval]]:
    """``ranked(run, k)`` with 95% intervals (a trial with none: its score alone)."""
    return [(t, run.intervals.get(t.number) or Interval(t.score, t.score, t.score)) for t in ranked(run, k)]


EXAMPLE_ROWS = 20  # test rows shown in the Markdown examples table
PAGE_EXAMPLE_ROWS = 1000  # and in the HTML page's, which a filter box narrows
EXAMPLE_COLUMNS = ("example", "input", "reference", "start's answer", "winner's answer", "start score",
                   "winner score", "change")
CHANGES = ("fixed", "broken", "changed", "same")


def labelled(run: RunRecord) -> bool:
    """Whether the run's task answers with labels (a confusion matrix means something)."""
    return run.manifest.get("task", "classification") == "classification"


def examples(run: RunRecord, k: int = EXAMPLE_ROWS) -> list[tuple[Any, ...]]:
    """At most ``k`` test rows, those whose answer changed first (fixed, broken, changed), then the rest,
    each text cut to one short line."""
    ranked = sorted(run.tests, key=lambda t: CHANGES.index(t.change))
    return [(t.example_id, _clip(t.inputs), _clip(t.target), _clip(t.start), _clip(t.winner),
             "" if t.start_score is None else f"{t.start_score:.2f}",
             "" if t.winner_score is None else f"{t.winner_score:.2f}", t.change) for t in ranked[:k]]


def example_heading(run: RunRecord, k: int = EXAMPLE_ROWS) -> str:
    counts = Counter(t.change for t in run.tests)
    return (f"Examples on test (the first {min(k, len(run.tests))} of {len(run.tests)}, changed answers "
            f"first: {', '.join(f'{counts[c]} {c}' for c in CHANGES)})")


def _clip(text: str, limit: int = 100) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


def confusion(run: RunRecord, which: str) -> tuple[list[str], list[list[int]]]:
    """Rows: expected label; columns: answered label (``(other)`` for anything else)."""
    labels = list(run.winner.labels) or sorted({t.target for t in run.tests})
    answered = [*labels, "(other)"]
    counts = Counter((t.target, getattr(t, which) if getattr(t, which) in labels else "(other)") for t in run.tests)
    return answered, [[counts[(expected, got)] for got in answered] for expected in labels]


def operators(run: RunRecord) -> list[dict[str, Any]]:
    """Per operator: trials, complete, accepted as incumbent, best dev score and the gains it brought."""
    accepted = set(run.manifest.get("accepted", []))
    by_number = {t.number: t for t in run.trials}
    rows: dict[str, dict[str, Any]] = {}
    for t in run.trials:
        row = rows.setdefault(t.operator, {"operator": t.operator, "trials": 0, "complete": 0, "accepted": 0,
                                           "best_dev": 0.0, "gain": 0.0})
        row["trials"] += 1
        row["complete"] += t.state == "complete"
        if t.state == "complete":
            row["best_dev"] = round(max(row["best_dev"], t.score), 4)
        if t.number in accepted and t.parent in by_number:
            row["accepted"] += 1
            row["gain"] = round(row["gain"] + t.score - by_number[t.parent].score, 4)
    return sorted(rows.values(), key=lambda r: (-r["gain"], -r["accepted"], r["operator"]))


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """(op, text) pieces with op in ``=``, ``-``, ``+``, word by word (whitespace kept)."""
    a, b = re.findall(r"\s+|\S+", before), re.findall(r"\s+|\S+", after)
    pieces: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            pieces.append(("-", "".join(a[i1:i2])))
        if op in ("insert", "replace"):
            pieces.append(("+", "".join(b[j1:j2])))
        if op == "equal":
            pieces.append(("=", "".join(a[i1:i2])))
    return pieces


# ---- Markdown --------------------------------------------------------------------------------

def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return "(none)"
    cell = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(map(cell, header)) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(cell, row)) + " |" for row in rows])


def summary_lines(run: RunRecord) -> list[str]:
    """The run's summary (``run_summary``) from its directory."""
    label = next((t.label for t in run.trials if t.number == run.manifest.get("trial")), None)
    return run_summary(run.manifest, trials=len(run.trials), winner=label, feedback=run.feedback)


def run_summary(m: Mapping[str, Any], *, trials: int, winner: str | None = None,
                feedback: Sequence[Feedback] = ()) -> list[str]:
    """The summary of a run from its ``winner.json`` record (``m``): what ``result.summary()`` prints and
    ``report.md`` opens with. ``winner`` describes the winning prompt; ``feedback``: the reviewers' records."""
    scores, calls, cost = m.get("scores", {}), m.get("model_calls", {}), m.get("cost", {})
    dev = scores.get("dev", {})
    lines = [f"metric: {m.get('metric')} | model: {m.get('model')} | seed: {m.get('seed')} | strategy: "
             f"{m.get('strategy')} | stop: {m.get('stop_reason', '?')}",
             f"dev ({dev.get('n')}): start {dev.get('baseline', 0):.3f} -> winner {dev.get('score', 0):.3f}"]
    if winner:
        lines.append(f"winner: {winner}")
    if dev.get("how"):
        lines.append(f"chosen: {dev['how']}")
    test = scores.get("test")
    if test:
        lines.append(f"test ({test['n']}): start {test['baseline']:.3f} [{test['baseline_ci'][0]:.3f}, "
                     f"{test['baseline_ci'][1]:.3f}] -> winner {test['winner']:.3f} [{test['winner_ci'][0]:.3f}, "
                     f"{test['winner_ci'][1]:.3f}]; paired difference {test['difference']:+.3f} "
                     f"[{test['difference_ci'][0]:+.3f}, {test['difference_ci'][1]:+.3f}]")
    if test:
        held = f" (held-out rows: {dev['holdout']:.3f})" if dev.get("holdout") is not None else ""
        lines.append(f"dev-to-test gap of the winner: {dev.get('score', 0) - test['winner']:+.3f}{held}")
    constant = constant_line(test.get("constant")) if test else ""
    if constant:
        lines.append(constant)
    spends = production_spends(test)
    if spends:
        lines.append(production_line(*spends))
    if test and test.get("consistency"):
        lines.append(f"consistency on test (agreement of sampled answers): start {test['consistency'][0]:.3f} -> "
                     f"winner {test['consistency'][1]:.3f}")
    seconds = number(m.get("seconds"))
    lines.append(f"cost: {calls.get('search', 0)} model calls in the search ({m.get('optimizer_calls', 0)} by the "
                 f"optimizer model, {m.get('judge_calls', 0)} by the judge) + {calls.get('test', 0)} on test, "
                 f"{calls.get('paid', 0)} not from the cache, {cost.get('tokens', 0)} tokens, "
                 f"${cost.get('usd', 0.0):.4f}, {trials} trials" + ("" if seconds is None else f", {seconds:.0f}s"))
    if feedback:
        lines.append(f"reviewer feedback: {len(feedback)} record(s), {sum(r.negative for r in feedback)} "
                     f"rejected or rated 2 or lower (feedback.jsonl)")
    return lines


def run_metadata(run: RunRecord) -> list[tuple[str, str]]:
    """What made the run: version, when it finished, model and options, seed, strategy, metric, data hashes."""
    m = run.manifest
    found = m.get("data_hashes")
    hashes: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    rows = [("autoprompt", m.get("library_version")), ("finished", m.get("finished")), ("model", m.get("model")),
            ("model options", json.dumps(m.get("model_options"), sort_keys=True) if m.get("model_options") else ""),
            ("seed", m.get("seed")), ("strategy", m.get("strategy")), ("metric", m.get("metric")),
            *((f"data: {name}", f"sha256 {value}") for name, value in sorted(hashes.items()))]
    return [(str(key), str(value)) for key, value in rows if value not in (None, "")]


def use_it(run: RunRecord) -> list[tuple[str, str]]:
    """How to use the winner from each export format: (format, a snippet)."""
    folder = str(run.directory)
    names = ", ".join(f"{n}=..." for n in run.winner.input_names)
    load = f'from autoprompt import load_prompt\nprompt = load_prompt("{folder}")\n'
    return [
        ("jinja", f"{load}text = prompt.render({names})"),
        ("openai", f"import litellm\n{load}reply = litellm.completion(**prompt.openai_request({names}))"
         if run.winner.model.provider == "litellm" else f"from openai import OpenAI\n{load}reply = "
         f"OpenAI().chat.completions.create(**prompt.openai_request({names}))"),
        ("anthropic", f"from anthropic import Anthropic\n{load}reply = Anthropic().messages.create("
                      f"**prompt.anthropic_request({names}))"),
        ("promptfoo", f"autoprompt export {folder} --format promptfoo\n"
                      f"npx promptfoo eval -c {folder}/export/promptfoo/promptfooconfig.yaml"),
        ("dspy", f"autoprompt export {folder} --format dspy\n"
                 f'python -c "from autoprompt.export.dspy_program import load_program; '
                 f"program, adapter = load_program('{folder}/export/dspy')\""),
    ]


def production_spends(test: Any) -> tuple[Spend, Spend] | None:
    """The start's and the winner's ``Spend`` on test from ``winner.json`` (None when it has none or they
    are not numbers: a file autoprompt did not write)."""
    production = test.get("production") if isinstance(test, dict) else None
    if not isinstance(production, dict):
        return None
    try:
        start, winner = (Spend(*(production[who][key] for key in ("calls", "tokens", "usd")))
                         for who in ("start", "winner"))
    except (TypeError, KeyError):
        return None
    numbers = all(number(v) is not None for s in (start, winner) for v in (s.calls, s.tokens, s.usd))
    return (start, winner) if numbers and start.tokens > 0 and winner.tokens > 0 else None  # usage known for both


def production_line(start: Spend, winner: Spend) -> str:
    """Start against winner per production call: tokens in and out, and USD per 1,000 calls."""
    def cost(spend: Spend) -> str:
        return f"{spend.per_call:.0f} tokens" + (f", ${spend.usd_per_1000:.4f} per 1,000 calls" if spend.usd else "")
    ratio = f" ({winner.per_call / start.per_call:.2f}x the tokens)" if start.per_call else ""
    unpriced = "" if start.usd or winner.usd else "; no price for this model (--price sets one)"
    return f"per production call: start {cost(start)} -> winner {cost(winner)}{ratio}{unpriced}"


def constant_line(constant: Any, where: str = "on test", who: str = "winner") -> str:
    """The line for always answering the commonest label (``Constant.as_dict()``: the test report's, or
    ``autoprompt eval``'s with ``where``/``who`` naming its rows and prompt), or "" when there is none or it
    is not what autoprompt writes."""
    if not isinstance(constant, dict) or not isinstance(constant.get("label"), str):
        return ""
    ci = constant.get("difference_ci")
    found = [constant.get(key) for key in ("share", "score", "difference")] + (ci if isinstance(ci, list) else [])
    numbers = [n for n in map(number, found) if n is not None]
    if len(found) != 5 or len(numbers) != 5:
        return ""
    share, score, difference, low, high = numbers
    verdict = f"; the {who} does not beat it" if difference <= 0 else ""
    return (f"always answering {constant['label']!r} (the commonest label of the labelled rows, {share:.0%} of "
            f"them) {where}: {score:.3f}; {who} minus it {difference:+.3f} [{low:+.3f}, {high:+.3f}]{verdict}")


def diff_markdown(pieces: Sequence[tuple[str, str]]) -> str:
    marks = {"=": "{}", "-": "[-{}-]", "+": "{{+{}+}}"}
    return "".join(marks[op].format(text) for op, text in pieces)


def markdown(run: RunRecord) -> str:
    board = [(t.number, t.label, f"{t.score:.4f}", f"[{ci.low:.3f}, {ci.high:.3f}]", t.n, t.prompt_tokens,
              t.operator, "" if t.parent is None else t.parent) for t, ci in leaderboard(run)]
    chain = [(e["trial"], e["operator"], f"{e['dev_score']:.4f}", e["n"]) for e in run.manifest.get("lineage", [])]
    front = [(t.number, f"{t.score:.4f}", t.prompt_tokens, t.label) for t in pareto(run)]
    parts = ["# autoprompt report", "", "```", *summary_lines(run), "```", "",
             f"## Leaderboard (top {TOP_K})", "", markdown_table(
                 ("trial", "candidate", "dev_score", "95% CI", "n_dev", "prompt_tokens", "operator", "parent"), board),
             "", "## How the winner was reached", "",
             markdown_table(("trial", "operator", "dev_score", "n_dev"), chain),
             "", "## Pareto front: dev score against prompt tokens", "",
             markdown_table(("trial", "dev_score", "prompt_tokens", "candidate"), front), "",
             f"## Operators ({run.manifest.get('strategy', 'refine')} strategy; accepted = became the incumbent)", "",
             markdown_table(("operator", "trials", "complete", "accepted", "best_dev", "gain"),
                            [tuple(r.values()) for r in operators(run)]), ""]
    for which in ("start", "winner") if run.tests and labelled(run) else ():
        columns, matrix = confusion(run, which)
        parts += [f"## Confusion on test: {which} (rows expected, columns answered)", "",
                  markdown_table(("expected", *columns), [(label, *row) for label, row in zip(columns, matrix)]), ""]
    if run.tests:
        parts += [f"## {example_heading(run)}", "", markdown_table(EXAMPLE_COLUMNS, examples(run)), ""]
    diff = diff_markdown(word_diff(run.baseline.text, run.winner.text))
    parts += ["## What changed: start -> winner ([-removed-] {+added+})", "", "```", diff, "```", ""]
    sent = run.winner.request
    if sent:
        parts += ["## The winner's request as sent", "", f"{sent[0]}:", "", "```", sent[1], "```", ""]
    parts += ["## Use it", "", *(line for fmt, code in use_it(run) for line in (f"{fmt}:", "", "```", code, "```", "")),
              "## Run", "", markdown_table(("", ""), run_metadata(run)), ""]
    if run.feedback:
        parts += ["## Reviewer feedback (autoprompt review)", "", markdown_table(FEEDBACK_COLUMNS, feedback_rows(run)),
                  ""]
    return "\n".join(parts)


FEEDBACK_COLUMNS = ("example", "rating", "verdict", "note", "answer reviewed", "trial")


def feedback_rows(run: RunRecord) -> list[tuple[Any, ...]]:
    """One row per reviewer record, in the order given."""
    return [(r.example_id, r.rating or "", r.verdict.value, r.note, r.output, r.trial) for r in run.feedback]


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)
