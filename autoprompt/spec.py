"""The run specification: every setting of a run, declared once.

Contract:
- ``RunSpec`` (a frozen pydantic model) has one field per setting of a run. Each field's
  ``Option`` says how the setting shows on the command line (flag, help, metavar, how the
  text is read), whether YAML configs and ``run.json`` carry it, whether a resume may change
  it, and whether it names a file. Adding a setting is one field here: ``optimize``'s keyword
  arguments are pinned to these fields by a test, and the CLI flags (``add_options``), YAML
  configs (``config``), ``run.json`` (``storage.run``) and shared runs (``storage.shared``)
  are built from them.
- ``spec_from(values, where)`` is the one parser: it accepts field names, the flag spellings
  (``input``, ``clarifier``, ``out``; dashes or underscores) and the JSON forms ``record``
  writes, and turns every problem into one ``ConfigError`` that names ``where``, the
  setting, the range or type, and the value it got. Ranges are checked before types, so a
  number out of range gets the same message from every door.
- ``RunSpec.record(data_paths)`` is the one serializer: the JSON that ``run.json`` and shared
  runs keep. Price tables and template libraries are kept by value, a cache as its file,
  in-memory tables as the paths in ``data_paths``, and objects that cannot be kept (a backend
  or metric object) as ``{"object": NAME}``, which a resume asks for again.
  ``spec_from(spec.record(...))`` equals ``spec`` for every setting but those objects.

Imports the error hierarchy, the records, and the models, prompts and data parts' types.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError, field_validator, model_validator

from autoprompt.errors import ConfigError, excerpt
from autoprompt.files import names_file
from autoprompt.models.backend import Backend
from autoprompt.prompts.pattern import check_pattern
from autoprompt.propose.families import FAMILIES
from autoprompt.records.feedback import Feedback
from autoprompt.records.model_spec import ModelSpec

if TYPE_CHECKING:  # what each object-valued setting holds; pydantic sees Any, and the field validators check it
    import pandas as pd

    from autoprompt.data.dataset import Dataset
    from autoprompt.evaluate.metric import Metric, PerExample
    from autoprompt.models.cache import ResponseCache
    from autoprompt.models.usage import PriceTable
    from autoprompt.prompts.library import TemplateLibrary

    DataSource = str | pd.DataFrame | Dataset | None
    ModelSource = str | Backend
    MetricSource = str | Metric | PerExample | None
    CacheSource = str | ResponseCache | None
    Prices = PriceTable | None
    Library = TemplateLibrary | None
else:
    DataSource = ModelSource = MetricSource = CacheSource = Prices = Library = Any

MAX_SEED = 2**32 - 1  # numpy's and Optuna's samplers take seeds up to this


@dataclass(frozen=True)
class Option:
    """How one setting shows outside Python: its flag is ``--`` and its ``alias`` (or name) with dashes."""

    help: str
    cli: bool = True  # False: the Python API (and YAML, run.json) only
    read: Callable[[str], Any] = str  # how the command line's text becomes the value
    repeat: bool = False  # the flag may be given several times (a list)
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    alias: str | None = None  # the YAML key and flag name, when it differs from the field's
    saved: bool = True  # kept in run.json and shared runs
    resumable: bool = False  # a resume may change it
    file: bool = False  # a path to a file whose contents matter (resolved when saved)

    def flag(self, name: str) -> str:
        return "--" + (self.alias or name).replace("_", "-")


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _rates(text: str) -> tuple[float, ...]:
    """``IN,OUT[,CACHED]`` as two or three numbers."""
    try:
        rates = tuple(float(part) for part in text.split(","))
    except ValueError:
        rates = ()
    if len(rates) not in (2, 3):
        raise argparse.ArgumentTypeError(f"expected two numbers IN,OUT (or three, IN,OUT,CACHED) such as 0.15,0.60, "
                                         f"got {text!r}")
    return rates


# --- ranges: one message per setting, whichever door it came through ---------------------------------


def _default(name: str) -> Any:
    """A setting's default, as ``RunSpec`` declares it (the checks below never restate one)."""
    return RunSpec.model_fields[name].default


