"""The command line and config keys of the settings: ``add_options`` (every flag, or a command's few),
``SECTIONS`` (where ``--help`` groups start) and ``keys`` (what a YAML config may use).

Imports the spec's fields.
"""

from __future__ import annotations

import argparse
from collections.abc import Collection, Mapping, Sequence

from autoprompt.spec.fields import options

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


def keys() -> list[str]:
    """The keys a YAML config may use: each setting's flag spelling."""
    return [opt.alias or name for name, (_, opt) in options().items()]
