"""Label-word moves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from autoprompt.models.backend import FakeBackend, TopTokens
from autoprompt.propose.words import WordsOperator, forms
from autoprompt.records.analysis import ErrorAnalysis
from autoprompt.records.candidate import Candidate
from autoprompt.records.message import Conversation, as_text
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


TELLING = {"yes": " affirmative", "no": " negative", "maybe": " unsure"}


class ListingBackend(FakeBackend):
    """The fake model, also listing its likeliest next tokens: after an input that names its label, a
    telling word for that label ("affirmative", "negative", "unsure") comes first."""

    def next_tokens(self, texts: Sequence[str | Conversation], *, chat: bool = False,
                    top: int = 200) -> list[TopTokens]:
        out = []
        for text in texts:
            said = next(label for label in ("maybe", "yes", "no") if f"says {label}" in as_text(text).split("\n")[-2])
            others = [w for label, w in TELLING.items() if label != said]
            out.append(TopTokens(((TELLING[said], -0.2), (" the", -1.5), *((w, -3.0) for w in others))))
        return out


def test_label_words_from_the_vocabulary_within_the_budget_the_search_leaves(keyword_frame: pd.DataFrame) -> None:
    """With a model that lists its next tokens, the label words that tell the labels apart on the rows the
    search may read become a child; never when the calls would reach into what the search keeps back."""
    from autoprompt.models.budget import Budget
    from autoprompt.models.client import Client

    context = refine_context(keyword_frame)
    parent = scored_parent(context, Candidate("fields"))
    rows = len(context.setup.train) + len(context.dev)
    client = Client(ListingBackend(), Budget(1000))
    vocab = [c for c in WordsOperator().propose(parent, replace(context, scorer=client))
             if c.operator == "words.vocab"]
    assert [dict(c.candidate.word_overrides) for c in vocab] == [
        {"yes": "affirmative", "no": "negative", "maybe": "unsure"}]
    assert client.calls == rows  # one per row the search may read
    tight = Client(ListingBackend(), Budget(rows + 50))
    children = WordsOperator().propose(parent, replace(context, scorer=tight, reserve=50))
    assert not [c for c in children if c.operator == "words.vocab"] and tight.calls == 0