def _value(given: Mapping[str, Any], name: str) -> Any:
    """The setting as given, else its default."""
    return given.get(name, _default(name))


def _whole(name: str, value: Any, low: int, high: int | None = None, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    in_range = isinstance(value, int) and not isinstance(value, bool) and value >= low \
        and (high is None or value <= high)
    if not in_range:
        bound = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise ConfigError(f"{name} must be a whole number {bound}, got {excerpt(value)}")


def _number(name: str, value: Any, *, low: float = 0.0, high: float | None = None, inclusive: bool = False,
            optional: bool = True) -> None:
    if value is None and optional:
        return
    usable = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
        and (value >= low if inclusive else value > low) and (high is None or value <= high)
    if not usable:
        bound = f"from {low:g} to {high:g}" if high is not None else f"above {low:g}"
        raise ConfigError(f"{name} must be a finite number {bound}, got {excerpt(value)}")


def check_ranges(a: Mapping[str, Any]) -> None:
    """``ConfigError`` for the first number or object out of its range or of the wrong kind."""
    budget = _value(a, "budget")
    if not isinstance(budget, int) or isinstance(budget, bool) or budget <= 0:
        raise ConfigError(f"budget must be a positive number of model calls, got {excerpt(budget)}; "
                          "pass e.g. --budget 500")
    _whole("seed", _value(a, "seed"), 0, MAX_SEED)
    _whole("first_rung", _value(a, "first_rung"), 1)
    _whole("top_k", _value(a, "top_k"), 1)
    _whole("max_tokens", a.get("max_tokens"), 1, optional=True)
    _whole("max_prompt_tokens", a.get("max_prompt_tokens"), 1, optional=True)
    _whole("concurrency", _value(a, "concurrency"), 1)
    _whole("consistency", _value(a, "consistency"), 0)
    for name in ("max_seconds", "max_usd", "rpm", "tpm"):
        _number(name, a.get(name))
    price = a.get("price")
    if price is not None and not (isinstance(price, list | tuple) and len(price) in (2, 3) and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0 for v in price)):
        raise ConfigError(f"price must be two (or three) finite numbers of 0 or more (USD per million input, "
                          f"output and cached input tokens), got {excerpt(price)}; pass e.g. --price 0.15,0.60")
    _check_model_options(_value(a, "model_options"))
    _whole("max_output_tokens", a.get("max_output_tokens"), 1, optional=True)
    pattern = a.get("answer_pattern")
    if isinstance(pattern, str):
        check_pattern(pattern, f"answer_pattern {pattern[:80]!r} (fix it, e.g. --answer-pattern 'Answer: (.*)')")
    _number("temperature", _value(a, "temperature"), optional=False)
    _number("consistency_weight", _value(a, "consistency_weight"), high=1.0, inclusive=True, optional=False)
    for name in ("model", "optimizer_model", "judge_model"):
        value = a.get(name)
        if value is not None and not isinstance(value, str | Backend) and not _kept_object(value):
            raise ConfigError(f"{name} must be a model spec like 'local' or 'openai:gpt-4o-mini', or an object with "
                              f"the Backend methods (name, supports_chat, score, generate); got "
                              f"{type(value).__name__}")


def model_settings(options: Sequence[str]) -> dict[str, object]:
    """``KEY=VALUE`` strings as a mapping; a value is JSON where it parses, else the text itself."""
    import json

    out: dict[str, object] = {}
    for option in options:
        key, _, value = option.partition("=")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


# option names that hold secrets: never saved, so refused (max_tokens and other counts are not secrets)
SECRET_OPTION = re.compile(r"(?i)(api[_-]?key|secret|passw(or)?d|authori[sz]ation|bearer|credential"
                           r"|(^|[_-])token($|[_-])|(^|[_-])auth($|[_-]))")


