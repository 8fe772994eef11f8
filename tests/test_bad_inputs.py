"""The bad-input table: every way a careless or hostile user can get an input wrong.

Each CLI case asserts: exit code 2, exactly one line on stderr that starts with
``autoprompt: error:`` and names the problem (progress-bar lines of a run that had
started are not counted), no traceback, and every file that existed before the command
(the user's data, configs, manifests, run directories) byte for byte unchanged. Python
API cases assert an ``autoprompt.errors`` exception with a message naming the problem.

Groups: data, templates, user components (--clarifier/--context), configs, flags,
output folders, run directories (resume/report/export/review), manifests, feedback
files, the Python API. Add a case here for every bad input a user reports.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

import autoprompt
from autoprompt.cli import main
from autoprompt.data.dataset import DataWarning
from autoprompt.errors import AutopromptError
from autoprompt.search.task import prepare_task
from autoprompt.spec import RunSpec, Search

ROWS = [{"text": f"item {i} says {label} clearly", "label": label}
        for i, label in enumerate(("yes", "no", "maybe") * 20)]
CSV = "text,label\n" + "".join(f"{r['text']},{r['label']}\n" for r in ROWS)
OPT = ("optimize", "--data", "{d}/data.csv", "--input", "text", "--target", "label", "--model", "fake",
       "--budget", "200", "--out", "{d}/out")


SECRETS = ("sk-secret", "sk-live-123")  # keys planted in cases: never printed back
CASE_SECONDS = 10  # every case ends within this, hostile patterns and templates included


@dataclass(frozen=True)
class Case:
    """One bad input: files to write first (text or bytes), the command line, and a phrase the error must hold."""

    id: str
    argv: tuple[str, ...]
    expect: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    run: bool = False  # copy a finished fake run to {d}/run first
    edit: Callable[[Path], None] | None = None  # change something in {d} after the files are written


def opt(*extra: str, drop: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The optimize command line with ``extra`` flags (a flag in ``drop`` is removed with its value)."""
    argv = list(OPT)
    for flag in drop:
        i = argv.index(flag)
        del argv[i:i + 2]
    return (*argv, *extra)


def _edit_json(name: str, change: Callable[[dict], None]) -> Callable[[Path], None]:  # type: ignore[type-arg]
    def edit(d: Path) -> None:
        path = d / "run" / name
        record = json.loads(path.read_text())
        change(record)
        path.write_text(json.dumps(record))
    return edit


def _set_argument(key: str, value: object) -> Callable[[Path], None]:
    return _edit_json("run.json", lambda r: r["arguments"].__setitem__(key, value))


def _set_manifest(key: str, value: object) -> Callable[[Path], None]:
    return _edit_json("winner.json", lambda r: r.__setitem__(key, value))


def _drop_manifest(key: str) -> Callable[[Path], None]:
    return _edit_json("winner.json", lambda r: r.pop(key))


def _killed(d: Path) -> None:
    """The run as a kill leaves it: no export yet."""
    for name in ("winner.json", "winner.jinja", "report.md", "report.html", "leaderboard.csv"):
        (d / "run" / name).unlink()


def _damaged_log(d: Path) -> None:
    """A line in the middle of the trial log cut short just after a ``}``, with whole lines after it."""
    log = d / "run" / "trials.log.jsonl"
    lines = log.read_text().splitlines()
    log.write_text("\n".join([*lines[:2], lines[2][:40] + "}", *lines[3:]]) + "\n")


def _changed_template(d: Path) -> None:
    """The run's copy of its template file, edited after a kill: the kill-edit-resume a user may do."""
    (d / "run" / "inputs" / "template.jinja").write_text("Text: {{ text }}\nLabel:")
    _set_argument("template", "$RUN/inputs/template.jinja")(d)
    record = json.loads((d / "run" / "run.json").read_text())
    import hashlib
    record["hashes"]["template"] = hashlib.sha256(b"Text: {{ text }}\nAnswer:").hexdigest()
    (d / "run" / "run.json").write_text(json.dumps(record))


def _changed_data(d: Path) -> None:
    (d / "run" / "inputs" / "data.csv").write_text(CSV.replace("item 7 says", "item 7 now says"))


def _link(name: str) -> Callable[[Path], None]:
    """Plant a symbolic link at ``run/name`` pointing at a file (or, for a folder, a folder) of the user's."""
    def edit(d: Path) -> None:
        planted = d / "run" / name
        victim = d / ("victim" if planted.is_dir() else "victim.txt")
        if planted.is_dir():
            victim.mkdir()
            (victim / "keep.txt").write_text("the user's own file\n")
            shutil.rmtree(planted)
        else:
            victim.write_text("the user's own file\n")
            planted.unlink(missing_ok=True)
        planted.symlink_to(victim)
    return edit


def _fifo(name: str) -> Callable[[Path], None]:
    """A named pipe nobody writes to: reading it would block forever."""
    return lambda d: os.mkfifo(d / name)


LINKED = ("report.md", "report.html", "run.lock", "trials.log.jsonl", "leaderboard.csv", "trials.jsonl",
          "winner.jinja", "cache.sqlite", "data", "predictions.jsonl", "run.json.tmp", "baseline", "inputs",
          "inputs/data.csv")
RUN_COMMANDS = {"report": ("report", "{d}/run"), "resume": ("resume", "{d}/run"),
                "export": ("export", "{d}/run", "--format", "openai")}


RECURSIVE = "{% macro f(x) %}{{ f(x) }}{% endmacro %}{{ f(text) }}"
HUGE = "{{ text }}{% for i in range(99000) %}{{ 'xxxxxxxxxxxxxxxxxxxx' }}{% endfor %}"  # 2 MB from few steps
NESTED = "{{ text }}{% for a in range(100) %}{% for b in range(100) %}{% for c in range(100) %}{% for d in " \
         "range(100) %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}"  # 10**8 steps, each range allowed
