"""Plug-ins: backends, operators, metrics and export formats from other installed packages.

Contract: a package registers a plug-in under an entry-point group, for example in its
``pyproject.toml``::

    [project.entry-points."autoprompt.backends"]
    echo = "autoprompt_echo:EchoBackend"       # called with the model spec: EchoBackend("echo:loud")

- ``autoprompt.backends``: NAME -> a callable taking the whole model spec (``NAME`` or
  ``NAME:...``) and returning an object with the ``Backend`` members;
- ``autoprompt.operators``: NAME -> a callable taking nothing and returning an ``Operator``
  (``family`` and ``propose(parent, context)``); name it in ``--operators``;
- ``autoprompt.metrics``: NAME -> a ``Metric`` or a per-example function ``(example, output) -> float``;
- ``autoprompt.exporters``: NAME -> a function ``(exported, out) -> Path`` that writes the winner
  (an ``ExportedPrompt``) into the folder ``out`` and returns the main file; ``--format NAME``.

``named(group)`` lists what is installed; ``load(group, name)`` loads one, and a plug-in that
fails to load is a ``ConfigError`` naming its package. Built-in names always win over
plug-ins of the same name. Entry points are read on first use only.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from autoprompt.errors import ConfigError

GROUPS = ("autoprompt.backends", "autoprompt.operators", "autoprompt.metrics", "autoprompt.exporters")


def _points(group: str) -> dict[str, EntryPoint]:
    return {point.name: point for point in entry_points(group=group)}


def named(group: str) -> list[str]:
    """The plug-in names installed under ``group``, sorted."""
    return sorted(_points(group))


def load(group: str, name: str) -> Any | None:
    """The object registered as ``name`` under ``group``, or None when nothing is."""
    point = _points(group).get(name)
    if point is None:
        return None
    try:
        return point.load()
    except Exception as exc:  # a third party's import error: name the package, not a traceback
        raise ConfigError(f"the {group} plug-in '{name}' ({point.value}) failed to load: "
                          f"{type(exc).__name__}: {exc}; reinstall or remove that package") from None
