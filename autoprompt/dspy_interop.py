"""DSPy interop, both ways: a ``dspy.LM`` as an autoprompt backend, and an autoprompt
backend (the embedded local model included) as a DSPy LM.

Contract:
- ``DSPyBackend(lm)`` implements ``Backend`` with any ``dspy.BaseLM``: each request is
  one user message; labels are parsed from the answer (as for the API backends).
- ``as_dspy_lm(backend)`` returns a ``dspy.BaseLM`` whose ``forward`` sends the
  conversation to ``backend.generate`` (messages joined into one user turn, addressed
  through the chat template where the backend has one) and returns an OpenAI-shaped
  response with token usage, so ``dspy.Predict`` and DSPy's optimizers run on it.
- ``exported_program(exported)`` / ``load_program(dir)``: the exported winner as a saved
  ``dspy.Predict`` (instruction and demonstrations) and a ``TemplateAdapter`` that makes
  DSPy send exactly the prompt that was scored.
- dspy is imported only when one of these is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .api import Completion, label_scores, parse_label
from .backend import Backend
from .errors import ConfigError, MissingDependency
from .export import ExportedPrompt, load_prompt
from .prompt import parse_generation
from .usage import Usage


def _dspy() -> Any:
    try:
        import dspy
    except ImportError:
        raise MissingDependency("dspy-ai", "dspy") from None
    return dspy


def _text_of(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, Mapping):
        return str(output.get("text") or "")
    return str(output)


class DSPyBackend:
    """Any ``dspy.BaseLM`` behind the autoprompt ``Backend`` protocol."""

    supports_chat = False

    def __init__(self, lm: Any, *, max_tokens: int = 12) -> None:
        self.lm = lm
        self.max_tokens = max_tokens

    @property
    def name(self) -> str:
        return f"dspy:{self.lm.model}"

    @property
    def params(self) -> dict[str, object]:
        return {k: v for k, v in dict(self.lm.kwargs).items() if "key" not in k.lower()}

    def _ask(self, text: str, max_tokens: int) -> str:
        outputs = self.lm(messages=[{"role": "user", "content": text}], max_tokens=max_tokens)
        return _text_of(outputs[0]) if outputs else ""

    def score(self, text: str, continuations: Sequence[str], *, chat: bool = False,
              on_usage: Callable[[Usage], None] | None = None) -> list[float]:
        return label_scores(Completion(self._ask(text, self.max_tokens)), continuations)

    def generate(self, text: str, *, chat: bool = False, max_tokens: int = 16, stop: Sequence[str] = (),
                 on_usage: Callable[[Usage], None] | None = None) -> str:
        return self._ask(text, max_tokens)


def _joined(prompt: str | None, messages: Sequence[Mapping[str, Any]] | None) -> str:
    if messages is None:
        return prompt or ""
    parts = []
    for message in messages:
        content = message.get("content", "")
        if isinstance(content, list):
            content = "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
        parts.append(str(content))
    return "\n\n".join(parts)


def as_dspy_lm(backend: Backend, *, max_tokens: int = 256) -> Any:
    """A ``dspy.BaseLM`` that runs on ``backend`` (e.g. ``LocalBackend("local")``)."""
    dspy = _dspy()

    class AutopromptLM(dspy.BaseLM):  # type: ignore[name-defined]
        """A DSPy LM backed by an autoprompt backend."""

        def __init__(self) -> None:
            super().__init__(model=f"autoprompt/{backend.name}", model_type="chat", temperature=0.0,
                             max_tokens=max_tokens, cache=False)
            self.backend = backend

        def forward(self, prompt: str | None = None, messages: list[dict[str, Any]] | None = None,
                    **kwargs: Any) -> dict[str, Any]:
            spent: list[Usage] = []
            limit = int(kwargs.get("max_tokens") or self.kwargs.get("max_tokens") or max_tokens)
            text = self.backend.generate(_joined(prompt, messages), chat=self.backend.supports_chat,
                                         max_tokens=limit, on_usage=spent.append)
            used = Usage.sum(spent)
            return {
                "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": used.input_tokens, "completion_tokens": used.output_tokens,
                          "total_tokens": used.total},
            }

    return AutopromptLM()


def _signature(exported: ExportedPrompt) -> Any:
    dspy = _dspy()
    target = str(exported.manifest.get("target", "answer"))
    if not target.isidentifier():
        raise ConfigError(f"the target column {target!r} is not a Python identifier, which a DSPy field name must "
                          "be; rename the column (e.g. to 'label') and optimize again, or export another format")
    instruction = str(exported.prompt.constants.get("instruction") or "")
    spec = f"{', '.join(exported.input_names)} -> {target}"
    return dspy.Signature(spec, instruction) if instruction else dspy.Signature(spec)


def exported_program(exported: ExportedPrompt) -> Any:
    """The winner as a ``dspy.Predict``: its instruction as the signature's, its demonstrations as demos."""
    dspy = _dspy()
    target = str(exported.manifest.get("target", "answer"))
    program = dspy.Predict(_signature(exported))
    program.demos = [dspy.Example(**demo["inputs"], **{target: demo["answer"]})
                     for demo in exported.prompt.constants.get("demos", [])]
    return program


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
    """A ``dspy.Adapter`` that renders the exported template (in the sandbox) as one user turn."""
    dspy = _dspy()
    prompt, names = exported.prompt, exported.input_names
    target = str(exported.manifest.get("target", "answer"))

    class TemplateAdapter(dspy.Adapter):  # type: ignore[name-defined]
        """Formats a DSPy call with autoprompt's exported template."""

        def format(self, signature: Any, demos: list[dict[str, Any]], inputs: dict[str, Any]) -> list[dict[str, Any]]:
            constants = dict(prompt.constants)
            if constants.get("instruction"):
                constants["instruction"] = signature.instructions
            if "demos" in constants:
                constants["demos"] = [{"inputs": {n: str(d[n]) for n in names}, "answer": str(d[target])}
                                      for d in demos]
            text = replace(prompt, constants=constants).render({n: str(inputs[n]) for n in names})
            return [{"role": "user", "content": text}]

        def parse(self, signature: Any, completion: str) -> dict[str, Any]:
            if not prompt.label_words:
                return {target: parse_generation(completion)}
            labels = list(prompt.label_words)
            index = parse_label(completion, [prompt.label_words[label] for label in labels])
            return {target: labels[index] if index is not None else completion.strip()}

    return TemplateAdapter()
