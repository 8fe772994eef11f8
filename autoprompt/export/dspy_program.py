"""The exported winner as a DSPy program.

Contract: ``exported_program(exported)`` / ``load_program(dir)``: the winner as a saved
``dspy.Predict`` (instruction and demonstrations) and a ``TemplateAdapter`` that makes DSPy
send exactly the prompt that was scored (rendered in the sandbox, answers parsed as the
search parsed them). dspy is imported only when one of these is used.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from autoprompt.answers import parse_label
from autoprompt.errors import ConfigError, excerpt, require
from autoprompt.export.manifest import ExportedPrompt, load_prompt


def _dspy() -> Any:
    return require("dspy", extra="dspy")


def _signature(exported: ExportedPrompt) -> Any:
    dspy = _dspy()
    target = str(exported.manifest.get("target", "answer"))
    if not target.isidentifier():
        raise ConfigError(f"the target column {excerpt(target)} is not a Python identifier, which a DSPy field name "
                          "must be; rename the column (e.g. to 'label') and optimize again, or export another format")
    instruction = str(exported.prompt.constants.get("instruction") or "")
    spec = f"{', '.join(exported.input_names)} -> {target}"
    return dspy.Signature(spec, instruction) if instruction else dspy.Signature(spec)


def exported_program(exported: ExportedPrompt) -> Any:
    """The winner as a ``dspy.Predict``: its instruction as the signature's, its demonstrations as demos."""
    dspy = _dspy()
    target = str(exported.manifest.get("target", "answer"))
    program = dspy.Predict(_signature(exported))
    program.demos = [dspy.Example(**demo["inputs"], **{target: demo["answer"]}) for demo in demos_of(exported)]
    return program


def demos_of(exported: ExportedPrompt) -> list[dict[str, Any]]:
    """The winner's demonstrations, inline or as turns of their own."""
    constants = exported.prompt.constants
    return list(constants.get("turn_demos") or constants.get("demos") or [])


def load_program(directory: str | Path) -> tuple[Any, Any]:
    """Load an ``autoprompt export --format dspy`` directory: ``(program, adapter)``.

    With ``dspy.configure(adapter=adapter)`` the program sends exactly the prompt that was
    scored; an edited instruction or demo list flows into that prompt. Under DSPy's own
    adapters the same program formats its instruction and demos DSPy's way.
    """
    directory = Path(directory)
    exported = load_prompt(directory)
    program = _dspy().Predict(_signature(exported))
    program.load(str(directory / "program.json"))
    return program, template_adapter(exported)


def template_adapter(exported: ExportedPrompt) -> Any:
    """A ``dspy.Adapter`` that renders the exported template (in the sandbox) as the scored messages."""
    dspy = _dspy()
    prompt, names = exported.prompt, exported.input_names
    target = str(exported.manifest.get("target", "answer"))

    class TemplateAdapter(dspy.Adapter):  # type: ignore[name-defined]
        """Formats a DSPy call with autoprompt's exported template."""

        def format(self, signature: Any, demos: list[dict[str, Any]], inputs: dict[str, Any]) -> list[dict[str, Any]]:
            constants = dict(prompt.constants)
            if constants.get("instruction"):
                constants["instruction"] = signature.instructions
            edited = [{"inputs": {n: str(d[n]) for n in names}, "answer": str(d[target])} for d in demos]
            key = "turn_demos" if constants.get("turn_demos") else "demos"
            if key in constants:
                constants[key] = edited
            return replace(prompt, constants=constants).messages({n: str(inputs[n]) for n in names})

        def parse(self, signature: Any, completion: str) -> dict[str, Any]:
            if not prompt.label_words:
                return {target: prompt.answer(completion) or ""}
            labels = list(prompt.label_words)
            index = parse_label(completion, [prompt.label_words[label] for label in labels])
            return {target: labels[index] if index is not None else completion.strip()}

    return TemplateAdapter()
