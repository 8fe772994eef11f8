"""The candidate record: one set of choices in the search space (skeleton, clarifiers, context,
demonstrations, label words, field names, calibration, addressing, instruction, and where the instructions and
demonstrations sit among the chat messages). Imports nothing of the project."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """A set of choices in the search space."""

    task: str
    clarifiers: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    n_demos: int = 0
    demo_seed: int = 0
    verbalizer: str = "as_is"
    calibrate: bool = False
    chat: bool = False
    answer_space: bool = True
    instruction: str = ""
    demo_ids: tuple[str, ...] = ()
    word_overrides: tuple[tuple[str, str], ...] = ()
    system: bool = False  # the instruction, context and clarifiers in the system message
    demo_turns: bool = False  # demonstrations as user/assistant turns instead of inline
    input_title: str = ""  # the input's field name (one input column); "": the column's name
    answer_title: str = ""  # the answer's field name; "": the target column's name

    def describe(self) -> str:
        """A short one-line description for leaderboards."""
        parts = [self.task]
        if self.input_title or self.answer_title:
            parts[0] += f"[{self.input_title or '-'}/{self.answer_title or '-'}]"
        if self.instruction:
            short = " ".join(self.instruction.split())
            parts.append(f'instr="{short[:40]}{"..." if len(short) > 40 else ""}"')
        parts += [f"+{c}" for c in self.context]
        parts += [f"+{c}" for c in self.clarifiers]
        if self.demo_ids:
            parts.append(f"{len(self.demo_ids)}-shot[{','.join(self.demo_ids)}]")
        elif self.n_demos:
            parts.append(f"{self.n_demos}-shot#{self.demo_seed}")
        if self.verbalizer != "as_is":
            parts.append(f"words={self.verbalizer}")
        if self.word_overrides:
            parts.append("words:" + ",".join(f"{k}={v}" for k, v in self.word_overrides))
        if self.calibrate:
            parts.append("calibrated")
        if self.chat:
            parts.append("chat" if self.answer_space else "chat-nospace")
        if self.system:
            parts.append("in-system")
        if self.demo_turns:
            parts.append("demo-turns")
        return " ".join(parts)
