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
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=recording, budget=300,
                                 seed=1, first_rung=4)
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
                                 first_rung=4)
    result.export(tmp_path)
    exported = load_prompt(tmp_path)
    test = pd.read_csv(tmp_path / "data" / "test.csv")
    winner_texts = backend.texts[-len(test):]
    assert winner_texts == [exported.render(text=t) for t in test["text"]]


def test_load_prompt_needs_only_jinja2(tmp_path: Path, keyword_frame: pd.DataFrame) -> None:
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=RecordingBackend(),
                                 budget=200, seed=0, first_rung=4)
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
