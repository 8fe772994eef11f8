"""DSPy as a model, both ways: a ``dspy.LM`` as an autoprompt backend, and an autoprompt
backend (the embedded local model included) as a DSPy LM.

Contract:
- ``DSPyBackend(lm)`` implements ``Backend`` with any ``dspy.BaseLM``: each request is
  one user message; labels are parsed from the answer (as for the API backends); a JSON
  schema goes to the LM as OpenAI's ``response_format`` (LiteLLM translates it per provider).
  The tokens each call used are those the API reported (DSPy's history of the LM), and the
  model is priced by its own name (``openai/gpt-4o-mini`` as ``gpt-4o-mini``), so ``--max-usd``
  stops it like any hosted model.
- ``as_dspy_lm(backend)`` returns a ``dspy.BaseLM`` whose ``forward`` sends the
  conversation to ``backend.generate`` (messages joined into one user turn, addressed
  through the chat template where the backend has one) and returns an OpenAI-shaped
  response with token usage, so ``dspy.Predict`` and DSPy's optimizers run on it.
- The exported winner as a DSPy program is ``autoprompt.export.dspy_program``.
- dspy is imported only when one of these is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from autoprompt.errors import require
from autoprompt.models.backend import Backend
from autoprompt.models.hosted import Completion, label_scores
from autoprompt.records.message import Conversation, as_dicts
from autoprompt.records.usage import Usage
from autoprompt.wire import response_format


def _dspy() -> Any:
    return require("dspy", extra="dspy")


def _text_of(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, Mapping):
        return str(output.get("text") or "")
    return str(output)


class DSPyBackend:
    """Any ``dspy.BaseLM`` behind the autoprompt ``Backend`` protocol."""

    supports_chat = False
    chat_api = True  # a DSPy LM takes chat messages

    def __init__(self, lm: Any, *, max_tokens: int = 12) -> None:
        self.lm = lm
        self.max_tokens = max_tokens

    @property
    def name(self) -> str:
        return f"dspy:{self.lm.model}"

    @property
    def params(self) -> dict[str, object]:
        return {k: v for k, v in dict(self.lm.kwargs).items() if "key" not in k.lower()}

    @property
    def model(self) -> str:
        """The model's own name, as price tables know it (LiteLLM's ``provider/`` prefix dropped)."""
        return str(self.lm.model).split("/", 1)[-1]

    def _ask(self, text: str | Conversation, max_tokens: int, on_usage: Callable[[Usage], None] | None = None,
             **sampling: Any) -> str:
        messages = as_dicts(text)
        outputs = self.lm(messages=messages, max_tokens=max_tokens, **sampling)
        if on_usage is not None:
            on_usage(_usage(self.lm, messages))
        return _text_of(outputs[0]) if outputs else ""

    def score(self, text: str | Conversation, continuations: Sequence[str], *, chat: bool = False,
              on_usage: Callable[[Usage], None] | None = None) -> list[float]:
        return label_scores(Completion(self._ask(text, self.max_tokens, on_usage)), continuations)

    def generate(self, text: str | Conversation, *, chat: bool = False, max_tokens: int = 16,
                 stop: Sequence[str] = (), on_usage: Callable[[Usage], None] | None = None,
                 temperature: float = 0.0, seed: int | None = None, json_schema: str | None = None) -> str:
        sampling = {"temperature": temperature, "seed": seed, "cache": False} if temperature > 0 else {}
        structured = {"response_format": response_format(json_schema)} if json_schema else {}
        return self._ask(text, max_tokens, on_usage, **sampling, **structured)


def _usage(lm: Any, messages: list[dict[str, str]]) -> Usage:
    """The tokens the API reported for the LM's last call, from its history (DSPy records LiteLLM's usage
    there); none when that entry is another request's or holds no usage."""
    history = getattr(lm, "history", None) or [{}]
    entry = history[-1] if isinstance(history[-1], Mapping) else {}
    usage = entry.get("usage") if entry.get("messages") == messages else None
    if not isinstance(usage, Mapping):
        return Usage()
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


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