def _check_model_options(options: Any) -> None:
    if isinstance(options, str):
        options = [options]
    if not isinstance(options, list | tuple):
        return  # the type check names it
    for option in options:
        if not isinstance(option, str) or "=" not in option or not option.partition("=")[0].strip():
            raise ConfigError(f"a model option must be KEY=VALUE, got {excerpt(option)}; pass e.g. --model-option "
                              "reasoning_effort=low")
    settings = model_settings(options)
    secret = next((name for name in settings if SECRET_OPTION.search(name)), None)
    if secret is not None:
        raise ConfigError(f"model option {secret[:40]!r} looks like a secret, and model options are saved in run.json "
                          "and sent with every request; put the key in an environment variable and name it with "
                          "--api-key-env")
    for name in ("max_completion_tokens", "batch"):
        if settings.get(name) is not None:
            _whole(name, settings[name], 1)


# --- the model ------------------------------------------------------------------------------------------


class RunSpec(BaseModel):
    """Every setting of a run (see the module contract). Build one with ``spec_from``."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    data: Annotated[DataSource, Option("CSV/JSONL file, or a bundled task: sentiment, intent, past_tense (required)",
                                file=True)] = None
    inputs: Annotated[StrictStr | list[StrictStr] | None, Option("input column(s), comma-separated",
                                                                 alias="input")] = None
    target: Annotated[StrictStr | None, Option("target column")] = None
    dev: Annotated[DataSource, Option("dev file (default: split from --data)", file=True)] = None
    test: Annotated[DataSource, Option("test file (default: split from --data)", file=True)] = None
    template: Annotated[StrictStr | None, Option("starting prompt: a Jinja file or Jinja text using the input columns",
                                                 file=True)] = None
    system: Annotated[StrictStr | None, Option(
        "a system message every prompt starts with: a Jinja file or text (it may use labels, description, "
        "definitions, titles; not the inputs); the search may also move the instruction into it", file=True,
        metavar="TEMPLATE")] = None
    model: Annotated[ModelSource, Option(
        "model under optimization: local (bundled SmolLM2), local:gemma, local:/path.gguf, "
        "openai:MODEL[@BASE_URL], anthropic:MODEL[@BASE_URL], gemini:MODEL (GEMINI_API_KEY), "
        "openrouter:VENDOR/MODEL (OPENROUTER_API_KEY), ollama:MODEL[@BASE_URL], groq:, together:, deepseek:, "
        "mistral:, vllm:, azure:DEPLOYMENT@ENDPOINT, bedrock:MODEL_ID, vertex:MODEL, "
        "litellm:PROVIDER/MODEL[@BASE_URL]")] = "local"
    api_base: Annotated[StrictStr | None, Option(
        "API models: the server's base URL (the same as --model openai:MODEL@URL), e.g. "
        "https://openrouter.ai/api/v1")] = None
    api_key_env: Annotated[StrictStr | None, Option(
        "API models: the environment variable that holds the key (default OPENAI_API_KEY or ANTHROPIC_API_KEY)")] = None
    model_options: Annotated[tuple[StrictStr, ...], Option(
        "API models: KEY=VALUE passed to the API with every request and kept in the cache key (e.g. "
        "reasoning_effort=low, top_p=0.9; reasoning=true treats the model as a reasoning model, "
        "max_completion_tokens=N caps a reasoning model's answer); local models: batch=N, the examples scored "
        "together in one llama.cpp batch (default 32; 1 scores one at a time); repeat for more", alias="model_option",
        repeat=True)] = ()
    metric: Annotated[MetricSource, Option(
        "accuracy, macro_f1, exact_match, contains, regex:PATTERN; for free text token_f1, rouge1, rouge2, rougeL, "
        "chrf, bleu, a weighted sum like 0.7*rougeL+0.3*chrf, or a judge model's rubric: judge:correctness, "
        "judge:faithfulness, judge:concision, judge:tone, judge:FILE.jinja")] = None
    max_output_tokens: Annotated[int | None, Option(
        "free text: the longest answer asked for, in tokens (default 256)", read=int, metavar="N")] = None
    stop: Annotated[tuple[str, ...] | None, Option(
        "free text: the answer ends at this text (repeat for more; '' for none, keeping the whole answer); "
        "default: at the first line break when every training answer is one line, else none", repeat=True,
        metavar="TEXT")] = None
    answer_pattern: Annotated[StrictStr | None, Option(
        "free text: a regular expression; only its match (its first group, if it has one) is graded, and an "
        "answer it does not match is a failed example", metavar="REGEX")] = None
    json_schema: Annotated[StrictStr | None, Option(
        "free text: a JSON schema (a file, or the JSON itself) every answer must follow: sent as OpenAI's "
        "response_format, as an Anthropic tool, as a llama.cpp grammar to local models; an answer that is not JSON "
        "is a failed example; the metric defaults to json_f1 (also json_exact) against a JSON target column",
        file=True, metavar="FILE")] = None
    budget: Annotated[int, Option("maximum model calls for the search", read=int, resumable=True)] = 500
    max_seconds: Annotated[float | None, Option("wall-time limit for the search", read=float, resumable=True)] = None
    max_tokens: Annotated[int | None, Option("token limit for the search (input + output)", read=int,
                                             resumable=True)] = None
    max_usd: Annotated[float | None, Option("cost limit for the search in USD", read=float, resumable=True)] = None
    cache: Annotated[CacheSource, Option(
        "SQLite response cache (default: OUT/cache.sqlite); a re-run pays only for new "
                                 "requests", file=True)] = None
    prices: Annotated[Prices, Option("USD per million input and output tokens, by model (a PriceTable)",
                                  cli=False)] = None
    price: Annotated[tuple[float, ...] | None, Option(
        "USD per million input and output tokens of --model (and, third, cached input tokens), e.g. 0.15,0.60; "
        "--max-usd needs it for a model autoprompt has no price for", read=_rates, metavar="IN,OUT[,CACHED]",
        resumable=True)] = None
    concurrency: Annotated[int, Option("API models: requests at once", read=int, resumable=True)] = 4
    rpm: Annotated[float | None, Option("API models: at most this many requests per minute", read=float,
                                        resumable=True)] = None
    tpm: Annotated[float | None, Option("API models: at most this many tokens per minute", read=float,
                                        resumable=True)] = None
    seed: Annotated[int, Option("same seed, same result", read=int)] = 0
    kind: Annotated[Literal["classification", "generation"] | None, Option(
        "classification or generation (default: classification when the target has few distinct values)",
        cli=False)] = None
    description: Annotated[StrictStr | None, Option("one sentence describing the task (used by context blocks)")] = None
    label_definitions: Annotated[dict[StrictStr, StrictStr] | None, Option(
        "a sentence per label, for the label-definition context block", cli=False)] = None
    label_words: Annotated[dict[StrictStr, dict[StrictStr, StrictStr]] | None, Option(
        "named sets of label words the search may try, {SET: {LABEL: WORD}}, each mapping every label",
        cli=False)] = None
    library: Annotated[Library, Option("the template library (default: the bundled one)", cli=False)] = None
    clarifiers: Annotated[tuple[StrictStr, ...], Option(
        "an added instruction of your own (text or file); repeat for more", alias="clarifier", repeat=True,
        file=True)] = ()
    context: Annotated[tuple[StrictStr, ...], Option("a context block of your own (text or file); repeat for more",
                                                     repeat=True, file=True)] = ()
    top_k: Annotated[int, Option("finalists re-scored on held-out rows", cli=False)] = 3
    first_rung: Annotated[int, Option("rows in racing's first rung", cli=False)] = 16
    strategy: Annotated[Literal["refine", "components"], Option(
        "refine: improve the prompt from its failures, round by round; components: Optuna TPE over the component "
        "space", choices=("refine", "components"))] = "refine"
    operators: Annotated[tuple[StrictStr, ...], Option(
        "refinement operator families, comma-separated; rewrite needs --optimizer-model", read=_csv)] = FAMILIES
    optimizer_model: Annotated[ModelSource | None, Option(
        "model that writes new instructions (same specs as --model; may be the "
                                           "same model); its calls count against --budget")] = None
    max_prompt_tokens: Annotated[int | None, Option("skip proposals whose prompt is longer than this",
                                                    read=int)] = None
    storage: Annotated[StrictStr | None, Option(
        "database URL for a shared run (postgresql://user@host/db); needs --strategy components; "
        "'autoprompt worker --storage URL' processes join it")] = None
    run_name: Annotated[StrictStr, Option(
        "the shared run's name in the --storage database, so one database holds many runs; workers join it "
        "with 'autoprompt worker --storage URL --run NAME'", alias="run", metavar="NAME")] = "autoprompt"
    judge_model: Annotated[ModelSource | None, Option(
        "model that grades judge:RUBRIC metrics (same specs as --model; default: "
                                       "--model); its calls count against --budget")] = None
    consistency: Annotated[int, Option("also sample K answers per example and report how much they agree (0: off)",
                                       read=int, metavar="K")] = 0
    temperature: Annotated[float, Option("sampling temperature for --consistency", read=float)] = 0.7
    consistency_weight: Annotated[float, Option("optimize (1-W)*metric + W*agreement instead of the metric alone",
                                                read=float, metavar="W")] = 0.0
    feedback: Annotated[StrictStr | tuple[Feedback, ...] | None, Option(
        "feedback.jsonl written by 'autoprompt review' (a run's own --out directory file is read anyway): notes "
        "become clarifiers and rewrites", resumable=True)] = None
    run_dir: Annotated[StrictStr | None, Option(
        "directory for the run, the exported winner and the reports (required on the command line)", alias="out",
        saved=False)] = None
    track: Annotated[Literal["mlflow"] | None, Option(
        "when the run ends, log it to an experiment tracker: mlflow (MLFLOW_TRACKING_URI says where, "
        "MLFLOW_EXPERIMENT_NAME names the experiment, default autoprompt; the winner is registered in the Prompt "
        "Registry under the --out folder's name)", choices=("mlflow",), resumable=True)] = None

    @field_validator("model", mode="before")
    @classmethod
    def _provider_colon(cls, value: Any) -> Any:
        """``openai/MODEL`` (as LiteLLM and OpenRouter users write it) is ``openai:MODEL``."""
        return str(ModelSpec.parse(value)) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _api_base_in_the_model(self) -> RunSpec:
        """``api_base`` joins the model spec (one place for the URL: the name, the cache key, the exports)."""
        if self.api_base is None:
            return self
        parsed = ModelSpec.parse(self.model) if isinstance(self.model, str) else None
        if parsed is None or not parsed.hosted:
            raise ValueError(f"api_base applies to openai: and anthropic: models, not {excerpt(self.model)}")
        if parsed.base_url and parsed.base_url.rstrip("/") != self.api_base.rstrip("/"):
            raise ValueError(f"the model {excerpt(self.model)} names another base URL than api_base "
                             f"{excerpt(self.api_base)}; give it once")
        object.__setattr__(self, "model", str(replace(parsed, base_url=self.api_base)))
        return self

    @field_validator("template", "storage", "run_dir", mode="before")
    @classmethod
    def _path_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, Path) else value

    @field_validator("storage")
    @classmethod
    def _no_password(cls, value: str | None) -> str | None:
        if value is not None and re.search(r"://[^/@\s]*:[^/@\s]*@", value):
            raise ValueError("the URL holds a password, and it would be saved in run.json and the shared database; "
                             "put the password in PGPASSWORD or ~/.pgpass and leave it out of the URL")
        return value

    @field_validator("run_name")
    @classmethod
    def _run_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
            raise ValueError(f"the run name {excerpt(value)} must be 1 to 64 letters, digits, '_', '.' or '-', "
                             "starting with a letter or digit")
        return value

    @field_validator("clarifiers", "context", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        return tuple(str(v) if isinstance(v, Path) else v for v in value) if isinstance(value, list | tuple) \
            else value

    @field_validator("operators", mode="before")
    @classmethod
    def _families(cls, value: Any) -> Any:
        return tuple(_csv(value)) if isinstance(value, str) else tuple(value) if isinstance(value, list) else value

    @field_validator("inputs", mode="before")
    @classmethod
    def _columns(cls, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        return value.value if isinstance(value, enum.Enum) else value

    @field_validator("feedback", mode="before")
    @classmethod
    def _feedback(cls, value: Any) -> Any:
        """A path, or the records (``Feedback`` or their JSON form, as ``run.json`` keeps them)."""
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, list | tuple):
            return tuple(r if isinstance(r, Feedback) else Feedback.from_json(r) for r in value)
        return value

    @field_validator("prices", mode="before")
    @classmethod
    def _prices(cls, value: Any) -> Any:
        from autoprompt.models.usage import PriceTable

        if isinstance(value, dict) and isinstance(value.get("prices"), dict):
            try:
                table = {m: tuple(float(rate) for rate in p) for m, p in value["prices"].items()}
                if any(len(rates) not in (2, 3) for rates in table.values()):
                    raise ValueError
                return PriceTable(table)
            except (TypeError, IndexError, ValueError):
                raise ValueError("expected {'prices': {MODEL: [input, output(, cached input)]}} in USD per million "
                                 "tokens") from None
        if value is not None and not isinstance(value, PriceTable):
            raise ValueError("expected a PriceTable or {'prices': {MODEL: [input, output(, cached input)]}}")
        return value

    @field_validator("library", mode="before")
    @classmethod
    def _library(cls, value: Any) -> Any:
        from autoprompt.prompts.library import TemplateLibrary
        from autoprompt.prompts.template import Template

        if isinstance(value, dict) and isinstance(value.get("library"), dict):
            try:
                return TemplateLibrary(**{
                    section: {key: Template(key, t["source"], frozenset(t["kinds"])) for key, t in entries.items()}
                    for section, entries in value["library"].items()})
            except (TypeError, KeyError, AttributeError):
                raise ValueError("expected {'library': {SECTION: {KEY: {source, kinds}}}}") from None
        if value is not None and not isinstance(value, TemplateLibrary):
            raise ValueError("expected a TemplateLibrary or {'library': {SECTION: {KEY: {source, kinds}}}}")
        return value

    @field_validator("cache", mode="before")
    @classmethod
    def _cache(cls, value: Any) -> Any:
        if _kept_object(value):  # an in-memory cache was not kept: the run directory's serves
            return None
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, _PLAIN) or not (isinstance(value, str) or value is None or (
                callable(getattr(type(value), "get", None)) and callable(getattr(type(value), "put", None)))):
            raise ValueError("expected the path of an SQLite cache file, or a cache object with get(key) and "
                             "put(key, value)")
        return value

    @field_validator("metric", mode="before")
    @classmethod
    def _metric(cls, value: Any) -> Any:
        if isinstance(value, _PLAIN) and not _kept_object(value):
            raise ValueError("expected a metric name such as accuracy, macro_f1, token_f1 or judge:correctness, "
                             "a Metric, or a function (example, answer) -> score")
        return value

    @field_validator("data", "dev", "test", mode="before")
    @classmethod
    def _data_source(cls, value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, _PLAIN):
            raise ValueError(f"expected a CSV/JSONL file path, a bundled task name, a pandas DataFrame or a Dataset, "
                             f"not a {type(value).__name__}")
        return value

    def record(self, data_paths: Mapping[str, str] | None = None, *, purpose: str = "run.json",
               exclude: Collection[str] = ()) -> dict[str, Any]:
        """The saved settings but ``exclude`` as JSON (see the module contract); ``data_paths`` names the
        file each in-memory table was saved to, and a table without one is a ``ConfigError`` naming ``purpose``."""
        out: dict[str, Any] = {}
        for name, (_, opt) in options().items():
            if not opt.saved or name in exclude:
                continue
            value = getattr(self, name)
            if _is_frame(value):
                if data_paths is None or name not in data_paths:
                    raise ConfigError(f"{purpose} needs {name} as a file path (or bundled task name) that every "
                                      "process can read, not an in-memory table; save it to CSV first")
                out[name] = data_paths[name]
            else:
                out[name] = _portable(value, file=opt.file)
        return out

    def tables(self) -> dict[str, Any]:
        """The settings given as an in-memory table (a DataFrame or ``Dataset``), by name."""
        return {name: getattr(self, name) for name in ("data", "dev", "test") if _is_frame(getattr(self, name))}

    def model_settings(self) -> dict[str, object]:
        """``model_options`` as a mapping; each value read as JSON where it parses (``0.9``, ``true``)."""
        return model_settings(self.model_options)

    def limits(self) -> Any:
        """The API limits record the backends take."""
        from autoprompt.models.backend import Limits

        return Limits(self.concurrency, self.rpm, self.tpm)

    def consistency_settings(self) -> Any:
        """The ``Consistency`` record, or None when consistency is off."""
        from autoprompt.evaluate.consistency import Consistency

        if self.consistency == 0:
            return None
        return Consistency(self.consistency, self.temperature, self.consistency_weight).check()


def _is_frame(value: Any) -> bool:
    if value is None or isinstance(value, str | Path | int | float | list | tuple | dict):
        return False
    import pandas as pd

    from autoprompt.data.dataset import Dataset

    return isinstance(value, pd.DataFrame | Dataset)


_PLAIN = (bool, int, float, list, tuple, dict, bytes)  # what YAML or JSON can hold where a name or object belongs


def _kept_object(value: Any) -> bool:
    """Whether ``value`` is the ``{"object": NAME}`` that ``record`` keeps for an object it cannot save."""
    return isinstance(value, dict) and set(value) == {"object"} and isinstance(value["object"], str)


def _portable(value: Any, *, file: bool) -> Any:
    """One setting as JSON."""
    from autoprompt.models.cache import SQLiteCache
    from autoprompt.models.usage import PriceTable
    from autoprompt.prompts.library import SECTIONS, TemplateLibrary

    if isinstance(value, PriceTable):
        return {"prices": {model: list(price) for model, price in value.prices.items()}}
    if isinstance(value, TemplateLibrary):
        return {"library": {section: {key: {"source": t.source, "kinds": sorted(t.kinds)}
                                      for key, t in value.section(section).items()} for section in SECTIONS}}
    if isinstance(value, SQLiteCache):
        return str(value.path.resolve())
    if isinstance(value, Path):
        return str(value.resolve())
    if isinstance(value, str) and file and names_file(value):
        return str(Path(value).resolve())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: v.value if isinstance(v, enum.Enum) else v for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, tuple | list):
        return [_portable(v, file=file) for v in value]
    if value is None or isinstance(value, str | int | float | bool | dict):
        return value
    return {"object": getattr(value, "name", type(value).__name__)}


# --- the parser -----------------------------------------------------------------------------------------


def canonical(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` keyed by field name: dashes become underscores and flag spellings (``input``,
    ``clarifier``, ``out``) their field's name; older ``run.json`` forms of the API limits and
    of consistency become today's fields."""
    aliases = {opt.alias: name for name, (_, opt) in options().items() if opt.alias}
    out: dict[str, Any] = {}
    repeated = {opt.alias or name for name, (_, opt) in options().items() if opt.repeat}
    for key, value in values.items():
        name = str(key).replace("-", "_")
        if name in repeated and isinstance(value, str):
            value = [value]  # a flag's spelling takes one value where the setting is a list
        out[aliases.get(name, name)] = value
    if isinstance(out.get("limits"), dict) and set(out["limits"]) <= {"concurrency", "rpm", "tpm"}:
        out.update(out.pop("limits"))
    if "consistency" in out and out["consistency"] is None:
        out["consistency"] = 0
    if isinstance(out.get("consistency"), dict) and set(out["consistency"]) <= {"samples", "temperature", "weight"}:
        saved = out.pop("consistency")
        out.update({"consistency": saved.get("samples", 0), "temperature": _value(saved, "temperature"),
                    "consistency_weight": saved.get("weight", _default("consistency_weight"))})
    return out


