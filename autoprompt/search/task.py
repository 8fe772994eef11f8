"""Task preparation: data, splits and every input check, before any model call.

Contract:
- ``prepare_task(spec)`` loads the run specification's data (a file, a DataFrame, a ``Dataset`` or a bundled
  task), splits it, composes the ``TaskSetup`` and the user's template, and checks everything a
  run could trip over later (columns, labels, label definitions and words, template variables,
  a render of each prompt on a real row), raising ``ConfigError``/``DataError``/``TemplateError``
  with one line. The real run and the dry run (``cli``'s estimate) both call it, so they build
  the same task.
- ``Task`` is the prepared task: splits, composition setup and the optional custom template.
- ``with_user_templates(library, clarifiers=..., context=...)`` adds the user's blocks.
- ``check_budget(budget, task)`` refuses a budget that cannot score the start on dev.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from autoprompt.data.bundled import BUNDLED, BundledTask, bundled_schema
from autoprompt.data.dataset import Dataset, DataWarning, Split, load_data
from autoprompt.data.splits import selection_rows, split, unique_rows, without_leaks
from autoprompt.errors import ConfigError, DataError, TemplateError, excerpt
from autoprompt.files import read_bytes
from autoprompt.prompts.compose import CUSTOM_TASK, TaskSetup, compose
from autoprompt.prompts.library import TemplateLibrary
from autoprompt.prompts.structured import schema_text
from autoprompt.prompts.template import Template
from autoprompt.records.candidate import Candidate
from autoprompt.records.example import Example
from autoprompt.records.task_kind import TaskKind
from autoprompt.spec import RunSpec


@dataclass(frozen=True)
class Task:
    """The prepared task: splits, composition setup and an optional custom start template."""

    data: Split
    setup: TaskSetup
    custom: Template | None


def _load(source: Any, inputs: Any, target: Any, kind: Any) -> Dataset:
    return source if isinstance(source, Dataset) else load_data(source, inputs=inputs, target=target, kind=kind)


def prepare_task(spec: RunSpec, *, library: TemplateLibrary | None = None) -> Task:
    """Load and split ``spec``'s data, and check every template against it, before any model call.
    ``library`` is the template library with the user's blocks (default: the bundled one). Free-text
    answers end at ``spec.answers.stop`` (default: at the end of the first line when every training target is
    one line and no ``json_schema`` is asked for, else nowhere: the whole answer is kept) and are at most
    ``max_output_tokens`` long (256). ``json_schema`` (a file or the JSON itself; a bundled task may
    bring its own) is the schema every answer follows. ``system`` (a file or Jinja text using the
    task's constants, not the inputs) is a system message every prompt starts with."""
    start, answers = spec.start, spec.answers
    data, dev, test, seed, json_schema = spec.data, spec.search.dev, spec.search.test, spec.seed, answers.json_schema
    full = _load(data, spec.inputs, spec.target, answers.kind or ("generation" if json_schema is not None else None))
    bundled = BUNDLED.get(data) if isinstance(data, str) else None
    inputs, target = full.input_columns, full.target_column
    if dev is None:
        full, repeated = unique_rows(full)
        fractions = (0.2, 0.4, 0.4) if test is None else (0.35, 0.65, 0.0)
        parts = split(full, fractions=fractions, seed=seed)
        train, dev_set, test_set = parts.train, parts.dev, parts.test
    else:
        train, dev_set, test_set = full, _load(dev, inputs, target, full.kind), full.subset(())
        repeated = 0
    if test is not None:
        test_set = _load(test, inputs, target, full.kind)
    train, dev_set, test_set, leaked = without_leaks(train, dev_set, test_set)
    if not dev_set.examples:
        raise DataError("no dev rows are left: every one repeats the inputs of a training row; pass a dev file "
                        "of other examples, or leave --dev out to split the data")
    if test is not None and not test_set.examples:
        raise DataError("no test rows are left: every one repeats the inputs of a training or dev row; pass a test "
                        "file of other examples, or leave --test out to split the data")
    if repeated + leaked:
        warnings.warn(f"{repeated + leaked} row(s) repeat the inputs of an earlier row ({repeated} within the data, "
                      f"{leaked} across train, dev and test) and were dropped, so no row is scored as unseen "
                      "after it was shown or used for selection", DataWarning, stacklevel=3)
    _check_labels(full, dev_set, test_set, dev, test)
    _check_label_maps(full, start.label_definitions, start.label_words)
    train, dev_set = selection_rows(train, dev_set, seed=seed)
    labels = full.labels
    library = library or TemplateLibrary.bundled()
    schema = _json_schema(json_schema, bundled)
    if schema is not None and full.kind is TaskKind.CLASSIFICATION:
        raise ConfigError("a JSON schema is for generated answers, and this task was given as classification; "
                          "leave kind out (a JSON schema makes the task one of generation), or the schema out")
    setup = TaskSetup(
        library=library.for_kind(full.kind.value), kind=full.kind, input_names=inputs, target_name=target,
        labels=labels if full.kind is TaskKind.CLASSIFICATION else (), train=train.examples,
        description=start.description if start.description is not None else (bundled.description if bundled else ""),
        definitions=start.label_definitions or (bundled.definitions if bundled else {}),
        label_words=start.label_words or {},
        max_output_tokens=answers.max_output_tokens or 256, answer_pattern=answers.answer_pattern, json_schema=schema,
        system=Template.from_path_or_text(start.system, "system").source if start.system is not None else "",
        stop=tuple(s for s in answers.stop if s) if answers.stop is not None else (
            ("\n",) if schema is None and all("\n" not in ex.target.strip() for ex in train.examples) else ()),
    )
    custom = Template.from_path_or_text(start.template, "custom") if start.template is not None else None
    _check_templates(setup, custom, full)
    return Task(Split(train, dev_set, test_set), setup, custom)


def _json_schema(given: str | None, bundled: BundledTask | None) -> str | None:
    """The schema's compact text, from JSON text, a file, or the bundled task's own."""
    if given is None:
        return schema_text(bundled_schema(bundled.name), f"the {bundled.name} task's schema") \
            if bundled is not None and bundled.json_schema else None
    if given.lstrip().startswith("{"):
        return schema_text(given, "--json-schema")
    path = Path(given).expanduser()
    try:
        text = read_bytes(path).decode("utf-8")  # a regular file: a FIFO is refused, never waited on
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the JSON schema {path} ({type(exc).__name__}); pass a readable .json file "
                          "or the schema itself as --json-schema") from None
    return schema_text(text, f"JSON schema {path}")


