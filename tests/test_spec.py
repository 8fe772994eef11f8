"""The run specification: one declaration per setting, one serializer, one parser."""

from __future__ import annotations

import argparse
import inspect
import json
from pathlib import Path

import pandas as pd
import pytest

import autoprompt
from autoprompt.errors import ConfigError
from autoprompt.models.backend import FakeBackend
from autoprompt.models.cache import SQLiteCache
from autoprompt.models.usage import PriceTable
from autoprompt.prompts.library import TemplateLibrary
from autoprompt.prompts.template import Template
from autoprompt.records.feedback import Feedback, Verdict
from autoprompt.spec import RunSpec, add_options, groups, options, sections, spec_from
from autoprompt.spec.fields import TOP_TITLE


def test_optimize_takes_the_top_level_settings_and_one_record_per_group() -> None:
    parameters = inspect.signature(autoprompt.optimize).parameters
    assert len(parameters) <= 12
    top = sections()[TOP_TITLE]
    assert set(parameters) == {*top, "template", *(set(groups()) - {"start"}), "callbacks"}
    spec = RunSpec()
    for name in top[1:]:  # data has no default
        assert parameters[name].default == spec.setting(name), name
    for group, record in groups().items():  # each group's keyword takes its record, whose fields are its settings
        keyword = "template" if group == "start" else group
        assert record.__name__ in str(parameters[keyword].annotation), keyword
        assert tuple(record.model_fields) == sections()[record.title]
    assert [n for names in sections().values() for n in names] == list(options()), "every setting once, in order"


def test_groups_pass_through_optimize_unchanged(tmp_path: Path) -> None:
    """Every setting given through its group reaches the run's spec (``run.json``) as given."""
    frame = pd.DataFrame({"text": [f"good {i}" if i % 2 else f"bad {i}" for i in range(40)],
                          "label": ["pos" if i % 2 else "neg" for i in range(40)]})
    result = autoprompt.optimize(
        frame, inputs="text", target="label", model=FakeBackend(), budget=60, seed=3,
        template=autoprompt.Start(template="Text: {{ text }}\nLabel:", description="Sort reviews."),
        answers=autoprompt.Answers(metric="macro_f1"), search=autoprompt.Search(first_rung=4, top_k=2),
        calls=autoprompt.Calls(max_seconds=300.0), run=autoprompt.Run(run_dir=str(tmp_path / "run"), run_name="r1"))
    saved = json.loads((tmp_path / "run" / "run.json").read_text())["arguments"]
    assert (saved["template"], saved["description"], saved["metric"], saved["first_rung"], saved["top_k"],
            saved["max_seconds"], saved["run_name"], saved["seed"]) == (
        "Text: {{ text }}\nLabel:", "Sort reviews.", "macro_f1", 4, 2, 300.0, "r1", 3)
    assert result.metric == "macro_f1"


def test_a_group_names_a_wrong_value_in_one_error() -> None:
    with pytest.raises(ConfigError, match=r"^first_rung: Input should be a valid integer.*\(got 'four'\)$"):
        autoprompt.Search(first_rung="four")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^colour: Extra inputs are not permitted .*valid settings: dev, test"):
        autoprompt.Search(colour=1)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="optimize\\(\\): first_rung must be a whole number 1 or more, got 0"):
        autoprompt.optimize("sentiment", model=FakeBackend(), search=autoprompt.Search(first_rung=0))
    with pytest.raises(ConfigError, match=r"^optimize\(\): search must be autoprompt.Search\(...\), got dict; e.g."):
        autoprompt.optimize("sentiment", model=FakeBackend(), search={"first_rung": 4})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^template: Input should be a valid string \(got 5\)$"):
        autoprompt.optimize("sentiment", model=FakeBackend(), template=5)  # type: ignore[arg-type]


