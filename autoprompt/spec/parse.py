"""``spec_from``: the one parser of settings (see the package contract), and ``canonical``, which
reads the flag spellings and older ``run.json`` forms as field names.

Imports the error hierarchy and the spec's fields and checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from autoprompt.errors import ConfigError, excerpt
from autoprompt.spec.checks import check_ranges, default, value_or_default
from autoprompt.spec.fields import RunSpec, options


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
        out.update({"consistency": saved.get("samples", 0), "temperature": value_or_default(saved, "temperature"),
                    "consistency_weight": saved.get("weight", default("consistency_weight"))})
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
