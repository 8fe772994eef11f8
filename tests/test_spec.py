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
from autoprompt.spec import RunSpec, add_options, options, spec_from

# optimize's face over the spec: these keyword arguments are records of several settings
RECORDS = {"limits": {"concurrency", "rpm", "tpm"}, "consistency": {"consistency", "temperature", "consistency_weight"}}
RUNTIME = {"callbacks", "progress"}  # how this process runs, not what the run is


def test_optimize_keyword_arguments_are_the_spec_settings() -> None:
    parameters = set(inspect.signature(autoprompt.optimize).parameters) - RUNTIME
    settings = (parameters - set(RECORDS)) | set().union(*RECORDS.values())
    assert settings == set(options())
    defaults = {name: p.default for name, p in inspect.signature(autoprompt.optimize).parameters.items()
                if name in options() and name not in RECORDS}
    spec = RunSpec()
    for name, default in defaults.items():
        if name != "data":
            assert getattr(spec, name) == (tuple(default) if isinstance(default, list | tuple) else default), name


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
        before, after = getattr(spec, name), getattr(again, name)
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
    assert (spec.inputs, spec.clarifiers, spec.run_dir, spec.max_seconds) == ("text", ("Be brief.",), "runs/x", 5.0)
    assert (spec.concurrency, spec.rpm, spec.tpm) == (2, None, 9.0)
    assert (spec.consistency, spec.temperature, spec.consistency_weight) == (3, 0.5, 0.2)


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
