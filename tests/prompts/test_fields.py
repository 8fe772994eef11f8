"""Field names: proposed from the data's columns, the label set and a short list of common words."""

from __future__ import annotations

import pandas as pd

from autoprompt.prompts.compose import compose
from autoprompt.prompts.fields import ANSWER_WORDS, INPUT_WORDS, answer_titles, input_titles
from autoprompt.records.candidate import Candidate
from autoprompt.search.task import prepare_task
from autoprompt.spec import RunSpec


def sentiment_task():  # type: ignore[no-untyped-def]
    frame = pd.DataFrame([{"text": f"review {i} is {w}", "label": w} for i in range(20)
                          for w in ("positive", "negative")])
    return prepare_task(RunSpec(data=frame, inputs="text", target="label"))


def test_the_columns_come_first_then_the_label_set_then_common_words() -> None:
    setup = sentiment_task().setup
    assert answer_titles(setup)[:3] == ["Label", "Negative or positive", "Answer"]
    assert set(ANSWER_WORDS) <= set(answer_titles(setup))
    assert input_titles(setup) == ["Text", *(w for w in INPUT_WORDS if w != "Text")]


def test_a_long_label_set_is_not_a_title_and_several_inputs_keep_their_names() -> None:
    frame = pd.DataFrame([{"a": f"x {i}", "b": f"y {i}", "label": str(i % 5)} for i in range(50)])
    setup = prepare_task(RunSpec(data=frame, inputs=["a", "b"], target="label")).setup
    assert " or " not in " ".join(answer_titles(setup))
    assert input_titles(setup) == []
    rendered = compose(Candidate("fields", input_title="Review"), setup).render({"a": "1", "b": "2"})
    assert "A: 1" in rendered and "Review" not in rendered


def test_a_candidates_field_names_are_what_the_prompt_shows() -> None:
    setup = sentiment_task().setup
    plain = compose(Candidate("fields"), setup).render({"text": "Great."})
    titled = compose(Candidate("fields", input_title="Review", answer_title="Sentiment"), setup)
    assert plain.endswith("Text: Great.\nLabel:")
    assert titled.render({"text": "Great."}).endswith("Review: Great.\nSentiment:")
    assert Candidate("fields", input_title="Review", answer_title="Sentiment").describe() == "fields[Review/Sentiment]"
    assert Candidate("fields", answer_title="Sentiment").describe() == "fields[-/Sentiment]"
