"""A run directory in MLflow: a real MLflow store (SQLite, as ``mlflow`` makes by default) in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest

import autoprompt
from autoprompt.cli import main
from autoprompt.export.manifest import load_prompt
from autoprompt.search.mlflow_log import log_to_mlflow
from tests.conftest import PricedAPIBackend


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow's SQLite store keeps artifacts under ./mlruns of the working directory: a temporary one here."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def run(tmp_path: Path, keyword_frame: pd.DataFrame) -> Path:
    """A finished run of a priced fake API model, so tokens and USD per production call are known."""
    out = tmp_path / "run"
    autoprompt.optimize(keyword_frame, model=PricedAPIBackend(), inputs="text", target="label", budget=150, seed=1,
                        calls=autoprompt.Calls(price=(2.0, 4.0)), run=out)  # type: ignore[arg-type]
    return out


def test_a_run_goes_to_mlflow_with_its_settings_scores_curves_and_files(run: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert main(["mlflow", str(run), "--experiment", "keywords", "--tracking-uri", uri]) == 0
    assert "logged to MLflow: run " in capsys.readouterr().out
    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name("keywords")
    assert experiment is not None
    (logged,) = client.search_runs([experiment.experiment_id])
    assert logged.info.status == "FINISHED" and logged.info.run_name == "run"
    winner = json.loads((run / "winner.json").read_text(encoding="utf-8"))
    params, metrics = logged.data.params, logged.data.metrics
    assert json.loads(params["model"]) == {"object": "fake"} and params["budget"] == "150" and params["seed"] == "1"
    assert metrics["test_winner"] == pytest.approx(winner["scores"]["test"]["winner"])
    assert metrics["test_difference_low"] <= metrics["test_difference"] <= metrics["test_difference_high"]
    assert metrics["calls_search"] == winner["model_calls"]["search"] <= 150
    production = winner["scores"]["test"]["production"]["winner"]
    assert metrics["tokens_per_call_winner"] == pytest.approx(production["tokens_per_call"]) and production["tokens"]
    assert metrics["usd_per_1000_calls_winner"] > 0
    trials = [json.loads(line) for line in (run / "trials.jsonl").read_text(encoding="utf-8").splitlines()]
    complete = sorted((t for t in trials if t["state"] == "complete"), key=lambda t: t["number"])
    curve = client.get_metric_history(logged.info.run_id, "best_dev_score")
    assert [m.step for m in sorted(curve, key=lambda m: m.step)] == [t["number"] for t in complete]
    values = [m.value for m in sorted(curve, key=lambda m: m.step)]
    assert values == sorted(values) and values[-1] == pytest.approx(max(t["score"] for t in complete))
    files = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert {"winner.json", "winner.jinja", "trials.jsonl", "report.html", "baseline", "export"} <= files
    exports = {a.path for a in client.list_artifacts(logged.info.run_id, "export")}
    assert {"export/openai", "export/anthropic", "export/promptfoo", "export/jinja"} <= exports
    assert not files & {"data", "cache.sqlite", "run.json"}  # the user's data and the run's workings stay home


def test_the_winner_is_registered_as_a_prompt_that_renders_what_was_scored(run: Path, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    first = log_to_mlflow(run, experiment="keywords", register="keywords", tracking_uri=uri)
    second = log_to_mlflow(run, experiment="keywords", register="keywords", tracking_uri=uri)
    assert (first.prompt_uri, second.prompt_uri) == ("prompts:/keywords/1", "prompts:/keywords/2")
    assert first.experiment_id == second.experiment_id and first.run_id != second.run_id
    version = mlflow.MlflowClient(uri, registry_uri=uri).get_prompt_version("keywords", 1)
    exported = load_prompt(run)
    text = "an input with {braces} and {{ text }} inside"
    formatted = version.format(text=text)
    expected = exported.messages(text=text)
    assert formatted == (expected[0]["content"] if len(expected) == 1 else expected)
    assert version.tags["autoprompt_run_id"] == first.run_id
    assert version.model_config["model_name"] == "fake" and version.model_config["temperature"] == 0.0
    assert mlflow.get_tracking_uri() != uri  # the process's own MLflow settings are left alone


def test_bad_input_is_one_line_that_names_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mlflow", str(tmp_path), "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "autoprompt optimize --out DIR" in err and not (tmp_path / "m.db").exists()


def test_track_mlflow_logs_the_run_when_it_ends_and_a_refusing_tracker_costs_the_run_nothing(
        tmp_path: Path, keyword_csv: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "tracked")
    flags = ["optimize", "--data", str(keyword_csv), "--input", "text", "--target", "label", "--model", "fake",
             "--budget", "150", "--track", "mlflow", "-q"]
    assert main([*flags, "--out", str(tmp_path / "keywords v1")]) == 0
    client = mlflow.MlflowClient(uri, registry_uri=uri)
    experiment = client.get_experiment_by_name("tracked")
    assert experiment is not None and len(client.search_runs([experiment.experiment_id])) == 1
    assert client.get_prompt_version("keywords-v1", 1).format(text="x")  # named after the --out folder
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "nosuchstore://here")
    capsys.readouterr()
    assert main([*flags, "--out", str(tmp_path / "second")]) == 0
    err = capsys.readouterr().err
    assert "warning: MLflow at nosuchstore://here refused the run" in err
    assert f"log it later with: autoprompt mlflow {tmp_path / 'second'}" in err
    assert (tmp_path / "second" / "winner.json").is_file() and (tmp_path / "second" / "report.html").is_file()


def test_optimize_tracks_a_run_with_no_folder_through_a_temporary_export(tmp_path: Path, keyword_frame: object,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import autoprompt

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model="fake", budget=150,
                                 run=autoprompt.Run(track="mlflow", run_name="notebook-run"))
    client = mlflow.MlflowClient(uri, registry_uri=uri)
    experiment = client.get_experiment_by_name("autoprompt")
    assert experiment is not None
    (logged,) = client.search_runs([experiment.experiment_id])
    assert logged.data.metrics["dev_winner"] == pytest.approx(result.best.dev_score)
    assert client.get_prompt_version("notebook-run", 1).tags["autoprompt_run_id"] == logged.info.run_id
