"""Sandboxed rendering, strict variables and the variable check."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoprompt.errors import TemplateError
from autoprompt.prompts.template import Template


def test_renders_with_strict_undefined() -> None:
    template = Template("t", "Review: {{ text }}\nSentiment:")
    assert template.render({"text": "fine"}) == "Review: fine\nSentiment:"
    with pytest.raises(TemplateError, match="failed to render"):
        template.render({})


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ text.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
    ],
)
def test_sandbox_blocks_python_internals(source: str) -> None:
    with pytest.raises(TemplateError):
        Template("evil", source).render({"text": "x", "cycler": object()})


def test_variable_check_names_variable_and_columns() -> None:
    template = Template("t", "Review: {{ review }} {{ labels }}")
    with pytest.raises(TemplateError) as info:
        template.check_variables({"labels"}, ["text", "label"])
    assert "'review'" in str(info.value) and "text, label" in str(info.value)
    template.check_variables({"labels"}, ["review"])


def test_from_path_or_text(tmp_path: Path) -> None:
    path = tmp_path / "mine.jinja"
    path.write_text("{# kinds: classification #}\nQ: {{ text }}\nA:")
    from_file = Template.from_path_or_text(str(path))
    assert from_file.name == "mine" and from_file.kinds == frozenset({"classification"})
    assert from_file.source == "Q: {{ text }}\nA:"
    assert Template.from_path_or_text("Q: {{ text }}").source == "Q: {{ text }}"
    with pytest.raises(TemplateError, match="does not exist"):
        Template.from_path_or_text("missing.jinja")


def test_syntax_error_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="syntax error"):
        Template("broken", "{{ text ").variables()
