"""The map matches the territory: every module a part's ``__init__`` docstring says it owns exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "autoprompt"
PARTS = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))


def owned(part: str) -> list[str]:
    """The names in backquotes of the docstring's "Owns:" paragraph, parenthesized asides left out."""
    doc = (PACKAGE / part / "__init__.py").read_text(encoding="utf-8").split('"""')[1]
    owns = doc.split("Owns:", 1)[1].split("May import:", 1)[0]
    while re.search(r"\([^()]*\)", owns):
        owns = re.sub(r"\([^()]*\)", "", owns)
    return re.findall(r"``([\w.]+)``", owns)


@pytest.mark.parametrize("part", PARTS)
def test_every_module_a_part_says_it_owns_exists(part: str) -> None:
    names = owned(part)
    assert names, f"autoprompt/{part}/__init__.py names no module under 'Owns:'"
    paths = {n: PACKAGE.parent / (n.replace(".", "/") + ".py") if "." in n else PACKAGE / part / f"{n}.py"
             for n in names}
    missing = [n for n, path in paths.items() if not path.is_file()]
    assert not missing, f"autoprompt/{part}/__init__.py names modules that do not exist: {missing}"


@pytest.mark.parametrize("part", PARTS)
def test_every_module_of_a_part_is_named_by_it(part: str) -> None:
    modules = {p.stem for p in (PACKAGE / part).glob("*.py") if p.stem != "__init__"}
    unnamed = sorted(modules - set(owned(part)))
    assert not unnamed, f"autoprompt/{part}/__init__.py does not say what {unnamed} own"
