"""Label-word moves: which word stands for each label when log-likelihoods are compared.

Contract: ``WordsOperator`` (family ``words``, classification only) proposes
- ``words.label``: for the labels in the parent's most confused pair (or the label it
  over-predicts), each other form of that label: the forms of every named word set
  (as is, spaced, capitalized, the user's own sets), lowercase, and its first word.
  Stored as ``Candidate.word_overrides``; words stay distinct across labels;
- ``words.set``: switch the whole named word set (clearing overrides).
"""

from __future__ import annotations

from dataclasses import replace

from autoprompt.data.dataset import TaskKind
from autoprompt.prompts.compose import verbalizers
from autoprompt.propose.operator import Child, RefineContext, interleave
from autoprompt.records.trial import Trial


def forms(label: str, sets: dict[str, dict[str, str]]) -> list[str]:
    """Every candidate word for ``label``, without duplicates, in a stable order."""
    words = [s[label] for s in sets.values() if label in s]
    spaced = label.replace("_", " ")
    words += [spaced.lower(), spaced.split()[0] if spaced.split() else spaced]
    return list(dict.fromkeys(w for w in words if w.strip()))


class WordsOperator:
    """Alternative words for the labels the parent confuses."""

    family = "words"

    def propose(self, parent: Trial, context: RefineContext) -> list[Child]:
        setup, candidate = context.setup, parent.candidate
        if setup.kind is not TaskKind.CLASSIFICATION:
            return []
        sets = verbalizers(setup.labels, setup.label_words)
        current = setup.words(candidate.verbalizer, candidate.word_overrides)
        analysis = parent.analysis
        focus: list[str] = []
        if analysis is not None:
            for expected, predicted, _ in analysis.confusions[:2]:
                focus += [expected, predicted]
            skewed = analysis.skewed_label()
            if skewed:
                focus.insert(0, skewed)
        per_label: list[Child] = []
        for label in dict.fromkeys(f for f in focus if f in current):
            taken = {w for other, w in current.items() if other != label}
            overrides = dict(candidate.word_overrides)
            per_label += [Child(replace(candidate, word_overrides=tuple(sorted({**overrides, label: word}.items()))),
                                "words.label") for word in forms(label, sets)
                          if word != current[label] and word not in taken]
        whole = [Child(replace(candidate, verbalizer=name, word_overrides=()), "words.set") for name in sets
                 if name != candidate.verbalizer or candidate.word_overrides]
        context.rng.shuffle(whole)
        return interleave(per_label, whole)
