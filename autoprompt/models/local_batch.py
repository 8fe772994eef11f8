"""Batched local decoding: the examples of one prompt scored, or answered, together in llama.cpp batches.

Contract: ``BatchDecoder(llm, n_threads=...)`` owns a second llama.cpp context on the weights of
the ``Llama`` object ``llm``, whose KV cache is unified across up to ``n_seq`` sequences.
``score(prompts, continuations)`` takes the token lists of several prompts and, per prompt, the
token lists of every label continuation; it returns each continuation's log-likelihood (all of
its tokens). A score does not depend on what else shares the batch, nor on where a sequence's
KV cells lie, nor on what was decoded before: one prompt at a time and 32 together give the same
floats, bit for bit (``tests/models/test_local.py``). That holds because of how this context runs
llama.cpp: ggml's CPU matrix products compute each token's row alone, and with flash attention
over a KV cache whose keys are 8-bit (``q8_0``) and values 16-bit, ggml takes its one-chunk
attention kernel, which visits a token's visible KV cells one by one and skips the rest. With
keys and values of one type it takes other kernels, which round differently depending on the
batch: a tiled one (64 query rows or more; its rounding depends on how a sequence's cells fall
among 64-cell tiles) and a split-KV one (a single query row over 512 cells or more; its rounding
depends on the thread count). Measured with 16-bit keys: up to 0.23 nats per label between
batched and one-at-a-time scores, and two searches whose winners differed. The 8-bit keys
change a score about as much as those kernels' rounding does (median 0.13 nats per intent label,
0.03 per sentiment label; the same mean accuracy over 1,856 test predictions, ``bench/keys.py``).
``keys="f16"`` keeps 16-bit keys, in micro-batches of 63 tokens (below the tiled kernel), for
that comparison; a single-token micro-batch over 512 cells can still take the split-KV kernel. How:

- the prompts' common prefix (the instruction and demonstrations a prompt shares across
  examples) is evaluated once, in sequence 0, and kept for the next call (given one prompt, all
  of it but its last token: the next example of the same prompt decodes only its own tokens);
- each prompt gets its own sequence, which shares the prefix's cells (a copy of the sequence
  id, not of the data); its own tokens follow, with logits only at its last position, which
  gives every label's first token;
- a continuation of several tokens gets a sequence of its own that shares the prompt's cells,
  and its tokens but the last follow, each with logits for the next one;
- every token of a group of prompts goes into batches of up to ``n_batch`` tokens, decoded one
  after the other (logits are read after each), and the group's sequences are freed after it.

``generate(prompts, max_tokens=..., done=..., choose=...)`` decodes answers to several prompts
together: after the prompts' own tokens, each step is one batch of every running sequence's next
token, picked from its logits by ``choose(prompt, logits)`` (greedy by default; a sampler with a
generator per prompt samples). The logits being the same as one at a time, so are the answers.

``tokens_evaluated`` counts the tokens decoded. llama-cpp-python is imported on first use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

N_SEQ = 64  # sequences of one context: prompts (and multi-token labels) of a group
N_CTX = 4096  # KV cells of the batch context: the shared prefix plus a group's own tokens
N_BATCH = 512  # tokens per llama_decode: llama-bench's fastest prompt-processing size here
KEYS = ("q8_0", "f16")  # the key types of the KV cache: the first keeps every decode on one kernel
F16_UBATCH = 63  # micro-batch with 16-bit keys: below ggml's tiled flash attention (64 query rows)


@dataclass
class _Entry:
    """One token of a batch: where it goes, which sequences see it, and what its logits score."""

    token: int
    pos: int
    seqs: tuple[int, ...]
    wants: list[tuple[int, int, int]] = field(default_factory=list)  # (prompt, label, next token) scored here
    pick: int | None = None  # the prompt whose next token is chosen (``Chooser``) from this token's logits


Chooser = Callable[[int, Any], int]  # (prompt index, its logits) -> the next token


def greedy(prompt: int, logits: Any) -> int:
    """The most likely next token."""
    import numpy as np

    return int(np.argmax(logits))


def common_prefix(lists: Sequence[Sequence[int]]) -> int:
    """The length of the longest prefix every list shares, leaving each at least one token of its own."""
    shortest = min(len(tokens) for tokens in lists)
    n = 0
    while n < shortest - 1 and all(tokens[n] == lists[0][n] for tokens in lists):
        n += 1
    return n


class BatchDecoder:
    """Scores, or answers, the examples of one prompt together (see the module docstring)."""

    def __init__(self, llm: Any, *, n_threads: int, n_seq: int = N_SEQ, n_ctx: int = N_CTX,
                 n_batch: int = N_BATCH, keys: str = KEYS[0]) -> None:
        self.llm = llm
        self.n_threads = n_threads
        self.keys = keys
        self.n_seq = n_seq
        self.n_ctx = n_ctx
        self.n_batch = n_batch
        self.prefix: list[int] = []  # the tokens sequence 0 holds
        self.tokens_evaluated = 0
        self._ctx: Any = None
        self._batch: Any = None

    def reset(self) -> None:
        """Forget every sequence (the next call evaluates its prefix afresh)."""
        if self._ctx is not None:
            self._ctx.kv_cache_clear()
        self.prefix = []

    def _context(self) -> Any:
        if self._ctx is None:
            import llama_cpp
            from llama_cpp import _internals

            params = llama_cpp.llama_context_params.from_buffer_copy(self.llm.context_params)
            sixteen = self.keys == "f16"
            params.n_ctx, params.n_batch = self.n_ctx, self.n_batch
            params.n_ubatch = F16_UBATCH if sixteen else self.n_batch
            params.n_seq_max, params.kv_unified = self.n_seq, True
            # flash attention with keys and values of different types: ggml's one-chunk kernel (see the docstring)
            params.flash_attn_type = 1
            params.type_k = llama_cpp.GGML_TYPE_F16 if sixteen else llama_cpp.GGML_TYPE_Q8_0
            params.type_v = llama_cpp.GGML_TYPE_F16
            params.n_threads = params.n_threads_batch = self.n_threads
            self._ctx = _internals.LlamaContext(model=self.llm._model, params=params, verbose=False)
            self._batch = _internals.LlamaBatch(n_tokens=self.n_batch, embd=0, n_seq_max=self.n_seq, verbose=False)
        return self._ctx

    def score(self, prompts: Sequence[Sequence[int]], continuations: Sequence[Sequence[Sequence[int]]]
              ) -> list[list[float]]:
        """Per prompt, each continuation's log-likelihood after it."""
        ctx = self._context()
        shared = common_prefix(prompts)
        self._hold_prefix(list(prompts[0][:shared]))
        scores = [[0.0] * len(conts) for conts in continuations]
        # a scoring group fills one batch of n_batch tokens: attention in a unified KV cache spans every
        # cell in use, so a group kept to one batch keeps that cost near what the examples' own tokens need
        needs = [self._needs(i, prompts, continuations, shared) for i in range(len(prompts))]
        for group in self._groups(needs, shared, self.n_batch):
            entries = self._entries(group, prompts, continuations, shared)
            self._decode(entries, scores)
            for seq in range(1, self.n_seq):
                ctx.kv_cache_seq_rm(seq, -1, -1)
        return scores

    def generate(self, prompts: Sequence[Sequence[int]], *, max_tokens: int, done: Callable[[list[int]], bool],
                 choose: Chooser = greedy) -> list[list[int]]:
        """Continuations of every prompt, decoded together: each step is one batch holding the next
        token of every sequence still running, as ``choose(prompt index, logits)`` picks it. A
        sequence ends at an end-of-generation token (not kept), at ``max_tokens``, or when
        ``done(its tokens)`` says so."""
        ctx = self._context()
        shared = common_prefix(prompts)
        self._hold_prefix(list(prompts[0][:shared]))
        out: list[list[int]] = [[] for _ in prompts]
        needs = [(1, len(prompt) - shared + max_tokens) for prompt in prompts]  # room to answer
        for group in self._groups(needs, shared, self.n_ctx - shared):
            seq = {i: k + 1 for k, i in enumerate(group)}
            for i in group:
                ctx.kv_cache_seq_cp(0, seq[i], 0, shared)
            entries = [_Entry(token, shared + k, (seq[i],), pick=i if k == len(prompts[i]) - shared - 1 else None)
                       for i in group for k, token in enumerate(prompts[i][shared:])]
            running = set(group)
            while running:
                chosen = self._decode(entries, [], choose)
                for i in sorted(running):
                    token = chosen[i]
                    if self.llm.token_eos() == token or is_eog(self.llm, token):
                        running.discard(i)
                        continue
                    out[i].append(token)
                    if len(out[i]) >= max_tokens or done(out[i]):
                        running.discard(i)
                entries = [_Entry(out[i][-1], len(prompts[i]) + len(out[i]) - 1, (seq[i],), pick=i)
                           for i in sorted(running)]
            for s in seq.values():
                ctx.kv_cache_seq_rm(s, -1, -1)
        return out

    def _hold_prefix(self, prefix: list[int]) -> None:
        """Make sequence 0 hold exactly ``prefix``, decoding only what it lacks."""
        ctx = self._context()
        keep = 0
        while keep < min(len(prefix), len(self.prefix)) and prefix[keep] == self.prefix[keep]:
            keep += 1
        ctx.kv_cache_seq_rm(0, keep, -1)
        self._decode([_Entry(token, pos, (0,)) for pos, token in enumerate(prefix) if pos >= keep], [])
        self.prefix = prefix

    def _needs(self, i: int, prompts: Sequence[Sequence[int]], continuations: Sequence[Sequence[Sequence[int]]],
               shared: int) -> tuple[int, int]:
        """(sequences, KV cells) prompt ``i`` takes beyond the prefix."""
        longer = [c for c in continuations[i] if len(c) > 1]
        return 1 + len(longer), len(prompts[i]) - shared + sum(len(c) - 1 for c in longer)

    def _groups(self, needs: Sequence[tuple[int, int]], shared: int, room: int) -> list[list[int]]:
        """Prompts in order, as many at a time as the free sequences hold and as ``room`` KV cells
        beyond the prefix take, given each prompt's (sequences, cells) ``needs``."""
        groups: list[list[int]] = []
        seqs = cells = 0
        for i, (more_seqs, more_cells) in enumerate(needs):
            if more_seqs >= self.n_seq or shared + more_cells > self.n_ctx:
                raise ValueError(f"prompt {i} needs {more_seqs} sequences and {shared + more_cells} KV cells; the "
                                 f"batch context has {self.n_seq} and {self.n_ctx}")
            if not groups or seqs + more_seqs >= self.n_seq or cells + more_cells > room:
                groups.append([])
                seqs = cells = 0
            groups[-1].append(i)
            seqs, cells = seqs + more_seqs, cells + more_cells
        return groups

    def _entries(self, group: list[int], prompts: Sequence[Sequence[int]],
                 continuations: Sequence[Sequence[Sequence[int]]], shared: int) -> list[_Entry]:
        """The group's tokens: each prompt's own, then each longer continuation's, in decoding order."""
        ctx = self._context()
        entries: list[_Entry] = []
        seq = 1
        for i in group:
            own = seq
            branches = {label: own + 1 + k for k, label in
                        enumerate(label for label, c in enumerate(continuations[i]) if len(c) > 1)}
            seq = own + 1 + len(branches)
            for s in (own, *branches.values()):
                ctx.kv_cache_seq_cp(0, s, 0, shared)
            tail = prompts[i][shared:]
            for k, token in enumerate(tail):
                entries.append(_Entry(token, shared + k, (own, *branches.values())))
            entries[-1].wants = [(i, label, c[0]) for label, c in enumerate(continuations[i])]
            for label, branch in branches.items():
                cont = continuations[i][label]
                for k, token in enumerate(cont[:-1]):
                    entries.append(_Entry(token, len(prompts[i]) + k, (branch,), [(i, label, cont[k + 1])]))
        return entries

    def _decode(self, entries: list[_Entry], scores: list[list[float]], choose: Chooser = greedy) -> dict[int, int]:
        """Decode ``entries`` in batches of ``n_batch``, adding each wanted log-probability to ``scores``;
        return the next token ``choose`` picks for every prompt an entry picks for."""
        import numpy as np

        ctx, batch = self._context(), self._batch
        n_vocab = self.llm.n_vocab()
        chosen: dict[int, int] = {}
        for start in range(0, len(entries), self.n_batch):
            chunk = entries[start:start + self.n_batch]
            raw = batch.batch
            raw.n_tokens = len(chunk)
            for j, entry in enumerate(chunk):
                raw.token[j], raw.pos[j], raw.n_seq_id[j] = entry.token, entry.pos, len(entry.seqs)
                for k, s in enumerate(entry.seqs):
                    raw.seq_id[j][k] = s
                raw.logits[j] = bool(entry.wants) or entry.pick is not None
            ctx.decode(batch)
            self.tokens_evaluated += len(chunk)
            for j, entry in enumerate(chunk):
                if entry.pick is None and not entry.wants:
                    continue
                logits = np.ctypeslib.as_array(ctx.get_logits_ith(j), shape=(n_vocab,))
                if entry.pick is not None:
                    chosen[entry.pick] = choose(entry.pick, logits)
                if entry.wants:
                    norm = log_norm(logits)
                    for i, label, token in entry.wants:
                        scores[i][label] += float(logits[token]) - norm
        return chosen


def log_norm(logits: Any) -> float:
    """log Σ exp(logits), in float64: a token's log-probability is ``logits[token] - log_norm(logits)``
    (one formula for both local paths, so their scores agree bit for bit)."""
    import numpy as np

    wide = np.asarray(logits, dtype=np.float64)
    top = float(wide.max())
    return top + math.log(float(np.exp(wide - top).sum()))


def is_eog(llm: Any, token: int) -> bool:
    """Whether ``token`` ends generation for ``llm``'s vocabulary."""
    import llama_cpp

    return bool(llama_cpp.llama_vocab_is_eog(llm._model.vocab, token))
