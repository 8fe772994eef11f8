"""The template library: task skeletons, clarifiers, context blocks, instructions and meta-prompts by name.

Contract:
- ``TemplateLibrary.bundled()`` reads ``autoprompt.templates`` (the ``templates/``
  folder of the source tree) with ``importlib.resources``.
- ``add(section, template)`` extends a library with a user's own template; use
  ``Template.from_path_or_text`` to read one from a file or a string.
- ``for_kind(kind)`` keeps only what fits a classification or generation task.
- ``instructions`` holds the default instruction sentence of each task kind
  (``classify``, ``generate``); ``meta`` holds the meta-prompts the model-based
  refinement operators send to the optimizer model; ``judge`` holds the rubrics a
  judge model grades outputs with (``correctness``, ``faithfulness``, ``concision``, ``tone``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib import resources

from autoprompt.errors import ConfigError
from autoprompt.prompts.template import Template

SECTIONS = ("tasks", "clarifiers", "context", "instructions", "meta", "judge")


@dataclass(frozen=True)
class TemplateLibrary:
    """Named templates in six sections: ``tasks``, ``clarifiers``, ``context``, ``instructions``, ``meta``,
    ``judge``."""

    tasks: dict[str, Template] = field(default_factory=dict)
    clarifiers: dict[str, Template] = field(default_factory=dict)
    context: dict[str, Template] = field(default_factory=dict)
    instructions: dict[str, Template] = field(default_factory=dict)
    meta: dict[str, Template] = field(default_factory=dict)
    judge: dict[str, Template] = field(default_factory=dict)

    @classmethod
    def bundled(cls) -> TemplateLibrary:
        root = resources.files("autoprompt.templates")
        sections: dict[str, dict[str, Template]] = {}
        for section in SECTIONS:
            entries = sorted(root.joinpath(section).iterdir(), key=lambda p: p.name)
            sections[section] = {
                e.name.removesuffix(".jinja"): Template.from_text(
                    f"{section}/{e.name.removesuffix('.jinja')}", e.read_text(encoding="utf-8")
                )
                for e in entries
                if e.name.endswith(".jinja")
            }
        return cls(**sections)

    def add(self, section: str, template: Template) -> TemplateLibrary:
        """A copy of the library with ``template`` added under ``section``."""
        if section not in SECTIONS:
            raise ConfigError(f"unknown template section '{section}'; use one of {', '.join(SECTIONS)}")
        entries = dict(getattr(self, section))
        entries[template.name] = template
        return replace(self, **{section: entries})

    def section(self, section: str) -> dict[str, Template]:
        return dict(getattr(self, section))

    def for_kind(self, kind: str) -> TemplateLibrary:
        """Only the templates that fit a task of this kind."""
        return TemplateLibrary(
            **{s: {n: t for n, t in getattr(self, s).items() if kind in t.kinds} for s in SECTIONS}
        )
