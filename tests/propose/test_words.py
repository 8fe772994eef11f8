"""Label-word moves."""

from __future__ import annotations

import pandas as pd

from autoprompt.propose.words import WordsOperator, forms
from autoprompt.records.analysis import ErrorAnalysis
from autoprompt.records.candidate import Candidate
from tests.conftest import refine_context, scored_parent


def test_forms_of_a_label() -> None:
    sets = {"as_is": {"play_music": "play_music"}, "spaced": {"play_music": "play music"},
            "capitalized": {"play_music": "Play music"}}
    assert forms("play_music", sets) == ["play_music", "play music", "Play music", "play"]


def test_words_target_the_confused_labels(keyword_frame: pd.DataFrame) -> None:
    context = refine_context(keyword_frame)
    parent = scored_parent(context, Candidate("fields"))
    confused = ErrorAnalysis(parent.n, confusions=(("yes", "no", 3),))
    parent = parent.__class__(**{**parent.__dict__, "analysis": confused})
    children = WordsOperator().propose(parent, context)
    per_label = [c for c in children if c.operator == "words.label"]
    assert per_label
    assert {label for c in per_label for label, _ in c.candidate.word_overrides} <= {"yes", "no"}
    assert any(c.operator == "words.set" for c in children)


def test_field_names_are_moves_where_the_skeleton_shows_them(keyword_frame: pd.DataFrame) -> None:
    context = refine_context(keyword_frame)
    parent = scored_parent(context, Candidate("fields", answer_title="Answer"))
    fields = [c.candidate for c in WordsOperator().propose(parent, context) if c.operator == "words.field"]
    assert {c.input_title for c in fields} >= {"Review", "Sentence", "Question"}
    assert {c.answer_title for c in fields} >= {"Sentiment", "Topic", ""}   # "" goes back to the column's name
    assert all(c.task == "fields" and (c.input_title == "" or c.answer_title == "Answer") for c in fields)
    question = scored_parent(context, Candidate("question"))   # shows no field names
    assert not [c for c in WordsOperator().propose(question, context) if c.operator == "words.field"]
    custom = refine_context(keyword_frame, template="Text: {{ text }}\nLabel:")
    assert not [c for c in WordsOperator().propose(scored_parent(custom, Candidate("custom")), custom)
                if c.operator == "words.field"]