def _every_setting(tmp_path: Path) -> dict[str, object]:
    """A value other than the default for every setting, objects included."""
    (tmp_path / "train.csv").write_text("text,label\na,yes\n")
    (tmp_path / "rubric.jinja").write_text("Be brief.")
    (tmp_path / "schema.json").write_text('{"type": "object", "properties": {"a": {"type": "string"}}}')
    return {
        "data": str(tmp_path / "train.csv"), "inputs": ["text", "title"], "target": "label",
        "dev": str(tmp_path / "train.csv"), "test": str(tmp_path / "train.csv"), "template": "Q: {{ text }}\nA:",
        "system": "You sort {{ labels | join(', ') }}.",
        "model": "openai:gpt-4o-mini@http://127.0.0.1:9/v1", "api_base": "http://127.0.0.1:9/v1",
        "api_key_env": "MY_OPENAI_KEY", "model_options": ["reasoning_effort=low", "top_p=0.9"],
        "max_output_tokens": 400, "stop": ["###", ""], "answer_pattern": "Answer: (.*)",
        "json_schema": str(tmp_path / "schema.json"),
        "metric": "macro_f1", "budget": 900, "max_seconds": 60.0,
        "max_tokens": 10_000, "max_usd": 1.5, "cache": SQLiteCache(tmp_path / "c.sqlite"),
        "prices": PriceTable({"m": (0.5, 1.5)}), "price": (0.2, 0.8), "concurrency": 8, "rpm": 100.0, "tpm": 5000.0,
        "seed": 7,
        "kind": "classification", "description": "Decide.", "label_definitions": {"yes": "agrees"},
        "label_words": {"yes": {"upper": "YES"}},
        "library": TemplateLibrary.bundled().add("clarifiers", Template("brief", "Answer in one word.")),
        "clarifiers": [str(tmp_path / "rubric.jinja"), "Be exact."], "context": ["Reviews of films."], "top_k": 5,
        "first_rung": 8, "strategy": "components", "operators": ["move", "demos"], "optimizer_model": "local",
        "max_prompt_tokens": 300, "storage": "sqlite:///x.db", "run_name": "exp-2", "judge_model": "local:gemma",
        "consistency": 3,
        "temperature": 0.9, "consistency_weight": 0.25,
        "feedback": [Feedback(example_id="e1", output="x", verdict=Verdict.REJECT, note="too long")],
        "run_dir": str(tmp_path / "run"), "track": "mlflow",
    }


def test_every_setting_round_trips_through_the_one_serializer(tmp_path: Path) -> None:
    values = _every_setting(tmp_path)
    assert set(values) == set(options()), "the round trip covers every setting"
    spec = spec_from(values, "test")
    record = json.loads(json.dumps(spec.record()))  # plain JSON, as run.json keeps it
    again = spec_from(record, "run.json")
    for name, (_, opt) in options().items():
        if not opt.saved:
            assert name not in record
            continue
        before, after = spec.setting(name), again.setting(name)
        if name == "cache":
            assert after == str((tmp_path / "c.sqlite").resolve())
        elif name == "prices":
            assert after.prices == before.prices
        elif name == "library":
            assert after.section("clarifiers")["brief"].source == "Answer in one word."
            assert set(after.section("tasks")) == set(before.section("tasks"))
        elif name == "feedback":
            assert after == before  # the same Feedback records, parsed back from their JSON form
        elif name in ("data", "dev", "test"):
            assert after == str(Path(values[name]).resolve())  # type: ignore[arg-type]
        elif name == "clarifiers":
            assert after == (str((tmp_path / "rubric.jinja").resolve()), "Be exact.")
        else:
            assert after == before, name
    assert again.record() == record  # the second trip changes nothing


def test_objects_that_cannot_be_kept_become_markers(tmp_path: Path) -> None:
    spec = spec_from({"data": "sentiment", "model": FakeBackend(), "metric": lambda example, output: 1.0}, "test")
    record = spec.record()
    assert record["model"] == {"object": "fake"} and record["metric"] == {"object": "function"}


