"""``spec_from``: the one parser of settings (see the package contract), and ``canonical``, which
reads the flag spellings and older ``run.json`` forms as field names.

Imports the error hierarchy and the spec's fields and checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from autoprompt.errors import ConfigError
from autoprompt.spec.checks import check_ranges, default, value_or_default
from autoprompt.spec.fields import RunSpec, group_of, options
from autoprompt.spec.groups import describe


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
    """A ``RunSpec`` from a mapping of settings by name (see the module contract); problems are one
    ``ConfigError``."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where} must be a mapping of setting: value, got {type(values).__name__}")
    settings = canonical(values)
    try:
        check_ranges(settings)
        return RunSpec.model_validate(nested(settings))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(f"{where}: {describe(exc, options())}") from None


def nested(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings by name as ``RunSpec`` holds them: each in its group (a name that is no setting stays on
    top, where validation names it)."""
    out: dict[str, Any] = {}
    known = options()
    for name, value in settings.items():
        group = group_of(name) if name in known else None
        if group is None:
            out[name] = value
        else:
            out.setdefault(group, {})[name] = value
    return out
