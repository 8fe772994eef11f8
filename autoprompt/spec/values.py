"""Settings as JSON and back: how ``run.json`` keeps the object-valued settings (price tables and
template libraries by value, a cache as its file, files as absolute paths, objects it cannot keep as
``{"object": NAME}``), and how those forms are read again; model options as a mapping.

Imports the error hierarchy, the files helper, and (lazily) the models' and prompts' types.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autoprompt.files import names_file


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


def is_frame(value: Any) -> bool:
    if value is None or isinstance(value, str | Path | int | float | list | tuple | dict):
        return False
    import pandas as pd

    from autoprompt.data.dataset import Dataset

    return isinstance(value, pd.DataFrame | Dataset)


PLAIN = (bool, int, float, list, tuple, dict, bytes)  # what YAML or JSON can hold where a name or object belongs


def kept_object(value: Any) -> bool:
    """Whether ``value`` is the ``{"object": NAME}`` that ``record`` keeps for an object it cannot save."""
    return isinstance(value, dict) and set(value) == {"object"} and isinstance(value["object"], str)


def portable(value: Any, *, file: bool) -> Any:
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
        return [portable(v, file=file) for v in value]
    if value is None or isinstance(value, str | int | float | bool | dict):
        return value
    return {"object": getattr(value, "name", type(value).__name__)}


def prices_from(value: Any) -> Any:
    """A ``PriceTable`` from its JSON form ``{"prices": {MODEL: [input, output(, cached input)]}}`` (as
    ``portable`` writes it), a table as it is, or None; ``ValueError`` for anything else."""
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


def library_from(value: Any) -> Any:
    """A ``TemplateLibrary`` from its JSON form ``{"library": {SECTION: {KEY: {source, kinds}}}}``, a
    library as it is, or None; ``ValueError`` for anything else."""
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
