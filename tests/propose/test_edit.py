"""GrIPS-style phrase edits."""

from __future__ import annotations

from autoprompt.prompts.template import Template
from autoprompt.propose.edit import added_phrases, paraphrase, phrases, substitutions
from autoprompt.records.task_kind import TaskKind

SOURCE = ("Classify the {{ input_names | join(', ') }} as one of: {{ labels | join(', ') }}. "
          "Read it carefully, then answer.")


def test_phrases_never_cut_a_jinja_expression() -> None:
    parts = phrases(SOURCE)
    assert parts == ["Classify the {{ input_names | join(', ') }} as one of: {{ labels | join(', ') }}.",
                     "Read it carefully,", "then answer."]
    for part in parts:
        Template("part", part).variables()  # parses


def test_paraphrase_keeps_case_and_leaves_jinja_alone() -> None:
    assert paraphrase(SOURCE, "classify", "label", ).startswith("Label the {{ input_names")
    joined = paraphrase("Use {{ labels | join(', ') }} and join them.", "join", "merge")
    assert joined == "Use {{ labels | join(', ') }} and merge them."
    assert paraphrase(SOURCE, "nonexistent", "x") is None


def test_phrase_banks_load_and_fit_the_task_kind() -> None:
    assert substitutions() and all(old and new for old, new in substitutions())
    classification, generation = added_phrases(TaskKind.CLASSIFICATION), added_phrases(TaskKind.GENERATION)
    assert any("labels" in p for p in classification)
    assert not any("labels" in p for p in generation)
    assert set(generation) < set(classification)
