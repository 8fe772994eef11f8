"""Run configs: every ``autoprompt optimize`` option in a YAML file.

Contract:
- ``RunConfig`` (pydantic, frozen) has one field per command-line option of
  ``autoprompt optimize``, named like the option's destination (``max_seconds`` for
  ``--max-seconds``); a YAML key may use dashes or underscores. Unknown keys, wrong
  types and out-of-range values are ``ConfigError``s that name the file, the key and
  the fix.
- ``load_config(path)`` reads and validates a file. ``merge(config, args, given)``
  fills every option the command line did not give from the file: flags win.
- ``STARTER`` is the commented config ``autoprompt init`` writes; it validates and runs
  as it is (the bundled sentiment task on the embedded model).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError, MissingDependency

STARTER = """\
# autoprompt run config. Run it with:  autoprompt optimize --config run.yaml
# Every key is an `autoprompt optimize` option (dashes or underscores both work);
# a flag given on the command line wins over the file.

# Data: a CSV/JSONL file, or a bundled task: sentiment, intent, past_tense.
data: sentiment
# dev: dev.csv                 # default: split from `data`
# test: test.csv               # default: split from `data`
# input: text                  # input column(s): a name, "a,b" or a list
# target: label                # target column
# description: Decide whether a movie review is positive or negative.

# Starting prompt and your own components (text or file paths).
# template: "Review: {{ text }}\\nSentiment:"
# clarifier: ["Answer with one word."]
# context: ["Reviews come from a film site."]

# Model under optimization: local (bundled SmolLM2), local:gemma, local:/path/model.gguf,
# openai:MODEL[@BASE_URL], anthropic:MODEL[@BASE_URL]. API keys come from the environment only.
model: local
# metric: accuracy             # accuracy, macro_f1, exact_match, contains, regex:PATTERN, or for free
#                              # text token_f1, rougeL, chrf, bleu... and sums like 0.7*rougeL+0.3*chrf,
#                              # or a judge model's rubric: judge:correctness, faithfulness, concision, tone
# judge_model: local           # grades judge:RUBRIC metrics (default: the model); its calls count too
# consistency: 4               # also sample 4 answers per example and measure how much they agree
# temperature: 0.7             # ...at this temperature
# consistency_weight: 0.3      # optimize (1 - w) * metric + w * agreement (default 0: report only)
# feedback: runs/sentiment/feedback.jsonl   # reviewers' notes (autoprompt review) to act on

# Search.
strategy: refine               # refine (default) or components
# operators: [feedback, move, demos, explore, words, edit, rewrite]
# optimizer_model: local       # writes new instructions; its calls count against the budget
# max_prompt_tokens: 400
seed: 0

# Limits: the search stops at the first one reached; what it found so far is kept.
budget: 500                    # model calls
# max_seconds: 1800
# max_tokens: 2000000
# max_usd: 5.0

# API models only.
# concurrency: 4
# rpm: 500
# tpm: 200000

# A run shared with `autoprompt worker --storage URL` processes (needs strategy: components).
# storage: postgresql://me@db-host/autoprompt

# Output: the winner, its exports and the reports go here; the cache defaults to OUT/cache.sqlite.
out: runs/sentiment
# cache: runs/cache.sqlite
"""


def _model() -> Any:
    from pydantic import BaseModel, ConfigDict, Field, field_validator

    class RunConfig(BaseModel):
        """Every option of ``autoprompt optimize``."""

        model_config = ConfigDict(extra="forbid", frozen=True)

        data: str | None = None
        dev: str | None = None
        test: str | None = None
        input: str | None = None
        target: str | None = None
        template: str | None = None
        clarifier: list[str] = Field(default_factory=list)
        context: list[str] = Field(default_factory=list)
        model: str = "local"
        metric: str | None = None
        budget: int = Field(500, gt=0)
        max_seconds: float | None = Field(None, gt=0)
        max_tokens: int | None = Field(None, gt=0)
        max_usd: float | None = Field(None, gt=0)
        cache: str | None = None
        dry_run: bool = False
        concurrency: int = Field(4, ge=1)
        rpm: float | None = Field(None, gt=0)
        tpm: float | None = Field(None, gt=0)
        strategy: Literal["refine", "components"] = "refine"
        operators: str | None = None
        optimizer_model: str | None = None
        max_prompt_tokens: int | None = Field(None, gt=0)
        storage: str | None = None
        judge_model: str | None = None
        consistency: int = Field(0, ge=0)
        temperature: float = Field(0.7, gt=0)
        consistency_weight: float = Field(0.0, ge=0, le=1)
        feedback: str | None = None
        seed: int = 0
        description: str | None = None
        out: str | None = None

        @field_validator("input", "operators", mode="before")
        @classmethod
        def _joined(cls, value: Any) -> Any:
            return ",".join(str(v) for v in value) if isinstance(value, list) else value

        @field_validator("clarifier", "context", mode="before")
        @classmethod
        def _listed(cls, value: Any) -> Any:
            return [value] if isinstance(value, str) else value

    return RunConfig


def fields() -> list[str]:
    return list(_model().model_fields)


def load_config(path: str | Path) -> Any:
    """Read and validate a YAML run config; every problem is a ``ConfigError`` naming the key."""
    from pydantic import ValidationError

    try:
        import yaml
    except ImportError:
        raise MissingDependency("pyyaml") from None
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; write a starter one with: autoprompt init {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; write a starter config with: autoprompt init") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a mapping of option: value, got {type(raw).__name__}")
    options = {str(key).replace("-", "_"): value for key, value in raw.items()}
    try:
        return _model()(**options)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"])
            hint = f"; valid keys: {', '.join(fields())}" if error["type"] == "extra_forbidden" else ""
            problems.append(f"{key}: {error['msg']} (got {error.get('input')!r}){hint}")
        raise ConfigError(f"{path}: " + "; ".join(problems)) from None


def merge(config: Any, args: argparse.Namespace, given: set[str]) -> argparse.Namespace:
    """``args`` with every option not in ``given`` (given on the command line) taken from ``config``."""
    merged = vars(args).copy()
    for key, value in config.model_dump(exclude_unset=True).items():
        if key not in given:
            merged[key] = value
    return argparse.Namespace(**merged)
