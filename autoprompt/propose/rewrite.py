"""Model-written instructions: an optimizer model proposes new wording for the prompt.

Contract: ``RewriteOperator`` (family ``rewrite``) needs ``context.writer``, a client
for the optimizer model (an API model or a local GGUF; separate from the target).
Per round it proposes two of these, taking turns (so each style gets every other round):
- ``rewrite.critique`` (ProTeGi): the model names a reason for some of the parent's
  mistakes, then writes an instruction that fixes it (two calls);
- ``rewrite.opro`` (OPRO): a meta-prompt lists the scored instructions so far, worst
  to best, and asks for a better one;
- ``rewrite.ape`` (APE): the model induces the instruction from training pairs;
- ``rewrite.paraphrase``: the parent's instruction in other words.
Meta-prompts are the library's ``meta`` templates. Replies are untrusted: ``parse_instruction``
cleans them defensively, and the text is then only Jinja source for the sandbox; the
operator's caller validates it (placeholders, labels) like every other proposal.
A reply that yields no usable text, or a request that fails, is recorded with
``context.reject`` and never stops the search. Greedy replies are cached, so the
examples shown vary with the context's seeded generator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from autoprompt.errors import ExampleFailed, TemplateError
from autoprompt.prompts.compose import CUSTOM_TASK, render_instruction, static_context
from autoprompt.prompts.prompt import parse_generation
from autoprompt.propose.operator import MAX_INSTRUCTION_CHARS, Child, RefineContext
from autoprompt.records.example import Example
from autoprompt.records.trial import Trial

MAX_REPLY_TOKENS = 80
SHOWN_MISTAKES = 3
SHOWN_DEMOS = 5
SHOWN_HISTORY = 8
_PREFACE = re.compile(r"^(here('s| is)|sure|okay|certainly)\b.*:$|^.{0,40}:$", re.I)
_LABEL = re.compile(r"^(new |improved |revised |better )?(instruction|prompt)\s*:\s*", re.I)


def parse_instruction(reply: str) -> str:
    """The instruction in a model's reply: tagged text, else its first paragraph, without prefaces or quotes."""
    tagged = re.search(r"<instruction>(.*?)(?:</instruction>|$)", reply, re.S | re.I)
    lines = [line.strip() for line in (tagged.group(1) if tagged else reply).strip().splitlines()]
    kept: list[str] = []
    for line in lines:
        if not line:
            if kept:
                break
            continue
        if not kept and _PREFACE.match(line):
            continue
        kept.append(_LABEL.sub("", line).strip(" *-\"'`"))
    return " ".join(k for k in kept if k).strip()


def _shown(example: Example) -> str:
    values = list(example.inputs.items())
    return values[0][1] if len(values) == 1 else " | ".join(f"{k}: {v}" for k, v in values)


class RewriteOperator:
    """Critique, OPRO, APE and paraphrase proposals from an optimizer model."""

    family = "rewrite"

    def __init__(self, per_round: int = 2) -> None:
        self.per_round = per_round
        self._turn = 0

    def propose(self, parent: Trial, context: RefineContext) -> list[Child]:
        setup = context.setup
        if context.writer is None:
            return []
        task = parent.candidate.task
        if not setup.uses_instruction(task):
            task = next((t for t in context.space.tasks if t != CUSTOM_TASK and setup.uses_instruction(t)), "")
            if not task:
                return []
        base = replace(parent.candidate, task=task)
        words = setup.words(base.verbalizer, base.word_overrides)
        static = static_context(setup, words)
        shown = render_instruction(setup.instruction_of(base), static)
        labels = static["labels"]
        makers: list[tuple[str, Callable[[], str | None]]] = [
            ("rewrite.critique", lambda: self._critique(parent, shown, labels, context)),
            ("rewrite.opro", lambda: self._ask(context, "opro", history=self._history(context), labels=labels)),
            ("rewrite.ape", lambda: self._ask(context, "ape", demos=self._demos(context, words), labels=labels)),
            ("rewrite.paraphrase", lambda: self._ask(context, "paraphrase", instruction=shown)),
        ]
        first = self._turn % len(makers)
        self._turn += self.per_round
        children: list[Child] = []
        for name, make in (makers * 2)[first:first + self.per_round]:
            text = self._attempt(name, make, context)
            if text:
                children.append(Child(replace(base, instruction=text), name))
        return children

    def _attempt(self, name: str, make: Callable[[], str | None], context: RefineContext) -> str:
        return instruction_from(name, make, context)

    def _ask(self, context: RefineContext, meta: str, **values: Any) -> str:
        assert context.writer is not None
        text = context.setup.library.meta[meta].render(values)
        return context.writer.generate(text, chat=context.writer.backend.supports_chat, max_tokens=MAX_REPLY_TOKENS)

    def _critique(self, parent: Trial, shown: str, labels: list[str], context: RefineContext) -> str | None:
        analysis = parent.analysis
        mistakes = [m for m in (analysis.mistakes if analysis else ()) if m.example_id in context.dev]
        if not mistakes:
            return None
        picked = context.rng.sample(mistakes, min(SHOWN_MISTAKES, len(mistakes)))
        rows = [{"input": _shown(context.dev[m.example_id]), "expected": m.expected, "output": m.output,
                 "reason": m.reason} for m in picked]
        reason = parse_generation(self._ask(context, "critique", instruction=shown, mistakes=rows))
        return self._ask(context, "apply_critique", instruction=shown, critique=reason, labels=labels)

    def _history(self, context: RefineContext) -> list[dict[str, Any]]:
        best: dict[str, float] = {}
        for trial in context.trials:
            if trial.n == 0:
                continue
            words = context.setup.words(trial.candidate.verbalizer, trial.candidate.word_overrides)
            source = context.setup.instruction_of(trial.candidate)
            text = render_instruction(source, static_context(context.setup, words))
            if text:
                best[text] = max(best.get(text, 0.0), trial.score)
        ranked = sorted(best.items(), key=lambda kv: kv[1])[-SHOWN_HISTORY:]
        return [{"text": text, "score": round(100 * score)} for text, score in ranked]

    def _demos(self, context: RefineContext, words: dict[str, str]) -> list[dict[str, str]]:
        pool = list(context.setup.train)
        picked = context.rng.sample(pool, min(SHOWN_DEMOS, len(pool)))
        return [{"input": _shown(ex), "output": words.get(ex.target, ex.target)} for ex in picked]


def instruction_from(name: str, make: Callable[[], str | None], context: RefineContext) -> str:
    """The one way an optimizer-model reply becomes an instruction: ask (``make``), parse the reply,
    and record a rejection under ``name`` when the request failed, the reply holds no instruction
    of 3 or more words, or it is too long; "" then (and when ``make`` had nothing to ask)."""
    try:
        reply = make()
    except (ExampleFailed, TemplateError) as exc:
        context.reject(name, f"the optimizer model's request failed: {exc}")
        return ""
    if reply is None:
        return ""
    text = parse_instruction(reply)
    if len(text.split()) < 3:
        context.reject(name, "the reply holds no instruction of 3 or more words", reply)
        return ""
    if len(text) > MAX_INSTRUCTION_CHARS:
        context.reject(name, f"the instruction is longer than {MAX_INSTRUCTION_CHARS} characters", reply)
        return ""
    return text
