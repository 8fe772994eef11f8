"""Build the unseen-task suite from the BIG-bench sdist on PyPI (Apache-2.0).

Usage (standard library and pip only):

    python bench/suite/build.py                      # downloads bigbench==1.0.0 with pip
    python bench/suite/build.py --sdist bigbench-1.0.0.tar.gz

Each task is written to ``bench/suite/tasks/<name>/{train,dev,test}.csv`` in the 16-shot
setting: 16 examples per class for train and 16 per class for dev (32 rows each for a
free-text task), and 300 test rows drawn from the rest (their natural label mix), all
seeded. ``bench/suite/tasks.json`` lists every task with its source, columns, labels and
its half: the **tuning** half may be used while developing the search; the
**confirmation** half is run only once the method is frozen. The halves were drawn once,
by ``HALF_SEED``, before any tuning, and must not be redrawn.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = "bigbench-1.0.0/bigbench/benchmark_tasks/"
SEED = 20261130
HALF_SEED = 14
SHOTS = 16
TEST_ROWS = 300

Row = dict[str, str]


def _label(example: dict) -> str:
    scores = example["target_scores"]
    return max(scores, key=scores.get)


def _one(example: dict) -> str:
    target = example["target"]
    return (target[0] if isinstance(target, list) else target).strip()


def _sentiment4(ex: dict) -> Row | None:
    return {"text": ex["input"].strip(), "label": _label(ex)}


def _support(ex: dict) -> Row | None:
    return {"reply": ex["input"].strip(), "label": _label(ex)}


def _question_type(ex: dict) -> Row | None:
    if len(ex["target"]) != 1:
        return None
    match = re.match(r"Question: (.*) \(Answer: (.*)\)\.?$", ex["input"].strip())
    if not match:
        return None
    return {"question": match[1].strip(), "answer": match[2].strip(), "type": ex["target"][0].strip(" .").lower()}


def _fever(ex: dict) -> Row | None:
    claim = ex["input"].split("the following claim was made:", 1)[-1].split("\nQ:", 1)[0].strip()
    return {"claim": claim, "label": _label(ex)}


def _implicature(ex: dict) -> Row | None:
    match = re.match(r"Speaker 1: '(.*)' Speaker 2: '(.*)'$", ex["input"].strip())
    if not match:
        return None
    return {"question": match[1], "reply": match[2], "meaning": _label(ex)}


def _sports(ex: dict) -> Row | None:
    return {"statement": ex["input"].strip(), "label": _label(ex)}


def _nli_sentences(ex: dict) -> Row | None:
    match = re.match(r"Sentence 1: (.*?)\s*\nSentence 2: (.*?)\s*\n", ex["input"], re.S)
    if not match:
        return None
    return {"premise": match[1].strip(), "hypothesis": match[2].strip(), "relation": _label(ex)}


def _epistemic(ex: dict) -> Row | None:
    match = re.match(r"Premise: (.*?)\s*Hypothesis: (.*)$", ex["input"].strip(), re.S)
    if not match:
        return None
    return {"premise": match[1].strip(), "hypothesis": match[2].strip(), "relation": _label(ex)}


def _parentheses(ex: dict) -> Row | None:
    return {"sequence": ex["input"].strip(), "label": _label(ex).lower()}


def _metaphor(ex: dict) -> Row | None:
    parts = ex["input"].split("<-->")
    if len(parts) != 2:
        return None
    return {"sentence": parts[0].strip(), "paraphrase": parts[1].strip(), "label": _label(ex).lower()}


def _plural(ex: dict) -> Row | None:
    return {"noun": ex["input"].strip(), "plural": _one(ex)}


def _negation(ex: dict) -> Row | None:
    return {"sentence": ex["input"].strip(), "negated": _one(ex)}


# name: (source task, row builder, target column, kind, attribution)
TASKS: dict[str, tuple[str, Callable[[dict], Row | None], str, str, str]] = {
    "medicine_sentiment": ("multiemo/medicine_sentence_en", _sentiment4, "label", "classification",
                           "MultiEmo, Kocoń et al. (CLARIN-PL), English medicine-domain sentences, 4 labels"),
    "social_support": ("social_support", _support, "label", "classification",
                       "BIG-bench social_support: is a forum reply supportive, neutral or unsupportive?"),
    "question_type": ("natural_instructions/subtask046_miscellaenous_question_typing", _question_type, "type",
                      "classification", "Natural Instructions (Mishra et al.) question typing, via BIG-bench; "
                      "the 8 types with enough rows"),
    "fever": ("fact_checker/fever", _fever, "label", "classification",
              "FEVER claims (Thorne et al.), via BIG-bench fact_checker"),
    "implicatures": ("implicatures", _implicature, "meaning", "classification",
                     "BIG-bench implicatures (George & Mamidi): does the reply mean yes or no?"),
    "sports_plausibility": ("sports_understanding", _sports, "label", "classification",
                            "BIG-bench sports_understanding"),
    "presupposition_nli": ("presuppositions_as_nli", _nli_sentences, "relation", "classification",
                           "BIG-bench presuppositions_as_nli (3 labels)"),
    "epistemic_nli": ("epistemic_reasoning", _epistemic, "relation", "classification",
                      "BIG-bench epistemic_reasoning (entailment / non-entailment)"),
    "parentheses": ("cs_algorithms/valid_parentheses", _parentheses, "label", "classification",
                    "BIG-bench cs_algorithms/valid_parentheses"),
    "metaphor_paraphrase": ("metaphor_boolean", _metaphor, "label", "classification",
                            "BIG-bench metaphor_boolean: is the second sentence a paraphrase of the metaphor?"),
    "plural": ("linguistic_mappings/plural_json", _plural, "plural", "generation",
               "BIG-bench linguistic_mappings/plural_json (exact match)"),
    "negation": ("linguistic_mappings/sentence_negation_json", _negation, "negated", "generation",
                 "BIG-bench linguistic_mappings/sentence_negation_json (exact match)"),
}


def halves(names: list[str], kinds: dict[str, str]) -> dict[str, str]:
    """Half the classification tasks and half the free-text ones, drawn once by HALF_SEED."""
    rng = random.Random(HALF_SEED)
    out: dict[str, str] = {}
    for kind in ("classification", "generation"):
        group = sorted(n for n in names if kinds[n] == kind)
        rng.shuffle(group)
        for i, name in enumerate(group):
            out[name] = "tuning" if i < len(group) // 2 else "confirmation"
    return out


def _split(rows: list[Row], target: str, kind: str, rng: random.Random) -> tuple[list[Row], list[Row], list[Row]]:
    rows = list({json.dumps(r, sort_keys=True): r for r in rows}.values())
    keys = {json.dumps({k: v for k, v in r.items() if k != target}, sort_keys=True) for r in rows}
    if len(keys) != len(rows):  # the same input with two targets: drop every copy
        seen: dict[str, int] = {}
        for r in rows:
            key = json.dumps({k: v for k, v in r.items() if k != target}, sort_keys=True)
            seen[key] = seen.get(key, 0) + 1
        rows = [r for r in rows if seen[json.dumps({k: v for k, v in r.items() if k != target}, sort_keys=True)] == 1]
    rng.shuffle(rows)
    if kind == "generation":
        return rows[: 2 * SHOTS], rows[2 * SHOTS: 4 * SHOTS], rows[4 * SHOTS: 4 * SHOTS + TEST_ROWS]
    by_label: dict[str, list[Row]] = {}
    for r in rows:
        by_label.setdefault(r[target], []).append(r)
    labels = sorted(label for label, group in by_label.items() if len(group) >= 2 * SHOTS + 8)
    train, dev, rest = [], [], []
    for label in labels:
        group = by_label[label]
        train += group[:SHOTS]
        dev += group[SHOTS: 2 * SHOTS]
        rest += group[2 * SHOTS:]
    rng.shuffle(train)
    rng.shuffle(dev)
    rng.shuffle(rest)
    return train, dev, rest[:TEST_ROWS]


def _write(path: Path, rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def build(sdist: Path) -> list[dict]:
    kinds = {name: spec[3] for name, spec in TASKS.items()}
    half = halves(list(TASKS), kinds)
    manifest = []
    with tarfile.open(sdist) as tar:
        for name, (source, make, target, kind, attribution) in TASKS.items():
            handle = tar.extractfile(ROOT + source + "/task.json")
            if handle is None:
                raise SystemExit(f"{source} not found in {sdist}")
            task = json.load(handle)
            rows = [r for r in (make(ex) for ex in task["examples"]) if r is not None]
            train, dev, test = _split(rows, target, kind, random.Random(f"{SEED}:{name}"))
            for part, data in (("train", train), ("dev", dev), ("test", test)):
                _write(HERE / "tasks" / name / f"{part}.csv", data)
            inputs = [c for c in train[0] if c != target]
            labels = sorted({r[target] for r in train}) if kind == "classification" else []
            manifest.append({"name": name, "half": half[name], "kind": kind, "inputs": inputs, "target": target,
                             "labels": labels, "rows": {"train": len(train), "dev": len(dev), "test": len(test)},
                             "source": f"BIG-bench {source}", "attribution": attribution,
                             "licence": "Apache-2.0 (BIG-bench)", "canary": task.get("canary", "")})
            print(f"{name:22} {half[name]:12} train {len(train):3} dev {len(dev):3} test {len(test):3} {labels}")
    (HERE / "tasks.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def _download(dest: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "bigbench==1.0.0", "-d", str(dest)],
                   check=True)
    return next(dest.glob("bigbench-1.0.0.tar.gz"))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sdist", type=Path, help="path to bigbench-1.0.0.tar.gz")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        build(args.sdist or _download(Path(tmp)))


if __name__ == "__main__":
    main()
