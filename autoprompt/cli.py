"""The command line: ``autoprompt optimize | resume | review | worker | eval | report | export | init``.

Contract: every ``AutopromptError`` (and a file-system error, and a usage mistake) becomes
one line on stderr and exit code 2, with no traceback; so does any other exception, named
as unexpected, unless ``AUTOPROMPT_DEBUG=1`` asks for the traceback. Ctrl-C exits 130.
Progress goes to stderr, results to stdout. Every command's ``--help`` ends with an example.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from autoprompt.export.formats import formats
from autoprompt.propose.registry import FAMILIES

from .errors import AutopromptError, ConfigError

OPTIMIZE_EXAMPLE = """example:
  autoprompt optimize --data sentiment --model local --budget 800 --seed 0 --out runs/sentiment
  autoprompt optimize --data reviews.csv --input text --target label \\
      --template 'Review: {{ text }}\\nSentiment:' --budget 500 --out runs/reviews
  autoprompt optimize --data intent --optimizer-model local --operators move,demos,rewrite --out runs/intent
  autoprompt optimize --config run.yaml --budget 200      # flags win over the file"""
EVAL_EXAMPLE = """example:
  autoprompt eval --prompt runs/sentiment/winner.json --data runs/sentiment/data/test.csv --model local --json"""
REPORT_EXAMPLE = """example:
  autoprompt report runs/sentiment        # writes runs/sentiment/report.html and report.md"""
EXPORT_EXAMPLE = """example:
  autoprompt export runs/sentiment --format openai          # -> runs/sentiment/export/openai/openai.json
  autoprompt export runs/sentiment --format promptfoo --out suite/ --model gpt-4o-mini
formats: jinja (template + manifest), openai (chat.completions.create kwargs), anthropic (messages.create
kwargs), dspy (saved dspy.Predict + TemplateAdapter), promptfoo (promptfooconfig.yaml regression suite)"""
WORKER_EXAMPLE = """example:
  autoprompt optimize --data reviews.csv --input text --target label --strategy components \\
      --storage postgresql://me@db-host/autoprompt --budget 4000 --out runs/shared     # machine A
  autoprompt worker --storage postgresql://me@db-host/autoprompt                      # machines B, C..."""
RESUME_EXAMPLE = """example:
  autoprompt optimize --data sentiment --budget 800 --out runs/s    # killed, Ctrl-C, laptop asleep...
  autoprompt resume runs/s      # replays every answer already in runs/s/cache.sqlite for free, then goes on"""
REVIEW_EXAMPLE = """example:
  autoprompt review runs/summaries --n 5      # rate answers, type "too long", accept/reject
  autoprompt resume runs/summaries --budget 1200   # the notes become clarifiers and rewrites"""
INIT_EXAMPLE = """example:
  autoprompt init run.yaml && autoprompt optimize --config run.yaml"""


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake as one line (the promise for every bad input) instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"autoprompt: error: {message}; see '{self.prog} --help'\n")


