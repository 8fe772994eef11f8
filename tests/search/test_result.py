"""Results in a notebook: optimize inside a running event loop, a short repr, an HTML view."""

from __future__ import annotations

import asyncio

import pandas as pd

import autoprompt
from autoprompt.models.backend import FakeBackend, Limits


class Concurrent(FakeBackend):
    """A fake API model: four requests at a time, so evaluation runs on threads."""

    limits = Limits(concurrency=4)


def test_optimize_runs_inside_a_running_event_loop(keyword_frame: pd.DataFrame) -> None:
    """Jupyter runs cells inside an event loop; a search must not start one of its own there."""

    async def cell() -> autoprompt.OptimizationResult:
        return autoprompt.optimize(keyword_frame, inputs="text", target="label", model=Concurrent(), budget=200)

    inside = asyncio.run(cell())
    outside = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=Concurrent(), budget=200)
    assert inside.best.candidate == outside.best.candidate and inside.calls == outside.calls


def test_a_result_shows_itself_briefly_and_as_html(keyword_frame: pd.DataFrame) -> None:
    import dataclasses

    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=FakeBackend(), budget=200)
    text = repr(result)
    assert text.startswith("<OptimizationResult accuracy on fake: dev ") and "\n" not in text and len(text) < 400
    page = result._repr_html_()
    assert "<pre>metric: accuracy" in page and "<table" in page and "dev_score" in page
    hostile = dataclasses.replace(result, metric="<b>m</b>")
    assert "&lt;b&gt;m&lt;/b&gt;" in hostile._repr_html_() and "<b>m</b>" not in hostile._repr_html_()