def _check_label_maps(train: Dataset, definitions: Mapping[str, str] | None,
                      words: Mapping[str, Mapping[str, str]] | None) -> None:
    """Label definitions name labels of the data; each named set of label words maps every label, and only labels."""
    if not (definitions or words):
        return
    labels = set(train.labels)
    if train.kind is not TaskKind.CLASSIFICATION:
        raise ConfigError("label_definitions and label_words are for classification tasks, and this one is "
                          "generation; leave them out")
    shown = excerpt(sorted(labels), 200)
    unknown = sorted(set(definitions or {}) - labels)
    if unknown:
        raise ConfigError(f"label_definitions names {excerpt(unknown[0])}, which is not a label of the data (labels: "
                          f"{shown}); fix or drop that key")
    for name, mapping in (words or {}).items():
        extra, missing = sorted(set(mapping) - labels), sorted(labels - set(mapping))
        if extra or missing:
            problem = f"names {excerpt(extra[0])}, not a label of the data" if extra else \
                f"lacks {excerpt(missing[0])}"
            raise ConfigError(f"label_words set {excerpt(name)} {problem}; each set maps every label (labels: "
                              f"{shown}) to its word")


def _check_labels(train: Dataset, dev: Dataset, test: Dataset, dev_source: Any, test_source: Any) -> None:
    """The prompt's labels come from the training data: a dev or test label it lacks is an error."""
    if train.kind is not TaskKind.CLASSIFICATION:
        return
    for part, source, name in ((dev, dev_source, "dev"), (test, test_source, "test")):
        unknown = sorted(set(part.labels) - set(train.labels))
        if unknown:
            where = source if isinstance(source, str | Path) else f"the {name} data"
            raise DataError(f"label(s) {', '.join(repr(u) for u in unknown[:5])} of {where} never occur in the "
                            f"training data (labels: {', '.join(train.labels)}); add training examples of them "
                            f"or drop those {name} rows")


