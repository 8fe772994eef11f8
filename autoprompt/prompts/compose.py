"""Candidates: one point of the search space, and how it becomes a ``Prompt``.

Contract:
- ``Candidate`` is a frozen record of choices: task skeleton, instruction text,
  clarifiers, context blocks, how many demonstrations and which (a seeded balanced
  draw, or an explicit ordered list of training example ids), label words (a named
  set plus per-label overrides), calibration, chat or raw addressing, and whether the
  instructions sit in the system message and the demonstrations are turns of their own.
  It knows nothing about models.
- ``instruction`` is Jinja source (possibly written by a model: untrusted, rendered
  in the sandbox with the task's constants only). Empty means the library's default
  instruction for the task kind. Skeletons show it through ``{{ instruction }}``; a
  custom template gets it at the top.
- ``TaskSetup`` holds what composition needs from the task: the template library,
  columns, labels, label definitions, description and the training examples that
  demonstrations are drawn from.
- ``compose(candidate, setup)`` renders the static parts (context, clarifiers,
  demonstrations) once and returns a ``Prompt`` whose skeleton is filled per example.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from autoprompt.errors import ConfigError
from autoprompt.prompts.library import TemplateLibrary
from autoprompt.prompts.prompt import Prompt
from autoprompt.prompts.template import Template
from autoprompt.records.candidate import Candidate
from autoprompt.records.example import Example
from autoprompt.records.task_kind import TaskKind

CUSTOM_TASK = "custom"
_WRAPPER = "{{ preamble }}"


def candidate_from(record: Mapping[str, Any]) -> Candidate:
    """A ``Candidate`` from its ``dataclasses.asdict`` form (as JSON files keep it)."""
    fields = {f for f in Candidate.__dataclass_fields__}
    unknown = set(record) - fields
    if unknown or "task" not in record:
        raise ConfigError(f"a saved candidate has unknown fields {', '.join(sorted(unknown)) or '(none)'} or no "
                          "task; it was written by another version of autoprompt")
    values = dict(record)
    for name in ("clarifiers", "context", "demo_ids"):
        values[name] = tuple(values.get(name, ()))
    values["word_overrides"] = tuple(tuple(pair) for pair in values.get("word_overrides", ()))
    return Candidate(**values)


def title(name: str) -> str:
    """``review_text`` -> ``Review text``."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def verbalizers(
    labels: tuple[str, ...], extra: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, dict[str, str]]:
    """Named sets of label words: the label as is, spaced, capitalized, plus the user's own."""
    sets = {
        "as_is": {label: label for label in labels},
        "spaced": {label: label.replace("_", " ").lower() for label in labels},
        "capitalized": {label: title(label) for label in labels},
    }
    unique: dict[str, dict[str, str]] = {}
    for name, words in {**sets, **(extra or {})}.items():
        if name in ("as_is", *(extra or {})) or words not in unique.values():
            unique[name] = dict(words)
    return unique