BAD_TEMPLATES = {
    "syntax": ("{{ text", "syntax error"),
    "missing-variable": ("Q: {{ question }}", "'question'"),
    "include": ("{% include 'other.jinja' %}{{ text }}", "include"),
    "import": ("{% import 'm.jinja' as m %}{{ text }}", "import"),
    "extends": ("{% extends 'base.jinja' %}", "extends"),
    "division-by-zero": ("{{ text }} {{ 1/0 }}", "division by zero"),
    "recursive-macro": (RECURSIVE, "recursion"),
    "huge-range": ("{% for i in range(10**6) %}{% endfor %}{{ text }}", "range"),
    "type-error": ("{{ text + 1 }}", "failed to render"),
    "unknown-filter": ("{{ text | shout }}", "filter"),
    "unsafe": ("{{ text.__class__.__mro__ }}", "unsafe"),
    "attr-format-escape": ("{{ ('{0.__class__.__init__.__globals__}'|attr('format'))(text) }}", "unsafe"),
    "attribute-of-undefined": ("{{ text.upper().nothing.more }}", "failed to render"),
    "huge-output": (HUGE, "characters"),
    "nested-loops": (NESTED, "steps"),
    "loops-over-the-input": ("{% for a in text %}{% for b in text %}{% for c in text %}{% for d in text %}"
                             "{% endfor %}{% endfor %}{% endfor %}{% endfor %}{{ text }}", "steps"),
    "string-times-billion": ("{{ text }}{{ 'x' * 10**9 }}", "would build"),
    "list-times-billion": ("{{ text }}{{ ([1] * 10**9) | length }}", "would build"),
    "power-tower": ("{{ text }}{{ 7 ** 100000000 }}", "exponent"),
}
HOSTILE_WINNERS = ("nested-loops", "loops-over-the-input", "string-times-billion", "power-tower", "huge-output",
                   "recursive-macro")

def _component(name: str) -> str:
    return BAD_TEMPLATES[name][0].replace("text", "labels")


# run.json tampered with: each saved setting given a value of the wrong shape (a mapping that is no
# kept object, where most settings hold text, numbers or lists; a list where mappings belong)
TAMPERED = {name: {"planted": [1]} for name in (
    "inputs", "target", "dev", "test", "template", "system", "model", "api_base", "api_key_env", "model_options",
    "metric", "max_output_tokens", "stop", "answer_pattern", "json_schema", "budget", "max_seconds", "max_tokens",
    "max_usd", "cache", "prices", "price", "concurrency", "rpm", "tpm", "seed", "kind", "description",
    "library", "clarifiers", "context", "top_k", "first_rung", "strategy", "operators", "optimizer_model",
    "max_prompt_tokens", "storage", "judge_model", "consistency", "temperature", "consistency_weight", "feedback")}
TAMPERED.update({"limits": {"concurrency": 2, "planted": 1}, "label_definitions": ["planted"],
                 "label_words": {"set": ["planted"]}, "data": ["planted"]})
TAMPERED_CASES = [Case(f"resume-tampered-{name.replace('_', '-')}", ("resume", "{d}/run"), name, run=True,
                       edit=_set_argument(name, value)) for name, value in TAMPERED.items()]

# settings of the wrong shape in a config: one line naming the setting, never an AttributeError mid-run
SHAPES = (  # id, the YAML line, what the error names
    ("config-cache-number", "cache: 5", "cache"),
    ("config-cache-list", "cache: [a.sqlite]", "cache"),
    ("config-cache-mapping", "cache: {path: a.sqlite}", "cache"),
    ("config-cache-true", "cache: true", "cache"),
    ("config-model-mapping", "model: {provider: openai}", "model"),
    ("config-model-number", "model: 5", "model"),
    ("config-optimizer-model-list", "optimizer_model: [fake]", "optimizer_model"),
    ("config-judge-model-mapping", "judge_model: {name: fake}", "judge_model"),
    ("config-metric-number", "metric: 5", "metric"),
    ("config-metric-mapping", "metric: {name: accuracy}", "metric"),
    ("config-metric-list", "metric: [accuracy]", "metric"),
    ("config-dev-mapping", "dev: {a: 1}", "dev"),
    ("config-test-number", "test: 3", "test"),
    ("config-prices-list", "prices: [1, 2]", "prices"),
    ("config-prices-short", "prices: {prices: {fake: [1]}}", "prices"),
    ("config-library-text", "library: x", "library"),
    ("config-library-unknown", "library: {a: 1}", "library"),
    ("config-label-words-unknown-label", "label_words: {short: {'yes': y, 'no': n, maybe: m, perhaps: p}}", "perhaps"),
    ("config-label-words-missing-label", "label_words: {short: {'yes': y}}", "lacks 'maybe'"),
    ("config-label-words-flat", "label_words: {positive: good}", "label_words"),
    ("config-definitions-unknown-label", "label_definitions: {perhaps: not sure}", "perhaps"),
    ("config-definitions-list", "label_definitions: [a, b]", "label_definitions"),
    ("config-feedback-numbers", "feedback: [1, 2]", "feedback"),
    ("config-operators-unknown", "operators: [feedback, magic]", "magic"),
    ("config-inputs-number", "input: 5", "input"),
    ("config-stop-mapping", "stop: {a: 1}", "stop"),
    ("config-kind-unknown", "kind: regression", "kind"),
    ("config-model-options-mapping", "model_option: {a: 1}", "model_option"),
)
SHAPE_CASES = [Case(id_, opt("--config", "{d}/c.yaml"), expect, files={"c.yaml": line + "\n"})
               for id_, line, expect in SHAPES]

