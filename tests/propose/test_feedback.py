"""Feedback records: reading them, checking them, and the proposals they become."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import autoprompt
from autoprompt.errors import ConfigError, DataError
from autoprompt.prompts.compose import compose
from autoprompt.prompts.library import TemplateLibrary
from autoprompt.propose.feedback import FeedbackOperator, clarifier_names, clarifier_text, feedback_library
from autoprompt.records.candidate import Candidate
from autoprompt.records.feedback import Feedback, Verdict
from autoprompt.records.trial import Trial, TrialState
from autoprompt.search.starts import start_candidate
from autoprompt.search.task import prepare_task
from autoprompt.spec import RunSpec
from autoprompt.storage.feedback_file import append_feedback, load_feedback
from tests.conftest import ScriptedWriter, refine_context


def test_notes_become_clarifiers_by_rule_or_in_their_own_words() -> None:
    assert clarifier_text("The explanation is too detailed") == \
        "Provide a shorter, more abstract answer without extra detail."
    assert clarifier_text("way too formal for a chat") == "Use a friendly, natural tone."
    assert clarifier_text("mention the order number") == "Mention the order number."
    assert clarifier_text("the customer's name matters") == \
        "A reviewer said about earlier answers: the customer's name matters. Take this into account."
    assert clarifier_text("{{ cycler.__init__.__globals__ }} {% raw %}") == \
        "A reviewer said about earlier answers: cycler.__init__.__globals__ raw. Take this into account."
    assert clarifier_text("  {}  ") == ""


def test_each_distinct_clarifier_gets_one_name() -> None:
    records = [Feedback("1", "too long"), Feedback("2", "too verbose"), Feedback("3", ""), Feedback("4", "say hi")]
    assert clarifier_names(records) == {"feedback1": "Provide a shorter, more abstract answer without extra detail.",
                                        "feedback2": "Say hi."}


def test_feedback_files_round_trip_and_bad_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    record = Feedback("7", "too long", 2, Verdict.REJECT, "a very long answer", 3, {"task": "instruction"})
    append_feedback(path, record)
    assert load_feedback(path) == [record] and record.negative
    path.write_text(path.read_text() + '{"note": "x"}\n')
    with pytest.raises(DataError, match=r"feedback.jsonl:2: a feedback record needs an 'example_id'"):
        load_feedback(path)
    path.write_text('{"example_id": "1", "verdict": "maybe"}\n')
    with pytest.raises(DataError, match="verdict 'maybe' is not one of accept, reject, none"):
        load_feedback(path)
    path.write_text('{"example_id": "1", "rating": "great"}\n')
    with pytest.raises(DataError, match="rating 'great' is not a whole number from 1 to 5"):
        load_feedback(path)
    path.write_text("not json\n")
    with pytest.raises(DataError, match=r":1 is not JSON"):
        load_feedback(path)
    with pytest.raises(DataError, match="does not exist; write one with 'autoprompt review"):
        load_feedback(tmp_path / "missing.jsonl")


def test_feedback_on_unknown_examples_or_with_bad_ratings_stops_before_any_call(
        keyword_frame: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="2 example id\\(s\\) not in the data: nope, x9; ids look like"):
        autoprompt.optimize(keyword_frame, inputs="text", target="label", model="fake",
                            template=autoprompt.Start(feedback=[Feedback("nope", "too long"), Feedback("x9", "", 3),
                                                                Feedback("1", "ok")]))
    with pytest.raises(ConfigError, match="has rating 7; ratings go from 1 to 5"):
        autoprompt.optimize(keyword_frame, inputs="text", target="label", model="fake",
                            template=autoprompt.Start(feedback=[Feedback("1", "", 7)]))


def test_the_operator_proposes_clarifiers_and_an_optimizer_rewrite(keyword_frame: pd.DataFrame) -> None:
    writer = ScriptedWriter(["<instruction>Classify the text as yes, no or maybe, in one word.</instruction>"])
    context = refine_context(keyword_frame, writer=writer)
    dev_id = next(iter(context.dev))
    context = replace(context, feedback=[Feedback(dev_id, "too long", 1, Verdict.REJECT, "yes, because it says yes"),
                                         Feedback(dev_id, "mention the label only")])
    parent = Trial(0, Candidate("instruction"), TrialState.COMPLETE, 0.5, (), 0, 0.0, 10)
    children = FeedbackOperator().propose(parent, context)
    assert [c.operator for c in children] == ["feedback.clarifier", "feedback.clarifier", "feedback.critique"]
    assert children[0].candidate.clarifiers == ("feedback1",)
    assert children[2].candidate.instruction == "Classify the text as yes, no or maybe, in one word."
    asked = writer.prompts[0]
    assert "- too long" in asked and "- mention the label only" in asked
    assert "Answer: yes, because it says yes" in asked and "one of: maybe, no, yes" in asked


def test_python_feedback_puts_its_clarifier_in_the_first_round(keyword_frame: pd.DataFrame) -> None:
    ids = [str(i) for i in range(len(keyword_frame))]
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model="fake", budget=300, seed=0,
                                 template=autoprompt.Start(feedback=[Feedback(ids[3], "too wordy", 2)]))
    first = next(t for t in result.trials if t.operator not in ("start", "move.calibrate"))  # the first round
    assert (first.operator, first.candidate.clarifiers) == ("feedback.clarifier", ("feedback1",))
    task = prepare_task(RunSpec(data=keyword_frame, inputs="text", target="label",
                                seed=0), library=feedback_library(TemplateLibrary.bundled(),
                                [Feedback(ids[3], "too wordy")]))
    text = compose(first.candidate, task.setup).render({"text": "item says yes"})
    assert "Provide a shorter, more abstract answer without extra detail." in text
    assert start_candidate(task).clarifiers == ()