def test_an_in_memory_table_needs_a_path_to_be_kept() -> None:
    spec = spec_from({"data": pd.DataFrame({"text": ["a"], "label": ["b"]})}, "test")
    assert spec.record({"data": "/runs/r/data/data.jsonl"})["data"] == "/runs/r/data/data.jsonl"
    with pytest.raises(ConfigError, match="a shared run needs data as a file path"):
        spec.record(purpose="a shared run")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"budget": 0}, "where: budget must be a positive number of model calls, got 0"),
        ({"temperature": 0}, "where: temperature must be a finite number above 0, got 0"),
        ({"consistency_weight": 1.5}, "consistency_weight must be a finite number from 0 to 1, got 1.5"),
        ({"concurrency": 0}, "concurrency must be a whole number 1 or more, got 0"),
        ({"rpm": float("inf")}, "rpm must be a finite number above 0"),
        ({"strategy": "greedy"}, "where: strategy: Input should be 'refine' or 'components'"),
        ({"colour": "red"}, "where: colour: Extra inputs are not permitted"),
        ({"inputs": 5}, "where: inputs:"),
        ({"prices": {"prices": {"m": [1]}}}, "where: prices:"),
    ],
)
def test_every_problem_is_one_error_naming_where_and_the_setting(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        spec_from({"data": "sentiment", **values}, "where")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_flag_spellings_and_old_run_files_are_read() -> None:
    spec = spec_from({"input": "text", "clarifier": "Be brief.", "out": "runs/x", "max-seconds": 5,
                      "limits": {"concurrency": 2, "rpm": None, "tpm": 9.0},
                      "consistency": {"samples": 3, "temperature": 0.5, "weight": 0.2}}, "old run.json")
    assert (spec.inputs, spec.start.clarifiers, spec.run.run_dir, spec.calls.max_seconds) == (
        "text", ("Be brief.",), "runs/x", 5.0)
    assert (spec.calls.concurrency, spec.calls.rpm, spec.calls.tpm) == (2, None, 9.0)
    assert (spec.answers.consistency, spec.answers.temperature, spec.answers.consistency_weight) == (3, 0.5, 0.2)


def test_the_command_line_flags_come_from_the_spec() -> None:
    parser = argparse.ArgumentParser()
    add_options(parser)
    args = parser.parse_args(["--data", "d.csv", "--input", "a,b", "--clarifier", "x", "--clarifier", "y",
                              "--operators", "move, demos", "--budget", "12", "--out", "o", "--rpm", "30"])
    assert vars(args) == {"data": "d.csv", "inputs": "a,b", "clarifiers": ["x", "y"], "operators": ["move", "demos"],
                          "budget": 12, "run_dir": "o", "rpm": 30.0}  # flags not given stay out: the spec's defaults
    flags = {flag for action in parser._actions for flag in action.option_strings} - {"-h", "--help"}
    assert flags == {opt.flag(name) for name, (_, opt) in options().items() if opt.cli}
    assert spec_from(vars(args), "cli").record()["operators"] == ["move", "demos"]


NEW_SETTING = '''    patience: Annotated[int, Option("rounds without a gain before the search stops", read=int)] = 3
'''

PROBE = '''
import argparse, json, sys
from pathlib import Path

import autoprompt
from autoprompt.cli import main
from autoprompt.config import load_config
from autoprompt.models.backend import FakeBackend
from autoprompt.spec import add_options

assert autoprompt.__file__.startswith(sys.argv[1]), autoprompt.__file__  # the copy, not the project
parser = argparse.ArgumentParser()
add_options(parser)
found = {"flag": vars(parser.parse_args(["--patience", "5"]))}
out = Path(sys.argv[2])
data = out / "data.csv"
data.write_text("text,label\\n" + "".join(f"{'good' if i % 2 else 'bad'} item {i},{'pos' if i % 2 else 'neg'}\\n"
                                          for i in range(40)))
(out / "c.yaml").write_text("data: data.csv\\npatience: 6\\n")
found["yaml"] = load_config(out / "c.yaml")["patience"]
autoprompt.optimize(data, inputs="text", target="label", model=FakeBackend(), budget=60,
                    search=autoprompt.Search(patience=7, first_rung=4), run=out / "api")
found["optimize"] = json.loads((out / "api" / "run.json").read_text())["arguments"]["patience"]
main(["optimize", "--data", str(data), "--input", "text", "--target", "label", "--model", "fake", "--budget", "60",
      "--patience", "8", "--out", str(out / "cli"), "-q"])
found["cli"] = json.loads((out / "cli" / "run.json").read_text())["arguments"]["patience"]
print(json.dumps(found))
'''


def test_a_setting_added_to_a_group_shows_everywhere_with_no_other_file_changed(tmp_path: Path) -> None:
    """A copy of the package with one field added to ``Search`` (``spec/groups.py``, nothing else changed):
    the new setting is a flag, a YAML key, a keyword of ``autoprompt.Search`` that ``optimize`` takes, and a
    key of ``run.json``, from the API and from the command line."""
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "pkg"
    shutil.copytree(Path(autoprompt.__file__).parent, copy / "autoprompt",
                    ignore=shutil.ignore_patterns("__pycache__"))
    groups_file = copy / "autoprompt" / "spec" / "groups.py"
    text = groups_file.read_text()
    anchor = "    first_rung: Annotated["
    assert text.count(anchor) == 1
    groups_file.write_text(text.replace(anchor, NEW_SETTING + anchor))
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run([sys.executable, "-c", PROBE, str(copy), str(work)], capture_output=True, text=True,
                          cwd=work, env={**__import__("os").environ, "PYTHONPATH": str(copy)}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"flag": {"patience": 5}, "yaml": 6, "optimize": 7, "cli": 8}
