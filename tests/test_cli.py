"""The command line: a full run on the fake model, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autoprompt.cli", *args], capture_output=True, text=True)


def test_optimize_then_eval_reproduces_the_test_score(tmp_path: Path, keyword_csv: Path) -> None:
    out = tmp_path / "run"
    run = cli("optimize", "--data", str(keyword_csv), "--input", "text", "--target", "label", "--model", "fake",
              "--budget", "300", "--seed", "0", "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "exported winner" in run.stdout and "dev_score" in run.stdout
    manifest = json.loads((out / "winner.json").read_text())
    ev = cli("eval", "--prompt", str(out / "winner.json"), "--data", str(out / "data" / "test.csv"),
             "--model", "fake", "--json")
    assert ev.returncode == 0, ev.stderr
    report = json.loads(ev.stdout)
    assert report["n"] == manifest["scores"]["test"]["n"]
    assert report["accuracy"] == manifest["scores"]["test"]["winner"]
    report_md = (out / "report.md").read_text()
    assert "## Pareto front" in report_md and "## Operators" in report_md
    board = report_md.split("## Leaderboard")[1].split("##")[0]
    rows = [line.replace("\\|", "") for line in board.splitlines() if line.startswith("|")]
    assert len(rows) > 2 and len({row.count("|") for row in rows}) == 1  # pipes inside cells are escaped
    import optuna

    study = optuna.load_study(study_name="autoprompt", storage=f"sqlite:///{out / 'study.sqlite3'}")
    assert len(study.trials) == len((out / "trials.jsonl").read_text().splitlines())
    assert study.best_value == max(t["score"] for t in map(json.loads, (out / "trials.jsonl").read_text().splitlines())
                                   if t["state"] == "complete")
    assert "optuna-dashboard sqlite:///" in run.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "review", "--target", "label"], "column 'review' is not in"),
        (["--input", "text", "--target", "label", "--template", "Q: {{ question }}"], "'question'"),
        (["--input", "text", "--target", "label", "--model", "local:/no/such/model.gguf"], "does not exist"),
        (["--input", "text", "--target", "label", "--budget", "0"], "budget must be a positive"),
        (["--input", "text", "--target", "label", "--operators", "edit,gradient"], "unknown operator family"),
        (["--input", "text", "--target", "label", "--optimizer-model", "gpt9"], "unknown model 'gpt9'"),
        (["--input", "text", "--target", "label", "--max-prompt-tokens", "0"], "max_prompt_tokens must be"),
        (["--input", "text", "--target", "label", "--json-schema", "/no/schema.json"], "cannot read the JSON schema"),
        (["--input", "text", "--target", "label", "--json-schema", "{\"type\": 1}"], "'type' must be"),
        (["--input", "text", "--target", "label", "--json-schema", "{}"], "is not a JSON schema"),
        (["--input", "text", "--target", "label", "--metric", "json_f1"], "is not JSON"),
        (["--input", "text", "--target", "label", "--system", "Sort {{ text }}."], "--system: template 'system' uses"),
        (["--input", "text", "--target", "label", "--system", "{{ 1/0 }}"], "system"),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(tmp_path: Path, keyword_csv: Path, args: list[str],
                                               message: str) -> None:
    run = cli("optimize", "--data", str(keyword_csv), "--model", "fake", "--out", str(tmp_path / "o"), *args)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], run.stderr


def test_empty_file_is_one_line_with_exit_code_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    run = cli("optimize", "--data", str(empty), "--input", "text", "--target", "label", "--model", "fake",
              "--out", str(tmp_path / "o"))
    assert run.returncode == 2 and run.stderr.strip().count("\n") == 0 and "is empty" in run.stderr


def test_every_command_has_help_with_an_example() -> None:
    for command in ((), ("optimize",), ("eval",), ("report",), ("export",), ("init",)):
        run = cli(*command, "--help")
        assert run.returncode == 0 and "example:" in run.stdout, command


def test_config_file_runs_and_flags_win(tmp_path: Path, keyword_csv: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(f"data: {keyword_csv}\ninput: [text]\ntarget: label\nmodel: fake\nbudget: 5000\n"
                      f"max-prompt-tokens: 400\nout: {tmp_path / 'from_file'}\n")
    run = cli("optimize", "--config", str(config), "--budget", "120", "--out", str(tmp_path / "flag"))
    assert run.returncode == 0, run.stderr
    manifest = json.loads((tmp_path / "flag" / "winner.json").read_text())
    assert manifest["model"] == "fake" and manifest["model_calls"]["search"] <= 120
    assert not (tmp_path / "from_file").exists()


def test_report_and_export_commands_work_on_a_run(tmp_path: Path, keyword_csv: Path) -> None:
    out = tmp_path / "run"
    assert cli("optimize", "--data", str(keyword_csv), "--input", "text", "--target", "label", "--model", "fake",
               "--budget", "100", "--out", str(out)).returncode == 0
    (out / "report.html").unlink()
    run = cli("report", str(out))
    assert run.returncode == 0 and (out / "report.html").is_file() and "report.html" in run.stdout
    run = cli("export", str(out), "--format", "openai", "--model", "gpt-4o-mini")
    request = json.loads((out / "export" / "openai" / "openai.json").read_text())
    assert run.returncode == 0 and request["model"] == "gpt-4o-mini" and "{{text}}" in request["messages"][0]["content"]
    run = cli("export", str(tmp_path / "missing"), "--format", "anthropic")
    assert run.returncode == 2 and "no exported prompt" in run.stderr and "Traceback" not in run.stderr


def test_dry_run_estimates_without_calling_anything(tmp_path: Path, keyword_csv: Path) -> None:
    run = cli("optimize", "--data", str(keyword_csv), "--input", "text", "--target", "label", "--model",
              "openai:gpt-4o-mini@http://127.0.0.1:9/v1", "--budget", "200", "--out", str(tmp_path / "o"),
              "--dry-run")
    assert run.returncode == 0, run.stderr
    assert "at most 248 model calls" in run.stdout and "$" in run.stdout and "nothing was sent" in run.stdout
    assert not (tmp_path / "o").exists()


def test_dry_run_counts_judge_calls_and_sampled_answers(tmp_path: Path) -> None:
    run = cli("optimize", "--data", "past_tense", "--model", "fake", "--budget", "500", "--out", str(tmp_path / "o"),
              "--metric", "judge:correctness", "--consistency", "3", "--dry-run")
    assert run.returncode == 0, run.stderr
    assert f"at most {500 + 2 * 80 * (1 + 1 + 3)} model calls" in run.stdout
    bad = cli("optimize", "--data", "past_tense", "--model", "fake", "--out", str(tmp_path / "o"),
              "--metric", "judge:kindness")
    assert bad.returncode == 2 and "unknown judge rubric 'kindness'" in bad.stderr and "Traceback" not in bad.stderr


def test_version_help_and_module_entry_point() -> None:
    """``--version``, ``python -m autoprompt`` and a bare ``autoprompt`` (which prints what it can do)."""
    import autoprompt

    version = cli("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"autoprompt {autoprompt.__version__}"
    module = subprocess.run([sys.executable, "-m", "autoprompt", "--help"], capture_output=True, text=True)
    assert module.returncode == 0 and "optimize" in module.stdout and "resume" in module.stdout
    bare = cli()
    assert bare.returncode == 0 and bare.stdout.startswith("usage: autoprompt") and not bare.stderr


def test_an_abbreviated_flag_is_a_mistake_not_a_guess(tmp_path: Path) -> None:
    out = cli("optimize", "--dat", "reviews.csv", "--out", str(tmp_path / "run"))
    assert out.returncode == 2 and "unrecognized arguments: --dat" in out.stderr
    assert not (tmp_path / "run").exists()


def test_quiet_and_verbose_choose_what_stderr_shows_and_change_no_result(tmp_path: Path, keyword_csv: Path) -> None:
    flags = ["optimize", "--data", str(keyword_csv), "--input", "text", "--target", "label", "--model", "fake",
             "--budget", "200", "--seed", "0"]
    runs = {name: cli(*flags, "--out", str(tmp_path / name), *extra)
            for name, extra in (("default", []), ("quiet", ["-q"]), ("verbose", ["-v"]))}
    assert all(run.returncode == 0 for run in runs.values()), {k: r.stderr for k, r in runs.items()}
    assert "calls | trial" in runs["default"].stderr and "autoprompt: trial" not in runs["default"].stderr
    assert runs["quiet"].stderr.strip() == ""
    logged = [line for line in runs["verbose"].stderr.splitlines() if line.startswith("autoprompt: trial ")]
    trials = (tmp_path / "verbose" / "trials.jsonl").read_text().splitlines()
    assert len(logged) == len(trials) and "calls | trial" not in runs["verbose"].stderr
    assert "autoprompt: the winner: " in runs["verbose"].stderr
    winners = {name: json.loads((tmp_path / name / "winner.json").read_text())["candidate"] for name in runs}
    assert winners["quiet"] == winners["default"] == winners["verbose"]
    both = cli(*flags, "--out", str(tmp_path / "both"), "-q", "-v")
    assert both.returncode == 2 and "not allowed with" in both.stderr and not (tmp_path / "both").exists()


def test_eval_scores_with_the_runs_own_model_by_default(tmp_path: Path, keyword_csv: Path) -> None:
    out = tmp_path / "run"
    run = cli("optimize", "--data", str(keyword_csv), "--input", "text", "--target", "label", "--model", "fake",
              "--budget", "150", "--seed", "0", "--out", str(out), "-q")
    assert run.returncode == 0, run.stderr
    ev = cli("eval", "--prompt", str(out), "--data", str(out / "data" / "test.csv"), "--json")
    assert ev.returncode == 0, ev.stderr
    scores = json.loads((out / "winner.json").read_text())["scores"]
    report = json.loads(ev.stdout)
    assert report["accuracy"] == scores["test"]["winner"]
    targets = pd.read_csv(out / "data" / "test.csv")["label"]
    commonest = max(dict.fromkeys(targets), key=lambda label: int((targets == label).sum()))  # the first, on a tie
    share = float((targets == commonest).mean())
    floor = report["constant"]
    assert floor["label"] == commonest and floor["share"] == floor["score"] == share
    assert floor["difference"] == pytest.approx(report["accuracy"] - share)
    text = cli("eval", "--prompt", str(out), "--data", str(out / "data" / "test.csv"))
    assert text.returncode == 0 and text.stdout.splitlines()[1].startswith(
        f"always answering {commonest!r} (the commonest label of the labelled rows, {share:.0%} of them) on these "
        f"rows: {share:.3f}; prompt minus it {report['accuracy'] - share:+.3f} [")


def test_the_flags_of_resume_worker_and_eval_are_the_run_specifications() -> None:
    """Declared once, in ``spec/fields.py``: the help of a setting's flag is the same in every command."""
    import argparse

    from autoprompt.cli import _parser
    from autoprompt.spec import options

    commands = {a.dest: a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)}["command"]
    for command, names in {"eval": ("model", "metric", "judge_model"), "resume": ("model", "budget"),
                           "worker": ("storage", "run_name", "model")}.items():
        flags = {a.dest: a for a in commands.choices[command]._actions}
        for name in names:
            assert flags[name].help.startswith(options()[name][1].help), (command, name)


