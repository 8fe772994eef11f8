"""The command line: ``autoprompt optimize | resume | review | worker | eval | report | export | init``.

Contract: every ``AutopromptError`` (and a file-system error, and a usage mistake) becomes
one line on stderr with no traceback, and an exit status: 2 for bad input (a usage mistake, a
file that cannot be read, any ``ConfigError``, a refused key or model), 1 for a failure while
running (a server that cannot be reached, a spent budget). Any other exception is one line too,
named as unexpected, with exit 1, unless ``AUTOPROMPT_DEBUG=1`` asks for the traceback.
Ctrl-C exits 130.
Progress goes to stderr, results to stdout. Every command's ``--help`` ends with an example.
Every command takes ``-q`` (no progress bar: results, warnings and errors only) and ``-v`` (each
trial and decision as a log line on stderr, in place of the bar; ``-vv`` adds debug lines).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from autoprompt.export.formats import formats

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
MLFLOW_EXAMPLE = """example:
  autoprompt mlflow runs/sentiment --register sentiment     # parameters, scores, curves, files; the winner as
                                                            # prompts:/sentiment/N (MLFLOW_TRACKING_URI says where)"""
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
    """argparse, with a usage mistake as one line (the promise for every bad input) instead of the usage block,
    and no abbreviated flags (``--dat`` is a mistake, not ``--data``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"autoprompt: error: {message}; see '{self.prog} --help'\n")


def _command(sub: Any, name: str, help: str, example: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help, epilog=example,
                                                     allow_abbrev=False,
                                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("-q", "--quiet", action="store_true", help="no progress bar: results, warnings and errors only")
    shown.add_argument("-v", "--verbose", action="count", default=0,
                       help="each trial and decision as a log line on stderr, in place of the progress bar "
                       "(-vv: debug lines too)")
    return parser


def _add_optimize(opt: argparse.ArgumentParser) -> None:
    from .spec import add_options

    opt.add_argument("--config", help="YAML file with any of these options (see 'autoprompt init'); flags win")
    add_options(opt)
    opt.add_argument("--dry-run", action="store_true", help="estimate calls, tokens and USD, then stop")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="autoprompt", description="Find better prompts automatically.", allow_abbrev=False,
                                     epilog="example:\n  autoprompt init run.yaml && autoprompt optimize --config "
                                     "run.yaml && autoprompt report runs/sentiment",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from autoprompt import __version__

    parser.add_argument("--version", action="version", version=f"autoprompt {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    from .spec import add_options

    _add_optimize(_command(sub, "optimize", "search for a better prompt", OPTIMIZE_EXAMPLE))
    ev = _command(sub, "eval", "score an exported prompt on a data file", EVAL_EXAMPLE)
    ev.add_argument("--prompt", required=True, help="winner.json (or its directory)")
    ev.add_argument("--data", required=True, help="CSV/JSONL file or bundled task name")
    add_options(ev, ("model", "metric", "judge_model"), given={
        "model": "the model the prompt was optimized for", "metric": "the metric it was optimized for",
        "judge_model": ""})
    ev.add_argument("--json", action="store_true", help="print a JSON object")
    rep = _command(sub, "report", "write report.html and report.md for a run directory", REPORT_EXAMPLE)
    rep.add_argument("run", help="directory written by 'autoprompt optimize --out DIR'")
    exp = _command(sub, "export", "write a run's winner for production code", EXPORT_EXAMPLE)
    exp.add_argument("run", help="directory written by 'autoprompt optimize --out DIR'")
    exp.add_argument("--format", required=True, choices=formats(), help="what to write")
    exp.add_argument("--out", help="output directory (default: RUN/export/FORMAT)")
    exp.add_argument("--model", help="model name to put in the request (default: the run's model)")
    mlf = _command(sub, "mlflow", "log a run to an MLflow experiment, and its winner to the Prompt Registry",
                   MLFLOW_EXAMPLE)
    mlf.add_argument("run", help="directory written by 'autoprompt optimize --out DIR'")
    mlf.add_argument("--experiment", default="autoprompt", help="MLflow experiment (default autoprompt)")
    mlf.add_argument("--register", metavar="NAME", help="register the winner in the Prompt Registry under NAME")
    mlf.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else MLflow's own)")
    wrk = _command(sub, "worker", "join a shared run's search until its budget is spent", WORKER_EXAMPLE)
    add_options(wrk, ("storage", "run_name", "model"), given={"run_name": "the database's one run",
                                                              "model": "the run's"}, required=("storage",))
    wrk.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                     help="wait up to SECONDS for the run to open (start workers before the run; default 0)")
    res = _command(sub, "resume", "continue an interrupted run from its directory", RESUME_EXAMPLE)
    res.add_argument("run", help="the --out directory of the interrupted run")
    add_options(res, ("model", "budget"), given={"model": "the run's", "budget": "the run's"})
    rev = _command(sub, "review", "rate the winner's answers, give feedback, accept or reject them", REVIEW_EXAMPLE)
    rev.add_argument("run", help="directory written by 'autoprompt optimize --out DIR'")
    rev.add_argument("--n", type=int, default=8, help="how many dev examples to show (default 8)")
    rev.add_argument("--seed", type=int, default=0, help="which examples to show")
    init = _command(sub, "init", "write a commented starter config for 'optimize --config'", INIT_EXAMPLE)
    init.add_argument("path", nargs="?", default="run.yaml", help="where to write it (default run.yaml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    return parser


_COMMAND_ONLY = ("command", "config", "dry_run", "quiet", "verbose")


def _spec(args: argparse.Namespace) -> Any:
    """The run the command line describes: its flags over ``--config``'s settings."""
    from .config import load_config
    from .spec import spec_from

    given = {k: v for k, v in vars(args).items() if k not in _COMMAND_ONLY}
    values = {**(load_config(args.config) if args.config else {}), **given}
    for name, flag in (("data", "data"), ("run_dir", "out")):
        if values.get(name) is None:
            raise ConfigError(f"--{flag} is required (on the command line or as '{flag}:' in --config)")
    return spec_from(values, "the command line")


