"""Label words from the model's own vocabulary (LM-BFF's automatic verbalizer), chosen on the
labelled rows, scored on the suite's test rows: is it a lever worth building into the search?

Usage:

    python bench/verbalizers.py              # every task of the tuning split (seed13)
    python bench/verbalizers.py subj sst5
    python bench/verbalizers.py --rows pool  # fit on the demonstration pool only, as the search can

For each task, under the ``fields`` skeleton with the task's field name (the one the search's
titled starts find), one forward pass per labelled row (``--rows all``: train and dev; ``--rows
pool``: the demonstration pool alone, the rows no search decision reads; no demonstrations in the
prompt, so no row sees itself) gives the next-token log-probabilities over the whole vocabulary. The
accuracy and the cross-entropy of *any* assignment of one-token words to labels then follow
without another model call. Per label, the candidates are the ``K`` words (lowercase, 3+ letters,
one token after a space) that most separate its rows from the others among its 200 most likely;
coordinate ascent from the task's own words picks an assignment on the rows, by cross-entropy
(``chosen``) or by accuracy (``chosen-acc``). Both are then scored on the 500 test rows.
Figures go to ``bench/results/verbalizers.md`` (``verbalizers-pool.md`` for ``--rows pool``). Uses
the local backend's decoder directly.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from fewshot import paths  # noqa: E402

from autoprompt.models.local import LocalBackend  # noqa: E402
from autoprompt.prompts.compose import compose  # noqa: E402
from autoprompt.records.candidate import Candidate  # noqa: E402
from autoprompt.search.task import prepare_task  # noqa: E402
from autoprompt.spec import RunSpec, Search  # noqa: E402

K = 15
TASKS = {"subj": "Answer", "sst5": "Rating", "cr": "Sentiment", "yahoo": "Topic"}
OUT: list[str] = []


def say(line: str) -> None:
    print(line, flush=True)
    OUT.append(line)


class Vocabulary:
    """The model's next-token log-probabilities after whole prompts, and its one-token words."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.llm = backend._model()
        self.words: dict[int, str] = {}
        for token in range(self.llm.n_vocab()):
            text = self.llm.detokenize([token]).decode("utf-8", "ignore")
            if len(text) >= 4 and text[0] == " " and text[1:].isalpha() and text[1:].islower():
                self.words[token] = text[1:]
        self.ids = np.array(sorted(self.words))

    def logprobs(self, texts: Sequence[str]) -> Any:
        """One row of log-probabilities over the vocabulary per text."""
        tokens = [self.backend._tokens(text, False) for text in texts]
        got: dict[int, Any] = {}

        def capture(i: int, logits: Any) -> int:
            values = np.array(logits, dtype=np.float64)
            got[i] = values - np.logaddexp.reduce(values)
            return int(np.argmax(values))

        self.backend._batch_decoder().generate(tokens, max_tokens=1, done=lambda out: True, choose=capture)
        return np.stack([got[i] for i in range(len(tokens))])

    def token(self, word: str) -> int | None:
        tokens = self.llm.tokenize((" " + word).encode(), add_bos=False, special=False)
        return int(tokens[0]) if len(tokens) == 1 else None


def accuracy(x: Any, y: Any, tokens: list[int]) -> float:
    return float((np.argmax(x[:, tokens], axis=1) == y).mean())


def cross_entropy(x: Any, y: Any, tokens: list[int]) -> float:
    scores = x[:, tokens] - np.logaddexp.reduce(x[:, tokens], axis=1, keepdims=True)
    return float(-scores[np.arange(len(y)), y].mean())


def ascend(start: list[int], options: list[list[int]], loss: Callable[[list[int]], Any]) -> list[int]:
    """Coordinate ascent: each label's word in turn, the one that minimizes ``loss``, three sweeps."""
    current = list(start)
    for _ in range(3):
        for c in range(len(current)):
            others = current[:c] + current[c + 1:]
            allowed = [w for w in options[c] if w not in others]
            current[c] = min(allowed, key=lambda w, c=c: loss([*current[:c], w, *current[c + 1:]]))
    return current


def study(vocab: Vocabulary, task: str, split: str, title: str, pool_only: bool) -> None:
    files = paths(task, split)
    prepared = prepare_task(RunSpec(data=str(files["train"]), inputs="text", target="label", seed=0,
                                    search=Search(dev=str(files["dev"]) if "dev" in files else None,
                                                  test=str(files["test"]))))
    candidate = Candidate("fields", answer_title=title)
    prompt = compose(candidate, prepared.setup, prepared.custom)
    labels = list(prepared.setup.labels)
    labelled = [*prepared.setup.train, *([] if pool_only else prepared.data.dev.examples)]
    rows = list({ex.id: ex for ex in labelled}.values())
    test = prepared.data.test.examples
    x, y = vocab.logprobs([prompt.render(r.inputs) for r in rows]), np.array([labels.index(r.target) for r in rows])
    xt = vocab.logprobs([prompt.render(r.inputs) for r in test])
    yt = np.array([labels.index(r.target) for r in test])
    say(f"\n## {task}/{split}, `{candidate.describe()}`, {len(rows)} labelled rows, {len(test)} test rows\n")
    own = [vocab.token(prompt.label_words[label]) for label in labels]
    if None not in own:
        words = [prompt.label_words[label] for label in labels]
        say(f"- the task's words {words}: rows accuracy {accuracy(x, y, own):.3f}, cross-entropy "
            f"{cross_entropy(x, y, own):.3f}; **test {accuracy(xt, yt, own):.3f}**")
    options = []
    for c, label in enumerate(labels):
        mine, rest = x[y == c][:, vocab.ids].mean(0), x[y != c][:, vocab.ids].mean(0)
        likely = np.argsort(-mine)[:200]
        apart = likely[np.argsort(-(mine[likely] - rest[likely]))[:K]]
        options.append([int(vocab.ids[j]) for j in apart] + ([own[c]] if own[c] is not None else []))
        say(f"- candidates for `{label}`: {', '.join(vocab.words[int(vocab.ids[j])] for j in apart[:8])}")
    start = [w if w is not None else options[c][0] for c, w in enumerate(own)]
    for name, loss in (("cross-entropy", lambda t: cross_entropy(x, y, t)),
                       ("accuracy", lambda t: (-accuracy(x, y, t), cross_entropy(x, y, t)))):
        chosen = ascend(start, options, loss)
        shown = [vocab.words.get(w, str(w)) for w in chosen]
        say(f"- chosen by {name} {shown}: rows accuracy {accuracy(x, y, chosen):.3f}; "
            f"**test {accuracy(xt, yt, chosen):.3f}**")


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", choices=[*TASKS, []], default=[])
    parser.add_argument("--rows", choices=("all", "pool"), default="all")
    args = parser.parse_args()
    started = time.time()
    vocab = Vocabulary(LocalBackend("local"))
    say(f"word tokens in the vocabulary: {len(vocab.words)}")
    for task, title in TASKS.items():
        if not args.tasks or task in args.tasks:
            study(vocab, task, "seed13", title, args.rows == "pool")
    head = ["# Label words from the model's vocabulary, chosen on the labelled rows (a lever study)", "",
            f"SmolLM2-135M-Instruct (embedded); `python bench/verbalizers.py {' '.join(sys.argv[1:])}`; tuning "
            f"split seed13; wall time {(time.time() - started) / 60:.0f} min.", ""]
    out = HERE / "results" / ("verbalizers-pool.md" if args.rows == "pool" else "verbalizers.md")
    out.write_text("\n".join(head + OUT) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
