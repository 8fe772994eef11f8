"""The groups of settings a ``RunSpec`` is made of, each a small frozen record (as httpx groups ``Timeout``
and ``Limits``): ``Start`` (the starting prompt and your components), ``Answers`` (what an answer is and how
it is graded), ``Search`` (its rows and moves), ``Calls`` (the API, the cache, the spend) and ``Run`` (where
the run is kept). ``optimize`` takes them as keyword arguments; each setting is declared here once, as a
field with the ``Option`` that says how it shows on the command line, in YAML and in ``run.json``, where
its name is the field's (names are unique across groups).

A group checks the types of its values when it is made; a wrong one is one ``ConfigError`` naming the
setting (``describe``). Ranges are checked once every setting is known (``checks.check_ranges``).

Imports the error hierarchy, the records, the spec's ``option`` and ``values``, and the models, prompts
and data parts' types.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from autoprompt.errors import ConfigError, excerpt
from autoprompt.models.backend import Backend
from autoprompt.propose.families import FAMILIES
from autoprompt.records.feedback import Feedback
from autoprompt.spec.option import Option, read_list, read_rates
from autoprompt.spec.values import PLAIN, kept_object, library_from, prices_from

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


def describe(exc: ValidationError, valid: Iterable[str]) -> str:
    """A pydantic error as one line: the setting, the problem, what it got, and a hint (``valid`` names the
    settings an unknown key could have meant)."""
    error = exc.errors()[0]
    key = str(error["loc"][0]) if error["loc"] else "settings"
    got = excerpt(error.get("input"), 80)
    hint = f"; valid settings: {', '.join(valid)}" if error["type"] == "extra_forbidden" else \
        "; YAML reads unquoted yes, no, on and off as true or false: quote them" \
        if isinstance(error.get("input"), bool) and error["type"] == "string_type" else ""
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{key}: {message} (got {got}){hint}"


def path_text(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def data_source(value: Any) -> Any:
    """A table setting (``data``, ``dev``, ``test``): a path or name as text, a table as it is."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, PLAIN):
        raise ValueError(f"expected a CSV/JSONL file path, a bundled task name, a pandas DataFrame or a Dataset, "
                         f"not a {type(value).__name__}")
    return value


class Group(BaseModel):
    """A few settings that belong together. ``title`` heads their section of ``--help``."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    title: ClassVar[str]

    @model_validator(mode="wrap")
    @classmethod
    def _one_error(cls, values: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(values)
        except ValidationError as exc:
            raise ConfigError(describe(exc, cls.model_fields)) from None

    def settings(self) -> dict[str, Any]:
        """The group's settings by name, values as they are (objects included)."""
        return {name: getattr(self, name) for name in type(self).model_fields}


class Start(Group):
    """The prompt the search starts from, the words it may use, and the blocks and notes it may add."""

    title: ClassVar[str] = "the starting prompt and your components"

    template: Annotated[StrictStr | None, Option("starting prompt: a Jinja file or Jinja text using the input columns",
                                                 file=True)] = None
    system: Annotated[StrictStr | None, Option(
        "a system message every prompt starts with: a Jinja file or text (it may use labels, description, "
        "definitions, titles; not the inputs); the search may also move the instruction into it", file=True,
        metavar="TEMPLATE")] = None
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
    feedback: Annotated[StrictStr | tuple[Feedback, ...] | None, Option(
        "feedback.jsonl written by 'autoprompt review' (a run's own --out directory file is read anyway): notes "
        "become clarifiers and rewrites", resumable=True)] = None

    @field_validator("template", mode="before")
    @classmethod
    def _path_text(cls, value: Any) -> Any:
        return path_text(value)

    @field_validator("clarifiers", "context", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        return tuple(str(v) if isinstance(v, Path) else v for v in value) if isinstance(value, list | tuple) \
            else value

    @field_validator("library", mode="before")
    @classmethod
    def _library(cls, value: Any) -> Any:
        return library_from(value)

    @field_validator("feedback", mode="before")
    @classmethod
    def _feedback(cls, value: Any) -> Any:
        """A path, or the records (``Feedback`` or their JSON form, as ``run.json`` keeps them)."""
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, list | tuple):
            return tuple(r if isinstance(r, Feedback) else Feedback.from_json(r) for r in value)
        return value


class Answers(Group):
    """What an answer is and how it is graded: the task kind, the metric, free-text answer settings, the judge
    and consistency."""

    title: ClassVar[str] = "scoring and answers"

    kind: Annotated[Literal["classification", "generation"] | None, Option(
        "classification or generation (default: classification when the target has few distinct values)",
        cli=False)] = None
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
    judge_model: Annotated[ModelSource | None, Option(
        "model that grades judge:RUBRIC metrics (same specs as --model; default: "
                                       "--model); its calls count against --budget")] = None
    consistency: Annotated[int, Option("also sample K answers per example and report how much they agree (0: off)",
                                       read=int, metavar="K")] = 0
    temperature: Annotated[float, Option("sampling temperature for --consistency", read=float)] = 0.7
    consistency_weight: Annotated[float, Option("optimize (1-W)*metric + W*agreement instead of the metric alone",
                                                read=float, metavar="W")] = 0.0

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        return value.value if isinstance(value, enum.Enum) else value

    @field_validator("metric", mode="before")
    @classmethod
    def _metric(cls, value: Any) -> Any:
        if isinstance(value, PLAIN) and not kept_object(value):
            raise ValueError("expected a metric name such as accuracy, macro_f1, token_f1 or judge:correctness, "
                             "a Metric, or a function (example, answer) -> score")
        return value


