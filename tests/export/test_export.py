"""Exported prompts render byte for byte as they were scored, with jinja2 alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

import autoprompt
from autoprompt.export.manifest import load_prompt
from tests.conftest import RecordingBackend


def test_exported_winner_renders_what_was_scored(tmp_path: Path, keyword_frame: pd.DataFrame,
                                                 recording: RecordingBackend) -> None:
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=recording, budget=300, seed=1,
                                 search=autoprompt.Search(first_rung=4))
    recording.texts.clear()
    result.export(tmp_path)
    assert result.test is not None
    exported = load_prompt(tmp_path / "winner.json")
    test = pd.read_csv(tmp_path / "data" / "test.csv")
    scored = result.test.winner_predictions
    rendered = [exported.render(text=row.text) for row in test.itertuples()]
    assert [p.example_id for p in scored] and len(rendered) == len(scored)
    assert rendered == [result.best.prompt.render({"text": t}) for t in test["text"]]
    manifest = json.loads((tmp_path / "winner.json").read_text())
    assert manifest["scores"]["test"]["winner"] == result.test.winner_score
    assert manifest["seed"] == 1 and manifest["library_version"] == autoprompt.__version__
    assert (tmp_path / "winner.jinja").read_text() == manifest["template"]
    assert (tmp_path / "report.md").read_text().startswith("# autoprompt report")


def test_scored_texts_equal_exported_rendering(tmp_path: Path, keyword_frame: pd.DataFrame) -> None:
    backend = RecordingBackend()
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=backend, budget=300, seed=2,
                                 search=autoprompt.Search(first_rung=4))
    result.export(tmp_path)
    exported = load_prompt(tmp_path)
    test = pd.read_csv(tmp_path / "data" / "test.csv")
    winner_texts = backend.texts[-len(test):]
    assert winner_texts == [exported.render(text=t) for t in test["text"]]


def test_load_prompt_needs_only_jinja2(tmp_path: Path, keyword_frame: pd.DataFrame) -> None:
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=RecordingBackend(), budget=200,
                                 seed=0, search=autoprompt.Search(first_rung=4))
    result.export(tmp_path)
    code = (
        "import sys\n"
        "for name in ('pandas', 'numpy', 'optuna', 'llama_cpp'): sys.modules[name] = None\n"
        "from autoprompt import load_prompt\n"
        f"p = load_prompt({str(tmp_path)!r})\n"
        "print(p.render(text='hello there'), end='')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == result.best.prompt.render({"text": "hello there"})


def test_free_text_answer_settings_reach_the_manifest_and_every_export(tmp_path: Path) -> None:
    """--max-output-tokens, --stop and --answer-pattern are scored with, saved, and sent by the exports."""
    from autoprompt.export.formats import export_run

    autoprompt.optimize("past_tense", model="fake", budget=300,
                        answers=autoprompt.Answers(max_output_tokens=40, stop=["###", "\n"], answer_pattern=r"(\w+)"),
                        run=tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "winner.json").read_text())
    settings = (manifest["max_output_tokens"], manifest["stop"], manifest["answer_pattern"])
    assert settings == (40, ["###", "\n"], r"(\w+)")
    exported = load_prompt(tmp_path / "run")
    assert exported.parse("  walked away ### more\nnext") == "walked"
    openai = json.loads(export_run(tmp_path / "run", "openai").read_text())
    assert (openai["max_tokens"], openai["stop"]) == (40, ["###"])  # a line break is cut when reading, not sent
    anthropic = json.loads(export_run(tmp_path / "run", "anthropic").read_text())
    assert (anthropic["max_tokens"], anthropic["stop_sequences"]) == (40, ["###"])


def test_an_export_from_before_the_answer_settings_parses_as_it_was_scored(tmp_path: Path) -> None:
    autoprompt.optimize("past_tense", model="fake", budget=300, run=tmp_path / "run")
    path = tmp_path / "run" / "winner.json"
    manifest = json.loads(path.read_text())
    assert (manifest["max_output_tokens"], manifest["stop"]) == (256, ["\n"])  # one-line targets: the first line
    for key in ("max_output_tokens", "stop", "answer_pattern"):
        manifest.pop(key)
    path.write_text(json.dumps(manifest))
    old = load_prompt(tmp_path / "run")
    assert (old.prompt.max_output_tokens, old.prompt.stop, old.parse("\nwalked\nmore")) == (16, ("\n",), "walked")


def test_the_calibration_power_is_exported_and_read_back_and_a_damaged_one_is_named(tmp_path: Path) -> None:
    """A prompt calibrated with a power below 1 (uneven label shares) decides after export as it did
    when scored; a manifest from before the power decides at 1; a damaged power is one line."""
    from dataclasses import replace

    import pytest

    from autoprompt.errors import ConfigError
    from autoprompt.export.manifest import write_prompt
    from autoprompt.prompts.prompt import Prompt

    prompt = Prompt("Text: {{ text }}\nLabel:", {}, ("text",), {"yes": "yes", "no": "no"}, calibrate=True,
                    calibration={"yes": 0.5, "no": 1.0}, calibration_power=0.25)
    logprobs = {"yes": -2.0, "no": -0.5}  # the model leans to 'no'; trusted a quarter, the prior wins
    assert prompt.decide(logprobs) == "yes" and replace(prompt, calibration_power=1.0).decide(logprobs) == "no"
    path = write_prompt(tmp_path, prompt, {})
    assert load_prompt(tmp_path).decide(logprobs) == "yes"
    manifest = json.loads(path.read_text())
    assert manifest["calibration_power"] == 0.25
    manifest.pop("calibration_power")
    path.write_text(json.dumps(manifest))
    assert load_prompt(tmp_path).prompt.calibration_power == 1.0
    for damaged in (0, 1.5, "0.5", True, None):
        path.write_text(json.dumps({**manifest, "calibration_power": damaged}))
        with pytest.raises(ConfigError, match="'calibration_power' must be a number above 0 and at most 1"):
            load_prompt(tmp_path)
