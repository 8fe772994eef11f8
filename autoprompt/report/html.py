"""The HTML report page: one self-contained file for a ``RunRecord``.

Contract: ``page(run)`` returns a complete HTML document with the same sections as
``report.markdown`` plus two matplotlib plots (best dev score against model calls, and
the Pareto front of score against prompt tokens) embedded as inline SVG. It references
no external file, font or script; its one inline script makes the tables sortable (and the examples
filterable) and
then sets ``data-ready="1"`` on ``<body>``, so a headless browser can tell it ran.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from autoprompt.errors import MissingDependency
from autoprompt.report.run_record import RunRecord
from autoprompt.report.writer import (
    EXAMPLE_COLUMNS,
    FEEDBACK_COLUMNS,
    PAGE_EXAMPLE_ROWS,
    best_so_far,
    confusion,
    escape,
    example_heading,
    examples,
    feedback_rows,
    labelled,
    leaderboard,
    operators,
    pareto,
    run_metadata,
    summary_lines,
    use_it,
    word_diff,
)

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
pre { background: #f6f6f6; padding: .8rem; overflow-x: auto; white-space: pre-wrap; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { border: 1px solid #ccc; padding: .25rem .5rem; }
th { background: #f0f0f0; cursor: pointer; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
del { background: #fdd; text-decoration: line-through; } ins { background: #dfd; text-decoration: none; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; } .plots figure { margin: 0; }
"""

SCRIPT = """
(function () {
  function key(cell) {
    var text = cell.textContent.trim(), number = parseFloat(text);
    return isNaN(number) ? text.toLowerCase() : number;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th").forEach(function (th, column) {
      th.addEventListener("click", function () {
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var ascending = th.dataset.order !== "asc";
        rows.sort(function (a, b) {
          var x = key(a.cells[column]), y = key(b.cells[column]);
          return (x > y ? 1 : x < y ? -1 : 0) * (ascending ? 1 : -1);
        });
        rows.forEach(function (row) { body.appendChild(row); });
        th.dataset.order = ascending ? "asc" : "desc";
      });
    });
  });
  document.querySelectorAll("input.filter").forEach(function (box) {
    var table = box.parentNode.nextElementSibling;
    box.addEventListener("input", function () {
      var wanted = box.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        row.hidden = wanted !== "" && row.textContent.toLowerCase().indexOf(wanted) < 0;
      });
    });
  });
  document.body.dataset.ready = "1";
})();
"""


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, shade: bool = False) -> str:
    """An HTML table; numbers right-aligned; ``shade`` tints counts (confusion matrices)."""
    if not rows:
        return "<p>(none)</p>"
    top = max((v for row in rows for v in row if isinstance(v, int) and not isinstance(v, bool)), default=1) or 1

    def cell(value: Any) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            style = f' style="background: rgba(40, 110, 200, {0.7 * value / top:.2f})"' if shade else ""
            return f'<td class="num"{style}>{escape(value)}</td>'
        return f"<td>{escape(value)}</td>"

    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise MissingDependency("matplotlib") from None
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "autoprompt"
    import matplotlib.pyplot as plt

    return plt


def svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def progress_plot(run: RunRecord) -> str:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5.5, 3.4))
    points = best_so_far(run)
    if points:
        axes.step([p[0] for p in points], [p[1] for p in points], where="post", color="#2a6fc9")
        axes.plot([p[0] for p in points], [p[1] for p in points], "o", color="#2a6fc9", markersize=3)
    axes.set(xlabel="model calls", ylabel="best dev score so far", title="Best score against model calls")
    axes.grid(alpha=0.3)
    return svg(figure)


def pareto_plot(run: RunRecord) -> str:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5.5, 3.4))
    done, front = run.complete, pareto(run)
    axes.scatter([t.prompt_tokens for t in done], [t.score for t in done], s=12, color="#999", label="complete trials")
    axes.plot([t.prompt_tokens for t in front], [t.score for t in front], "o-", color="#c94a2a", label="Pareto front")
    winner = run.manifest.get("lineage", [{}])[-1].get("trial") if run.manifest.get("lineage") else None
    for t in done:
        if t.number == winner:
            axes.scatter([t.prompt_tokens], [t.score], s=80, marker="*", color="#222", label="winner", zorder=3)
    axes.set(xlabel="prompt tokens", ylabel="dev score", title="Score against prompt length")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return svg(figure)


def diff_html(before: str, after: str) -> str:
    tags = {"=": "{}", "-": "<del>{}</del>", "+": "<ins>{}</ins>"}
    return "".join(tags[op].format(escape(text)) for op, text in word_diff(before, after))


def sections(run: RunRecord) -> list[str]:
    board = [(t.number, t.label, round(t.score, 4), f"[{ci.low:.3f}, {ci.high:.3f}]", t.n, t.prompt_tokens,
              t.operator, "" if t.parent is None else t.parent) for t, ci in leaderboard(run)]
    chain = [(e["trial"], e["operator"], round(e["dev_score"], 4), e["n"]) for e in run.manifest.get("lineage", [])]
    out = [f"<h1>autoprompt report: {escape(run.directory.name)}</h1>",
           "<pre>" + escape("\n".join(summary_lines(run))) + "</pre>",
           '<div class="plots"><figure>' + progress_plot(run) + "</figure><figure>" + pareto_plot(run) +
           "</figure></div>",
           "<h2>Leaderboard</h2>", table(("trial", "candidate", "dev score", "95% CI", "n dev", "prompt tokens",
                                          "operator", "parent"), board),
           "<h2>How the winner was reached</h2>", table(("trial", "operator", "dev score", "n dev"), chain),
           "<h2>Operators (accepted = became the incumbent; gain = dev score over its parent)</h2>",
           table(("operator", "trials", "complete", "accepted", "best dev", "gain"),
                 [tuple(r.values()) for r in operators(run)])]
    for which in ("start", "winner") if run.tests and labelled(run) else ():
        columns, matrix = confusion(run, which)
        out += [f"<h2>Confusion on test: {which} (rows expected, columns answered)</h2>",
                table(("expected", *columns), [(label, *row) for label, row in zip(columns, matrix)], shade=True)]
    if run.tests:
        out += [f"<h2>{escape(example_heading(run, PAGE_EXAMPLE_ROWS))}</h2>",
                '<p><input type="search" class="filter" placeholder="show rows holding... (fixed, broken, a word)" '
                'aria-label="filter the examples"></p>', table(EXAMPLE_COLUMNS, examples(run, PAGE_EXAMPLE_ROWS))]
    out += ["<h2>What changed: start to winner</h2>",
            "<pre>" + diff_html(run.baseline.text, run.winner.text) + "</pre>"]
    sent = run.winner.request
    if sent:
        out += ["<h2>The winner's request as sent</h2>", f"<p>{escape(sent[0])}:</p>", f"<pre>{escape(sent[1])}</pre>"]
    out += ["<h2>Use it</h2>", *(f"<p>{escape(fmt)}:</p><pre>{escape(code)}</pre>" for fmt, code in use_it(run)),
            "<h2>Run</h2>", table(("", ""), run_metadata(run))]
    if run.feedback:
        out += ["<h2>Reviewer feedback (autoprompt review)</h2>", table(FEEDBACK_COLUMNS, feedback_rows(run))]
    return out


def page(run: RunRecord) -> str:
    body = "\n".join(sections(run))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>autoprompt report: {escape(run.directory.name)}</title><style>{STYLE}</style></head>\n"
            f"<body>\n{body}\n<script>{SCRIPT}</script>\n</body></html>\n")
