"""Prompts: one fully specified, renderable prompt, the unit that is scored and exported.

Contract:
- A ``Prompt`` is a Jinja skeleton plus the constants it was composed with
  (context text, clarifier text, demonstrations, label list, field titles...),
  the words that stand for each label, and how the model is addressed
  (chat template or raw text).
- ``render(inputs)`` gives the exact text of the example's user turn; ``request(inputs)`` what a
  backend is sent: that text, or with a ``system`` message or demonstrations as ``turns`` the
  whole conversation (``messages`` as chat dicts). The exported prompt renders through this
  same code, byte for byte.
- ``decide(logprobs)`` turns per-label log-likelihoods into a label, applying
  the calibration prior when the prompt carries it (after raising the probabilities to
  ``calibration_power``, fitted by ``prior_power`` when the labels are unevenly mixed);
  for free text, ``answer(generated)``
  is the graded part of an answer (cut at the ``stop`` strings, then ``answer_pattern``),
  and ``max_output_tokens``, ``stop`` and ``json_schema`` (a structured answer) are what every
  backend and export asks with.
- Depends on jinja2 and the standard library only.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from autoprompt.errors import ConfigError, TemplateError
from autoprompt.prompts import pattern
from autoprompt.prompts.template import Template
from autoprompt.records.message import Conversation, Message, as_dicts, as_text

CONTENT_FREE_INPUTS = ("N/A", "", "[MASK]")
TURN_BLANKS = ("context", "instruction", "clarifiers", "preamble")  # left out of a demonstration's user turn
LEGACY_OUTPUT_TOKENS = 16  # what free-text answers were cut to before --max-output-tokens; older exports keep it


@dataclass(frozen=True)
class Prompt:
    """A renderable prompt: skeleton, constants, label words and addressing mode."""

    template: str
    constants: Mapping[str, Any] = field(hash=False)
    input_names: tuple[str, ...]
    label_words: Mapping[str, str] = field(default_factory=dict, hash=False)
    chat: bool = False
    answer_space: bool = True
    calibrate: bool = False
    calibration: Mapping[str, float] | None = field(default=None, hash=False)
    calibration_power: float = 1.0  # below 1: the model's probabilities raised to it before the prior divides them
    max_output_tokens: int = LEGACY_OUTPUT_TOKENS  # free text: the longest answer asked for
    stop: tuple[str, ...] = ("\n",)  # free text: the answer ends at the first of these (after some content)
    answer_pattern: str | None = None  # free text: the part of the answer that is graded (group 1, else all)
    json_schema: str | None = None  # free text: the JSON schema the answer follows (compact JSON text)
    system: str = ""  # the system message (rendered text; none when empty)

    def answer(self, generated: str) -> str | None:
        """The graded answer in generated text: cut at the first ``stop`` string that follows
        some content, stripped, then ``answer_pattern``'s match (its first group if it has one);
        None when the pattern does not match."""
        text = generated.strip()
        cuts = [cut for cut in (text.find(s, 1) for s in self.stop if s) if cut > 0]
        text = text[:min(cuts)].strip() if cuts else text
        if self.answer_pattern is None:
            return text
        match = pattern.search(self.answer_pattern, text)  # time-limited: the pattern is untrusted
        if match is None:
            return None
        return (match.group(1) if match.re.groups else match.group(0)).strip()

    def render(self, inputs: Mapping[str, str]) -> str:
        """The exact text the model sees for an example with these input fields."""
        context = dict(self.constants)
        context.update(inputs)
        context["inputs"] = dict(inputs)
        text = Template("prompt", self.template).render(context)
        # a turn of a conversation starts with its content (what moved to the system message leaves blank lines)
        return text.lstrip("\n") if self.system or self.turns else text

    @functools.cached_property
    def turns(self) -> tuple[tuple[str, str], ...]:
        """The demonstrations in ``constants["turn_demos"]`` as (user, assistant) turns: the user turn
        is the template for the demonstration's inputs with no context, instruction, clarifiers or
        inline demonstrations; the assistant turn is its answer."""
        demos = self.constants.get("turn_demos") or []
        if not demos:
            return ()
        bare = {**self.constants, "turn_demos": [], **{k: "" for k in TURN_BLANKS if k in self.constants},
                **({"demos": []} if "demos" in self.constants else {})}
        template = Template("prompt", self.template)
        return tuple((template.render({**bare, **d["inputs"], "inputs": dict(d["inputs"])}).lstrip("\n"),
                      str(d["answer"])) for d in demos)

    def request(self, inputs: Mapping[str, str]) -> str | Conversation:
        """What a backend is sent for an example: the rendered text when the prompt is one user
        turn, else the conversation (system message, demonstration turns, the example's turn)."""
        text = self.render(inputs)
        if not self.system and not self.turns:
            return text
        return self.conversation(text)

    def conversation(self, text: str) -> Conversation:
        """The messages around a user turn of ``text``: the system message, the demonstration turns."""
        head = (Message("system", self.system),) if self.system else ()
        turns = tuple(m for user, answer in self.turns for m in (Message("user", user), Message("assistant", answer)))
        return (*head, *turns, Message("user", text))

    def shared_prefix(self) -> str:
        """The text every example's request starts with: the system message and demonstration turns,
        then everything before the first input, which a provider's prompt cache can reuse."""
        marks = {name: f"\x00{i}\x00" for i, name in enumerate(self.input_names)}
        try:
            text = as_text(self.conversation(self.render(marks)))
        except TemplateError:  # a template that needs real inputs to render: no shared prefix to name
            return ""
        cuts = [text.find(mark) for mark in marks.values() if mark in text]
        return text[:min(cuts)] if cuts else text

    def content_free(self) -> list[str | Conversation]:
        """Requests with content-free inputs, for contextual calibration."""
        return [self.request({name: value for name in self.input_names}) for value in CONTENT_FREE_INPUTS]

    def continuations(self) -> dict[str, str]:
        """The text scored after the prompt for each label."""
        space = " " if self.answer_space else ""
        return {label: space + word for label, word in self.label_words.items()}

    def messages(self, inputs: Mapping[str, str]) -> list[dict[str, str]]:
        """The prompt as chat messages: the system message, the demonstration turns, the user turn."""
        return as_dicts(self.conversation(self.render(inputs)))

    def decide(self, logprobs: Mapping[str, float]) -> str:
        """The label with the highest (calibrated) probability."""
        return decide(logprobs, self.calibration, self.calibration_power)

    def key(self) -> str:
        """A stable text key of everything that changes what the model is asked."""
        import json

        return json.dumps(
            [self.template, dict(self.constants), self.input_names, dict(self.label_words),
             self.chat, self.answer_space, self.calibrate, *([self.json_schema] if self.json_schema else []),
             *([self.system] if self.system else [])],
            sort_keys=True,
            default=str,
        )


def normalize(logprobs: Mapping[str, float]) -> dict[str, float]:
    """Softmax over the labels' log-likelihoods."""
    top = max(logprobs.values())
    exps = {k: math.exp(v - top) for k, v in logprobs.items()}
    total = sum(exps.values())
    return {k: v / total for k, v in exps.items()}


def calibration_from(content_free: Sequence[Mapping[str, float]],
                     shares: Mapping[str, float] | None = None, power: float = 1.0) -> dict[str, float]:
    """Average label probabilities over the scored inputs: the task's own (batch calibration, Zhou et al.,
    2024) or content-free ones (contextual calibration, Zhao et al., 2021). Dividing by them makes every
    label as likely as another on average. With ``shares``, each label's share of the task's labelled
    rows, each average is also divided by its label's share when the shares are uneven, so the
    calibrated answers come out in the rows' own label mix (the prior correction of Saerens et al.,
    2002); even shares, or shares missing a label, leave the averages as they are. With uneven shares
    and ``power`` below 1 each average is raised to it first: the prior for probabilities raised to the
    same power (``probabilities(..., power)``), which trust the model less and the label mix more."""
    probs = [normalize(lp) for lp in content_free]
    labels = list(probs[0])
    means = {label: sum(p[label] for p in probs) / len(probs) for label in labels}
    if shares is None or not uneven(shares, labels):
        return means
    return {label: means[label] ** power / shares[label] for label in labels}


def uneven(shares: Mapping[str, float], labels: Sequence[str]) -> bool:
    """Whether every label has a share and the shares are not all equal."""
    if any(shares.get(label, 0.0) <= 0.0 for label in labels):
        return False
    return len({shares[label] for label in labels}) > 1


PRIOR_POWERS = (1.0, 2 / 3, 1 / 2, 1 / 3, 1 / 4, 1 / 6, 1 / 8, 1 / 12, 1 / 20)  # 1: the probabilities as they are


def prior_power(scored: Sequence[Mapping[str, float]], targets: Sequence[str], shares: Mapping[str, float]) -> float:
    """How far to trust the model against the label mix: of ``PRIOR_POWERS``, the power whose calibrated
    probabilities (``calibration_from(scored, shares, power)``) give the labelled rows' targets the
    highest mean log-likelihood (a one-parameter fit, as temperature scaling is; Guo et al., 2017).
    A model that reads too little of a task gets a low power, and its answers lean to the commonest
    label as far as its rows say they should; a tie keeps the higher power. Rows with a target that is
    not one of the labels are left out; with none left, 1."""
    rows = [(lp, gold) for lp, gold in zip(scored, targets, strict=True) if gold in lp]
    if not rows:
        return 1.0
    best, best_fit = 1.0, -math.inf
    for power in PRIOR_POWERS:
        prior = calibration_from(scored, shares, power)
        fit = sum(math.log(max(probabilities(lp, prior, power)[gold], 1e-300)) for lp, gold in rows)
        if fit > best_fit + 1e-9:
            best, best_fit = power, fit
    return best


def probabilities(logprobs: Mapping[str, float], calibration: Mapping[str, float] | None = None,
                  power: float = 1.0) -> dict[str, float]:
    """The labels' probabilities, divided by their priors when calibrated, summing to 1; with ``power``
    below 1 each probability is raised to it before the division (a calibration fitted with that power)."""
    if calibration and power != 1.0:
        return normalize({k: power * v - math.log(max(calibration[k], 1e-300)) for k, v in logprobs.items()})
    probs = normalize(logprobs)
    if calibration:
        probs = {k: p / max(calibration[k], 1e-12) for k, p in probs.items()}
    total = sum(probs.values())
    return {k: p / total for k, p in probs.items()}


def decide(logprobs: Mapping[str, float], calibration: Mapping[str, float] | None = None, power: float = 1.0) -> str:
    """Pick the label; with calibration, divide each probability (raised to ``power``) by its prior."""
    if not logprobs:
        raise ConfigError("no label log-probabilities to decide from; pass one log-probability per label, "
                          "e.g. {label: logprob for label in prompt.labels}")
    if calibration and set(logprobs) - set(calibration):
        missing = ", ".join(sorted(set(logprobs) - set(calibration))[:5])
        raise ConfigError(f"label(s) {missing} have no calibration prior; pass the prompt's own labels")
    if not calibration:
        return max(logprobs, key=lambda k: logprobs[k])
    if power != 1.0:
        return max(logprobs, key=lambda k: power * logprobs[k] - math.log(max(calibration[k], 1e-300)))
    probs = normalize(logprobs)
    return max(probs, key=lambda k: probs[k] / max(calibration[k], 1e-12))


def parse_generation(text: str) -> str:
    """The first non-empty line of generated text, stripped (a critique, a reason)."""
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""