def test_the_dry_run_estimates_the_task_the_run_will_search(tmp_path: Path) -> None:
    """One preparation for both: with --json-schema the rows are a JSON task (free text, up to 256 tokens
    an answer), though their few repeated targets would read as labels without it."""
    data = tmp_path / "rows.csv"
    frame = pd.DataFrame({"text": [f"order {i} {'shipped' if i % 2 else 'late'}" for i in range(40)],
                          "label": [json.dumps({"ok": bool(i % 2)}) for i in range(40)]})
    frame.to_csv(data, index=False)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}))
    flags = ["optimize", "--data", str(data), "--input", "text", "--target", "label", "--model", "fake",
             "--budget", "300", "--out", str(tmp_path / "o"), "--dry-run"]
    labels, structured = cli(*flags), cli(*flags, "--json-schema", str(schema))
    assert labels.returncode == structured.returncode == 0, (labels.stderr, structured.stderr)

    def per_call(out: str) -> float:
        words = out.split()
        return int(words[words.index("output") - 1]) / int(words[words.index("model") - 1])

    assert per_call(labels.stdout) == 12 and per_call(structured.stdout) == 256


def test_optimize_help_shows_its_flags_in_sections() -> None:
    from autoprompt.spec import sections

    text = cli("optimize", "--help").stdout
    titles = [line[:-1] for line in text.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert [t for t in titles if t in sections()] == list(sections())
    section = text.split("\nsearch:\n")[1].split("\n\n")[0]
    assert "  --strategy" in section and "  --operators" in section and "  --budget" not in section


def _facts(task: object) -> tuple[object, ...]:
    """What the search reads of a task: its kind, labels, answer settings and rows."""
    setup, data = task.setup, task.data  # type: ignore[attr-defined]
    return (setup.kind, setup.labels, setup.input_names, setup.target_name, setup.max_output_tokens, setup.stop,
            setup.answer_pattern, setup.json_schema, setup.description,
            *([ex.id for ex in part.examples] for part in (data.train, data.dev, data.test)))


@pytest.mark.parametrize("targets", ["labels", "json", "text"])
@pytest.mark.parametrize("schema", [False, True])
@pytest.mark.parametrize("kind", [None, "classification", "generation"])
def test_the_dry_run_and_the_run_build_the_same_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, targets: str,
                                                     schema: bool, kind: str | None) -> None:
    """Every combination of the settings that change a task's kind (the targets, a JSON schema, ``kind``):
    ``--dry-run`` estimates exactly the task the run would search, or both refuse it with the same line."""
    from autoprompt.cli import _parser, _spec, main
    from autoprompt.errors import AutopromptError
    from autoprompt.search import estimate as estimate_module
    from autoprompt.search.assembly import build_optimizer

    target = {"labels": lambda i: ("yes", "no")[i % 2], "json": lambda i: json.dumps({"ok": bool(i % 2)}),
              "text": lambda i: f"answer number {i}"}[targets]
    pd.DataFrame({"text": [f"row {i} says {i % 5}" for i in range(40)],
                  "label": [target(i) for i in range(40)]}).to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "schema.json").write_text(json.dumps({"type": "object", "properties": {"ok": {"type": "boolean"}}}))
    config = {"data": str(tmp_path / "rows.csv"), "input": "text", "target": "label", "model": "fake",
              "budget": 3000, **({"kind": kind} if kind else {}),
              **({"json_schema": str(tmp_path / "schema.json")} if schema else {})}
    (tmp_path / "run.yaml").write_text(json.dumps(config))  # JSON is YAML
    argv = ["optimize", "--config", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "out")]
    estimated: list[object] = []
    monkeypatch.setattr(estimate_module, "estimate", lambda task, **_: estimated.append(task) or "estimate")
    code = main([*argv, "--dry-run"])
    try:
        built = build_optimizer(_spec(_parser().parse_args(argv))).task
    except AutopromptError as exc:
        assert code == exc.exit_code and not estimated, f"the run refuses ({exc}) what the dry run estimated"
        return
    assert code == 0 and len(estimated) == 1
    assert _facts(estimated[0]) == _facts(built)
