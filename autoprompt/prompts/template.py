"""Templates: parse and render Jinja source in a sandbox, and check its variables.

Contract:
- Every template (bundled, user-written or, later, model-written) renders in
  ``BoundedSandbox``, Jinja's ``SandboxedEnvironment`` with ``StrictUndefined``: untrusted
  text can't reach Python objects, and a missing variable is an error, never "". The work
  of one render is bounded inside the sandbox: all its loops together take at most
  ``MAX_LOOP_STEPS`` steps (nested loops included), ``*`` may not build a string or list
  longer than ``MAX_RENDERED_CHARS`` and ``**`` takes exponents up to ``MAX_EXPONENT``;
  the output is at most ``MAX_RENDERED_CHARS``. ``load_prompt`` renders through it too.
- ``Template.variables()`` lists the variables the source needs (``jinja2.meta``),
  so a template that needs a column the data lacks fails before any model call.
- Depends on jinja2 only: exported prompts render with this module alone.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from autoprompt.errors import TemplateError
from autoprompt.files import names_file

ENV_OPTIONS: dict[str, Any] = {
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": False,
    "autoescape": False,
}
MAX_RENDERED_CHARS = 1_000_000  # no prompt is this long; a template that renders more is a mistake or an attack
MAX_LOOP_STEPS = 100_000  # loop steps in one render, all loops together; the bundled templates take a few hundred
MAX_EXPONENT = 1_000
_STEPS: contextvars.ContextVar[list[int]] = contextvars.ContextVar("autoprompt_loop_steps")
_OTHER_FILES = "{% include %}, {% import %} or {% extends %}"
_KINDS_RE = re.compile(r"^\{#\s*kinds:\s*([a-z ]+?)\s*#\}\s*\n")


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """``iterable``, each step charged to the render's loop budget."""
    steps = _STEPS.get(None) or [0]
    for item in iterable:
        steps[0] += 1
        if steps[0] > MAX_LOOP_STEPS:
            raise SecurityError(f"its loops took over {MAX_LOOP_STEPS:,} steps")
        yield item


def _long(value: Any) -> bool:
    return isinstance(value, str | list | tuple)


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox with a budget of work per render (see the module contract): every
    ``{% for %}`` iterates through a counting filter, and ``*`` and ``**`` are checked first."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(undefined=jinja2.StrictUndefined, **ENV_OPTIONS)
        self.filters["_counted"] = _counted

    def _parse(self, source: str, name: str | None, filename: str | None) -> jinja2.nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(jinja2.nodes.For):
            loop.iter = jinja2.nodes.Filter(loop.iter, "_counted", [], [], None, None, lineno=loop.lineno)
        return tree

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and ((_long(left) and isinstance(right, int)) or (_long(right) and isinstance(left, int))):
            size, times = (len(left), right) if _long(left) else (len(right), left)
            if size * times > MAX_RENDERED_CHARS:
                raise SecurityError(f"'*' would build {size * times:,} items, over {MAX_RENDERED_CHARS:,}")
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"'**' takes exponents up to {MAX_EXPONENT}, got {right:g}")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    """The one Jinja environment autoprompt renders with."""
    return BoundedSandbox()


@lru_cache(maxsize=4096)
def _compile(source: str) -> jinja2.Template:
    return environment().from_string(source)