STATIC = {"input_names", "titles", "labels", "answer_title", "description", "definitions"}  # compose.static_context


def _check_templates(setup: TaskSetup, custom: Template | None, data: Dataset) -> None:
    provided = {*STATIC, "inputs", "context", "clarifiers", "demos", "preamble", "instruction"}
    columns = list(data.input_columns)
    if setup.system:
        if not setup.system.strip():
            raise ConfigError("--system is empty; give the system message's text or a file")
        try:
            Template("system", setup.system).check_variables(STATIC, [])
        except TemplateError as exc:
            raise TemplateError(f"--system: {exc} (a system message is the same for every example: it may use "
                                f"{', '.join(sorted(STATIC))}, not the inputs)") from None
    for template in [*setup.library.tasks.values(), *setup.library.clarifiers.values(),
                     *setup.library.context.values(), *setup.library.instructions.values(),
                     *([custom] if custom else [])]:
        template.check_variables(provided, columns)
    if custom is not None and not custom.variables() & {*columns, "inputs"}:
        looks_like_path = "/" in custom.source or custom.source.endswith((".jinja", ".j2", ".txt"))
        hint = f"; if you meant a template file, {custom.source!r} is not one" if looks_like_path else ""
        raise TemplateError(f"the template uses none of the input columns ({', '.join(columns)}), so every example "
                            f"would get the same prompt; write e.g. {{{{ {columns[0]} }}}} where the input goes{hint}")
    _check_rendering(setup, custom, data.examples[0])


def _check_rendering(setup: TaskSetup, custom: Template | None, example: Example) -> None:
    """Render every clarifier and context block, and each skeleton with them, on one example,
    so a template that fails (``1/0``, a recursive macro, an endless range...) fails before any call."""
    library = setup.library
    everything = Candidate(next(iter(library.tasks)), clarifiers=tuple(library.clarifiers),
                           context=tuple(library.context))
    starts = [everything, *([replace(everything, task=CUSTOM_TASK)] if custom is not None else [])]
    for candidate in starts:
        try:
            compose(candidate, setup, custom).render(example.inputs)
        except TemplateError as exc:
            user = [f"--{section} {name[4:]}" for section, names in (("clarifier", candidate.clarifiers),
                                                                      ("context", candidate.context))
                    for name in names if name.startswith("user") and f"'{name}'" in str(exc)]
            raise TemplateError(f"{user[0]}: {exc}" if user else str(exc)) from None


def with_user_templates(library: TemplateLibrary, *, clarifiers: Sequence[str | Path] = (),
                        context: Sequence[str | Path] = ()) -> TemplateLibrary:
    """The library plus the user's own clarifiers and context blocks, named ``user1``, ``user2``..."""
    for section, values in (("clarifiers", clarifiers), ("context", context)):
        for i, value in enumerate(values):
            if not str(value).strip():
                raise ConfigError(f"--{section.removesuffix('s')} {i + 1} is empty; give the block's text or a file")
            library = library.add(section, Template.from_path_or_text(value, f"user{i + 1}"))
    return library


def check_budget(budget: int, task: Task) -> None:
    """``ConfigError`` when the budget cannot even score the start on the selection rows."""
    if budget < len(task.data.dev) + 3:
        raise ConfigError(f"budget of {budget} calls cannot score even the starting prompt on the "
                          f"{len(task.data.dev)} dev examples; pass --budget {10 * len(task.data.dev)} or more")