def spec_from(values: Mapping[str, Any], where: str) -> RunSpec:
    """A ``RunSpec`` from a mapping (see the module contract); problems are one ``ConfigError``."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where} must be a mapping of setting: value, got {type(values).__name__}")
    settings = canonical(values)
    try:
        check_ranges(settings)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    try:
        return RunSpec.model_validate(settings)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = str(error["loc"][0]) if error["loc"] else "settings"
        got = excerpt(error.get("input"), 80)
        hint = f"; valid settings: {', '.join(options())}" if error["type"] == "extra_forbidden" else \
            "; YAML reads unquoted yes, no, on and off as true or false: quote them" \
            if isinstance(error.get("input"), bool) and error["type"] == "string_type" else ""
        message = str(error['msg']).removeprefix("Value error, ")
        raise ConfigError(f"{where}: {key}: {message} (got {got}){hint}") from None


# --- the command line -----------------------------------------------------------------------------------


# ``--help`` sections: each starts at the setting named here and runs to the next (declaration order)
SECTIONS = {"data": "data and the starting prompt", "model": "model", "metric": "scoring and answers",
            "budget": "limits and spend", "seed": "the task and your components", "top_k": "search",
            "storage": "shared runs", "judge_model": "judges, consistency and feedback", "run_dir": "output"}


def add_options(parser: argparse.ArgumentParser, names: Sequence[str] | None = None, *,
                given: Mapping[str, str] | None = None, required: Collection[str] = ()) -> None:
    """Add a flag for every setting that has one, or for the settings ``names`` only (the few that
    ``resume``, ``worker`` and ``eval`` take, declared here once like the rest). Only flags given on the
    command line land in the namespace (``argparse.SUPPRESS``): the defaults stay the spec's, and a
    config file fills the rest. ``given`` maps a setting to what its default means in that command
    instead (``"the run's"``; empty: as its help says): the flag then reads None when absent; a flag
    in ``required`` must be given."""
    target: argparse.ArgumentParser | argparse._ArgumentGroup = parser
    for name, (default, opt) in options().items():
        if names is None and name in SECTIONS:  # the full set: --help shows it in sections
            target = parser.add_argument_group(SECTIONS[name])
        if not opt.cli or (names is not None and name not in names):
            continue
        meaning = (given or {}).get(name)
        shown = f" (default {meaning})" if meaning else \
            f" (default {','.join(default) if isinstance(default, tuple) else default})" if default not in (None, ()) \
            else ""
        target.add_argument(opt.flag(name), dest=name, type=opt.read, required=name in required,
                            default=None if name in (given or {}) else argparse.SUPPRESS,
                            metavar=opt.metavar or (None if opt.choices else (opt.alias or name).upper()),
                            action="append" if opt.repeat else "store", help=opt.help + shown, choices=opt.choices)


def options() -> dict[str, tuple[Any, Option]]:
    """Every setting's default and ``Option``, in declaration order."""
    return {name: (field.default, next(m for m in field.metadata if isinstance(m, Option)))
            for name, field in RunSpec.model_fields.items()}


def keys() -> list[str]:
    """The keys a YAML config may use: each setting's flag spelling."""
    return [opt.alias or name for name, (_, opt) in options().items()]
