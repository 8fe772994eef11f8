"""Benchmark: shared runs, one process against several, on 2 cores.

``--mode components`` (``make bench-workers``): one component search (``--strategy components``) on the
bundled sentiment task with the embedded SmolLM2, worked by 1 process of 2 llama.cpp threads and by 2
processes of 1 thread (so the machine's 2 cores are never oversubscribed), on a throwaway PostgreSQL.

``--mode refine``: the default search (``refine``) on the bundled sentiment task against an
OpenAI-compatible API that answers every request after 300 ms (``tests.servers.LatencyServer``, as a
hosted API's wait is the network and the provider's queue), budget 1,200: one process alone, against
the same run with ``--storage`` (PostgreSQL on 127.0.0.1) and 3 ``autoprompt worker --wait`` processes
started before it (a farm's workers run already). Both report wall time, the winner, every trial's
score and the calls charged and paid.

Wall time runs from launching the first process until it has exported the result (search, final
check and test scoring).

    python bench/workers.py --mode components [--budget 600]
    python bench/workers.py --mode refine [--budget 1200 --workers 3 --repeat 3]

``--repeat N`` runs the refinement pair (alone, then farmed) N times in turn and reports the median
speed-up beside each pair's (one pair varies by about 5% on this machine).

Writes bench/results/workers.md and workers.json (each mode its own part, the other's kept).
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
        result = autoprompt.optimize("sentiment", model=model, budget=budget, seed=0,
                                     search=autoprompt.Search(strategy="components"),
                                     run=autoprompt.Run(storage=url, run_dir=out))
        assert result.test is not None
        print(json.dumps({"dev": result.best.dev_score, "test": result.test.winner_score, "calls": result.calls,
                          "trials": len(result.trials), "winner": result.best.candidate.describe()}))
    else:
        print(json.dumps({"trials": work(url, model=model).count}))


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


def refine_role(kind: str, url: str, out: str, api: str, budget: int, seed: int = 0, run: str = "bench") -> None:
    """Run inside a child process: the refinement run alone, or its first process with ``--storage``."""
    import autoprompt

    place = autoprompt.Run(run_dir=out, storage=url, run_name=run) if kind == "first" else autoprompt.Run(run_dir=out)
    started = time.monotonic()
    result = autoprompt.optimize("sentiment", model=f"openai:m@{api}/v1", budget=budget, seed=seed, run=place)
    assert result.test is not None
    print(json.dumps({"seconds": round(time.monotonic() - started, 1), "calls": result.calls,
                      "paid": result.paid_calls, "winner": result.best.candidate.describe(),
                      "test": result.test.winner_score, "trials": [[t.number, t.score, t.n] for t in result.trials]}))


def start_workers(url: str, run: str, n: int) -> list[subprocess.Popen[str]]:
    """``n`` ``autoprompt worker --wait`` processes, each waiting for the run (as a farm's workers run already)."""
    helpers = [subprocess.Popen([sys.executable, "-m", "autoprompt.cli", "worker", "--storage", url, "--run", run,
                                 "--wait", "300"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(n)]
    for helper in helpers:
        assert helper.stderr is not None and "waiting" in helper.stderr.readline()
    return helpers


def launch_refine(kind: str, url: str, out: Path, api: str, budget: int, seed: int = 0,
                  run: str = "bench") -> subprocess.Popen[str]:
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    return subprocess.Popen([sys.executable, __file__, "--role", kind, "--url", url, "--out", str(out), "--api", api,
                             "--budget", str(budget), "--seed", str(seed), "--run", run],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(first: subprocess.Popen[str], helpers: list[subprocess.Popen[str]], started: float) -> dict[str, Any]:
    """The first process's result and wall time, once it and its (living) workers have ended."""
    stdout, stderr = first.communicate()
    wall = time.monotonic() - started
    assert first.returncode == 0, stderr
    for helper in helpers:
        assert helper.wait(timeout=120) == 0, helper.communicate()[1]
    return {**json.loads(stdout.strip().splitlines()[-1]), "wall": round(wall, 1)}


def measure_refine(server: str, workers: int, budget: int, out: Path) -> dict[str, Any]:
    """Seconds, winner and trials of the refinement run alone and with ``workers`` workers."""
    from tests.postgres import new_database
    from tests.servers import LatencyServer

    rows = {}
    with LatencyServer(0.3) as api:
        for kind in ("alone", "first"):
            url = new_database(server)
            api.reset()
            helpers = start_workers(url, "bench", workers) if kind == "first" else []
            started = time.monotonic()
            row = finished(launch_refine(kind, url, out / kind, api.url, budget), helpers, started)
            rows[kind] = {**row, "requests_to_api": api.requests, "mean_in_flight": round(api.busy / row["wall"], 2)}
    alone, farmed = rows["alone"], rows["first"]
    return {"budget": budget, "workers": workers, "latency": 0.3, "alone": alone, "farmed": farmed,
            "speedup": round(alone["wall"] / farmed["wall"], 3),
            "same_winner": alone["winner"] == farmed["winner"], "same_trials": alone["trials"] == farmed["trials"]}


KILL_AFTER = 15.0  # seconds into the farmed run (about 37 s long) when one worker is SIGKILLed


def measure_faults(server: str, workers: int, budget: int, out: Path, alone: dict[str, Any]) -> dict[str, Any]:
    """The farmed run with one of its workers SIGKILLed mid-run, against ``alone`` (seed 0); then two runs
    (seeds 0 and 1, each with one worker) in one database at once, each against its run alone."""
    from tests.postgres import new_database
    from tests.servers import LatencyServer

    def same(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        return {"same_winner": a["winner"] == b["winner"], "same_trials": a["trials"] == b["trials"]}

    with LatencyServer(0.3) as api:
        url = new_database(server)
        helpers = start_workers(url, "bench", workers)
        started = time.monotonic()
        first = launch_refine("first", url, out / "killed", api.url, budget)
        time.sleep(KILL_AFTER)
        assert first.poll() is None, "the run ended before a worker could be killed"
        helpers[0].kill()
        helpers[0].wait()
        killed = finished(first, helpers[1:], started)
        url = new_database(server)
        started = time.monotonic()
        pairs = [(start_workers(url, name, 1), launch_refine("first", url, out / name, api.url, budget, seed, name))
                 for seed, name in ((0, "run-a"), (1, "run-b"))]
        a, b = (finished(first, helpers, started) for helpers, first in pairs)
        b_alone = finished(launch_refine("alone", url, out / "alone-b", api.url, budget, 1), [], time.monotonic())
    return {"kill_after": KILL_AFTER, "killed": {**killed, **same(killed, alone)},
            "two_runs": {"a": {**a, **same(a, alone)}, "b": {**b, **same(b, b_alone)}, "b_alone": b_alone}}


def repeated(server: str, workers: int, budget: int, out: Path, repeat: int) -> dict[str, Any]:
    """``measure_refine`` ``repeat`` times in turn: the first pair in full, each pair's times, the median speed-up."""
    import statistics

    pairs = [measure_refine(server, workers, budget, out) for _ in range(max(1, repeat))]
    faults = measure_faults(server, workers, budget, out, pairs[0]["alone"])
    repeats = [{"alone": p["alone"]["wall"], "farmed": p["farmed"]["wall"], "speedup": p["speedup"],
                "same_winner": p["same_winner"], "same_trials": p["same_trials"]} for p in pairs]
    return {**pairs[0], "repeats": repeats, "median_speedup": statistics.median(p["speedup"] for p in pairs),
            "faults": faults}


def components_lines(part: dict[str, Any]) -> list[str]:
    rows, budget = part["rows"], part["budget"]
    lines = ["## The component search: 1 process (2 threads) against 2 processes (1 thread each)", "",
             f"Sentiment, SmolLM2, component search, budget {budget}, seed 0, PostgreSQL on 127.0.0.1.", "",
             "| processes | threads each | wall seconds | trials | trials by the 2nd process | dev | test |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['workers']} | {r['threads_each']} | {r['seconds']} | {r['trials']} | "
                     f"{sum(r['trials_by_helpers']) if r['trials_by_helpers'] else '-'} | {r['dev']:.3f} | "
                     f"{r['test']:.3f} |")
    return [*lines, "", f"Speed-up of 2 processes over 1: {part['speedup']:.2f}x (wall time of 1 / wall time of 2, "
                        "same run)."]


def refine_lines(part: dict[str, Any]) -> list[str]:
    alone, farmed = part["alone"], part["farmed"]
    lines = [f"## Refinement (the default search): 1 process against the first process and {part['workers']} "
             "workers", "",
             f"Sentiment, an OpenAI-compatible API answering each request after {part['latency'] * 1000:.0f} ms, "
             f"budget {part['budget']}, seed 0, PostgreSQL on 127.0.0.1 for the shared run; the workers "
             "(`autoprompt worker --wait 300`) are started first and wait for the run, as a farm's workers run "
             "already. Wall time runs from launching the first process until it has exported the result.", "",
             "| run | wall seconds | calls charged | requests the API served | mean requests in flight | winner | "
             "test |", "|---|---|---|---|---|---|---|"]
    for name, r in (("1 process", alone), (f"first process + {part['workers']} workers", farmed)):
        lines.append(f"| {name} | {r['wall']} | {r['calls']} | {r['requests_to_api']} | {r['mean_in_flight']} | "
                     f"{r['winner']} | {r['test']:.3f} |")
    lines += ["", f"Speed-up: {part['speedup']:.2f}x. Same winner: {part['same_winner']}; every trial's "
                  f"number, score and rows the same: {part['same_trials']}."]
    repeats = part.get("repeats", [])
    if len(repeats) > 1:
        lines += ["", f"The table is the first of {len(repeats)} pairs run in turn; all of them:", "",
                  "| pair | 1 process, s | farmed, s | speed-up | same winner | same trials |",
                  "|---|---|---|---|---|---|",
                  *(f"| {i} | {r['alone']} | {r['farmed']} | {r['speedup']:.2f}x | {r['same_winner']} | "
                    f"{r['same_trials']} |" for i, r in enumerate(repeats, 1)),
                  "", f"Median speed-up: **{part['median_speedup']:.2f}x**."]
    faults = part.get("faults")
    if faults:
        killed, two = faults["killed"], faults["two_runs"]
        lines += ["", "Faults, same server, budget and database:", "",
                  "| run | wall seconds | calls charged | winner | same winner as alone | every trial the same |",
                  "|---|---|---|---|---|---|",
                  f"| 3 workers, one SIGKILLed {faults['kill_after']:.0f} s in | {killed['wall']} | "
                  f"{killed['calls']} | {killed['winner']} | {killed['same_winner']} | {killed['same_trials']} |",
                  *(f"| two runs at once: {name} (seed {seed}, 1 worker) | {r['wall']} | {r['calls']} | "
                    f"{r['winner']} | {r['same_winner']} | {r['same_trials']} |"
                    for name, seed, r in (("run-a", 0, two["a"]), ("run-b", 1, two["b"])))]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("components", "refine"), default="components")
    parser.add_argument("--budget", type=int)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--role", choices=("first", "worker", "alone"))
    parser.add_argument("--url")
    parser.add_argument("--api")
    parser.add_argument("--out", default=str(ROOT / "bench" / ".cache" / "workers"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run", default="bench")
    parser.add_argument("--repeat", type=int, default=3, help="refine mode: pairs run in turn (median reported)")
    args = parser.parse_args()
    if args.role and args.api:
        refine_role(args.role, args.url, args.out, args.api, args.budget, args.seed, args.run)
        return
    if args.role:
        role(args.role, args.url, args.out, args.threads, args.budget)
        return
    from tests.postgres import start_server

    server, stop = start_server()
    try:
        if args.mode == "refine":
            part: dict[str, Any] = repeated(server, args.workers, args.budget or 1200, Path(args.out) / "refine",
                                            args.repeat)
        else:
            budget = args.budget or 600
            rows = [measure(server, workers, budget, Path(args.out)) for workers in (1, 2)]
            part = {"budget": budget, "rows": rows, "speedup": round(rows[0]["seconds"] / rows[1]["seconds"], 3)}
    finally:
        stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "workers.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    if "rows" in saved:  # the file as it was before it held both modes
        saved = {"components": {k: saved[k] for k in ("budget", "rows", "speedup")}, "machine": saved.get("machine")}
    saved.update({args.mode: {**part, "machine": machine()}})
    path.write_text(json.dumps(saved, indent=2) + "\n")
    lines = ["# Shared runs: one process against several", "", f"Machine: {machine()}.", ""]
    for mode, render in (("refine", refine_lines), ("components", components_lines)):
        if mode in saved:
            lines += [*render(saved[mode]), ""]
    (RESULTS / "workers.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
