"""Writing a run's reports: ``report.md`` and ``report.html`` beside its records."""

from __future__ import annotations

from pathlib import Path

from autoprompt.files import write_text
from autoprompt.report.html import page
from autoprompt.report.run_record import RunRecord
from autoprompt.report.writer import markdown


def write_report(directory: str | Path) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` for the run in ``directory``; return both paths."""
    run = RunRecord.load(directory)
    md, page_path = run.directory / "report.md", run.directory / "report.html"
    write_text(md, markdown(run))
    write_text(page_path, page(run))
    return md, page_path
