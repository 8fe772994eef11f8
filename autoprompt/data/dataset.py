"""Datasets: labeled examples loaded from CSV, JSONL or a DataFrame, and split.

Contract:
- ``load_data(source, inputs=..., target=...)`` returns a frozen ``Dataset`` of
  ``Example`` records (input fields plus a target string). ``source`` is a path to a
  ``.csv``/``.jsonl``/``.json`` file, a pandas DataFrame, or the name of a bundled
  task (``sentiment``, ``intent``, ``past_tense``, ``restaurant``).
- ``Split`` holds train, dev and test; ``splits`` makes them.
- Every problem with the data raises ``DataError`` naming the problem and the fix.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoprompt.data.bundled import BUNDLED, bundled_path
from autoprompt.errors import DataError
from autoprompt.files import json_lines, read_bytes
from autoprompt.records.example import Example
from autoprompt.records.task_kind import TaskKind

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Dataset:
    """An ordered collection of examples with the columns they came from."""

    examples: tuple[Example, ...]
    input_columns: tuple[str, ...]
    target_column: str
    kind: TaskKind
    labels: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.examples)

    def subset(self, examples: Sequence[Example]) -> Dataset:
        return Dataset(tuple(examples), self.input_columns, self.target_column, self.kind, self.labels)

    def fingerprint(self) -> str:
        """A short hash of the content, stored in exports to identify the data."""
        digest = hashlib.sha256()
        for ex in self.examples:
            digest.update(json.dumps([dict(ex.inputs), ex.target], sort_keys=True).encode())
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Split:
    """Train, dev and test parts of one dataset; test may be empty."""

    train: Dataset
    dev: Dataset
    test: Dataset


def _read_frame(source: str | Path) -> pd.DataFrame:
    import pandas as pd

    path = Path(source)
    if path.is_dir():
        raise DataError(f"{path} is a folder; pass a .csv, .jsonl or .json data file")
    if not path.exists():
        close = difflib.get_close_matches(str(source), list(BUNDLED), n=1)
        hint = f"did you mean the bundled task '{close[0]}'?" if close else f"bundled tasks: {', '.join(BUNDLED)}"
        raise DataError(f"data file {path} does not exist; check the path ({hint})")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".json"):
        raise DataError(f"unknown file type '{suffix or path.name}' for {path}; use a .csv, .jsonl or .json file")
    try:
        text = read_bytes(path).decode("utf-8-sig")  # a regular file: a FIFO is refused, never waited on
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
                        "save it as UTF-8") from None
    if not text.strip():
        raise DataError(f"data file {path} is empty; give a file with a header row and at least two examples")
    if suffix == ".jsonl":
        return pd.DataFrame(_jsonl_rows(path, text))
    if suffix == ".json":
        return pd.DataFrame(_json_rows(path, text))
    if suffix == ".csv":
        header = next(csv.reader(io.StringIO(text)), [])
        twice = sorted({name for name in header if header.count(name) > 1})
        if twice:
            raise DataError(f"column '{twice[0]}' appears twice in the header of {path}; give each column its own name")
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        first = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise DataError(f"cannot parse {path}: {first}; fix the file's {suffix[1:].upper()} syntax") from None


def _json_rows(path: Path, text: str) -> list[dict[str, Any]]:
    """A JSON file's rows: a list of objects of column: value."""
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"cannot parse {path}: {exc.msg} at line {exc.lineno}; fix the file's JSON syntax") from None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise DataError(f"{path} must hold a JSON list of objects (one per row, column: value); use that shape, "
                        "or a .jsonl file with one object per line")
    return rows


def _jsonl_rows(path: Path, text: str) -> list[dict[str, Any]]:
    """Every non-blank line of a JSONL file, each a JSON object."""
    rows = []
    for number, row in json_lines(text, lambda n: f"{path} line {n}"):
        if not isinstance(row, dict):
            raise DataError(f"{path} line {number} is a JSON {type(row).__name__}, not an object of "
                            "column: value; fix or delete that line")
        rows.append(row)
    return rows


def _as_frame(source: Any) -> tuple[pd.DataFrame, str]:
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        return source, "the DataFrame"
    if isinstance(source, str) and source in BUNDLED:
        return _read_frame(bundled_path(source)), f"bundled task '{source}'"
    if not isinstance(source, str | Path):
        raise DataError(f"data must be a CSV/JSONL file path, a bundled task name ({', '.join(BUNDLED)}), a pandas "
                        f"DataFrame or a Dataset; got {type(source).__name__}")
    return _read_frame(source), str(source)


def _check_columns(frame: pd.DataFrame, needed: Sequence[str], where: str) -> None:
    columns = [str(c) for c in frame.columns]
    for column in needed:
        if column not in columns:
            raise DataError(
                f"column '{column}' is not in {where}; its columns are: {', '.join(columns)}. "
                "Pass an existing column with --input/--target"
            )