@dataclass(frozen=True)
class TaskSetup:
    """Everything about the task that composition needs."""

    library: TemplateLibrary
    kind: TaskKind
    input_names: tuple[str, ...]
    target_name: str
    labels: tuple[str, ...] = ()
    train: tuple[Example, ...] = ()
    description: str = ""
    definitions: Mapping[str, str] = field(default_factory=dict)
    label_words: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    max_output_tokens: int = 256  # free text: the answer settings every composed prompt carries
    stop: tuple[str, ...] = ("\n",)
    answer_pattern: str | None = None
    json_schema: str | None = None  # compact JSON text of the schema a structured answer follows
    system: str = ""  # the user's system message: Jinja source rendered with the task's constants

    def words(self, verbalizer: str, overrides: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
        words = verbalizers(self.labels, self.label_words).get(verbalizer, {label: label for label in self.labels})
        return {**words, **{label: word for label, word in overrides if label in words}}

    def uses_instruction(self, task: str) -> bool:
        """Whether the skeleton ``task`` shows an instruction (the custom template always can)."""
        return task == CUSTOM_TASK or "instruction" in self.library.tasks[task].variables()

    def default_instruction(self, task: str) -> str:
        """The instruction source a candidate without its own instruction gets."""
        if task == CUSTOM_TASK:
            return ""
        name = DEFAULT_INSTRUCTION[self.kind.value]
        return self.library.instructions[name].source if name in self.library.instructions else ""

    def instruction_of(self, candidate: Candidate) -> str:
        """The instruction source the candidate shows ("" when its skeleton has none)."""
        if not self.uses_instruction(candidate.task):
            return ""
        return candidate.instruction or self.default_instruction(candidate.task)


DEFAULT_INSTRUCTION = {"classification": "classify", "generation": "generate"}


def pick_demos(setup: TaskSetup, candidate: Candidate) -> list[Example]:
    """The candidate's demonstrations: its explicit ids in order, else a seeded balanced draw."""
    if candidate.demo_ids:
        by_id = {ex.id: ex for ex in setup.train}
        return [by_id[i] for i in candidate.demo_ids if i in by_id]
    return _draw_demos(setup, candidate.n_demos, candidate.demo_seed)


def _draw_demos(setup: TaskSetup, n: int, seed: int) -> list[Example]:
    if n <= 0 or not setup.train:
        return []
    rng = random.Random(seed)
    pool = list(setup.train)
    rng.shuffle(pool)
    if setup.kind is TaskKind.GENERATION:
        return pool[:n]
    by_label: dict[str, list[Example]] = {}
    for ex in pool:
        by_label.setdefault(ex.target, []).append(ex)
    chosen: list[Example] = []
    while len(chosen) < n and any(by_label.values()):
        for label in sorted(by_label):
            if by_label[label] and len(chosen) < n:
                chosen.append(by_label[label].pop())
    rng.shuffle(chosen)
    return chosen


def render_instruction(source: str, static: dict[str, Any]) -> str:
    """Render instruction source (maybe model-written) in the sandbox with the task's constants only."""
    return Template("instruction", source).render(static).strip() if source else ""


def static_context(setup: TaskSetup, words: dict[str, str], candidate: Candidate | None = None) -> dict[str, Any]:
    """The constants every instruction, clarifier and context block may use; the field names are the
    candidate's own when it names them (``input_title`` only for a task with one input column)."""
    titles = {name: title(name) for name in setup.input_names}
    if candidate is not None and candidate.input_title and len(setup.input_names) == 1:
        titles[setup.input_names[0]] = candidate.input_title
    return {
        "labels": [words[label] for label in setup.labels],
        "description": setup.description,
        "definitions": {words[k]: v for k, v in setup.definitions.items() if k in words},
        "answer_title": (candidate.answer_title if candidate is not None and candidate.answer_title
                         else title(setup.target_name)),
        "input_names": list(setup.input_names),
        "titles": titles,
    }


def compose(candidate: Candidate, setup: TaskSetup, custom: Template | None = None) -> Prompt:
    """Turn a candidate into a renderable prompt. With ``candidate.system`` the context, instruction
    and clarifiers go to the system message (after the user's own system text), with
    ``candidate.demo_turns`` each demonstration is a user turn (the skeleton for its inputs) and
    an assistant turn (its answer) before the example's turn."""
    classification = setup.kind is TaskKind.CLASSIFICATION
    words = setup.words(candidate.verbalizer, candidate.word_overrides) if classification else {}
    static = static_context(setup, words, candidate)
    context = "\n\n".join(setup.library.context[c].render(static).strip() for c in candidate.context)
    clarifiers = " ".join(setup.library.clarifiers[c].render(static).strip() for c in candidate.clarifiers)
    instruction = render_instruction(setup.instruction_of(candidate), static)
    demos: list[dict[str, Any]] = [
        {"inputs": dict(ex.inputs), "answer": words.get(ex.target, ex.target)} for ex in pick_demos(setup, candidate)
    ]
    system = [Template("system", setup.system).render(static).strip()] if setup.system else []
    if candidate.system:
        system += [p for p in (context, instruction, clarifiers) if p]
        context = instruction = clarifiers = ""
    inline = [] if candidate.demo_turns else demos
    if candidate.task == CUSTOM_TASK and custom is not None:
        parts = [p for p in (context, instruction, clarifiers) if p]
        space = " " if candidate.answer_space else ""
        parts += [custom.render({**static, **d["inputs"], "inputs": d["inputs"]}) + space + d["answer"]
                  for d in inline]
        preamble = "".join(p + "\n\n" for p in parts)
        template, constants = _WRAPPER + custom.source, {**static, "preamble": preamble}
    else:
        template = setup.library.tasks[candidate.task].source
        constants = {**static, "context": context, "instruction": instruction, "clarifiers": clarifiers,
                     "demos": inline}
    return Prompt(
        template=template,
        constants={**constants, **({"turn_demos": demos} if candidate.demo_turns and demos else {})},
        input_names=setup.input_names,
        label_words=words,
        chat=candidate.chat,
        answer_space=candidate.answer_space,
        calibrate=candidate.calibrate,
        max_output_tokens=setup.max_output_tokens,
        stop=setup.stop,
        answer_pattern=setup.answer_pattern,
        json_schema=setup.json_schema,
        system="\n\n".join(system),
    )
