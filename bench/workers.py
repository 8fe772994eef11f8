"""Benchmark: one shared run worked by 1 process against the same run worked by 2, on 2 cores.

Both runs are the component search (``--strategy components``) on the bundled sentiment
task with the embedded SmolLM2, the same budget and seed, on a throwaway PostgreSQL
server on 127.0.0.1 (a fresh database each). The single process uses 2 llama.cpp
threads; with 2 processes each uses 1, so the machine's 2 cores are never
oversubscribed. Wall time runs from launching the first process until it has exported
the result (search, completion of the top candidates and test scoring, which only the
first process does).

    python bench/workers.py [--budget 600]

Writes bench/results/workers.md and workers.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from end_to_end import RESULTS, machine  # noqa: E402


def role(kind: str, url: str, out: str, threads: int, budget: int) -> None:
    """Run inside a child process: the run's first process, or a worker."""
    import autoprompt
    from autoprompt.models.local import LocalBackend
    from autoprompt.search.worker import work

    model = LocalBackend("local", n_threads=threads)
    if kind == "first":
        result = autoprompt.optimize("sentiment", model=model, strategy="components", budget=budget, seed=0,
                                     storage=url, run_dir=out)
        assert result.test is not None
        print(json.dumps({"dev": result.best.dev_score, "test": result.test.winner_score, "calls": result.calls,
                          "trials": len(result.trials), "winner": result.best.candidate.describe()}))
    else:
        print(json.dumps({"trials": work(url, model=model)}))


def launch(kind: str, url: str, out: Path, threads: int, budget: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, "--role", kind, "--url", url, "--out", str(out),
                             "--threads", str(threads), "--budget", str(budget)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def measure(server: str, workers: int, budget: int, out: Path) -> dict[str, Any]:
    from tests.postgres import new_database

    url = new_database(server)
    threads = 2 // workers
    started = time.monotonic()
    first = launch("first", url, out / f"{workers}-workers", threads, budget)
    time.sleep(3)  # the first process creates the study
    helpers = [launch("worker", url, out / "unused", threads, budget) for _ in range(workers - 1)]
    stdout, stderr = first.communicate()
    seconds = time.monotonic() - started
    assert first.returncode == 0, stderr
    done = [json.loads(h.communicate()[0].strip().splitlines()[-1])["trials"] for h in helpers]
    return {"workers": workers, "threads_each": threads, "seconds": round(seconds, 1),
            **json.loads(stdout.strip().splitlines()[-1]), "trials_by_helpers": done}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=600)
    parser.add_argument("--role", choices=("first", "worker"))
    parser.add_argument("--url")
    parser.add_argument("--out", default=str(ROOT / "bench" / ".cache" / "workers"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.role:
        role(args.role, args.url, args.out, args.threads, args.budget)
        return
    from tests.postgres import start_server

    server, stop = start_server()
    try:
        rows = [measure(server, workers, args.budget, Path(args.out)) for workers in (1, 2)]
    finally:
        stop()
    ratio = rows[0]["seconds"] / rows[1]["seconds"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "workers.json").write_text(json.dumps({"machine": machine(), "budget": args.budget, "rows": rows,
                                                      "speedup": round(ratio, 3)}, indent=2) + "\n")
    lines = ["# One shared run: 1 process (2 threads) against 2 processes (1 thread each)", "",
             f"Machine: {machine()}. Sentiment, SmolLM2, component search, budget {args.budget}, seed 0, "
             "PostgreSQL on 127.0.0.1.", "",
             "| processes | threads each | wall seconds | trials | trials by the 2nd process | dev | test |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['workers']} | {r['threads_each']} | {r['seconds']} | {r['trials']} | "
                     f"{sum(r['trials_by_helpers']) if r['trials_by_helpers'] else '-'} | {r['dev']:.3f} | "
                     f"{r['test']:.3f} |")
    lines += ["", f"Speed-up of 2 processes over 1: {ratio:.2f}x (wall time of 1 / wall time of 2, same run)."]
    (RESULTS / "workers.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