CASES: list[Case] = [
    # data
    Case("data-missing-file", opt("--data", "{d}/nope.csv", drop=("--data",)), "nope.csv"),
    Case("data-empty-file", OPT, "data.csv", files={"data.csv": ""}),
    Case("data-header-only", OPT, "no rows", files={"data.csv": "text,label\n"}),
    Case("data-ragged-csv", OPT, "data.csv", files={"data.csv": CSV + "a,yes,extra,fields\n"}),
    Case("data-not-utf8", OPT, "UTF-8", files={"data.csv": CSV.encode() + "café,yes\n".encode("latin-1")}),
    Case("data-binary", OPT, "data.csv", files={"data.csv": bytes(range(256)) * 4}),
    Case("data-jsonl-line-not-object", opt("--data", "{d}/data.jsonl", drop=("--data",)), "line 3",
         files={"data.jsonl": "".join(json.dumps(r) + "\n" for r in ROWS[:2]) + "[1, 2]\n"
                + "".join(json.dumps(r) + "\n" for r in ROWS[2:])}),
    Case("data-jsonl-bad-json", opt("--data", "{d}/data.jsonl", drop=("--data",)), "line 2",
         files={"data.jsonl": json.dumps(ROWS[0]) + "\n{not json\n"}),
    Case("data-input-column-missing", opt("--input", "review", drop=("--input",)), "column 'review'"),
    Case("data-target-column-missing", opt("--target", "class", drop=("--target",)), "column 'class'"),
    Case("data-input-is-target", opt("--input", "label", drop=("--input",)), "both an input and the target"),
    Case("data-one-label", OPT, "single class",
         files={"data.csv": "text,label\n" + "".join(f"t{i},yes\n" for i in range(30))}),
    Case("data-is-a-folder", opt("--data", "{d}/folder", drop=("--data",)), "folder",
         files={"folder/x.txt": "x"}),
    Case("data-unknown-bundled-task", opt("--data", "sentimnt", drop=("--data",)), "sentimnt"),
    Case("data-json-not-a-list", opt("--data", "{d}/data.json", drop=("--data",)), "list of objects",
         files={"data.json": '{"text": "a", "label": "yes"}'}),
    Case("data-json-bad", opt("--data", "{d}/data.json", drop=("--data",)), "line 1", files={"data.json": "[{"}),
    Case("test-repeats-train", opt("--test", "{d}/test.csv"), "no test rows are left", files={"test.csv": CSV}),
    Case("data-blank-label", OPT, "no value in target column 'label' (data rows 3)",
         files={"data.csv": CSV.replace("item 2 says maybe clearly,maybe", "item 2 says maybe clearly,  ")}),
    Case("data-null-label-jsonl", opt("--data", "{d}/data.jsonl", drop=("--data",)), "no value in target column",
         files={"data.jsonl": "".join(json.dumps({**r, "label": None if i == 4 else r["label"]}) + "\n"
                                      for i, r in enumerate(ROWS))}),
    Case("data-a-fifo", opt("--data", "{d}/pipe.csv", drop=("--data",)), "not a regular file", edit=_fifo("pipe.csv")),
    Case("flag-json-schema-a-fifo", opt("--json-schema", "{d}/pipe.json", "--metric", "json_f1"),
         "not a regular file", edit=_fifo("pipe.json")),
    Case("data-input-named-twice", opt("--input", "text,text", drop=("--input",)), "named twice"),
    Case("data-header-repeats-a-column", OPT, "appears twice", files={"data.csv": "text,text,label\na,b,yes\n"}),
    Case("dev-label-not-in-train", opt("--dev", "{d}/dev.csv"), "'perhaps'",
         files={"dev.csv": "text,label\nitem says perhaps,perhaps\nitem says yes,yes\n"}),
    Case("test-label-not-in-train", opt("--dev", "{d}/dev.csv", "--test", "{d}/test.csv"), "'never'",
         files={"dev.csv": CSV.replace("item", "thing"),
                "test.csv": "text,label\nitem says never,never\nitem says yes,yes\n"}),
    Case("dev-repeats-train", opt("--dev", "{d}/dev.csv"), "no dev rows are left", files={"dev.csv": CSV}),
    Case("dev-file-missing", opt("--dev", "{d}/nodev.csv"), "nodev.csv"),
    Case("dev-other-columns", opt("--dev", "{d}/dev.csv"), "column 'text'",
         files={"dev.csv": "sentence,label\na,yes\nb,no\n"}),
    # templates given with --template, and the same payloads as your own components
    *[Case(f"template-{name}", opt("--template", source), expect) for name, (source, expect) in BAD_TEMPLATES.items()],
    Case("template-no-input", opt("--template", "Answer yes or no:"), "none of the input columns"),
    Case("template-a-folder", opt("--template", "{d}/folder"), "not one", files={"folder/x.txt": "x"}),
    Case("template-dev-null", opt("--template", "/dev/null"), "none of the input columns"),
    Case("clarifier-empty", opt("--clarifier", " "), "--clarifier 1 is empty"),
    Case("template-file-missing", opt("--template", "{d}/prompt.jinja"), "prompt.jinja"),
    # components render with the task's constants (labels, description...), not an example's inputs
    *[Case(f"clarifier-{name}", opt("--clarifier", _component(name)), BAD_TEMPLATES[name][1])
      for name in ("include", "division-by-zero", "unknown-filter", "recursive-macro", "type-error", "syntax",
                   "huge-output")],
    Case("clarifier-uses-an-input", opt("--clarifier", "Mind {{ text }}."), "'text' is undefined"),
    *[Case(f"context-{name}", opt("--context", _component(name)), BAD_TEMPLATES[name][1])
      for name in ("extends", "huge-range", "unsafe", "missing-variable")],
    # configs
    Case("config-missing", opt("--config", "{d}/nope.yaml"), "nope.yaml"),
    Case("config-yaml-bomb", opt("--config", "{d}/c.yaml"), "aliases", files={"c.yaml": "a: &a ['x','x','x','x']\n"
         + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))
         + "seed: 0\n"}),
    Case("config-too-big", opt("--config", "{d}/c.yaml"), "at most", files={"c.yaml": "# x\n" * 400_000}),
    Case("config-bad-yaml", opt("--config", "{d}/c.yaml"), "not valid YAML", files={"c.yaml": "budget: [1, 2\n"}),
    Case("config-binary", opt("--config", "{d}/c.yaml"), "c.yaml", files={"c.yaml": bytes(range(256))}),
    Case("config-a-list", opt("--config", "{d}/c.yaml"), "mapping", files={"c.yaml": "- 1\n- 2\n"}),
    Case("config-unknown-key", opt("--config", "{d}/c.yaml"), "budgett", files={"c.yaml": "budgett: 5\n"}),
    Case("config-budget-text", opt("--config", "{d}/c.yaml", drop=("--budget",)), "budget",
         files={"c.yaml": "budget: lots\n"}),
    Case("config-budget-negative", opt("--config", "{d}/c.yaml", drop=("--budget",)), "budget",
         files={"c.yaml": "budget: -5\n"}),
    Case("config-weight-above-1", opt("--config", "{d}/c.yaml"), "consistency_weight",
         files={"c.yaml": "consistency_weight: 2\n"}),
    *SHAPE_CASES,
    *TAMPERED_CASES,
    Case("config-unknown-strategy", opt("--config", "{d}/c.yaml"), "strategy", files={"c.yaml": "strategy: anneal\n"}),
    # flags
    Case("flag-budget-zero", opt("--budget", "0", drop=("--budget",)), "budget must be"),
    Case("flag-budget-too-small", opt("--budget", "5", drop=("--budget",)), "--budget"),
    Case("flag-concurrency-zero", opt("--concurrency", "0"), "concurrency"),
    Case("flag-max-usd-unknown-price", opt("--max-usd", "1", "--model", "openai:some-unknown-model",
                                           drop=("--model",)), "--price IN,OUT"),
    Case("flag-price-not-a-pair", opt("--price", "1,x"), "two numbers IN,OUT"),
    Case("flag-price-four-numbers", opt("--price", "1,2,3,4"), "two numbers IN,OUT"),
    Case("flag-price-negative", opt("--price=-1,2"), "price must be two (or three) finite numbers"),
    Case("flag-max-seconds-negative", opt("--max-seconds", "-1"), "max_seconds"),
    Case("flag-max-seconds-nan", opt("--max-seconds", "nan"), "max_seconds"),
    Case("flag-max-usd-zero", opt("--max-usd", "0"), "max_usd"),
    Case("flag-max-tokens-zero", opt("--max-tokens", "0"), "max_tokens"),
    Case("flag-rpm-negative", opt("--rpm", "-3"), "rpm"),
    Case("flag-consistency-negative", opt("--consistency", "-2"), "consistency"),
    Case("flag-temperature-negative", opt("--consistency", "2", "--temperature", "-1"), "temperature"),
    Case("flag-temperature-inf", opt("--consistency", "2", "--temperature", "inf"), "temperature"),
    Case("flag-consistency-weight", opt("--consistency", "2", "--consistency-weight", "1.5"), "weight"),
    Case("flag-max-prompt-tokens-zero", opt("--max-prompt-tokens", "0"), "max_prompt_tokens"),
    Case("flag-unknown-operator", opt("--operators", "edit,gradient"), "gradient"),
    Case("flag-no-operators", opt("--operators", ","), "at least one operator"),
    Case("flag-budget-not-a-number", opt("--budget", "lots", drop=("--budget",)), "invalid int value"),
    Case("flag-unknown-format", ("export", "{d}/run", "--format", "yaml"), "invalid choice", run=True),
    Case("flag-unknown-command", ("optimise", "--data", "x"), "invalid choice"),
    Case("flag-cache-is-a-folder", opt("--cache", "{d}/folder"), "is a folder", files={"folder/x.txt": "x"}),
    Case("flag-cache-is-not-a-cache", opt("--cache", "{d}/notes.txt"), "not a SQLite cache",
         files={"notes.txt": "my notes"}),
    Case("flag-storage-down", opt("--strategy", "components", "--storage", "postgresql://me@127.0.0.1:1/db"),
         "cannot connect to the storage"),
    Case("flag-storage-password", opt("--strategy", "components", "--storage",
                                      "postgresql://me:sk-secret@127.0.0.1:1/db"), "PGPASSWORD"),
    Case("flag-unknown-metric", opt("--metric", "acuracy"), "acuracy"),
    Case("flag-bad-regex-metric", opt("--metric", "regex:(["), "regex"),
    # patterns that backtrack without bound fail at once (each case runs under the table's time limit)
    *[Case(f"flag-{name}-backtracks-{i}", argv(pattern), "backtracks without bound")
      for name, argv in (("answer-pattern", lambda p: opt("--answer-pattern", p, "--data", "past_tense",
                                                            drop=("--data", "--input", "--target"))),
                         ("regex-metric", lambda p: opt("--metric", f"regex:{p}")))
      for i, pattern in enumerate((r"(x+x+)+y", r"(.*)\s+(\w+)$", r"(a|aa)+$"))],
    Case("flag-unknown-model", opt("--model", "gpt9", drop=("--model",)), "gpt9"),
    Case("flag-dry-run-budget-too-small", opt("--dry-run", "--budget", "5", drop=("--budget",)), "--budget"),
    Case("flag-dry-run-budget-zero", opt("--dry-run", "--budget", "0", drop=("--budget",)), "budget must be"),
    # output folders
    Case("out-is-a-file", opt("--out", "{d}/out.txt", drop=("--out",)), "out.txt", files={"out.txt": "mine"}),
    Case("out-under-a-file", opt("--out", "{d}/out.txt/run", drop=("--out",)), "out.txt",
         files={"out.txt": "mine"}),
    Case("out-read-only-file-system", opt("--out", "/proc/autoprompt-run", drop=("--out",)), "cannot write"),
    Case("out-holds-other-files", OPT, "not an autoprompt run",
         files={"out/data/test.csv": "my own data\n", "out/report.md": "my notes\n"}),
    Case("out-holds-another-run", opt("--seed", "3"), "another run", run=True,
         edit=lambda d: shutil.move(d / "run", d / "out")),
    # shared runs
    Case("worker-negative-wait", ("worker", "--storage", "sqlite:///{d}/runs.db", "--wait", "-1"), "--wait -1.0"),
    Case("worker-waited-for-no-run", ("worker", "--storage", "sqlite:///{d}/runs.db", "--wait", "0.3", "-q"),
         "holds no run yet"),
    # run directories
    Case("resume-not-a-run", ("resume", "{d}/folder"), "holds no run", files={"folder/x.txt": "x"}),
    Case("resume-missing-dir", ("resume", "{d}/nothing"), "nothing"),
    Case("resume-run-json-not-json", ("resume", "{d}/run"), "run.json", run=True,
         edit=lambda d: (d / "run" / "run.json").write_text("{cut")),
    Case("resume-run-json-first-rung-0", ("resume", "{d}/run"), "first_rung", run=True,
         edit=_set_argument("first_rung", 0)),
    Case("resume-run-json-budget-text", ("resume", "{d}/run"), "budget", run=True,
         edit=_set_argument("budget", "lots")),
    Case("resume-run-json-unknown-argument", ("resume", "{d}/run"), "colour", run=True,
         edit=_set_argument("colour", "red")),
    Case("resume-run-json-arguments-a-list", ("resume", "{d}/run"), "run.json", run=True,
         edit=_edit_json("run.json", lambda r: r.__setitem__("arguments", [1, 2]))),
    Case("resume-run-json-no-data", ("resume", "{d}/run"), "data is required", run=True,
         edit=_edit_json("run.json", lambda r: r["arguments"].pop("data"))),
    Case("resume-run-json-kind", ("resume", "{d}/run"), "kind: Input should be", run=True,
         edit=_set_argument("kind", "poetry")),
    Case("resume-run-json-label-words", ("resume", "{d}/run"), "label_words: Input should be", run=True,
         edit=_set_argument("label_words", 5)),
    Case("resume-run-json-clarifiers-text", ("resume", "{d}/run"), "clarifiers: Input should be", run=True,
         edit=_set_argument("clarifiers", "abc")),
    Case("resume-run-json-consistency", ("resume", "{d}/run"), "consistency must be a whole number", run=True,
         edit=_set_argument("consistency", {"samples": "x"})),
    Case("resume-run-json-limits", ("resume", "{d}/run"), "concurrency", run=True,
         edit=_set_argument("limits", {"concurrency": 0, "rpm": None, "tpm": None})),
    Case("resume-changed-data", ("resume", "{d}/run"), "data.csv", run=True, edit=_changed_data),
    Case("resume-template-file-changed", ("resume", "{d}/run"), "template.jinja changed since", run=True,
         edit=_changed_template),
    Case("resume-data-outside-the-folder", ("resume", "{d}/run"), "outside the run folder", run=True,
         edit=lambda d: _set_argument("data", str(d / "data.csv"))(d)),
    Case("resume-template-outside-the-folder", ("resume", "{d}/run"), "outside the run folder", run=True,
         edit=lambda d: _set_argument("template", str(d / "data.csv"))(d)),
    Case("resume-hashes-emptied", ("resume", "{d}/run"), "holds no hash of the data file", run=True,
         edit=_edit_json("run.json", lambda r: r.__setitem__("hashes", {}))),
    Case("resume-hash-blank", ("resume", "{d}/run"), "holds no hash of the data file", run=True,
         edit=_edit_json("run.json", lambda r: r["hashes"].__setitem__("data", ""))),
    Case("resume-budget-zero", ("resume", "{d}/run", "--budget", "0"), "budget must be", run=True),
    Case("resume-log-damaged-line", ("resume", "{d}/run"), "trials.log.jsonl line 3", run=True,
         edit=lambda d: (_killed(d), _damaged_log(d))),
    Case("report-not-a-run", ("report", "{d}/folder"), "folder", files={"folder/x.txt": "x"}),
    Case("report-killed-run", ("report", "{d}/run"), "resume", run=True, edit=_killed),
    Case("export-killed-run", ("export", "{d}/run", "--format", "openai"), "resume", run=True, edit=_killed),
    Case("export-out-is-a-file", ("export", "{d}/run", "--format", "jinja", "--out", "{d}/x.txt"), "x.txt",
         run=True, files={"x.txt": "mine"}),
    Case("review-n-zero", ("review", "{d}/run", "--n", "0"), "--n", run=True),
    Case("init-under-a-file", ("init", "{d}/x.txt/run.yaml"), "x.txt", files={"x.txt": "mine"}),
    # run folders received from someone else: a link planted at any file is refused, nothing written through it
    *[Case(f"{group}-link-at-{name.replace('.', '-')}", argv, "symbolic link", run=True, edit=_link(name))
      for group, argv in RUN_COMMANDS.items() for name in LINKED],
    Case("export-out-a-folder-of-the-users", ("export", "{d}/run", "--format", "openai", "--out", "{d}/mine"),
         "holds no autoprompt output", run=True, files={"mine/openai.txt": "mine"}),
    Case("export-out-holds-a-link", ("export", "{d}/run", "--format", "openai", "--out", "{d}/exp"),
         "symbolic link", run=True, files={"exp/openai.json": "{}"},
         edit=lambda d: (d / "exp" / "anthropic.json").symlink_to(d / "data.csv")),
    # manifests (winner.json travels between machines: untrusted)
    *[Case(f"manifest-outside-file-{command[0]}", (*command,), "outside", run=True,
           edit=_set_manifest("template_file", path))
      for command in (("export", "{d}/run", "--format", "openai"), ("report", "{d}/run"),
                      ("eval", "--prompt", "{d}/run/winner.json", "--data", "{d}/data.csv", "--model", "fake"))
      for path in ("/etc/passwd",)],
    Case("manifest-dotdot-file", ("export", "{d}/run", "--format", "anthropic"), "outside", run=True,
         edit=_set_manifest("template_file", "../data.csv")),
    Case("manifest-missing-keys", ("eval", "--prompt", "{d}/run/winner.json", "--data", "{d}/data.csv",
                                   "--model", "fake"), "label_words", run=True, edit=_drop_manifest("label_words")),
    Case("manifest-not-json", ("eval", "--prompt", "{d}/run/winner.json", "--data", "{d}/data.csv",
                               "--model", "fake"), "winner.json", run=True,
         edit=lambda d: (d / "run" / "winner.json").write_text("{")),
    Case("manifest-wrong-types", ("eval", "--prompt", "{d}/run/winner.json", "--data", "{d}/data.csv",
                                  "--model", "fake"), "input_names", run=True, edit=_set_manifest("input_names", 5)),
    Case("manifest-bad-template", ("export", "{d}/run", "--format", "openai"), "template", run=True,
         edit=lambda d: (d / "run" / "winner.jinja").write_text("{{ 1/0 }}")),
    Case("manifest-pattern-backtracks", ("eval", "--prompt", "{d}/run", "--data", "{d}/data.csv", "--model", "fake"),
         "backtracks without bound", run=True, edit=_set_manifest("answer_pattern", r"(x+x+)+y")),
    Case("manifest-unknown-task", ("eval", "--prompt", "{d}/run", "--data", "{d}/data.csv", "--model", "fake"),
         "neither classification", run=True, edit=_set_manifest("task", "poetry")),
    Case("eval-data-lacks-columns", ("eval", "--prompt", "{d}/run", "--data", "{d}/other.csv", "--model", "fake"),
         "eval reads the columns", run=True, files={"other.csv": "review,label\na,yes\nb,no\n"}),
    *[Case(f"flag-secret-model-option-{name}", opt("--model-option", f"{name}=sk-live-123"), "looks like a secret")
      for name in ("api_key", "hf_token", "client_secret", "Authorization")],
    Case("flag-model-url-with-key", opt("--model", "openai:gpt-4o-mini@https://me:sk-secret@api.example.com/v1",
                                        drop=("--model",)), "credentials"),
    *[Case(f"eval-hostile-winner-{name}", ("eval", "--prompt", "{d}/run", "--data", "{d}/data.csv", "--model",
                                             "fake"), "does not render", run=True,
           edit=lambda d, source=BAD_TEMPLATES[name][0]: (d / "run" / "winner.jinja").write_text(
               source.replace("text", "inputs.text")))
      for name in HOSTILE_WINNERS],
    *[Case(f"clarifier-{name}", opt("--clarifier", _component(name)), BAD_TEMPLATES[name][1])
      for name in ("nested-loops", "string-times-billion", "power-tower")],
    Case("eval-template-cannot-render", ("eval", "--prompt", "{d}/run", "--data", "{d}/data.csv", "--model", "fake"),
         "does not render", run=True, edit=lambda d: (d / "run" / "winner.jinja").write_text("{{ text + 1 }}")),
    Case("eval-prompt-missing", ("eval", "--prompt", "{d}/none.json", "--data", "{d}/data.csv", "--model", "fake"),
         "none"),
    Case("eval-data-missing", ("eval", "--prompt", "{d}/run", "--data", "{d}/none.csv", "--model", "fake"),
         "none.csv", run=True),
    # feedback files
    Case("feedback-missing", opt("--feedback", "{d}/fb.jsonl"), "fb.jsonl"),
    Case("feedback-not-json", opt("--feedback", "{d}/fb.jsonl"), "fb.jsonl:1", files={"fb.jsonl": "{oops\n"}),
    Case("feedback-not-object", opt("--feedback", "{d}/fb.jsonl"), "fb.jsonl:1", files={"fb.jsonl": "[1]\n"}),
    Case("feedback-unknown-example", opt("--feedback", "{d}/fb.jsonl"), "not in the data",
         files={"fb.jsonl": json.dumps({"example_id": "zzz", "note": "too long"}) + "\n"}),
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("finished")
    (d / "data.csv").write_text(CSV)
    assert main(["optimize", "--data", str(d / "data.csv"), "--input", "text", "--target", "label", "--model",
                 "fake", "--budget", "200", "--out", str(d / "run")]) == 0
    return d


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def error_lines(stderr: str) -> list[str]:
    """stderr without the progress bar's lines (a run that had started draws them)."""
    return [line for line in stderr.splitlines() if line.strip() and not line.lstrip("\r").startswith("[")]