def _infer_kind(targets: Sequence[str]) -> TaskKind:
    distinct = len(set(targets))
    return TaskKind.CLASSIFICATION if distinct <= 50 and distinct * 2 <= len(targets) else TaskKind.GENERATION


def load_data(
    source: str | Path | pd.DataFrame,
    *,
    inputs: str | Sequence[str] | None = None,
    target: str | None = None,
    kind: TaskKind | str | None = None,
) -> Dataset:
    """Load labeled examples from a file, a DataFrame or a bundled task name.

    ``inputs`` and ``target`` name the columns; a bundled task knows its own.
    ``kind`` is inferred (few distinct targets means classification) unless given.
    """
    if isinstance(source, str) and source in BUNDLED:
        inputs = inputs or BUNDLED[source].inputs
        target = target or BUNDLED[source].target
    if not inputs or not target:
        raise DataError("name the input column(s) and the target column, e.g. --input text --target label")
    input_columns = tuple(c.strip() for c in inputs.split(",")) if isinstance(inputs, str) else tuple(inputs)
    repeated = sorted({c for c in input_columns if input_columns.count(c) > 1})
    if repeated:
        raise DataError(f"input column '{repeated[0]}' is named twice; name each input column once")
    if target in input_columns:
        raise DataError(f"column '{target}' is both an input and the target, so every prompt would show the "
                        "answer; pass other --input columns")
    frame, where = _as_frame(source)
    if len(frame) == 0:
        raise DataError(f"{where} has no rows; give at least two examples")
    _check_columns(frame, (*input_columns, target), where)
    _check_filled(frame, target, where)
    for column in input_columns:
        _warn_blank(frame, column, where)
    targets = [str(v).strip() for v in frame[target]]
    examples = tuple(
        Example(id=str(i), inputs={c: "" if _is_missing(row[c]) else str(row[c]) for c in input_columns},
                target=targets[i])
        for i, (_, row) in enumerate(frame.iterrows())
    )
    task_kind = TaskKind(kind) if kind else _infer_kind(targets)
    labels: tuple[str, ...] = ()
    if task_kind is TaskKind.CLASSIFICATION:
        labels = tuple(sorted(set(targets)))
        _check_label_spelling(labels, where)
        if len(labels) < 2:
            raise DataError(
                f"target column '{target}' in {where} has a single class ('{labels[0]}'); "
                "a classification task needs at least two labels"
            )
    return Dataset(examples, input_columns, target, task_kind, labels)


def _is_missing(value: Any) -> bool:
    """A cell with no value: JSON null, a DataFrame's NaN, or text that is empty or blank. Words such as
    ``NA``, ``None`` or ``null`` are text (CSV files are read with no missing-value words)."""
    return value is None or (isinstance(value, float) and value != value) or \
        (isinstance(value, str) and not value.strip())


def _blank_rows(frame: pd.DataFrame, column: str) -> str:
    """The 1-based data rows whose ``column`` has no value, as text ("" for none)."""
    empty = [i for i, value in enumerate(frame[column]) if _is_missing(value)]
    return ", ".join(str(i + 1) for i in empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")


def _check_filled(frame: pd.DataFrame, target: str, where: str) -> None:
    """One ``DataError`` naming the rows whose target has no value: a label cannot be guessed."""
    rows = _blank_rows(frame, target)
    if rows:
        raise DataError(f"example(s) in {where} have no value in target column '{target}' (data rows {rows}); "
                        "fill in or drop those rows")


def _warn_blank(frame: pd.DataFrame, column: str, where: str) -> None:
    """A warning naming the rows whose input ``column`` is blank: they are kept as empty text (public data
    sets hold such rows, and the model can still be asked), never filled in or dropped silently."""
    rows = _blank_rows(frame, column)
    if rows:
        warnings.warn(f"input column '{column}' of {where} is blank in data rows {rows}; those rows are kept "
                      "with empty text (drop them from the file if they are mistakes)", DataWarning, stacklevel=3)


def _check_label_spelling(labels: Sequence[str], where: str) -> None:
    """Warn about labels that differ only by case or spacing: probably one class written two ways."""
    groups: dict[str, list[str]] = {}
    for label in labels:
        groups.setdefault(" ".join(label.lower().split()), []).append(label)
    for spellings in groups.values():
        if len(spellings) > 1:
            shown = ", ".join(repr(s) for s in spellings)
            warnings.warn(f"labels {shown} in {where} differ only by case or spacing and count as "
                          f"{len(spellings)} classes; write them one way if they are one class", DataWarning,
                          stacklevel=3)


class DataWarning(UserWarning):
    """Something in the data was fixed on the way in (e.g. repeated rows dropped)."""
