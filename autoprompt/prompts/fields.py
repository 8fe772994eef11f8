"""Field names: the words a prompt's fields are titled with (``Review:`` ... ``Sentiment:``).

Contract: for a 135M model one field word can be worth 25 points (``Label:`` against
``Sentiment:``), so the search proposes field names and scores them like any other choice.
``answer_titles(setup)`` and ``input_titles(setup)`` list the names worth trying for a task,
the data's own column names first: the target column's title, a question built from the label
set when it is short (``Positive or negative``), then ``ANSWER_WORDS``; the input column's title,
then ``INPUT_WORDS``. Pure functions of the task; no model is asked.
"""

from __future__ import annotations

from autoprompt.prompts.compose import TaskSetup, title
from autoprompt.records.task_kind import TaskKind

# what people title the answer and the input of a task with, most general first
ANSWER_WORDS = ("Answer", "Sentiment", "Topic", "Category", "Rating", "Type", "Class", "Label", "Output")
INPUT_WORDS = ("Text", "Review", "Sentence", "Question", "Input", "Article", "Message")
MAX_LABELS_IN_TITLE = 3


def answer_titles(setup: TaskSetup) -> list[str]:
    """Answer field names for the task, the target column's own first; for labels, also the label set
    as a question when it has at most ``MAX_LABELS_IN_TITLE`` labels."""
    names = [title(setup.target_name)]
    if setup.kind is TaskKind.CLASSIFICATION and 2 <= len(setup.labels) <= MAX_LABELS_IN_TITLE:
        words = [label.replace("_", " ").lower() for label in setup.labels]
        names.append(title(" or ".join([", ".join(words[:-1]), words[-1]])))
    return list(dict.fromkeys([*names, *ANSWER_WORDS]))


def input_titles(setup: TaskSetup) -> list[str]:
    """Input field names for a task with one input column, its own title first; none for several."""
    if len(setup.input_names) != 1:
        return []
    return list(dict.fromkeys([title(setup.input_names[0]), *INPUT_WORDS]))