def test_the_table_covers_every_group() -> None:
    groups = {case.id.split("-")[0] for case in CASES}
    assert len(CASES) + len(API_CASES) >= 60
    assert {"data", "template", "clarifier", "context", "config", "flag", "out", "resume", "report", "export",
            "manifest", "eval", "feedback"} <= groups


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_changed(case: Case, tmp_path: Path, finished_run: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data.csv").write_text(CSV)
    if case.run:
        shutil.copytree(finished_run / "run", tmp_path / "run")  # its inputs and cache travel with it
        (tmp_path / "data.csv").write_text((finished_run / "data.csv").read_text())
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    if case.edit is not None:
        case.edit(tmp_path)
    before = snapshot(tmp_path)
    capsys.readouterr()
    started = time.monotonic()
    try:
        code = main([arg.replace("{d}", str(tmp_path)) for arg in case.argv])
    except SystemExit as exit_:  # argparse's usage errors end the process, as from a shell
        code = exit_.code
    assert time.monotonic() - started < CASE_SECONDS, "a bad input must fail at once, not after minutes of work"
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("autoprompt: error: "), err
    assert case.expect.lower() in lines[0].lower(), lines[0]
    assert "error: unexpected" not in lines[0], "a bad input must be checked, not caught by the CLI's last resort"
    assert not any(secret in err for secret in SECRETS), "a secret from the input was echoed"
    after = snapshot(tmp_path)
    assert {name: after.get(name) for name in before} == before, "a file that existed before was changed"


class ShoutMetric:
    """A metric written by a user, with a mistake in it."""

    def __init__(self, value: float | None) -> None:
        self.value = value

    def __call__(self, example: object, output: str) -> float:
        if self.value is None:
            raise KeyError("label_id")
        return self.value


API_CASES: list[tuple[str, dict[str, object], str]] = [
    ("data-none", {"data": None}, "data"),
    ("data-a-list", {"data": [1, 2, 3]}, "list"),
    ("data-an-int", {"data": 42}, "int"),
    ("model-an-object", {"model": object()}, "model"),
    ("budget-text", {"budget": "200"}, "budget"),
    ("budget-inf", {"budget": float("inf")}, "budget"),
    ("budget-bool", {"budget": True}, "budget"),
    ("first-rung-zero", {"search": autoprompt.Search(first_rung=0)}, "first_rung"),
    ("top-k-zero", {"search": autoprompt.Search(top_k=0)}, "top_k"),
    ("seed-text", {"seed": "zero"}, "seed"),
    ("max-seconds-nan", {"calls": autoprompt.Calls(max_seconds=float("nan"))}, "max_seconds"),
    ("metric-raises", {"answers": autoprompt.Answers(metric=ShoutMetric(None))}, "label_id"),
    ("metric-nan", {"answers": autoprompt.Answers(metric=ShoutMetric(float("nan")))}, "nan"),
    ("metric-above-one", {"answers": autoprompt.Answers(metric=ShoutMetric(2.0))}, "2.0"),
    ("metric-inf", {"answers": autoprompt.Answers(metric=ShoutMetric(float("-inf")))}, "inf"),
    ("clarifiers-a-string-of-payload", {"template": autoprompt.Start(clarifiers=["{{ 1/0 }}"])}, "division by zero"),
    ("inputs-equal-target", {"inputs": "label"}, "both an input and the target"),
]


@pytest.mark.parametrize(("name", "change", "expect"), API_CASES, ids=[c[0] for c in API_CASES])
def test_python_api_bad_input_is_an_autoprompt_error(name: str, change: dict[str, object], expect: str,
                                                     keyword_frame: pd.DataFrame, tmp_path: Path) -> None:
    arguments: dict[str, object] = {"data": keyword_frame, "inputs": "text", "target": "label", "model": "fake",
                                    "budget": 200, "run": tmp_path / "run", **change}
    with pytest.raises(AutopromptError) as caught:
        autoprompt.optimize(**arguments)  # type: ignore[arg-type]
    assert expect.lower() in str(caught.value).lower()
    assert "\n" not in str(caught.value)


def test_a_bad_metric_value_stops_the_run_and_keeps_what_was_computed(keyword_frame: pd.DataFrame,
                                                                      tmp_path: Path) -> None:
    with pytest.raises(AutopromptError, match="example"):
        autoprompt.optimize(keyword_frame, inputs="text", target="label", model="fake", budget=200,
                            answers=autoprompt.Answers(metric=ShoutMetric(float("nan"))), run=tmp_path / "run")
    assert (tmp_path / "run" / "run.json").is_file() and (tmp_path / "run" / "cache.sqlite").is_file()


def test_load_prompt_and_decide_refuse_bad_manifests(finished_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished_run / "run", run)
    prompt = autoprompt.load_prompt(run)
    with pytest.raises(AutopromptError, match="no label"):
        prompt.decide({})
    manifest = json.loads((run / "winner.json").read_text())
    for path in ("/etc/passwd", "../../x.jinja", str(finished_run / "data.csv")):
        (run / "winner.json").write_text(json.dumps({**manifest, "template_file": path}))
        with pytest.raises(AutopromptError, match="outside"):
            autoprompt.load_prompt(run)
    (run / "winner.json").write_text(json.dumps({k: v for k, v in manifest.items() if k != "constants"}))
    with pytest.raises(AutopromptError, match="constants"):
        autoprompt.load_prompt(run)


@pytest.mark.parametrize("name", HOSTILE_WINNERS)
def test_a_hostile_winner_template_fails_at_once_in_production(name: str, finished_run: Path, tmp_path: Path) -> None:
    """``load_prompt(...).render()`` keeps the sandbox's budget: a received winner.jinja cannot hang a service."""
    run = tmp_path / "run"
    shutil.copytree(finished_run / "run", run)
    (run / "winner.jinja").write_text(BAD_TEMPLATES[name][0].replace("text", "inputs.text"))
    prompt = autoprompt.load_prompt(run)
    started = time.monotonic()
    with pytest.raises(AutopromptError, match=BAD_TEMPLATES[name][1]):
        prompt.render(text="an input " * 100)
    assert time.monotonic() - started < 2


def test_resume_after_a_kill_that_cut_the_last_log_line_after_a_brace(finished_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished_run / "run", run)
    _killed(tmp_path)
    log = run / "trials.log.jsonl"
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:2]) + "\n" + lines[2][:40] + "}")
    resumed = autoprompt.resume(run)
    assert (run / "winner.json").is_file() and resumed.paid_calls == 0
    assert all(json.loads(line) for line in log.read_text().splitlines())


