"""The operator registry: the families by name, in proposal order.

Contract: ``FAMILIES`` names the built-in families; ``build_operators(families)`` returns
one fresh operator per named family, in ``FAMILIES`` order; no family, or an unknown one,
is a ``ConfigError`` listing the known ones."""

from __future__ import annotations

from collections.abc import Sequence

from autoprompt.errors import ConfigError
from autoprompt.propose.demos import DemoOperator
from autoprompt.propose.edit import EditOperator
from autoprompt.propose.explore import ExploreOperator
from autoprompt.propose.feedback import FeedbackOperator
from autoprompt.propose.move import MoveOperator
from autoprompt.propose.operator import Operator
from autoprompt.propose.rewrite import RewriteOperator
from autoprompt.propose.words import WordsOperator

FAMILIES = ("feedback", "move", "demos", "explore", "words", "edit", "rewrite")


def build_operators(families: Sequence[str] = FAMILIES) -> list[Operator]:
    """The default operators of the named families, in proposal order."""
    if not families:
        raise ConfigError(f"name at least one operator family; use any of {', '.join(FAMILIES)}")
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        raise ConfigError(f"unknown operator family {', '.join(unknown)}; use any of {', '.join(FAMILIES)}")
    made: dict[str, Operator] = {"feedback": FeedbackOperator(), "move": MoveOperator(), "edit": EditOperator(),
                                 "demos": DemoOperator(), "explore": ExploreOperator(), "words": WordsOperator(),
                                 "rewrite": RewriteOperator()}
    return [made[name] for name in FAMILIES if name in families]
