"""Rebuild the bundled tasks from the BIG-bench sdist on PyPI (Apache-2.0).

Usage (needs only the standard library and pip):

    python datasets/build_datasets.py            # downloads bigbench==1.0.0 with pip
    python datasets/build_datasets.py --sdist bigbench-1.0.0.tar.gz

Only the four ``task.json`` files below are extracted from the sdist. CSV has
no comment syntax, so each task's canary line is written to ``<task>.canary.txt``
beside its data (and quoted in ``datasets/README.md``).
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = "bigbench-1.0.0/bigbench/benchmark_tasks/"
SOURCES = {
    "sentiment": ROOT + "multiemo/all_sentence_en/task.json",
    "intent": ROOT + "intent_recognition/task.json",
    "past_tense": ROOT + "linguistic_mappings/past_tense_json/task.json",
    "restaurant": ROOT + "gem/e2e_nlg/task.json",
}
SEED = 20261122


def _download(dest: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "bigbench==1.0.0", "-d", str(dest)],
        check=True,
    )
    return next(dest.glob("bigbench-1.0.0.tar.gz"))


def _read_tasks(sdist: Path) -> dict[str, dict]:
    tasks = {}
    with tarfile.open(sdist) as tar:
        for name, member in SOURCES.items():
            handle = tar.extractfile(member)
            if handle is None:
                raise SystemExit(f"{member} not found in {sdist}")
            tasks[name] = json.load(handle)
    return tasks


def _label(example: dict) -> str:
    return max(example["target_scores"], key=example["target_scores"].get)


def _sentiment(task: dict, rng: random.Random) -> list[dict[str, str]]:
    rows = [
        {"text": ex["input"].strip(), "label": _label(ex)}
        for ex in task["examples"]
        if _label(ex) in ("positive", "negative") and 30 <= len(ex["input"]) <= 220
    ]
    rows = list({r["text"]: r for r in rows}.values())
    per_class = 150
    out = []
    for label in ("negative", "positive"):
        pool = [r for r in rows if r["label"] == label]
        out += rng.sample(pool, per_class)
    rng.shuffle(out)
    return out


def _intent(task: dict, rng: random.Random) -> list[dict[str, str]]:
    rows = []
    for ex in task["examples"]:
        text = ex["input"].strip()
        text = text.removeprefix("Utterance:").strip()
        rows.append({"utterance": text, "intent": _label(ex)})
    by_label: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_label.setdefault(row["intent"], []).append(row)
    out = []
    for label in sorted(by_label):
        out += rng.sample(by_label[label], min(40, len(by_label[label])))
    rng.shuffle(out)
    return out


def _past_tense(task: dict, rng: random.Random) -> list[dict[str, str]]:
    rows = [{"verb": ex["input"].strip(), "past": ex["target"].strip()} for ex in task["examples"]]
    rows = list({r["verb"]: r for r in rows}.values())
    out = rng.sample(rows, 200)
    return out


RESTAURANT_FIELDS = {"name": "name", "eatType": "eatType", "food": "food", "priceRange": "priceRange",
                     "customer rating": "customerRating", "area": "area", "familyFriendly": "familyFriendly",
                     "near": "near"}


def _meaning(representation: str) -> dict[str, str]:
    """E2E's ``name: X, eatType: Y, ...`` as fields in the schema's order."""
    parts = dict(part.split(": ", 1) for part in re.split(r", (?=[A-Za-z ]+: )", representation))
    return {field: parts[key] for key, field in RESTAURANT_FIELDS.items() if key in parts}


def _restaurant(task: dict, rng: random.Random) -> list[dict[str, str]]:
    """E2E NLG reversed: a description in, its meaning representation out as JSON; one description
    (chosen at random) per distinct representation, so no answer repeats across splits."""
    by_meaning: dict[str, list[str]] = {}
    for ex in task["examples"]:
        by_meaning.setdefault(ex["input"].strip(), []).append(ex["target"].strip())
    rows = [{"text": rng.choice(sorted(texts)), "fields": json.dumps(_meaning(meaning), ensure_ascii=False)}
            for meaning, texts in sorted(by_meaning.items())]
    rng.shuffle(rows)
    return rows


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, help="path to bigbench-1.0.0.tar.gz")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sdist = args.sdist or _download(Path(tmp))
        tasks = _read_tasks(sdist)
    builders = {"sentiment": _sentiment, "intent": _intent, "past_tense": _past_tense, "restaurant": _restaurant}
    for name, build in builders.items():
        rows = build(tasks[name], random.Random(SEED))
        _write_csv(HERE / f"{name}.csv", rows)
        (HERE / f"{name}.canary.txt").write_text(tasks[name]["canary"] + "\n", encoding="utf-8")
        print(f"{name}: {len(rows)} rows -> datasets/{name}.csv")


if __name__ == "__main__":
    main()