def _command(sub: Any, name: str, help: str, example: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help, epilog=example,
                                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser


def _add_optimize(opt: argparse.ArgumentParser) -> None:
    opt.add_argument("--config", help="YAML file with any of these options (see 'autoprompt init'); flags win")
    opt.add_argument("--data", help="CSV/JSONL file, or a bundled task: sentiment, intent, past_tense (required)")
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
    opt.add_argument("--metric", help="accuracy, macro_f1, exact_match, contains, regex:PATTERN; for free text "
                     "token_f1, rouge1, rouge2, rougeL, chrf, bleu, a weighted sum like 0.7*rougeL+0.3*chrf, or a "
                     "judge model's rubric: judge:correctness, judge:faithfulness, judge:concision, judge:tone, "
                     "judge:FILE.jinja")
    opt.add_argument("--judge-model", help="model that grades judge:RUBRIC metrics (same specs as --model; default: "
                     "--model); its calls count against --budget")
    opt.add_argument("--consistency", type=int, default=0, metavar="K",
                     help="also sample K answers per example and report how much they agree (0: off)")
    opt.add_argument("--temperature", type=float, default=0.7, help="sampling temperature for --consistency")
    opt.add_argument("--consistency-weight", type=float, default=0.0, metavar="W",
                     help="optimize (1-W)*metric + W*agreement instead of the metric alone (default 0)")
    opt.add_argument("--feedback", help="feedback.jsonl written by 'autoprompt review' (a run's own --out "
                     "directory file is read anyway): notes become clarifiers and rewrites")
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
    opt.add_argument("--storage", help="database URL for a shared run (postgresql://user@host/db); needs "
                     "--strategy components; 'autoprompt worker --storage URL' processes join it")
    opt.add_argument("--seed", type=int, default=0)
    opt.add_argument("--description", help="one sentence describing the task (used by context blocks)")
    opt.add_argument("--out", help="directory for the exported winner and reports (required)")


def optimize_options() -> argparse.ArgumentParser:
    """A parser holding only ``autoprompt optimize``'s options."""
    parser = argparse.ArgumentParser(prog="autoprompt optimize", add_help=False)
    _add_optimize(parser)
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="autoprompt", description="Find better prompts automatically.",
                                     epilog="example:\n  autoprompt init run.yaml && autoprompt optimize --config "
                                     "run.yaml && autoprompt report runs/sentiment",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_optimize(_command(sub, "optimize", "search for a better prompt", OPTIMIZE_EXAMPLE))
    ev = _command(sub, "eval", "score an exported prompt on a data file", EVAL_EXAMPLE)
    ev.add_argument("--prompt", required=True, help="winner.json (or its directory)")
    ev.add_argument("--data", required=True, help="CSV/JSONL file or bundled task name")
    ev.add_argument("--model", default="local")
    ev.add_argument("--metric", help="default: the metric the prompt was optimized for")
    ev.add_argument("--judge-model", help="model that grades judge:RUBRIC metrics (default: --model)")
    ev.add_argument("--json", action="store_true", help="print a JSON object")
    rep = _command(sub, "report", "write report.html and report.md for a run directory", REPORT_EXAMPLE)
    rep.add_argument("run", help="directory written by 'autoprompt optimize --out DIR'")
    exp = _command(sub, "export", "write a run's winner for production code", EXPORT_EXAMPLE)
    exp.add_argument("run", help="directory written by 'autoprompt optimize --out DIR'")
    exp.add_argument("--format", required=True, choices=formats(), help="what to write")
    exp.add_argument("--out", help="output directory (default: RUN/export/FORMAT)")
    exp.add_argument("--model", help="model name to put in the request (default: the run's model)")
    wrk = _command(sub, "worker", "join a shared run's search until its budget is spent", WORKER_EXAMPLE)
    wrk.add_argument("--storage", required=True, help="the run's database URL")
    wrk.add_argument("--model", help="model spec, when the run's model must be given again")
    res = _command(sub, "resume", "continue an interrupted run from its directory", RESUME_EXAMPLE)
    res.add_argument("run", help="the --out directory of the interrupted run")
    res.add_argument("--model", help="model spec, when the run's model must be given again")
    res.add_argument("--budget", type=int, help="a new budget of model calls, e.g. to go on after 'autoprompt review'")
    rev = _command(sub, "review", "rate the winner's answers, give feedback, accept or reject them", REVIEW_EXAMPLE)
    rev.add_argument("run", help="directory written by 'autoprompt optimize --out DIR'")
    rev.add_argument("--n", type=int, default=8, help="how many dev examples to show (default 8)")
    rev.add_argument("--seed", type=int, default=0, help="which examples to show")
    init = _command(sub, "init", "write a commented starter config for 'optimize --config'", INIT_EXAMPLE)
    init.add_argument("path", nargs="?", default="run.yaml", help="where to write it (default run.yaml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    return parser


def _given(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """Destinations of the options that appear on the command line."""
    flags = {arg.split("=", 1)[0] for arg in argv if arg.startswith("-")}
    return {a.dest for a in parser._actions if flags & set(a.option_strings)}


def _with_config(args: argparse.Namespace, argv: Sequence[str]) -> argparse.Namespace:
    from .config import load_config, merge

    if args.config:
        args = merge(load_config(args.config), args, _given(optimize_options(), argv))
    for name in ("data", "out"):
        if not getattr(args, name):
            raise ConfigError(f"--{name} is required (on the command line or as '{name}:' in --config)")
    return args


def _optimize(args: argparse.Namespace) -> int:
    from pathlib import Path

    from autoprompt.evaluate.consistency import Consistency
    from autoprompt.models.hosted import Limits
    from autoprompt.search.optimizer import optimize

    if args.dry_run:
        return _dry_run(args)
    result = optimize(
        args.data, inputs=args.input, target=args.target, dev=args.dev, test=args.test, template=args.template,
        model=args.model, metric=args.metric, budget=args.budget, max_seconds=args.max_seconds,
        max_tokens=args.max_tokens, max_usd=args.max_usd, cache=args.cache, run_dir=args.out,
        seed=args.seed, description=args.description, clarifiers=args.clarifier, context=args.context,
        limits=Limits(args.concurrency, args.rpm, args.tpm), progress=True, strategy=args.strategy,
        operators=[name.strip() for name in args.operators.split(",") if name.strip()],
        optimizer_model=args.optimizer_model, max_prompt_tokens=args.max_prompt_tokens, storage=args.storage,
        judge_model=args.judge_model, feedback=args.feedback,
        consistency=Consistency(args.consistency, args.temperature, args.consistency_weight)
        if args.consistency else None,
    )
    return _finished(result, Path(args.out))


def _worker(args: argparse.Namespace) -> int:
    from autoprompt.search.worker import work

    done = work(args.storage, model=args.model, progress=True)
    print(f"\nworker done: {done} trial(s) evaluated here; the run's first process writes the result")
    return 0


def _resume(args: argparse.Namespace) -> int:
    from pathlib import Path

    from autoprompt.search.resume import resume

    return _finished(resume(args.run, model=args.model, budget=args.budget, progress=True), Path(args.run))


def _review(args: argparse.Namespace) -> int:
    from .reviewing import review

    review(args.run, n=args.n, seed=args.seed)
    return 0


def _finished(result: Any, out: Any) -> int:
    sys.stderr.write("\n")
    path = out / "winner.json"
    board = result.leaderboard.head(10)
    print(board.to_string(index=False))
    print()
    print(result.summary())
    print(f"\nexported winner: {path} (template: {path.with_suffix('.jinja')}); report: {path.parent / 'report.html'} "
          f"and {path.parent / 'report.md'}")
    if (out / "study.sqlite3").is_file():
        print(f"Optuna study: optuna-dashboard sqlite:///{(out / 'study.sqlite3').resolve()}")
    return 0


def _dry_run(args: argparse.Namespace) -> int:
    from autoprompt.models.budget import BudgetSpec
    from autoprompt.models.hosted import Limits
    from autoprompt.prompts.library import TemplateLibrary
    from autoprompt.search.estimate import estimate
    from autoprompt.search.optimizer import check_budget, prepare_task, with_user_templates

    from .settings import check_settings

    check_settings({"budget": args.budget, "seed": args.seed, "max_seconds": args.max_seconds,
                    "max_tokens": args.max_tokens, "max_usd": args.max_usd, "max_prompt_tokens": args.max_prompt_tokens,
                    "limits": Limits(args.concurrency, args.rpm, args.tpm)})
    BudgetSpec(args.budget, args.max_seconds, args.max_tokens, args.max_usd).start()
    library = with_user_templates(TemplateLibrary.bundled(), clarifiers=args.clarifier, context=args.context)
    task = prepare_task(args.data, inputs=args.input, target=args.target, dev=args.dev, test=args.test,
                        template=args.template, seed=args.seed, description=args.description, library=library)
    check_budget(args.budget, task)
    from autoprompt.evaluate.registry import get_metric

    judged = args.metric is not None and get_metric(args.metric).needs_model
    print(estimate(task, model=args.model, budget=args.budget, seed=args.seed, judged=judged,
                   samples=args.consistency))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from autoprompt.evaluate.exported import evaluate_export
    from autoprompt.export.manifest import load_prompt

    exported = load_prompt(args.prompt)
    report = evaluate_export(exported, args.data, model=args.model, metric=args.metric, judge_model=args.judge_model)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['metric']}: {report['score']:.4f} on {report['n']} examples "
              f"(failed: {report['failed']}, accuracy {report['accuracy']:.4f})")
    return 0


def _report(args: argparse.Namespace) -> int:
    from autoprompt.report.files import write_report

    md, page = write_report(args.run)
    print(f"report: {page} (Markdown: {md})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from autoprompt.export.formats import export_run

    print(f"exported {args.format}: {export_run(args.run, args.format, args.out, model=args.model)}")
    return 0


def _init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .config import STARTER

    path = Path(args.path)
    if path.exists() and not args.force:
        raise ConfigError(f"{path} already exists; pass --force to overwrite it, or choose another path")
    path.write_text(STARTER, encoding="utf-8")
    print(f"wrote {path}; run it with: autoprompt optimize --config {path}")
    return 0


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    print(f"{_fresh_line()}autoprompt: warning: {message}", file=sys.stderr)


def _fresh_line() -> str:
    """A newline when a terminal progress bar is mid-line, so a message starts on its own line."""
    return "\n" if sys.stderr.isatty() else ""


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    commands = {"optimize": lambda: _optimize(_with_config(args, argv)), "eval": lambda: _eval(args),
                "report": lambda: _report(args), "export": lambda: _export(args), "init": lambda: _init(args),
                "resume": lambda: _resume(args), "worker": lambda: _worker(args), "review": lambda: _review(args)}
    with warnings.catch_warnings():  # the library's warnings as one line each, only while the CLI runs
        warnings.filterwarnings("ignore", message=r".* is experimental")  # Optuna's notes to developers
        warnings.showwarning = _show_warning
        return _run(commands[args.command], args)


def _run(command: Any, args: argparse.Namespace) -> int:
    try:
        return int(command())
    except AutopromptError as exc:
        print(f"{_fresh_line()}autoprompt: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file or folder the user named cannot be read or written
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{_fresh_line()}autoprompt: error: {where}{exc.strerror or exc}; check the path and its permissions",
              file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, or an input nothing checks yet: still one line, unless debugging
        if os.environ.get("AUTOPROMPT_DEBUG"):
            raise
        detail = " ".join(str(exc).split())[:300]
        print(f"{_fresh_line()}autoprompt: error: unexpected {type(exc).__name__}: {detail}; this is a bug or an input "
              "autoprompt does not check yet: please report it with the command (AUTOPROMPT_DEBUG=1 shows the "
              "traceback)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        run = getattr(args, "out", None) if args.command == "optimize" else getattr(args, "run", None)
        hint = f"; every answer so far is saved: autoprompt resume {run}" if args.command in ("optimize", "resume") \
            and run else ""
        print(f"\nautoprompt: interrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
