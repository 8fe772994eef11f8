"""Datasets: labeled examples loaded from CSV, JSONL or a DataFrame, and split.

Contract:
- ``load_data(source, inputs=..., target=...)`` returns a frozen ``Dataset`` of
  ``Example`` records (input fields plus a target string). ``source`` is a path to a
  ``.csv``/``.jsonl``/``.json`` file, a pandas DataFrame, or the name of a bundled
  task (``sentiment``, ``intent``, ``past_tense``, ``restaurant``).
- ``split(dataset, seed=...)`` is deterministic and stratified by label for
  classification tasks. ``selection_rows(train, dev)`` keeps a demonstration pool and
  lets the other training rows score candidates; ``hold_out(rows, by_label=...)`` sets
  every third row of each label aside for a final check.
- Every problem with the data raises ``DataError`` naming the problem and the fix.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import random
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoprompt.errors import DataError
from autoprompt.files import read_bytes
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


@dataclass(frozen=True)
class BundledTask:
    """A task shipped with autoprompt, with its default columns."""

    name: str
    filename: str
    inputs: tuple[str, ...]
    target: str
    description: str
    definitions: Mapping[str, str] = field(default_factory=dict)
    json_schema: str = ""  # a file beside the data: the schema every answer follows (a JSON task)


BUNDLED: dict[str, BundledTask] = {
    "sentiment": BundledTask(
        "sentiment", "sentiment.csv", ("text",), "label",
        "Sentences from reviews (MultiEmo English); is the opinion positive or negative?",
        {
            "positive": "the writer is satisfied, praises or recommends",
            "negative": "the writer complains, criticises or warns",
        },
    ),
    "intent": BundledTask(
        "intent", "intent.csv", ("utterance",), "intent",
        "Voice-assistant utterances; which of 7 intents does the user have?",
        {
            "add_to_playlist": "put a song or artist on a playlist",
            "book_restaurant": "reserve a table at a restaurant",
            "get_weather": "ask about the weather forecast",
            "play_music": "play a song, album, artist or station",
            "rate_book": "give a rating to a book or novel",
            "search_creative_work": "find a show, song, book, game or picture",
            "search_screening_event": "find movie times or cinemas",
        },
    ),
    "past_tense": BundledTask(
        "past_tense", "past_tense.csv", ("verb",), "past",
        "English verbs; write the simple past tense.",
    ),
    "restaurant": BundledTask(
        "restaurant", "restaurant.csv", ("text",), "fields",
        "Restaurant descriptions (E2E NLG); extract the restaurant's attributes as JSON.",
        json_schema="restaurant.schema.json",
    ),
}


def bundled_path(name: str) -> Path:
    """The file of a bundled task, inside the installed package."""
    task = BUNDLED[name]
    return Path(str(resources.files("autoprompt.datasets").joinpath(task.filename)))


def bundled_schema(name: str) -> str:
    """The JSON schema text a bundled JSON task ships beside its data."""
    return resources.files("autoprompt.datasets").joinpath(BUNDLED[name].json_schema).read_text(encoding="utf-8")


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


def json_lines(text: str, where: Callable[[int], str]) -> Iterator[tuple[int, Any]]:
    """Each non-blank line of a JSONL text as (line number, value); a line that is not JSON is a
    ``DataError`` naming it as ``where(number)``."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where(number)} is not JSON ({exc.msg}); fix or delete that line") from None


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


def split(
    dataset: Dataset,
    *,
    fractions: tuple[float, float, float] = (0.4, 0.3, 0.3),
    seed: int = 0,
) -> Split:
    """Split into train/dev/test, deterministically and stratified by label."""
    if abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise DataError(f"split fractions {fractions} must be non-negative and sum to 1")
    rng = random.Random(seed)
    groups = _by_label(dataset.examples, dataset.kind is TaskKind.CLASSIFICATION)
    parts: tuple[list[Example], list[Example], list[Example]] = ([], [], [])
    for key in sorted(groups):
        members = groups[key][:]
        rng.shuffle(members)
        n_train = round(len(members) * fractions[0])
        n_dev = round(len(members) * fractions[1])
        parts[0].extend(members[:n_train])
        parts[1].extend(members[n_train : n_train + n_dev])
        parts[2].extend(members[n_train + n_dev :])
    for part in parts:
        rng.shuffle(part)
    train, dev, test = (dataset.subset(p) for p in parts)
    if len(dev) == 0:
        raise DataError(f"the dev split of {len(dataset)} examples is empty; give more examples or a --dev file")
    return Split(train, dev, test)


