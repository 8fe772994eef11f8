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
