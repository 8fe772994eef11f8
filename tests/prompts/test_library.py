"""The bundled template library and user additions."""

from __future__ import annotations

import pytest

from autoprompt.errors import ConfigError
from autoprompt.prompts.library import TemplateLibrary
from autoprompt.prompts.template import Template


def test_bundled_library_covers_the_three_techniques() -> None:
    library = TemplateLibrary.bundled()
    assert {"fields", "instruction", "question", "task_instruction"} <= set(library.tasks)
    assert {"answer_with_label", "one_word", "short", "direct"} <= set(library.clarifiers)
    assert {"background", "label_definitions"} <= set(library.context)
    generation = library.for_kind("generation")
    assert "instruction" not in generation.tasks and "task_instruction" in generation.tasks
    assert "answer_with_label" not in generation.clarifiers


def test_user_templates_are_added_by_text() -> None:
    library = TemplateLibrary.bundled().add("clarifiers", Template.from_text("polite", "Please be polite."))
    assert library.clarifiers["polite"].render({}) == "Please be polite."
    with pytest.raises(ConfigError, match="unknown template section"):
        library.add("footers", Template("x", "y"))
