"""Word moves: which word stands for each label when log-likelihoods are compared, and which
words title the prompt's fields.

Contract: ``WordsOperator`` (family ``words``) proposes
- ``words.field``: for a skeleton that shows field names, the parent with another input field name
  or another answer field name (``prompts.fields``), any task kind;
and, for classification only,
- ``words.label``: for the labels in the parent's most confused pair (or the label it
  over-predicts), each other form of that label: the forms of every named word set
  (as is, spaced, capitalized, the user's own sets), lowercase, and its first word.
  Stored as ``Candidate.word_overrides``; words stay distinct across labels;
- ``words.set``: switch the whole named word set (clearing overrides);
- ``words.vocab``: label words from the model's own vocabulary (``propose.vocabulary``), chosen
  on the parent's prompt without demonstrations (shown demonstrations make the model repeat their
  words, so the likeliest tokens say little: a 10-shot parent's child scored as its parent on the
  tuning split) over every labelled row the search may read (the demonstration pool and the
  search rows; never the held-out rows); the child is that prompt under those words. Only with a
  model that lists its likeliest next tokens (``NextTokens``); one call per row, on the run's budget, and
  only while that leaves the calls the search keeps back for its end (``context.reserve``). The
  words are fitted to the search rows they then race on, so the held-out check that ends the
  search is what vouches for them (on the pool alone, 60 rows of a 10-way task, the words fit the
  rows and little else: ``bench/results/verbalizers-pool.md``).
"""

from __future__ import annotations

from dataclasses import replace

from autoprompt.errors import ExampleFailed
from autoprompt.models.backend import NextTokens
from autoprompt.prompts.compose import CUSTOM_TASK, TaskSetup, compose, verbalizers
from autoprompt.prompts.fields import answer_titles, input_titles
from autoprompt.propose.operator import Child, RefineContext, interleave
from autoprompt.propose.vocabulary import LIKELY, choose_words, enough_rows
from autoprompt.records.candidate import Candidate
from autoprompt.records.task_kind import TaskKind
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
        fields = field_moves(setup, candidate)
        context.rng.shuffle(fields)
        if setup.kind is not TaskKind.CLASSIFICATION:
            return fields
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
        return interleave(self._vocabulary(parent, context), fields, per_label, whole)

    def _vocabulary(self, parent: Trial, context: RefineContext) -> list[Child]:
        """The parent under label words read from the model's vocabulary (see the module contract)."""
        client, setup = context.scorer, context.setup
        if client is None or not isinstance(client.backend, NextTokens):
            return []
        candidate = replace(parent.candidate, n_demos=0, demo_ids=())
        prompt = compose(candidate, setup, context.custom)
        rows = [*setup.train, *context.dev.values()]
        current = dict(prompt.label_words)
        if not enough_rows([ex.target for ex in rows], list(current)):  # before any call is paid for
            return []
        if client.budget.remaining - len(rows) <= context.reserve:  # the final check's calls are not ours
            return []
        lists = client.next_tokens([prompt.request(ex.inputs) for ex in rows], chat=prompt.chat, top=LIKELY)
        answered = [(tokens, ex.target) for tokens, ex in zip(lists, rows) if not isinstance(tokens, ExampleFailed)]
        chosen = choose_words([t for t, _ in answered], [target for _, target in answered], current,
                              space=prompt.answer_space)
        if chosen is None:
            return []
        overrides = {**dict(candidate.word_overrides), **{k: w for k, w in chosen.items() if w != current[k]}}
        return [Child(replace(candidate, word_overrides=tuple(sorted(overrides.items()))), "words.vocab")]


def field_moves(setup: TaskSetup, candidate: Candidate) -> list[Child]:
    """The candidate with each other input field name and each other answer field name, where its
    skeleton shows them (never for the user's own template, whose words are the user's)."""
    if candidate.task == CUSTOM_TASK:
        return []
    shown = setup.library.tasks[candidate.task].variables()
    inputs = [Child(replace(candidate, input_title=name), "words.field") for name in input_titles(setup)[1:]
              if "titles" in shown and name != candidate.input_title]
    answers = [Child(replace(candidate, answer_title=name), "words.field") for name in answer_titles(setup)[1:]
               if "answer_title" in shown and name != candidate.answer_title]
    if candidate.input_title:
        inputs.append(Child(replace(candidate, input_title=""), "words.field"))
    if candidate.answer_title:
        answers.append(Child(replace(candidate, answer_title=""), "words.field"))
    return interleave(inputs, answers)