def _optimize(args: argparse.Namespace) -> int:
    from pathlib import Path

    from autoprompt.search.assembly import run_spec

    spec = _spec(args)
    if args.dry_run:
        return _dry_run(spec)
    return _finished(run_spec(spec, progress=_bar(args)), Path(spec.run.run_dir))


def _worker(args: argparse.Namespace) -> int:
    from autoprompt.search.worker import work

    if not args.wait >= 0:
        raise ConfigError(f"--wait {args.wait} is not a number of seconds; give 0 or more")
    done = work(args.storage, run=args.run_name, model=args.model, progress=_bar(args), wait=args.wait)
    print(f"\nworker done: {done} here; the run's first process writes the result")
    return 0


def _resume(args: argparse.Namespace) -> int:
    from pathlib import Path

    from autoprompt.search.resume import resume

    return _finished(resume(args.run, model=args.model, budget=args.budget, progress=_bar(args)), Path(args.run))


def _review(args: argparse.Namespace) -> int:
    from .reviewing import review

    review(args.run, n=args.n, seed=args.seed)
    return 0


def _bar(args: argparse.Namespace) -> bool:
    """Whether to draw the progress bar: not with -q, and not with -v (its log lines take the place)."""
    return not (args.quiet or args.verbose)


def _logging(args: argparse.Namespace) -> logging.Handler:
    """The ``autoprompt`` logger's lines on stderr at the level -q/-v ask for (warnings by default)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("autoprompt: %(message)s"))
    logger = logging.getLogger("autoprompt")
    logger.addHandler(handler)
    logger.setLevel(logging.ERROR if args.quiet else logging.DEBUG if args.verbose > 1 else
                    logging.INFO if args.verbose else logging.WARNING)
    return handler


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


def _dry_run(spec: Any) -> int:
    from autoprompt.models.budget import BudgetSpec
    from autoprompt.search.assembly import metric_of, task_of
    from autoprompt.search.estimate import estimate

    BudgetSpec(spec.budget, spec.calls.max_seconds, spec.calls.max_tokens, spec.calls.max_usd).start()
    task, _ = task_of(spec)
    judged = metric_of(spec, task).needs_model
    print(estimate(task, model=spec.model, budget=spec.budget, seed=spec.seed, judged=judged,
                   samples=spec.answers.consistency))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from autoprompt.export.manifest import load_prompt
    from autoprompt.search.exported import evaluate_export

    exported = load_prompt(args.prompt)
    report = evaluate_export(exported, args.data, model=args.model, metric=args.metric, judge_model=args.judge_model,
                             on_rows=None if args.quiet or args.verbose else _rows_bar(f"{args.prompt} on {args.data}"))
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['metric']}: {report['score']:.4f} on {report['n']} examples "
              f"(failed: {report['failed']}, accuracy {report['accuracy']:.4f})")
        if "constant" in report:
            from autoprompt.report.writer import constant_line

            print(constant_line(report["constant"], where="on these rows", who="prompt"))
    return 0


def _rows_bar(what: str) -> Callable[[int, int], None]:
    """The progress bar over rows scored, as ``ProgressBar.rows`` draws it on stderr."""
    import time

    from autoprompt.records.progress import Scoring
    from autoprompt.search.callbacks import ProgressBar

    bar, started = ProgressBar(), time.monotonic()
    return lambda done, total: bar.rows(Scoring(what, done, total, time.monotonic() - started))


def _report(args: argparse.Namespace) -> int:
    from autoprompt.search.run_report import write_report

    md, page = write_report(args.run)
    print(f"report: {page} (Markdown: {md})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from autoprompt.export.formats import export_run

    print(f"exported {args.format}: {export_run(args.run, args.format, args.out, model=args.model)}")
    return 0


def _mlflow(args: argparse.Namespace) -> int:
    from autoprompt.search.mlflow_log import log_to_mlflow

    tracked = log_to_mlflow(args.run, experiment=args.experiment, register=args.register,
                            tracking_uri=args.tracking_uri)
    print(f"logged to MLflow: run {tracked.run_id} in experiment {args.experiment}"
          + (f"; winner registered as {tracked.prompt_uri}" if tracked.prompt_uri else ""))
    return 0


def _init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .config import starter

    path = Path(args.path)
    if path.exists() and not args.force:
        raise ConfigError(f"{path} already exists; pass --force to overwrite it, or choose another path")
    path.write_text(starter(), encoding="utf-8")
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
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:  # a bare 'autoprompt': what it can do
        parser.print_help()
        return 0
    commands = {"optimize": lambda: _optimize(args), "eval": lambda: _eval(args),
                "report": lambda: _report(args), "export": lambda: _export(args), "init": lambda: _init(args),
                "mlflow": lambda: _mlflow(args),
                "resume": lambda: _resume(args), "worker": lambda: _worker(args), "review": lambda: _review(args)}
    logger = logging.getLogger("autoprompt")
    level, handler = logger.level, _logging(args)
    try:
        with warnings.catch_warnings():  # the library's warnings as one line each, only while the CLI runs
            warnings.filterwarnings("ignore", message=r".* is experimental")  # Optuna's notes to developers
            warnings.showwarning = _show_warning
            return _run(commands[args.command], args)
    finally:  # main() may run again in the same process (tests, notebooks): leave the logger as found
        logger.removeHandler(handler)
        logger.setLevel(level)


def _shown(exc: BaseException) -> str:
    """An error's text on one line, with the credentials of any URL in it hidden."""
    from autoprompt.errors import without_credentials

    return without_credentials(" ".join(str(exc).split()))


def _run(command: Any, args: argparse.Namespace) -> int:
    try:
        return int(command())
    except AutopromptError as exc:
        print(f"{_fresh_line()}autoprompt: error: {_shown(exc)}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a file or folder the user named cannot be read or written
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{_fresh_line()}autoprompt: error: {where}{exc.strerror or exc}; check the path and its permissions",
              file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, or an input nothing checks yet: still one line, unless debugging
        if os.environ.get("AUTOPROMPT_DEBUG"):
            raise
        detail = _shown(exc)[:300]
        print(f"{_fresh_line()}autoprompt: error: unexpected {type(exc).__name__}: {detail}; this is a bug or an input "
              "autoprompt does not check yet: please report it with the command (AUTOPROMPT_DEBUG=1 shows the "
              "traceback)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        run = getattr(args, "run_dir", None) if args.command == "optimize" else getattr(args, "run", None)
        hint = f"; every answer so far is saved: autoprompt resume {run}" if args.command in ("optimize", "resume") \
            and run else ""
        print(f"\nautoprompt: interrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
