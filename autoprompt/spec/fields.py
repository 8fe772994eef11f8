"""``RunSpec``: every setting of a run as one typed field, with the ``Option`` that says how it shows
outside Python (see the package contract), and ``options()``, the settings in declaration order.

Imports the error hierarchy, the records, the spec's ``option`` and ``values``, and the models, prompts
and data parts' types.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StrictStr, field_validator, model_validator

from autoprompt.errors import ConfigError, excerpt
from autoprompt.models.backend import Backend
from autoprompt.propose.families import FAMILIES
from autoprompt.records.feedback import Feedback
from autoprompt.records.model_spec import ModelSpec
from autoprompt.spec.option import Option, read_list, read_rates
from autoprompt.spec.values import PLAIN, is_frame, kept_object, library_from, model_settings, portable, prices_from

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
        "--max-usd needs it for a model autoprompt has no price for", read=read_rates, metavar="IN,OUT[,CACHED]",
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
        "refinement operator families, comma-separated; rewrite needs --optimizer-model", read=read_list)] = FAMILIES
    optimizer_model: Annotated[ModelSource | None, Option(
        "model that writes new instructions (same specs as --model; may be the "
                                           "same model); its calls count against --budget")] = None
    max_prompt_tokens: Annotated[int | None, Option("skip proposals whose prompt is longer than this",
                                                    read=int)] = None
    storage: Annotated[StrictStr | None, Option(
        "database URL for a shared run (postgresql://user@host/db): 'autoprompt worker --storage URL' processes "
        "join it (refine: they answer the run's model requests; components: each searches the shared study)")] = None
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
        return tuple(read_list(value)) if isinstance(value, str) else tuple(value) if isinstance(value, list) else value

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
        return prices_from(value)

    @field_validator("library", mode="before")
    @classmethod
    def _library(cls, value: Any) -> Any:
        return library_from(value)

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

    @field_validator("metric", mode="before")
    @classmethod
    def _metric(cls, value: Any) -> Any:
        if isinstance(value, PLAIN) and not kept_object(value):
            raise ValueError("expected a metric name such as accuracy, macro_f1, token_f1 or judge:correctness, "
                             "a Metric, or a function (example, answer) -> score")
        return value

    @field_validator("data", "dev", "test", mode="before")
    @classmethod
    def _data_source(cls, value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, PLAIN):
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
            if is_frame(value):
                if data_paths is None or name not in data_paths:
                    raise ConfigError(f"{purpose} needs {name} as a file path (or bundled task name) that every "
                                      "process can read, not an in-memory table; save it to CSV first")
                out[name] = data_paths[name]
            else:
                out[name] = portable(value, file=opt.file)
        return out

    def tables(self) -> dict[str, Any]:
        """The settings given as an in-memory table (a DataFrame or ``Dataset``), by name."""
        return {name: getattr(self, name) for name in ("data", "dev", "test") if is_frame(getattr(self, name))}

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


def options() -> dict[str, tuple[Any, Option]]:
    """Every setting's default and ``Option``, in declaration order."""
    return {name: (field.default, next(m for m in field.metadata if isinstance(m, Option)))
            for name, field in RunSpec.model_fields.items()}
