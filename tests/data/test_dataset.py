"""Loading and splitting data, and the errors for bad data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from autoprompt.data.bundled import BUNDLED, bundled_schema
from autoprompt.data.dataset import DataWarning, load_data
from autoprompt.data.splits import selection_rows, split
from autoprompt.errors import DataError
from autoprompt.records.task_kind import TaskKind


def test_csv_jsonl_and_frame_load_the_same(tmp_path: Path, keyword_frame: pd.DataFrame) -> None:
    keyword_frame.to_csv(tmp_path / "d.csv", index=False)
    keyword_frame.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    loaded = [load_data(src, inputs="text", target="label")
              for src in (tmp_path / "d.csv", tmp_path / "d.jsonl", keyword_frame)]
    assert loaded[0].examples == loaded[1].examples == loaded[2].examples
    assert loaded[0].kind is TaskKind.CLASSIFICATION
    assert loaded[0].labels == ("maybe", "no", "yes")


def test_bundled_tasks_load_with_their_columns() -> None:
    sizes = {name: len(load_data(name)) for name in BUNDLED}
    assert sizes == {"sentiment": 300, "intent": 280, "past_tense": 200, "restaurant": 213}
    assert load_data("intent").labels.__len__() == 7
    assert load_data("past_tense").kind is TaskKind.GENERATION
    restaurant = load_data("restaurant")
    assert restaurant.kind is TaskKind.GENERATION and restaurant.input_columns == ("text",)
    schema = json.loads(bundled_schema("restaurant"))
    for ex in restaurant.examples:  # every target is JSON within the schema's fields and values
        fields = json.loads(ex.target)
        assert fields and set(fields) <= set(schema["properties"])
        for name, value in fields.items():
            assert value in schema["properties"][name].get("enum", [value])


def test_split_is_deterministic_and_stratified(keyword_frame: pd.DataFrame) -> None:
    data = load_data(keyword_frame, inputs="text", target="label")
    a, b = split(data, seed=3), split(data, seed=3)
    assert a == b
    assert split(data, seed=4).dev != a.dev
    for part in (a.train, a.dev, a.test):
        counts = pd.Series([ex.target for ex in part.examples]).value_counts()
        assert counts.max() - counts.min() <= 1
    ids = [ex.id for part in (a.train, a.dev, a.test) for ex in part.examples]
    assert sorted(ids) == sorted(ex.id for ex in data.examples)


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("", ".csv", "is empty"),
        ("text,label\na,x\nb,y\n", ".xlsx", "unknown file type"),
        ("text,label\na,x\nb,\nc,y\n", ".csv", "no value in target column 'label'"),
        ("text,label\na,x\nb,  \nc,y\n", ".csv", r"no value in target column 'label' \(data rows 2\)"),
        ('{"text": "a", "label": null}\n{"text": "b", "label": "y"}\n', ".jsonl", "no value in target column"),
        ("text,label\na,x\nb,x\nc,x\n", ".csv", "single class"),
        ("words,label\na,x\nb,y\n", ".csv", "column 'text' is not in"),
    ],
)
def test_bad_data_gives_clear_errors(tmp_path: Path, content: str, suffix: str, message: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_data(path, inputs="text", target="label", kind="classification")


def test_missing_column_error_lists_existing_columns(keyword_csv: Path) -> None:
    with pytest.raises(DataError) as info:
        load_data(keyword_csv, inputs="review", target="label")
    assert "'review'" in str(info.value) and "text, label" in str(info.value)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_data(tmp_path / "nope.csv", inputs="text", target="label")


def test_selection_rows_keep_a_demo_pool_and_score_on_the_rest(keyword_frame: pd.DataFrame) -> None:
    data = load_data(keyword_frame, inputs="text", target="label")
    train, dev = data.subset(data.examples[:48]), data.subset(data.examples[48:])
    pool, selection = selection_rows(train, dev, seed=3)
    assert len(pool) == 18 and len(selection) == 12 + 30  # 6 of each label's 16 stay demonstrations
    assert {ex.id for ex in pool.examples}.isdisjoint(ex.id for ex in selection.examples)
    assert {ex.id for ex in dev.examples} <= {ex.id for ex in selection.examples}
    labels = [ex.target for ex in selection.examples]
    assert all(len(set(labels[i:i + 3])) == 3 for i in range(0, 42, 3))  # every prefix is balanced
    assert selection_rows(train, dev, seed=3) == (pool, selection)
    clash = load_data(keyword_frame.iloc[:12], inputs="text", target="label")  # ids 0..11, as a separate dev file
    _, mixed = selection_rows(train, clash, seed=3)
    ids = [ex.id for ex in mixed.examples]
    assert len(set(ids)) == len(ids) and any(i.startswith("train-") for i in ids)


def test_missing_value_words_are_text(tmp_path: Path) -> None:
    """``NA``, ``None``, ``null``, ``nan`` and ``N/A`` are real inputs and labels, not missing cells."""
    path = tmp_path / "words.csv"
    path.write_text("text,label\nNA,None\nnull,NA\nnan,None\nN/A,NA\n")
    data = load_data(path, inputs="text", target="label", kind="classification")
    assert [ex.inputs["text"] for ex in data.examples] == ["NA", "null", "nan", "N/A"]
    assert data.labels == ("NA", "None")


def test_labels_equal_up_to_case_or_spacing_are_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("text,label\na,Positive\nb,positive\nc,negative\nd,negative\n")
    with pytest.warns(DataWarning, match="'Positive', 'positive' .* differ only by case or spacing"):
        data = load_data(path, inputs="text", target="label", kind="classification")
    assert len(data.labels) == 3


def test_blank_inputs_are_kept_as_empty_text_and_named(tmp_path: Path) -> None:
    path = tmp_path / "blank.jsonl"
    path.write_text('{"text": null, "label": "x"}\n{"text": "  ", "label": "y"}\n{"text": "c", "label": "y"}\n')
    with pytest.warns(DataWarning, match="blank in data rows 1, 2"):
        data = load_data(path, inputs="text", target="label", kind="classification")
    assert [ex.inputs["text"] for ex in data.examples] == ["", "", "c"]
