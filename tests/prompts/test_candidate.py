"""Composing candidates into prompts."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from autoprompt.prompts.compose import compose, verbalizers
from autoprompt.prompts.template import Template
from autoprompt.records.candidate import Candidate
from autoprompt.records.message import as_dicts, as_text
from autoprompt.search.task import prepare_task
from autoprompt.spec import RunSpec, Start


def test_demos_are_class_balanced_and_seeded(keyword_frame: pd.DataFrame) -> None:
    task = prepare_task(RunSpec(data=keyword_frame, inputs="text", target="label"))
    prompt = compose(Candidate("fields", n_demos=6, demo_seed=1), task.setup)
    answers = Counter(d["answer"] for d in prompt.constants["demos"])
    assert answers == {"yes": 2, "no": 2, "maybe": 2}
    again = compose(Candidate("fields", n_demos=6, demo_seed=1), task.setup)
    other = compose(Candidate("fields", n_demos=6, demo_seed=2), task.setup)
    assert again.constants == prompt.constants and other.constants != prompt.constants


def test_clarifiers_context_and_label_words_reach_the_text(keyword_frame: pd.DataFrame) -> None:
    task = prepare_task(RunSpec(data=keyword_frame, inputs="text", target="label",
                                start=Start(label_definitions={"yes": "agrees"})))
    cand = Candidate("instruction", ("answer_with_label",), ("label_definitions",), verbalizer="capitalized")
    text = compose(cand, task.setup).render({"text": "hello"})
    assert "Answer with one of: Maybe, No, Yes." in text
    assert "- Yes: agrees" in text
    assert text.endswith("Text: hello\nLabel:")
    assert compose(cand, task.setup).continuations() == {"maybe": " Maybe", "no": " No", "yes": " Yes"}


def test_custom_template_gets_preamble_and_demos_in_its_own_format(keyword_frame: pd.DataFrame) -> None:
    task = prepare_task(RunSpec(data=keyword_frame, inputs="text", target="label",
                                start=Start(template="Q: {{ text }}\nA:")))
    custom = task.custom
    assert isinstance(custom, Template)
    prompt = compose(Candidate("custom", ("one_word",), n_demos=3), task.setup, custom)
    text = prompt.render({"text": "new"})
    assert text.startswith("Answer with one word.\n\nQ: ")
    assert text.count("\nA: ") == 3 and text.endswith("Q: new\nA:")


def test_verbalizers_drop_duplicates() -> None:
    sets = verbalizers(("negative", "positive"))
    assert list(sets) == ["as_is", "capitalized"]
    assert verbalizers(("add_to_playlist", "play_music"))["spaced"]["play_music"] == "play music"


def test_the_graded_answer_is_cut_at_a_stop_string_then_matched() -> None:
    from autoprompt.prompts.prompt import Prompt
    from autoprompt.wire import sent_stops

    def answer(generated: str, **settings: object) -> str | None:
        return Prompt(template="Q: {{ q }}\nA:", constants={}, input_names=("q",), **settings).answer(generated)  # type: ignore[arg-type]

    assert answer("\n walked\nInput: x") == "walked"  # the default stop: the first line, after some content
    assert answer("line one\nline two\n", stop=()) == "line one\nline two"  # no stop: the whole answer
    assert answer("Paris ### London", stop=("###",)) == "Paris"
    assert answer("### Paris ### London", stop=("###",)) == "### Paris"  # a stop counts after some content
    assert answer("I think.\nAnswer: Paris", stop=(), answer_pattern=r"Answer: (\w+)") == "Paris"
    assert answer("no answer here", stop=(), answer_pattern=r"Answer: (\w+)") is None
    assert answer("42 apples", answer_pattern=r"\d+") == "42"
    assert sent_stops(("\n", "###", " ", "END", "a", "b")) == ["###", "END", "a", "b"]


def test_instructions_move_to_the_system_message_and_demonstrations_become_turns(
        keyword_frame: pd.DataFrame) -> None:
    setup = prepare_task(RunSpec(data=keyword_frame, inputs="text", target="label", seed=0,
                                 start=Start(system="You sort texts into {{ labels | join(', ') }}."))).setup
    inline = compose(Candidate("instruction", clarifiers=("one_word",), n_demos=3), setup)
    moved = compose(Candidate("instruction", clarifiers=("one_word",), n_demos=3, system=True, demo_turns=True), setup)
    assert inline.system == "You sort texts into maybe, no, yes."  # the user's system message, always first
    assert moved.system.startswith(inline.system + "\n\n") and "one word" in moved.system
    chat = moved.request({"text": "yes it is"})
    assert not isinstance(chat, str) and [m.role for m in chat] == ["system"] + ["user", "assistant"] * 3 + ["user"]
    assert chat[-1].content == "Text: yes it is\nLabel:"  # no instruction, no inline demos, no leading blank lines
    demos = moved.constants["turn_demos"]
    assert [m.content for m in chat[2:-1:2]] == [d["answer"] for d in demos]
    assert chat[1].content == f"Text: {demos[0]['inputs']['text']}\nLabel:"
    flat = as_text(chat)  # what a raw-text model reads: the inline layout's parts, in order
    assert flat.endswith("Text: yes it is\nLabel:") and all(d["inputs"]["text"] in flat for d in demos)
    assert moved.messages({"text": "yes it is"}) == as_dicts(chat)
    assert moved.key() != inline.key()
    assert compose(Candidate("fields"), setup).request({"text": "x"}) != "Text: x\nLabel:"  # the system message


def test_a_custom_template_takes_demonstration_turns_in_its_own_format(keyword_frame: pd.DataFrame) -> None:
    task = prepare_task(RunSpec(data=keyword_frame, inputs="text", target="label", seed=0,
                                start=Start(template="Q: {{ text }}\nA:")))
    prompt = compose(Candidate("custom", n_demos=2, demo_turns=True, system=True, clarifiers=("one_word",)),
                     task.setup, task.custom)
    chat = prompt.request({"text": "hello"})
    assert not isinstance(chat, str)
    assert [m.content for m in chat if m.role == "user"][-1] == "Q: hello\nA:"
    assert chat[1].content.startswith("Q: ") and chat[0].role == "system"
