"""``RunSpec``: every setting of a run, as a few top-level fields (the data, its columns, the model, the
budget, the seed) and the groups of ``groups`` (see the package contract); ``options()``, every setting by
name in declaration order, and ``sections()``, the same names by group.

Imports the error hierarchy, the records, the spec's ``option``, ``values`` and ``groups``, and the models'
types.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StrictStr, field_validator, model_validator

from autoprompt.errors import ConfigError, excerpt
from autoprompt.records.model_spec import ModelSpec
from autoprompt.spec.groups import Answers, Calls, DataSource, Group, ModelSource, Run, Search, Start, data_source
from autoprompt.spec.option import Option
from autoprompt.spec.values import is_frame, model_settings, portable

TOP_TITLE = "data, model and budget"  # the --help section of the top-level settings


class RunSpec(BaseModel):
    """Every setting of a run (see the module contract). Build one with ``spec_from``."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    data: Annotated[DataSource, Option("CSV/JSONL file, or a bundled task: sentiment, intent, past_tense (required)",
                                file=True)] = None
    inputs: Annotated[StrictStr | list[StrictStr] | None, Option("input column(s), comma-separated",
                                                                 alias="input")] = None
    target: Annotated[StrictStr | None, Option("target column")] = None
    model: Annotated[ModelSource, Option(
        "model under optimization: local (bundled SmolLM2), local:gemma, local:/path.gguf, "
        "openai:MODEL[@BASE_URL], anthropic:MODEL[@BASE_URL], gemini:MODEL (GEMINI_API_KEY), "
        "openrouter:VENDOR/MODEL (OPENROUTER_API_KEY), ollama:MODEL[@BASE_URL], groq:, together:, deepseek:, "
        "mistral:, vllm:, azure:DEPLOYMENT@ENDPOINT, bedrock:MODEL_ID, vertex:MODEL, "
        "litellm:PROVIDER/MODEL[@BASE_URL]")] = "local"
    budget: Annotated[int, Option("maximum model calls for the search", read=int, resumable=True)] = 500
    seed: Annotated[int, Option("same seed, same result", read=int)] = 0
    start: Start = Start()
    answers: Answers = Answers()
    search: Search = Search()
    calls: Calls = Calls()
    run: Run = Run()

    @field_validator("model", mode="before")
    @classmethod
    def _provider_colon(cls, value: Any) -> Any:
        """``openai/MODEL`` (as LiteLLM and OpenRouter users write it) is ``openai:MODEL``."""
        return str(ModelSpec.parse(value)) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _api_base_in_the_model(self) -> RunSpec:
        """``api_base`` joins the model spec (one place for the URL: the name, the cache key, the exports)."""
        api_base = self.calls.api_base
        if api_base is None:
            return self
        parsed = ModelSpec.parse(self.model) if isinstance(self.model, str) else None
        if parsed is None or not parsed.hosted:
            raise ValueError(f"api_base applies to openai: and anthropic: models, not {excerpt(self.model)}")
        if parsed.base_url and parsed.base_url.rstrip("/") != api_base.rstrip("/"):
            raise ValueError(f"the model {excerpt(self.model)} names another base URL than api_base "
                             f"{excerpt(api_base)}; give it once")
        object.__setattr__(self, "model", str(replace(parsed, base_url=api_base)))
        return self

    @field_validator("inputs", mode="before")
    @classmethod
    def _columns(cls, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    @field_validator("data", mode="before")
    @classmethod
    def _data_source(cls, value: Any) -> Any:
        return data_source(value)

    def setting(self, name: str) -> Any:
        """One setting by its name, wherever its group keeps it."""
        group = group_of(name)
        return getattr(getattr(self, group) if group else self, name)

    def updated(self, **values: Any) -> RunSpec:
        """A copy with some settings replaced, by name (as ``model_copy``: the values are not checked again)."""
        update: dict[str, Any] = {}
        for name, value in values.items():
            group = group_of(name)
            if group is None:
                update[name] = value
            else:
                update[group] = update.get(group, getattr(self, group)).model_copy(update={name: value})
        return self.model_copy(update=update)

    def record(self, data_paths: Mapping[str, str] | None = None, *, purpose: str = "run.json",
               exclude: Collection[str] = ()) -> dict[str, Any]:
        """The saved settings but ``exclude`` as JSON (see the module contract); ``data_paths`` names the
        file each in-memory table was saved to, and a table without one is a ``ConfigError`` naming ``purpose``."""
        out: dict[str, Any] = {}
        for name, (_, opt) in options().items():
            if not opt.saved or name in exclude:
                continue
            value = self.setting(name)
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
        return {name: self.setting(name) for name in ("data", "dev", "test") if is_frame(self.setting(name))}

    def model_settings(self) -> dict[str, object]:
        """``model_options`` as a mapping; each value read as JSON where it parses (``0.9``, ``true``)."""
        return model_settings(self.calls.model_options)

    def limits(self) -> Any:
        """The API limits record the backends take."""
        from autoprompt.models.backend import Limits

        return Limits(self.calls.concurrency, self.calls.rpm, self.calls.tpm)

    def consistency_settings(self) -> Any:
        """The ``Consistency`` record, or None when consistency is off."""
        from autoprompt.evaluate.consistency import Consistency

        answers = self.answers
        if answers.consistency == 0:
            return None
        return Consistency(answers.consistency, answers.temperature, answers.consistency_weight).check()


def _option(field: Any) -> Option:
    return next(m for m in field.metadata if isinstance(m, Option))


@cache
def groups() -> dict[str, type[Group]]:
    """``RunSpec``'s group fields and their records, in declaration order."""
    return {name: field.annotation for name, field in RunSpec.model_fields.items()
            if isinstance(field.annotation, type) and issubclass(field.annotation, Group)}


@cache
def sections() -> dict[str, tuple[str, ...]]:
    """Every setting's name by ``--help`` section: the top-level settings, then each group's."""
    top = tuple(name for name in RunSpec.model_fields if name not in groups())
    return {TOP_TITLE: top, **{group.title: tuple(group.model_fields) for group in groups().values()}}


@cache
def _where() -> dict[str, str | None]:
    return {**{name: None for name in sections()[TOP_TITLE]},
            **{name: group for group, record in groups().items() for name in record.model_fields}}


def group_of(name: str) -> str | None:
    """The ``RunSpec`` field that holds the setting ``name`` (None: a top-level field); ``KeyError`` for
    a name that is no setting."""
    return _where()[name]


def options() -> dict[str, tuple[Any, Option]]:
    """Every setting's default and ``Option``, in declaration order."""
    fields = {**RunSpec.model_fields, **{n: f for g in groups().values() for n, f in g.model_fields.items()}}
    return {name: (fields[name].default, _option(fields[name])) for names in sections().values() for name in names}
