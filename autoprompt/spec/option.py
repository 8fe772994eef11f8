"""How one setting shows outside Python: ``Option`` (its flag, help, how its text is read, whether YAML,
``run.json`` and a resume carry it), and the readers of command-line text it uses.

Imports nothing of the project.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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


def read_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def read_rates(text: str) -> tuple[float, ...]:
    """``IN,OUT[,CACHED]`` as two or three numbers."""
    try:
        rates = tuple(float(part) for part in text.split(","))
    except ValueError:
        rates = ()
    if len(rates) not in (2, 3):
        raise argparse.ArgumentTypeError(f"expected two numbers IN,OUT (or three, IN,OUT,CACHED) such as 0.15,0.60, "
                                         f"got {text!r}")
    return rates