class Search(Group):
    """How the search selects and tests: the dev and test rows, the strategy, its operators and their writer, racing."""

    title: ClassVar[str] = "search"

    dev: Annotated[DataSource, Option("dev file (default: split from --data)", file=True)] = None
    test: Annotated[DataSource, Option("test file (default: split from --data)", file=True)] = None
    strategy: Annotated[Literal["refine", "components"], Option(
        "refine: improve the prompt from its failures, round by round; components: Optuna TPE over the component "
        "space", choices=("refine", "components"))] = "refine"
    operators: Annotated[tuple[StrictStr, ...], Option(
        "refinement operator families, comma-separated; rewrite needs --optimizer-model", read=read_list)] = FAMILIES
    optimizer_model: Annotated[ModelSource | None, Option(
        "model that writes new instructions (same specs as --model; may be the "
                                           "same model); its calls count against --budget")] = None
    max_prompt_tokens: Annotated[int | None, Option("skip proposals whose prompt is longer than this",
                                                    read=int)] = None
    top_k: Annotated[int, Option("finalists re-scored on held-out rows", cli=False)] = 3
    first_rung: Annotated[int, Option("rows in racing's first rung", cli=False)] = 16

    @field_validator("dev", "test", mode="before")
    @classmethod
    def _data_source(cls, value: Any) -> Any:
        return data_source(value)

    @field_validator("operators", mode="before")
    @classmethod
    def _families(cls, value: Any) -> Any:
        return tuple(read_list(value)) if isinstance(value, str) else tuple(value) if isinstance(value, list) else value


class Calls(Group):
    """How the model is called and what the search may spend: the API, rate limits, the cache, prices and the
    caps beside the call budget."""

    title: ClassVar[str] = "API calls, caching and spend"

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
    concurrency: Annotated[int, Option("API models: requests at once", read=int, resumable=True)] = 4
    rpm: Annotated[float | None, Option("API models: at most this many requests per minute", read=float,
                                        resumable=True)] = None
    tpm: Annotated[float | None, Option("API models: at most this many tokens per minute", read=float,
                                        resumable=True)] = None
    cache: Annotated[CacheSource, Option(
        "SQLite response cache (default: OUT/cache.sqlite); a re-run pays only for new "
                                 "requests", file=True)] = None
    prices: Annotated[Prices, Option("USD per million input and output tokens, by model (a PriceTable)",
                                  cli=False)] = None
    price: Annotated[tuple[float, ...] | None, Option(
        "USD per million input and output tokens of --model (and, third, cached input tokens), e.g. 0.15,0.60; "
        "--max-usd needs it for a model autoprompt has no price for", read=read_rates, metavar="IN,OUT[,CACHED]",
        resumable=True)] = None
    max_seconds: Annotated[float | None, Option("wall-time limit for the search", read=float, resumable=True)] = None
    max_tokens: Annotated[int | None, Option("token limit for the search (input + output)", read=int,
                                             resumable=True)] = None
    max_usd: Annotated[float | None, Option("cost limit for the search in USD", read=float, resumable=True)] = None

    @field_validator("prices", mode="before")
    @classmethod
    def _prices(cls, value: Any) -> Any:
        return prices_from(value)

    @field_validator("cache", mode="before")
    @classmethod
    def _cache(cls, value: Any) -> Any:
        if kept_object(value):  # an in-memory cache was not kept: the run directory's serves
            return None
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, PLAIN) or not (isinstance(value, str) or value is None or (
                callable(getattr(type(value), "get", None)) and callable(getattr(type(value), "put", None)))):
            raise ValueError("expected the path of an SQLite cache file, or a cache object with get(key) and "
                             "put(key, value)")
        return value


class Run(Group):
    """Where the run is kept: its folder, a shared database and the run's name there, and an experiment tracker."""

    title: ClassVar[str] = "output and shared runs"

    run_dir: Annotated[StrictStr | None, Option(
        "directory for the run, the exported winner and the reports (required on the command line)", alias="out",
        saved=False)] = None
    storage: Annotated[StrictStr | None, Option(
        "database URL for a shared run (postgresql://user@host/db): 'autoprompt worker --storage URL' processes "
        "join it (refine: they answer the run's model requests; components: each searches the shared study)")] = None
    run_name: Annotated[StrictStr, Option(
        "the shared run's name in the --storage database, so one database holds many runs; workers join it "
        "with 'autoprompt worker --storage URL --run NAME'", alias="run", metavar="NAME")] = "autoprompt"
    track: Annotated[Literal["mlflow"] | None, Option(
        "when the run ends, log it to an experiment tracker: mlflow (MLFLOW_TRACKING_URI says where, "
        "MLFLOW_EXPERIMENT_NAME names the experiment, default autoprompt; the winner is registered in the Prompt "
        "Registry under the --out folder's name)", choices=("mlflow",), resumable=True)] = None

    @field_validator("storage", "run_dir", mode="before")
    @classmethod
    def _path_text(cls, value: Any) -> Any:
        return path_text(value)

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