class DataWarning(UserWarning):
    """Something in the data was fixed on the way in (e.g. repeated rows dropped)."""


def without_leaks(train: Dataset, dev: Dataset, test: Dataset) -> tuple[Dataset, Dataset, Dataset, int]:
    """``dev`` without rows whose inputs are a training row's, ``test`` without rows seen in either;
    with the number of rows removed. A row shown as a demonstration or used for selection would
    otherwise be scored again as if it were unseen."""
    seen = {_key(ex) for ex in train.examples}
    kept_dev = [ex for ex in dev.examples if _key(ex) not in seen]
    seen |= {_key(ex) for ex in kept_dev}
    kept_test = [ex for ex in test.examples if _key(ex) not in seen]
    removed = len(dev) - len(kept_dev) + len(test) - len(kept_test)
    return train, dev.subset(kept_dev), test.subset(kept_test), removed


def unique_rows(data: Dataset) -> tuple[Dataset, int]:
    """The dataset with each input kept once (its first row), and how many rows were dropped."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for ex in data.examples:
        if _key(ex) not in seen:
            seen.add(_key(ex))
            kept.append(ex)
    return data.subset(kept), len(data) - len(kept)


def _key(ex: Example) -> tuple[str, ...]:
    return tuple(ex.inputs[name].strip() for name in sorted(ex.inputs))


def _by_label(examples: Sequence[Example], classification: bool) -> dict[str, list[Example]]:
    """Examples grouped by target in their order (one group "" when there are no labels)."""
    groups: dict[str, list[Example]] = {}
    for ex in examples:
        groups.setdefault(ex.target if classification else "", []).append(ex)
    return groups


def selection_rows(train: Dataset, dev: Dataset, *, seed: int = 0, pool: float = 0.375) -> tuple[Dataset, Dataset]:
    """Split the training rows into a demonstration pool and rows that score candidates.

    Returns ``(pool, selection)``: ``pool`` keeps about ``pool`` of each label's training rows
    (the only rows a prompt may show as demonstrations); ``selection`` is every dev row plus
    the other training rows (their ids prefixed ``train-`` when they clash with a dev id, as
    when train and dev come from separate files), so selection sees nearly twice
    the data and no candidate is ever scored on its own demonstrations. ``selection`` is
    interleaved by label (seeded), so every prefix of it, as racing uses, is balanced.
    """
    rng = random.Random(seed)
    classification = train.kind is TaskKind.CLASSIFICATION
    groups = _by_label(train.examples, classification)
    kept: list[Example] = []
    extra: list[Example] = []
    for key in sorted(groups):
        members = groups[key][:]
        rng.shuffle(members)
        n_pool = max(1, round(len(members) * pool)) if len(members) > 1 else len(members)
        kept += members[:n_pool]
        extra += members[n_pool:]
    dev_ids = {ex.id for ex in dev.examples}
    if any(ex.id in dev_ids for ex in extra):
        extra = [Example(f"train-{ex.id}", ex.inputs, ex.target) for ex in extra]
    rng.shuffle(kept)
    return train.subset(kept), dev.subset(interleave_by_label([*dev.examples, *extra], classification, rng))


def interleave_by_label(examples: Sequence[Example], classification: bool, rng: random.Random) -> list[Example]:
    """Shuffle each label's examples, then deal them out one label at a time (most frequent first)."""
    if not classification:
        shuffled = list(examples)
        rng.shuffle(shuffled)
        return shuffled
    groups = _by_label(examples, True)
    queues = [groups[k] for k in sorted(groups)]
    for queue in queues:
        rng.shuffle(queue)
    total, dealt = len(examples), [0] * len(queues)
    out: list[Example] = []
    while len(out) < total:  # deal the label that is furthest behind its share
        i = min((k for k in range(len(queues)) if dealt[k] < len(queues[k])),
                key=lambda k: ((dealt[k] + 1) / len(queues[k]), k))
        out.append(queues[i][dealt[i]])
        dealt[i] += 1
    return out


def hold_out(examples: Sequence[Example], *, by_label: bool, every: int = 3) -> tuple[list[Example], list[Example]]:
    """Every ``every``-th example of each label (of all, without labels) held out; both parts keep the order."""
    kept: list[Example] = []
    held: list[Example] = []
    seen: dict[str, int] = {}
    for ex in examples:
        key = ex.target if by_label else ""
        (held if seen.get(key, 0) % every == every - 1 else kept).append(ex)
        seen[key] = seen.get(key, 0) + 1
    return kept, held
