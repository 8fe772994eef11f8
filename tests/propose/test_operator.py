"""Every operator family proposes valid candidates that keep what the task needs."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from autoprompt.errors import ConfigError
from autoprompt.prompts.compose import compose
from autoprompt.propose.operator import validate
from autoprompt.propose.registry import FAMILIES, build_operators
from autoprompt.records.candidate import Candidate
from autoprompt.records.feedback import Feedback
from tests.conftest import ScriptedWriter, refine_context, scored_parent

PARENTS = [
    Candidate("instruction"),
    Candidate("instruction", clarifiers=("one_word", "careful"), context=("background",), n_demos=3, demo_seed=1),
    Candidate("question", verbalizer="capitalized", calibrate=True),
    Candidate("fields", n_demos=6, chat=True),
]
REPLIES = ["Here is the instruction:\n\nDecide whether the text says yes, no or maybe.",
           "The reason is that the labels are not named.", "Sort each text into yes, no or maybe."]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("parent", PARENTS, ids=lambda c: c.describe())
def test_proposals_are_valid_and_keep_inputs_and_labels(keyword_frame: pd.DataFrame, family: str,
                                                        parent: Candidate) -> None:
    notes = [Feedback("3", "too long"), Feedback("4", "name the label only", 1)] if family == "feedback" else []
    context = refine_context(keyword_frame, writer=ScriptedWriter(REPLIES), feedback=notes)
    [operator] = build_operators([family])
    trial = scored_parent(context, parent)
    children = operator.propose(trial, context)
    shows_instruction = context.setup.uses_instruction(parent.task)
    assert bool(children) == (family != "edit" or shows_instruction), f"{family} on {parent.describe()}"
    example = next(iter(context.dev.values()))
    if family in ("rewrite", "feedback"):  # model replies are untrusted: the strategy validates them (see test_rewrite)
        children = [child for child in children if validate(child.candidate, context) == ""]
        assert children
    for child in children:
        assert child.operator.startswith(family + ".")
        assert child.candidate != parent
        assert validate(child.candidate, context) == "", child
        text = compose(child.candidate, context.setup).render(example.inputs)
        assert example.inputs["text"] in text  # the input placeholder survives every move
        if context.setup.uses_instruction(child.candidate.task):
            words = context.setup.words(child.candidate.verbalizer, child.candidate.word_overrides)
            assert all(word.lower() in text.lower() for word in words.values())  # so does the label set


def test_custom_templates_keep_their_placeholders(keyword_frame: pd.DataFrame) -> None:
    context = refine_context(keyword_frame, template="Text: {{ text }}\nLabel:")
    parent = scored_parent(context, Candidate("custom"))
    for operator in build_operators(["edit", "move", "demos", "words"]):
        for child in operator.propose(parent, context):
            assert validate(child.candidate, context) == ""
            rendered = compose(child.candidate, context.setup, context.custom).render({"text": "QQQ"})
            assert "QQQ" in rendered


def test_validate_names_what_is_wrong(keyword_frame: pd.DataFrame) -> None:
    context = refine_context(keyword_frame)
    base = Candidate("instruction")
    assert "drops the label set" in validate(replace(base, instruction="Classify the text."), context)
    assert validate(replace(base, instruction="Say yes, no or maybe."), context) == ""
    assert "placeholders" in validate(replace(base, instruction="Label {{ text }} as {{ labels }}."), context)
    assert "syntax error" in validate(replace(base, instruction="Pick {{ labels "), context)
    assert "distinct" in validate(replace(base, word_overrides=(("yes", "no"),)), context)
    assert "not in the training data" in validate(replace(base, demo_ids=("nope",)), context)


def test_unknown_family_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown operator family gradient"):
        build_operators(["edit", "gradient"])


def test_merge_combines_what_siblings_changed() -> None:
    from autoprompt.propose.move import combine

    base = Candidate("instruction", clarifiers=("careful",))
    parent = replace(base, n_demos=4, demo_seed=2)
    sibling = replace(base, clarifiers=("careful", "one_word"), calibrate=True)
    merged = combine(parent, base, sibling)
    assert merged == replace(parent, clarifiers=("careful", "one_word"), calibrate=True)
    dropped = combine(parent, base, replace(base, clarifiers=()))
    assert dropped.clarifiers == () and dropped.n_demos == 4