@dataclass(frozen=True)
class Template:
    """A named piece of Jinja source, with the task kinds it fits."""

    name: str
    source: str
    kinds: frozenset[str] = frozenset({"classification", "generation"})

    @classmethod
    def from_text(cls, name: str, text: str) -> Template:
        """Build a template from source; a leading ``{# kinds: ... #}`` line sets its kinds."""
        match = _KINDS_RE.match(text)
        if match:
            return cls(name, text[match.end():], frozenset(match.group(1).split()))
        return cls(name, text)

    @classmethod
    def from_path_or_text(cls, value: str | Path, name: str | None = None) -> Template:
        """Read a template file if ``value`` names one, else take ``value`` as source."""
        if isinstance(value, Path) or names_file(value):
            path = Path(value)
            return cls.from_text(name or path.stem, path.read_text(encoding="utf-8"))
        if isinstance(value, str) and value.endswith((".jinja", ".j2", ".txt")) and "{" not in value:
            raise TemplateError(f"template file {value} does not exist; check the path or pass the template text")
        return cls.from_text(name or "custom", str(value))

    def _syntax_error(self, exc: jinja2.TemplateSyntaxError) -> TemplateError:
        return TemplateError(
            f"template '{self.name}' has a Jinja syntax error on line {exc.lineno}: {exc.message}; fix the template"
        )

    def compiled(self) -> jinja2.Template:
        try:
            return _compile(self.source)
        except jinja2.TemplateSyntaxError as exc:
            raise self._syntax_error(exc) from None

    def _parsed(self) -> jinja2.nodes.Template:
        try:
            return environment().parse(self.source)
        except jinja2.TemplateSyntaxError as exc:
            raise self._syntax_error(exc) from None

    def variables(self) -> frozenset[str]:
        """Names the template reads from its context."""
        try:
            return frozenset(jinja2.meta.find_undeclared_variables(self._parsed()))
        except jinja2.TemplateSyntaxError as exc:  # e.g. an unknown filter, found while compiling
            raise self._syntax_error(exc) from None

    def check_variables(self, provided: Iterable[str], columns: Iterable[str]) -> None:
        """Raise ``TemplateError`` if the template needs a variable that nothing provides, or
        another template file (``{% include %}``, ``{% import %}``, ``{% extends %}``)."""
        if any(True for _ in jinja2.meta.find_referenced_templates(self._parsed())):
            raise TemplateError(f"template '{self.name}' uses {_OTHER_FILES}, which cannot read other files; "
                                "put the text inline")
        available = set(provided) | set(columns)
        missing = sorted(self.variables() - available)
        if missing:
            names = ", ".join(f"'{m}'" for m in missing)
            raise TemplateError(
                f"template '{self.name}' uses {names}, which the data does not have; "
                f"the data's columns are: {', '.join(columns)}. Rename the variable or pass that column with --input"
            )

    def render(self, context: Mapping[str, Any]) -> str:
        """The rendered text; every way rendering can fail (a missing variable, an unsafe
        operation, ``{% include %}`` without a loader, ``1/0``, runaway recursion, an output over
        ``MAX_RENDERED_CHARS``) is a ``TemplateError`` naming the template."""
        budget = _STEPS.set([0])
        try:
            text = self.compiled().render(**context)
        except jinja2.UndefinedError as exc:
            raise TemplateError(
                f"template '{self.name}' failed to render: {exc.message}; check its variables"
            ) from None
        except jinja2.exceptions.SecurityError as exc:
            raise TemplateError(f"template '{self.name}' tried an unsafe operation and was stopped: {exc}") from None
        except RecursionError:
            raise TemplateError(f"template '{self.name}' failed to render: endless recursion (a macro that calls "
                                "itself); fix the template") from None
        except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError, AttributeError,
                MemoryError) as exc:
            raise TemplateError(self._runtime_error(exc)) from None
        finally:
            _STEPS.reset(budget)
        if len(text) > MAX_RENDERED_CHARS:
            raise TemplateError(f"template '{self.name}' renders to {len(text):,} characters, over the limit of "
                                f"{MAX_RENDERED_CHARS:,}; shorten the template")
        return text

    def _runtime_error(self, exc: BaseException) -> str:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        if isinstance(exc, TypeError) and "no loader" in detail:
            return f"template '{self.name}' uses {_OTHER_FILES}, which cannot read other files; put the text inline"
        return f"template '{self.name}' failed to render: {type(exc).__name__}: {detail}; fix the template"