def test_rows_repeated_across_splits_are_dropped_with_a_warning_that_counts_them(tmp_path: Path) -> None:
    frame = pd.DataFrame(ROWS)
    dev = pd.concat([frame.iloc[:5].assign(text=lambda f: "dev " + f["text"]), frame.iloc[40:43]])
    test = pd.concat([frame.iloc[50:52], dev.iloc[:1], frame.iloc[[0]].assign(text="fresh one")])
    with pytest.warns(DataWarning, match=r"6 row\(s\) repeat .*0 within the data, 6 across"):
        task = prepare_task(RunSpec(data=frame, inputs="text", target="label", search=Search(dev=dev, test=test)))
    assert len(task.data.test) == 1
    seen = {ex.inputs["text"] for ex in task.data.train.examples}
    assert not seen & {ex.inputs["text"] for ex in task.data.test.examples}


def test_the_same_run_may_run_again_in_its_folder_and_the_users_files_survive_a_refusal(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text(CSV)
    argv = [arg.replace("{d}", str(tmp_path)) for arg in OPT]
    assert main(argv) == 0
    first = json.loads((tmp_path / "out" / "winner.json").read_text())
    assert main(argv) == 0  # the same run again: replayed from its cache
    again = json.loads((tmp_path / "out" / "winner.json").read_text())
    assert again["candidate"] == first["candidate"] and again["scores"]["test"] == first["scores"]["test"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.md").write_text("keep me")
    assert main([*argv[:-1], str(mine)]) == 2
    assert [p.name for p in mine.iterdir()] == ["notes.md"] and (mine / "notes.md").read_text() == "keep me"


def test_a_failed_export_leaves_no_partial_folder(finished_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished_run / "run", run)
    (run / "winner.jinja").write_text("{{ inputs.text }}{{ 1/0 }}")
    assert main(["export", str(run), "--format", "openai"]) == 2
    assert not (run / "export").exists() or not any((run / "export").iterdir())
    assert main(["export", str(run), "--format", "openai", "--out", str(tmp_path / "suite")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_review_shows_escape_sequences_from_the_data_as_text(finished_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished_run / "run", run)
    path = run / "dev_predictions.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[0]["inputs"]["text"] = "\x1b]0;owned\x07\x1b[2Jhello"
    rows[0]["output"] = "\x1b[31mred"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    shown: list[str] = []
    autoprompt.review(run, n=len(rows), ask=lambda _: "", say=shown.append)
    text = "\n".join(shown)
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[2Jhello" in text and "\\x1b[31mred" in text


def test_exporting_a_result_into_a_folder_of_yours_is_refused(keyword_frame: pd.DataFrame, tmp_path: Path) -> None:
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model="fake", budget=200)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.md").write_text("my report")
    with pytest.raises(AutopromptError, match="holds no autoprompt output"):
        result.export(mine)
    assert [p.name for p in mine.iterdir()] == ["report.md"] and (mine / "report.md").read_text() == "my report"
    result.export(tmp_path / "new")
    result.export(tmp_path / "new")  # its own output may be written again
    assert (tmp_path / "new" / "winner.json").is_file()


def test_an_unexpected_exception_is_still_one_line_and_debugging_shows_it(monkeypatch: pytest.MonkeyPatch,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import autoprompt.cli as cli

    def broken(args: object) -> int:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(cli, "_init", broken)
    assert main(["init", "x.yaml"]) == 1  # a bug is a failure while running, not bad input
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected RuntimeError: boom second line" in err and "AUTOPROMPT_DEBUG" in err
    monkeypatch.setenv("AUTOPROMPT_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        main(["init", "x.yaml"])


def test_public_functions_are_not_shadowed_by_their_modules() -> None:
    """Importing a submodule sets it as an attribute of the package: no public name may be a module's."""
    import importlib
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(autoprompt.__path__)}
    assert not modules & set(autoprompt.__all__)
    importlib.import_module("autoprompt.cli")
    assert callable(autoprompt.review) and callable(autoprompt.resume)


def test_a_run_that_failed_before_its_first_answer_may_be_replaced(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text(CSV)
    argv = [arg.replace("{d}", str(tmp_path)) for arg in OPT]
    wrong = [*argv[:argv.index("--model") + 1], "openai:m@http://127.0.0.1:9/v1", *argv[argv.index("--model") + 2:]]
    assert main(wrong) == 1  # nothing listens there: a failure while running
    assert not (tmp_path / "out").exists()  # the folder was new and nothing was computed: none is left behind
    (tmp_path / "out").mkdir()
    assert main(wrong) == 1
    assert (tmp_path / "out").is_dir()  # a folder that existed before stays
    assert main(argv) == 0  # the corrected command takes the folder over: nothing was computed there


def test_a_missing_api_key_leaves_no_run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (tmp_path / "data.csv").write_text(CSV)
    argv = [arg.replace("{d}", str(tmp_path)) for arg in opt("--model", "openai:gpt-4o-mini", drop=("--model",))]
    assert main(argv) == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


def test_a_server_that_cannot_be_reached_is_one_line_exit_1_and_nothing_changed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not bad input but a failure while running (exit 1), reported the same way: one line, files intact."""
    (tmp_path / "data.csv").write_text(CSV)
    before = snapshot(tmp_path)
    argv = [arg.replace("{d}", str(tmp_path)) for arg in opt("--optimizer-model", "openai:m@http://127.0.0.1:9/v1",
                                                            "--operators", "rewrite")]
    assert main(argv) == 1
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "cannot connect" in lines[0] and "127.0.0.1:9" in lines[0], lines
    after = snapshot(tmp_path)
    assert {name: after.get(name) for name in before} == before
