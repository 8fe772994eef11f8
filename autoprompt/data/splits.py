"""Splits of a dataset: ``split`` (train/dev/test, seeded and stratified by label), ``without_leaks`` and
``unique_rows`` (no input scored twice), ``selection_rows`` (the demonstration pool and the rows that score
candidates, interleaved by label so every prefix is balanced), ``hold_out`` (every third row of each
label set aside for a final check), ``label_shares`` (the label mix of some rows) and
``commonest_label``. Deterministic for a seed.

Imports the errors, the records and ``dataset``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from autoprompt.data.dataset import Dataset, Split
from autoprompt.errors import DataError
from autoprompt.records.example import Example
from autoprompt.records.task_kind import TaskKind


def split(
    dataset: Dataset,
    *,
    fractions: tuple[float, float, float] = (0.4, 0.3, 0.3),
    seed: int = 0,
) -> Split:
    """Split into train/dev/test, deterministically and stratified by label."""
    if abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise DataError(f"split fractions {fractions} must be non-negative and sum to 1")
    rng = random.Random(seed)
    groups = _by_label(dataset.examples, dataset.kind is TaskKind.CLASSIFICATION)
    parts: tuple[list[Example], list[Example], list[Example]] = ([], [], [])
    for key in sorted(groups):
        members = groups[key][:]
        rng.shuffle(members)
        n_train = round(len(members) * fractions[0])
        n_dev = round(len(members) * fractions[1])
        parts[0].extend(members[:n_train])
        parts[1].extend(members[n_train : n_train + n_dev])
        parts[2].extend(members[n_train + n_dev :])
    for part in parts:
        rng.shuffle(part)
    train, dev, test = (dataset.subset(p) for p in parts)
    if len(dev) == 0:
        raise DataError(f"the dev split of {len(dataset)} examples is empty; give more examples or a --dev file")
    return Split(train, dev, test)


def without_leaks(train: Dataset, dev: Dataset, test: Dataset) -> tuple[Dataset, Dataset, Dataset, int]:
    """``dev`` without rows whose inputs are a training row's, ``test`` without rows seen in either;
    with the number of rows removed. A row shown as a demonstration or used for selection would
    otherwise be scored again as if it were unseen."""
    seen = {_key(ex) for ex in train.examples}
    kept_dev = [ex for ex in dev.examples if _key(ex) not in seen]
    seen |= {_key(ex) for ex in kept_dev}
    kept_test = [ex for ex in test.examples if _key(ex) not in seen]
    removed = len(dev) - len(kept_dev) + len(test) - len(kept_test)
    return train, dev.subset(kept_dev), test.subset(kept_test), removed


def unique_rows(data: Dataset) -> tuple[Dataset, int]:
    """The dataset with each input kept once (its first row), and how many rows were dropped."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for ex in data.examples:
        if _key(ex) not in seen:
            seen.add(_key(ex))
            kept.append(ex)
    return data.subset(kept), len(data) - len(kept)


def _key(ex: Example) -> tuple[str, ...]:
    return tuple(ex.inputs[name].strip() for name in sorted(ex.inputs))


def _by_label(examples: Sequence[Example], classification: bool) -> dict[str, list[Example]]:
    """Examples grouped by target in their order (one group "" when there are no labels)."""
    groups: dict[str, list[Example]] = {}
    for ex in examples:
        groups.setdefault(ex.target if classification else "", []).append(ex)
    return groups


def selection_rows(train: Dataset, dev: Dataset, *, seed: int = 0, pool: float = 0.375) -> tuple[Dataset, Dataset]:
    """Split the training rows into a demonstration pool and rows that score candidates.

    Returns ``(pool, selection)``: ``pool`` keeps about ``pool`` of each label's training rows
    (the only rows a prompt may show as demonstrations); ``selection`` is every dev row plus
    the other training rows (their ids prefixed ``train-`` when they clash with a dev id, as
    when train and dev come from separate files), so selection sees nearly twice
    the data and no candidate is ever scored on its own demonstrations. ``selection`` is
    interleaved by label (seeded), so every prefix of it, as racing uses, is balanced.
    """
    rng = random.Random(seed)
    classification = train.kind is TaskKind.CLASSIFICATION
    groups = _by_label(train.examples, classification)
    kept: list[Example] = []
    extra: list[Example] = []
    for key in sorted(groups):
        members = groups[key][:]
        rng.shuffle(members)
        n_pool = max(1, round(len(members) * pool)) if len(members) > 1 else len(members)
        kept += members[:n_pool]
        extra += members[n_pool:]
    dev_ids = {ex.id for ex in dev.examples}
    if any(ex.id in dev_ids for ex in extra):
        extra = [Example(f"train-{ex.id}", ex.inputs, ex.target) for ex in extra]
    rng.shuffle(kept)
    return train.subset(kept), dev.subset(interleave_by_label([*dev.examples, *extra], classification, rng))


def label_shares(examples: Sequence[Example]) -> dict[str, float]:
    """Each label's share of ``examples`` (their targets), in order of first appearance."""
    return {label: len(group) / len(examples) for label, group in _by_label(examples, True).items()}


def commonest_label(examples: Sequence[Example]) -> tuple[str, float] | None:
    """The commonest label of ``examples`` (the first to appear, on a tie) and its share; None for no rows."""
    shares = label_shares(examples)
    label = max(shares, key=lambda name: shares[name], default=None)
    return None if label is None else (label, shares[label])


def interleave_by_label(examples: Sequence[Example], classification: bool, rng: random.Random) -> list[Example]:
    """Shuffle each label's examples, then deal them out one label at a time (most frequent first)."""
    if not classification:
        shuffled = list(examples)
        rng.shuffle(shuffled)
        return shuffled
    groups = _by_label(examples, True)
    queues = [groups[k] for k in sorted(groups)]
    for queue in queues:
        rng.shuffle(queue)
    total, dealt = len(examples), [0] * len(queues)
    out: list[Example] = []
    while len(out) < total:  # deal the label that is furthest behind its share
        i = min((k for k in range(len(queues)) if dealt[k] < len(queues[k])),
                key=lambda k: ((dealt[k] + 1) / len(queues[k]), k))
        out.append(queues[i][dealt[i]])
        dealt[i] += 1
    return out


def hold_out(examples: Sequence[Example], *, by_label: bool, every: int = 3) -> tuple[list[Example], list[Example]]:
    """Every ``every``-th example of each label (of all, without labels) held out; both parts keep the order."""
    kept: list[Example] = []
    held: list[Example] = []
    seen: dict[str, int] = {}
    for ex in examples:
        key = ex.target if by_label else ""
        (held if seen.get(key, 0) % every == every - 1 else kept).append(ex)
        seen[key] = seen.get(key, 0) + 1
    return kept, held
