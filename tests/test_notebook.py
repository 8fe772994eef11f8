"""A real notebook, executed by nbclient on an ipykernel, optimizes through llama-server's OpenAI
route and displays the result: the way most users first try a hosted model."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from autoprompt.data.bundled import bundled_path
from tests.servers import llama_server

KEY = "sk-notebook-test-key"


@pytest.mark.model
def test_a_notebook_optimizes_through_an_openai_route_and_shows_the_result(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "reviews.csv"
    pd.read_csv(bundled_path("sentiment")).head(40).to_csv(data, index=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # the kernel inherits the environment, as in Jupyter
    with llama_server(KEY) as url:
        notebook = nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_code_cell("import asyncio, autoprompt\n"
                                      "asyncio.get_running_loop()  # Jupyter runs every cell inside an event loop"),
            nbformat.v4.new_code_cell(
                f"result = autoprompt.optimize({str(data)!r}, inputs='text', target='label',\n"
                f"                             model='openai:smollm2@{url}/v1', budget=48, seed=0,\n"
                "                             search=autoprompt.Search(first_rung=8))\n"
                "result"),
        ])
        NotebookClient(notebook, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = notebook.cells[1].outputs[-1]
    assert shown["output_type"] == "execute_result", notebook.cells[1].outputs
    assert shown["data"]["text/plain"].startswith("<OptimizationResult accuracy on openai:smollm2@")
    assert '<div class="autoprompt-result">' in shown["data"]["text/html"] and "<table" in shown["data"]["text/html"]
    assert KEY not in str(notebook) and os.environ["OPENAI_API_KEY"] == KEY


def test_in_a_notebook_the_progress_bar_is_a_widget(tmp_path: Path, keyword_csv: Path) -> None:
    """``callbacks=[ProgressBar()]`` in Jupyter: tqdm.auto's widget (ipywidgets), for the search and for the test
    rows."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import autoprompt\n"
        f"result = autoprompt.optimize({str(keyword_csv)!r}, inputs='text', target='label', model='fake',\n"
        "                             budget=120, seed=0, search=autoprompt.Search(first_rung=8),\n"
        "                             callbacks=[autoprompt.ProgressBar()])")])
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    widgets = [o for o in notebook.cells[0].outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    shown = " ".join(o["data"].get("text/plain", "") for o in widgets)
    assert len(widgets) >= 2 and "search" in shown and "on test" in shown, notebook.cells[0].outputs
