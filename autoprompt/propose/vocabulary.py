"""Label words from the model's own vocabulary: the automatic verbalizer search of LM-BFF (Gao, Fisch
and Chen, 2021), on the next-token lists of labelled rows.

Contract: ``choose_words(lists, targets, current, space=...)`` takes, per labelled row, the model's
likeliest next tokens after the prompt (``(token, log-probability)`` pairs, as
``Client.next_tokens`` gives them), the row's label, and the label words the prompt uses now
(label -> word). It returns other label words that do better on those rows, or None. Pure: no
model is asked.

- A word is a token that reads as one: three or more lowercase letters, after a space when the
  prompt puts one before its answer (``space``). Capitalized tokens are left out: they are the
  likely first words of any sentence (``This``, ``Not``), which a search on few rows mistakes
  for telling ones (seen on the suite's tuning split). A word missing from a row's list counts as likely as that
  row's least likely listed token (an upper bound, the most a list of the top tokens can say).
- Candidates per label: the ``PER_LABEL`` words whose mean log-probability on the label's rows
  exceeds their mean on the other rows the most, among the ``LIKELY`` likeliest on the label's
  rows; the current word stays a candidate.
- Coordinate ascent from the current words, three sweeps: each label in turn takes the candidate
  that gives the best accuracy on the rows (ties: the lower cross-entropy over the label words);
  words stay distinct. The result is returned only when it beats the current words by that order.
- Every label needs ``MIN_ROWS_PER_LABEL`` rows, or nothing is proposed: with fewer, the words fit
  the rows and nothing else (measured in ``bench/results/verbalizers-pool.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

LIKELY = 200
PER_LABEL = 15
MIN_ROWS_PER_LABEL = 4
SWEEPS = 3


def words_of(tokens: Sequence[tuple[str, float]], *, space: bool) -> dict[str, float]:
    """The tokens of one list that read as answer words, with their log-probabilities."""
    out: dict[str, float] = {}
    for token, logprob in tokens:
        if space != token.startswith(" "):
            continue
        word = token[1:] if space else token
        if len(word) >= 3 and word.isalpha() and word.islower():
            out.setdefault(word, logprob)
    return out


class _Rows:
    """Per row: each word's log-probability, with the row's floor for a word its list lacks."""

    def __init__(self, lists: Sequence[Sequence[tuple[str, float]]], *, space: bool) -> None:
        self.words = [words_of(tokens, space=space) for tokens in lists]
        self.floors = [min((lp for _, lp in tokens), default=-100.0) for tokens in lists]

    def logprob(self, row: int, word: str) -> float:
        return self.words[row].get(word, self.floors[row])

    def mean(self, rows: Sequence[int], word: str) -> float:
        return sum(self.logprob(i, word) for i in rows) / len(rows)


def enough_rows(targets: Sequence[str], labels: Sequence[str]) -> bool:
    """Whether every label has ``MIN_ROWS_PER_LABEL`` rows (and there are two labels or more)."""
    return len(labels) >= 2 and all(sum(t == label for t in targets) >= MIN_ROWS_PER_LABEL for label in labels)


def _quality(rows: _Rows, targets: Sequence[str], words: Mapping[str, str]) -> tuple[float, float]:
    """(accuracy, minus the cross-entropy of the gold label among the label words) on the rows."""
    labels, correct, loss = list(words), 0, 0.0
    for i, target in enumerate(targets):
        scores = [rows.logprob(i, words[label]) for label in labels]
        top = max(scores)
        correct += scores[labels.index(target)] == top and scores.count(top) == 1
        loss += math.log(sum(math.exp(s - top) for s in scores)) + top - scores[labels.index(target)]
    return correct / len(targets), -loss / len(targets)


def _candidates(rows: _Rows, targets: Sequence[str], label: str, vocabulary: Sequence[str]) -> list[str]:
    mine = [i for i, t in enumerate(targets) if t == label]
    rest = [i for i, t in enumerate(targets) if t != label]
    on_mine = {w: rows.mean(mine, w) for w in vocabulary}
    likely = sorted(vocabulary, key=lambda w: (-on_mine[w], w))[:LIKELY]
    return sorted(likely, key=lambda w: (-(on_mine[w] - rows.mean(rest, w)), w))[:PER_LABEL]


def choose_words(lists: Sequence[Sequence[tuple[str, float]]], targets: Sequence[str], current: Mapping[str, str],
                 *, space: bool) -> dict[str, str] | None:
    """Better label words for these rows, or None (see the module contract)."""
    labels = list(current)
    if not enough_rows(targets, labels):
        return None
    rows = _Rows(lists, space=space)
    vocabulary = sorted(set().union(*rows.words))
    options = {label: list(dict.fromkeys([*_candidates(rows, targets, label, vocabulary), current[label]]))
               for label in labels}
    chosen = dict(current)
    for _ in range(SWEEPS):
        for label in labels:
            taken = {w for other, w in chosen.items() if other != label}
            scored = [(_quality(rows, targets, {**chosen, label: w}), w) for w in options[label] if w not in taken]
            chosen[label] = max(scored, key=lambda pair: pair[0])[1]
    better = _quality(rows, targets, chosen) > _quality(rows, targets, current)
    return chosen if better and chosen != dict(current) else None
