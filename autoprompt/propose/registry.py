"""The operator registry: the families by name, in proposal order.

Contract: ``FAMILIES`` (from ``families``) names the built-in families; ``build_operators(families)`` returns
one fresh operator per named family, in ``FAMILIES`` order; no family, or an unknown one,
is a ``ConfigError`` listing the known ones."""

from __future__ import annotations

from collections.abc import Sequence

from autoprompt.errors import ConfigError
from autoprompt.plugins import load, named
from autoprompt.propose.demos import DemoOperator
from autoprompt.propose.edit import EditOperator
from autoprompt.propose.explore import ExploreOperator
from autoprompt.propose.families import FAMILIES
from autoprompt.propose.feedback import FeedbackOperator
from autoprompt.propose.move import MoveOperator
from autoprompt.propose.operator import Operator
from autoprompt.propose.rewrite import RewriteOperator
from autoprompt.propose.words import WordsOperator


def build_operators(families: Sequence[str] = FAMILIES) -> list[Operator]:
    """The default operators of the named families, in proposal order."""
    known = [*FAMILIES, *(n for n in named("autoprompt.operators") if n not in FAMILIES)]
    if not families:
        raise ConfigError(f"name at least one operator family; use any of {', '.join(known)}")
    unknown = sorted(set(families) - set(known))
    if unknown:
        raise ConfigError(f"unknown operator family {', '.join(unknown)}; use any of {', '.join(known)}")
    made: dict[str, Operator] = {"feedback": FeedbackOperator(), "move": MoveOperator(), "edit": EditOperator(),
                                 "demos": DemoOperator(), "explore": ExploreOperator(), "words": WordsOperator(),
                                 "rewrite": RewriteOperator()}
    plugged = [_plugged(name) for name in families if name not in FAMILIES]
    return [made[name] for name in FAMILIES if name in families] + plugged


def _plugged(name: str) -> Operator:
    operator = load("autoprompt.operators", name)()  # type: ignore[misc]
    if not isinstance(operator, Operator):
        raise ConfigError(f"the operator plug-in '{name}' made a {type(operator).__name__}, which lacks the "
                          "Operator members (family, propose(parent, context))")
    return operator
