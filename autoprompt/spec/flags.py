"""The command line and config keys of the settings: ``add_options`` (every flag, or a command's few),
``keys`` (what a YAML config may use); ``--help`` shows the flags in the spec's ``sections()``.

Imports the spec's fields and options.
"""

from __future__ import annotations

import argparse
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from autoprompt.spec.fields import options, sections
from autoprompt.spec.option import Option


def add_options(parser: argparse.ArgumentParser, names: Sequence[str] | None = None, *,
                given: Mapping[str, str] | None = None, required: Collection[str] = ()) -> None:
    """Add a flag for every setting that has one, or for the settings ``names`` only (the few that
    ``resume``, ``worker`` and ``eval`` take, declared here once like the rest). Only flags given on the
    command line land in the namespace (``argparse.SUPPRESS``): the defaults stay the spec's, and a
    config file fills the rest. ``given`` maps a setting to what its default means in that command
    instead (``"the run's"``; empty: as its help says): the flag then reads None when absent; a flag
    in ``required`` must be given."""
    every = options()
    for title, section in sections().items():
        target = parser.add_argument_group(title) if names is None else parser  # the full set: in sections
        for name in section:
            default, opt = every[name]
            if opt.cli and (names is None or name in names):
                _add(target, name, default, opt, meaning=(given or {}).get(name), given=name in (given or {}),
                     required=name in required)


def _add(target: argparse.ArgumentParser | argparse._ArgumentGroup, name: str, default: Any, opt: Option, *,
         meaning: str | None, given: bool, required: bool) -> None:
    shown = f" (default {meaning})" if meaning else \
        f" (default {','.join(default) if isinstance(default, tuple) else default})" if default not in (None, ()) \
        else ""
    target.add_argument(opt.flag(name), dest=name, type=opt.read, required=required,
                        default=None if given else argparse.SUPPRESS,
                        metavar=opt.metavar or (None if opt.choices else (opt.alias or name).upper()),
                        action="append" if opt.repeat else "store", help=opt.help + shown, choices=opt.choices)


def keys() -> list[str]:
    """The keys a YAML config may use: each setting's flag spelling."""
    return [opt.alias or name for name, (_, opt) in options().items()]
