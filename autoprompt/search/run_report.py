"""A finished run folder read into the report's records, and its reports written.

Contract:
- ``read_run(directory)`` reads what ``OptimizationResult.export`` wrote: ``winner.json``,
  ``baseline/winner.json``, ``trials.jsonl`` and, when the run had a test set, ``predictions.jsonl``;
  ``feedback.jsonl`` when someone reviewed it. A missing or unreadable file is a ``ConfigError`` that
  names it (the files are untrusted; ``report.run_record`` reads the rows). The start and the winner
  become ``PromptView`` records (``prompt_view``), the leaderboard's trials get their 95% bootstrap
  intervals and the complete ones their Pareto front, so the report computes and loads nothing itself.
- ``write_report(directory)`` writes ``report.md`` and ``report.html`` beside those files and returns
  both paths.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from autoprompt.errors import ConfigError
from autoprompt.evaluate.stats import bootstrap, pareto_front
from autoprompt.export.formats import flatten
from autoprompt.export.manifest import ExportedPrompt, load_prompt
from autoprompt.files import refuse_links, write_text
from autoprompt.report.html import page
from autoprompt.report.run_record import PromptView, RunRecord, TestRow, read_tests, read_trials
from autoprompt.report.writer import labelled, markdown, ranked
from autoprompt.storage.feedback_file import FEEDBACK_FILE, load_feedback


def read_run(directory: str | Path) -> RunRecord:
    directory = Path(directory)
    refuse_links(directory, "run folder")
    winner = load_prompt(directory)
    baseline = load_prompt(directory / "baseline") if (directory / "baseline").is_dir() else winner
    trials = read_trials(directory / "trials.jsonl")
    tests = read_tests(directory / "predictions.jsonl")
    notes = directory / FEEDBACK_FILE
    feedback = tuple(load_feedback(notes)) if notes.is_file() else ()
    run = RunRecord(directory, winner.manifest, prompt_view(winner), prompt_view(baseline), trials, tests, feedback)
    sent = request_example(winner, tests, labelled=labelled(run))
    return replace(run, winner=replace(run.winner, request=sent), pareto=tuple(pareto_front(run.complete)),
                   intervals={t.number: bootstrap(list(t.scores)) for t in ranked(run) if t.scores})


def prompt_view(exported: ExportedPrompt) -> PromptView:
    """``exported`` as the report shows it (its request is the run's: ``request_example``)."""
    return PromptView(text=prompt_text(exported), labels=tuple(exported.prompt.label_words),
                      input_names=tuple(exported.input_names), model=exported.model)


def prompt_text(exported: ExportedPrompt) -> str:
    """The prompt with ``{{name}}`` where each input goes (or rendered with the names, if it transforms them)."""
    try:
        return flatten(exported)
    except ConfigError:
        return exported.render(**{n: "{{" + n + "}}" for n in exported.input_names})


def request_example(exported: ExportedPrompt, tests: tuple[TestRow, ...], *, labelled: bool) -> tuple[str, str] | None:
    """The request as sent for the first test row: (what it is, the request as text); the whole SDK request
    for a hosted model, the scored text or messages for any other. None without test inputs."""
    inputs = dict(tests[0].fields) if tests else {}
    if not inputs or any(name not in inputs for name in exported.input_names):
        return None
    api = exported.model.api
    if api in ("openai", "anthropic"):
        request = exported.openai_request(**inputs) if api == "openai" else exported.anthropic_request(**inputs)
        sdk = "litellm.completion()" if exported.model.provider == "litellm" else f"the {api} SDK's create()"
        return f"the keyword arguments of {sdk} for test row {tests[0].example_id}", \
            json.dumps(request, indent=2, ensure_ascii=False)
    sent = exported.prompt.request(inputs)
    text = sent if isinstance(sent, str) else json.dumps([{"role": m.role, "content": m.content} for m in sent],
                                                         indent=2, ensure_ascii=False)
    labels = f"; each label is scored as the text after it: {json.dumps(list(exported.continuations().values()))}" \
        if labelled and exported.prompt.label_words else ""
    return f"the text {exported.model.name} was sent for test row {tests[0].example_id}{labels}", text


def write_report(directory: str | Path) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` for the run in ``directory``; return both paths."""
    run = read_run(directory)
    md, page_path = run.directory / "report.md", run.directory / "report.html"
    write_text(md, markdown(run))
    write_text(page_path, page(run))
    return md, page_path
