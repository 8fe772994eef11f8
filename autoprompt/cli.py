"""The command line: ``autoprompt optimize`` and ``autoprompt eval``.

Contract: every ``AutopromptError`` becomes one line on stderr and exit code 2,
with no traceback; Ctrl-C exits 130. Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .errors import AutopromptError, ConfigError
from .operator import FAMILIES

OPTIMIZE_EXAMPLE = """example:
  autoprompt optimize --data sentiment --model local --budget 800 --seed 0 --out runs/sentiment
  autoprompt optimize --data reviews.csv --input text --target label \\
      --template 'Review: {{ text }}\\nSentiment:' --budget 500 --out runs/reviews
  autoprompt optimize --data intent --optimizer-model local --operators move,demos,rewrite --out runs/intent"""
EVAL_EXAMPLE = """example:
  autoprompt eval --prompt runs/sentiment/winner.json --data runs/sentiment/data/test.csv --model local --json"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autoprompt", description="Find better prompts automatically.")
    sub = parser.add_subparsers(dest="command", required=True)
    opt = sub.add_parser("optimize", help="search for a better prompt", epilog=OPTIMIZE_EXAMPLE,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    opt.add_argument("--data", required=True, help="CSV/JSONL file, or a bundled task: sentiment, intent, past_tense")
    opt.add_argument("--dev", help="dev file (default: split from --data)")
    opt.add_argument("--test", help="test file (default: split from --data)")
    opt.add_argument("--input", help="input column(s), comma-separated")
    opt.add_argument("--target", help="target column")
    opt.add_argument("--template", help="starting prompt: a Jinja file or Jinja text using the input columns")
    opt.add_argument("--clarifier", action="append", default=[],
                     help="an added instruction of your own (text or file); repeat for more")
    opt.add_argument("--context", action="append", default=[],
                     help="a context block of your own (text or file); repeat for more")
    opt.add_argument("--model", default="local", help="local (bundled SmolLM2), local:gemma, local:/path.gguf")
    opt.add_argument("--metric", help="accuracy, macro_f1, exact_match, contains or regex:PATTERN")
    opt.add_argument("--budget", type=int, default=500, help="maximum model calls for the search (default 500)")
    opt.add_argument("--max-seconds", type=float, help="wall-time limit for the search")
    opt.add_argument("--max-tokens", type=int, help="token limit for the search (input + output)")
    opt.add_argument("--max-usd", type=float, help="cost limit for the search in USD")
    opt.add_argument("--cache", help="SQLite response cache (default: OUT/cache.sqlite); a re-run pays only for "
                     "new requests")
    opt.add_argument("--dry-run", action="store_true", help="estimate calls, tokens and USD, then stop")
    opt.add_argument("--concurrency", type=int, default=4, help="API models: requests at once (default 4)")
    opt.add_argument("--rpm", type=float, help="API models: at most this many requests per minute")
    opt.add_argument("--tpm", type=float, help="API models: at most this many tokens per minute")
    opt.add_argument("--strategy", choices=("refine", "components"), default="refine",
                     help="refine: improve the prompt from its failures, round by round (default); "
                     "components: Optuna TPE over the component space")
    opt.add_argument("--operators", default=",".join(FAMILIES),
                     help=f"refinement operator families, comma-separated (default {','.join(FAMILIES)}); "
                     "rewrite needs --optimizer-model")
    opt.add_argument("--optimizer-model", help="model that writes new instructions (same specs as --model; "
                     "may be the same model); its calls count against --budget")
    opt.add_argument("--max-prompt-tokens", type=int, help="skip proposals whose prompt is longer than this")
    opt.add_argument("--seed", type=int, default=0)
    opt.add_argument("--description", help="one sentence describing the task (used by context blocks)")
    opt.add_argument("--out", required=True, help="directory for the exported winner and report")
    ev = sub.add_parser("eval", help="score an exported prompt on a data file", epilog=EVAL_EXAMPLE,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    ev.add_argument("--prompt", required=True, help="winner.json (or its directory)")
    ev.add_argument("--data", required=True, help="CSV/JSONL file or bundled task name")
    ev.add_argument("--model", default="local")
    ev.add_argument("--metric", help="default: the metric the prompt was optimized for")
    ev.add_argument("--json", action="store_true", help="print a JSON object")
    return parser


def _optimize(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .api import Limits
    from .optimizer import optimize

    if args.dry_run:
        return _dry_run(args)
    if args.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {args.concurrency}")
    result = optimize(
        args.data, inputs=args.input, target=args.target, dev=args.dev, test=args.test, template=args.template,
        model=args.model, metric=args.metric, budget=args.budget, max_seconds=args.max_seconds,
        max_tokens=args.max_tokens, max_usd=args.max_usd, cache=args.cache or Path(args.out) / "cache.sqlite",
        seed=args.seed, description=args.description, clarifiers=args.clarifier, context=args.context,
        limits=Limits(args.concurrency, args.rpm, args.tpm), progress=True, strategy=args.strategy,
        operators=[name.strip() for name in args.operators.split(",") if name.strip()],
        optimizer_model=args.optimizer_model, max_prompt_tokens=args.max_prompt_tokens,
    )
    sys.stderr.write("\n")
    path = result.export(args.out)
    board = result.leaderboard.head(10)
    print(board.to_string(index=False))
    print()
    print(result.summary())
    print(f"\nexported winner: {path} (template: {path.with_suffix('.jinja')}); report: {path.parent / 'report.md'}")
    return 0


def _dry_run(args: argparse.Namespace) -> int:
    from .budget import BudgetSpec
    from .estimate import estimate
    from .library import TemplateLibrary
    from .optimizer import prepare_task, with_user_templates

    BudgetSpec(args.budget, args.max_seconds, args.max_tokens, args.max_usd).start()
    library = with_user_templates(TemplateLibrary.bundled(), clarifiers=args.clarifier, context=args.context)
    task = prepare_task(args.data, inputs=args.input, target=args.target, dev=args.dev, test=args.test,
                        template=args.template, seed=args.seed, description=args.description, library=library)
    print(estimate(task, model=args.model, budget=args.budget, seed=args.seed))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from .export import load_prompt
    from .scoring import evaluate_export

    exported = load_prompt(args.prompt)
    report = evaluate_export(exported, args.data, model=args.model, metric=args.metric)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['metric']}: {report['score']:.4f} on {report['n']} examples "
              f"(failed: {report['failed']}, accuracy {report['accuracy']:.4f})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _optimize(args) if args.command == "optimize" else _eval(args)
    except AutopromptError as exc:
        print(f"autoprompt: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autoprompt: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
