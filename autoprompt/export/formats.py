"""Export formats: the winner of a run, written for the library that will send it.

Contract:
- ``export_run(run_dir, fmt, out)`` reads a run directory written by
  ``OptimizationResult.export`` (``winner.json``, ``winner.jinja``, ``data/test.csv``)
  and writes the winner in one of ``FORMATS``:

  - ``jinja``: ``winner.jinja`` plus its manifest ``winner.json`` (``load_prompt``);
  - ``openai``: ``openai.json``, keyword arguments for ``client.chat.completions.create``;
  - ``anthropic``: ``anthropic.json``, keyword arguments for ``client.messages.create``,
    with the prompt's system message (when it has one) as ``system`` and the prompt-cache
    breakpoint the backend sent;
  - ``dspy``: ``program.json``, a saved ``dspy.Predict`` with the winner's instruction
    and demonstrations, plus the prompt it came from, which
    ``autoprompt.export.dspy_program.load_program`` turns back into the scored prompt;
  - ``promptfoo``: ``promptfooconfig.yaml``, a regression suite with the test examples (a prompt
    with a system message or demonstration turns in promptfoo's chat form, its messages as JSON).

- The message formats carry the scored messages (``chat_messages``: the system message and
  demonstration turns when the prompt has them, then the user turn) with ``{{name}}``
  placeholders for the inputs in the user turn (``flatten``); ``fill(text, inputs)``
  substitutes them in one pass, and gives back exactly the text that was scored. A template
  whose output is not its inputs pasted into fixed text (it filters or branches on them)
  cannot be flattened: that raises ``ConfigError`` and names the ``jinja`` format, which
  keeps the template.
- Requests carry the sampling parameters the API backends scored with, and a prompt that asks
  for JSON carries its schema as the backends sent it (``response_format`` for OpenAI and
  promptfoo's OpenAI provider, the forced ``answer`` tool for Anthropic); promptfoo then checks
  each answer's fields as ``json_exact`` does. Every writer returns the path of the main file it wrote.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from autoprompt.errors import ConfigError, DataError, MissingDependency, excerpt
from autoprompt.export.manifest import MANIFEST_FILE, TEMPLATE_FILE, ExportedPrompt, load_prompt
from autoprompt.files import check_output_folder, make_folder, refuse_file_on_the_way, refuse_links, write_text
from autoprompt.plugins import load, named
from autoprompt.records.message import Message, anthropic_messages, as_dicts
from autoprompt.wire import answer_tool, response_format

FORMATS = ("jinja", "openai", "anthropic", "dspy", "promptfoo")
# what the formats write: a folder holding one of these is an export's, and may be written again
EXPORTED_FILES = (MANIFEST_FILE, "openai.json", "anthropic.json", "program.json", "promptfooconfig.yaml")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def placeholder(name: str) -> str:
    return "{{" + name + "}}"


def fill(text: str, inputs: Mapping[str, str]) -> str:
    """Substitute ``{{name}}`` placeholders in one pass (inserted values are never re-read)."""
    return _PLACEHOLDER.sub(lambda m: str(inputs[m.group(1)]) if m.group(1) in inputs else m.group(0), text)


def flatten(exported: ExportedPrompt, samples: Sequence[Mapping[str, str]] = ()) -> str:
    """The prompt as fixed text with ``{{name}}`` placeholders, checked against ``samples``."""
    names = exported.input_names
    marks = {name: f"\x00{i}\x00" for i, name in enumerate(names)}
    text = exported.render(**marks)
    clashes = [placeholder(n) for n in names if placeholder(n) in text]
    if clashes:
        raise ConfigError(f"the prompt itself contains {', '.join(clashes)}, which this format uses as a "
                          "placeholder; export with --format jinja instead")
    for name, mark in marks.items():
        text = text.replace(mark, placeholder(name))
    probes = [*samples, {n: f"probe {n} {{x}} 42" for n in names}]
    for inputs in probes:
        if fill(text, inputs) != exported.render(**inputs):
            raise ConfigError("this template transforms or branches on its inputs, so it cannot be written as "
                              "fixed text with placeholders; export with --format jinja, which keeps the template")
    return text


def structured(exported: ExportedPrompt, provider: str) -> dict[str, Any]:
    """How the prompt asks for its JSON schema, in ``provider``'s request fields (none without one)."""
    schema = exported.prompt.json_schema
    if schema is None:
        return {}
    return answer_tool(schema) if provider == "anthropic" else {"response_format": response_format(schema)}


def model_name(exported: ExportedPrompt, override: str | None) -> str:
    """``override``, or the run's model without its provider prefix and base URL."""
    return override or exported.model.name


def promptfoo_provider(exported: ExportedPrompt, override: str | None) -> dict[str, Any]:
    """The run's own provider in promptfoo's terms: Anthropic's messages API, or OpenAI's chat API
    (the default, also for local runs), with the run's base URL as ``apiBaseUrl``; Azure's deployment
    with its resource host as ``apiHost``; Bedrock's and Vertex's own providers; a LiteLLM model through
    promptfoo's ``litellm`` provider (a LiteLLM proxy, at ``LITELLM_BASE_URL``)."""
    spec = exported.model
    max_tokens = exported.answer_tokens()
    if spec.provider == "azure":
        entry: dict[str, Any] = {"id": f"azure:chat:{model_name(exported, override)}", "config": {
            "temperature": 0, "max_tokens": max_tokens, **structured(exported, "openai")}}
        if spec.endpoint:
            entry["config"]["apiHost"] = urlsplit(spec.endpoint).netloc or spec.endpoint
        return entry
    if spec.provider in ("bedrock", "vertex"):  # promptfoo signs with the cloud's credentials of its environment
        return {"id": f"{spec.provider}:{model_name(exported, override)}", "config": {
            "max_tokens": max_tokens, "temperature": 0, **structured(exported, "anthropic")}}
    if spec.provider == "litellm":  # promptfoo's litellm provider asks a LiteLLM proxy (LITELLM_BASE_URL)
        return {"id": f"litellm:{model_name(exported, override)}", "config": {
            "temperature": 0, "max_tokens": max_tokens, **structured(exported, "openai")}}
    if spec.api == "anthropic":
        entry = {"id": f"anthropic:messages:{model_name(exported, override)}",
                                 "config": {"max_tokens": max_tokens, **structured(exported, "anthropic")}}
    else:
        entry = {"id": f"openai:chat:{model_name(exported, override)}",
                 "config": {"temperature": 0, "max_tokens": max_tokens, **structured(exported, "openai")}}
    if spec.endpoint:  # the spec's base URL, or its provider's (Gemini's, OpenRouter's...)
        entry["config"]["apiBaseUrl"] = spec.endpoint
    return entry


def chat_messages(exported: ExportedPrompt, samples: Sequence[Mapping[str, str]] = ()) -> list[dict[str, str]]:
    """The scored messages with ``{{name}}`` placeholders in the user turn: the system message and
    demonstration turns as they are (one that itself holds a placeholder cannot be filled safely)."""
    fixed = as_dicts(exported.prompt.conversation(""))[:-1]
    clashes = sorted({m.group(0) for message in fixed for m in _PLACEHOLDER.finditer(message["content"])
                      if m.group(1) in exported.input_names})
    if clashes:
        raise ConfigError(f"the system message or a demonstration contains {', '.join(clashes)}, which this format "
                          "uses as a placeholder; export with --format jinja instead")
    return [*fixed, {"role": "user", "content": flatten(exported, samples)}]


def write_openai(exported: ExportedPrompt, out: Path, samples: Sequence[Mapping[str, str]],
                 model: str | None) -> Path:
    request: dict[str, Any] = {"model": model_name(exported, model), "messages": chat_messages(exported, samples),
                               **exported.openai_parameters()}
    return _write_json(out / "openai.json", request)


def write_anthropic(exported: ExportedPrompt, out: Path, samples: Sequence[Mapping[str, str]],
                    model: str | None) -> Path:
    """As the Anthropic backend sent it (``ExportedPrompt.anthropic_parameters``), with placeholders."""
    conversation = tuple(Message(m["role"], m["content"]) for m in chat_messages(exported, samples))
    request = {"model": model_name(exported, model), **anthropic_messages(conversation),
               **exported.anthropic_parameters()}
    return _write_json(out / "anthropic.json", request)


def write_jinja(exported: ExportedPrompt, out: Path, run: Path) -> Path:
    make_folder(out)
    for name in (MANIFEST_FILE, TEMPLATE_FILE):
        if (run / name).resolve() != (out / name).resolve():
            shutil.copyfile(run / name, out / name, follow_symlinks=False)
    return out / MANIFEST_FILE


def write_dspy(exported: ExportedPrompt, out: Path, run: Path) -> Path:
    from autoprompt.export.dspy_program import exported_program

    write_jinja(exported, out, run)
    program = exported_program(exported)
    path = out / "program.json"
    program.save(str(path))
    return path


def write_promptfoo(exported: ExportedPrompt, out: Path, tests: Sequence[tuple[Mapping[str, str], str]],
                    model: str | None) -> Path:
    try:
        import yaml
    except ImportError:
        raise MissingDependency("pyyaml") from None
    samples = [inputs for inputs, _ in tests]
    if exported.prompt.system or exported.prompt.turns:  # promptfoo's chat form: the messages as JSON
        raw = nunjucks_text(json.dumps(chat_messages(exported, samples), ensure_ascii=False, indent=1),
                            value=lambda name: "{{ (" + name + " | dump).slice(1, -1) }}")
    else:
        raw = nunjucks_text(flatten(exported, samples))
    config = {
        "description": f"autoprompt winner ({exported.manifest.get('metric', 'accuracy')} "
                       f"{exported.manifest.get('scores', {}).get('dev', {}).get('score', '')} on dev)",
        "prompts": [{"id": "autoprompt-winner", "label": "autoprompt winner", "raw": raw}],
        "providers": [promptfoo_provider(exported, model)],
        "tests": [{"vars": dict(inputs), "assert": [assertion(exported, target)]} for inputs, target in tests],
    }
    path = out / "promptfooconfig.yaml"
    write_text(path, "# Regression suite for the autoprompt winner: npx promptfoo eval -c promptfooconfig.yaml\n"
               + yaml.dump(config, Dumper=_literal_dumper(yaml), sort_keys=False, allow_unicode=True, width=1000))
    return path


def _literal_dumper(yaml: Any) -> Any:
    """A safe YAML dumper that writes multi-line strings as literal blocks, for people to read."""

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: Any, value: str) -> Any:
        style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.split("\n")) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper


def nunjucks_text(text: str, value: Callable[[str], str] = placeholder) -> str:
    """Our ``{{name}}`` text as a Nunjucks template: literal template syntax is wrapped in raw blocks,
    and each placeholder becomes ``value(name)`` (itself by default; inside a JSON string, the
    value escaped as JSON)."""
    parts = re.split(r"(\{\{\w+\}\})", text)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 1:
            out.append(value(part[2:-2]))
        elif re.search(r"\{[{%#]|[}%#]\}", part):
            out.append("{% raw %}" + part.replace("{% endraw %}", "{% endraw %}{{ '{% endraw %}' }}{% raw %}")
                       + "{% endraw %}")
        else:
            out.append(part)
    return "".join(out)


# json_exact in JavaScript: the answer's JSON has the target's fields, values in normal form (lowercase,
# ASCII punctuation dropped, spaces collapsed: ``answers.normalize_text``)
JSON_SAME = (
    "(() => { const norm = v => (typeof v === 'string' ? v : JSON.stringify(v)).toLowerCase()"
    ".replace(/[!-\\/:-@\\[-`{-~]/g, '').split(/\\s+/).filter(Boolean).join(' '); "
    "const flat = (v, p) => v !== null && typeof v === 'object' ? (Array.isArray(v) ? v.flatMap(x => flat(x, p + '[]'))"
    " : Object.entries(v).flatMap(([k, x]) => flat(x, p + '/' + k))) : [p + '=' + norm(v)]; "
    "let answer; try { answer = JSON.parse(output); } catch (e) { return false; } "
    "return JSON.stringify(flat(answer, '').sort()) === JSON.stringify(flat(JSON.parse(TARGET), '').sort()); })()"
)


def assertion(exported: ExportedPrompt, target: str) -> dict[str, Any]:
    """The promptfoo check for one test: the label word first, or the reference answer (for a
    JSON answer, the same fields and values as the target's, as ``json_exact`` compares them)."""
    words = exported.prompt.label_words
    if words:
        word = words.get(target, target).strip().lower()
        return {"type": "javascript", "value": f"output.trim().toLowerCase().startsWith({json.dumps(word)})"}
    if exported.manifest.get("metric") == "contains":
        return {"type": "icontains", "value": target}
    if exported.prompt.json_schema is not None:
        return {"type": "javascript", "value": JSON_SAME.replace("TARGET", json.dumps(target))}
    return {"type": "javascript", "value": f"output.trim().split('\\n')[0].trim() === {json.dumps(target.strip())}"}


def test_examples(run: Path, exported: ExportedPrompt) -> list[tuple[dict[str, str], str]]:
    """The run's test examples as (inputs, target); empty when the run kept none."""
    path = run / "data" / "test.csv"
    if not path.is_file():
        return []
    import csv

    target, names = str(exported.manifest["target"]), list(exported.input_names)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:  # as the run wrote it: every cell a string
            reader = csv.DictReader(handle)
            missing = [name for name in (*names, target) if name not in (reader.fieldnames or ())]
            if missing:
                raise DataError(f"{path} has no column {missing[0]!r}; export from the run folder as the run left it")
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path} ({exc}); export from the run folder as the run left it") from None
    if any(None in row or None in row.values() for row in rows):
        raise DataError(f"{path} has rows with more or fewer cells than its header; export from the run folder "
                        "as the run left it")
    return [({name: row[name] if row[name].strip() else "" for name in names}, row[target].strip()) for row in rows]


def export_run(run: str | Path, fmt: str, out: str | Path | None = None, *, model: str | None = None) -> Path:
    """Write the winner of the run in ``run`` as ``fmt`` under ``out`` (default ``RUN/export/FMT``)."""
    run = Path(run)
    plugged = load("autoprompt.exporters", fmt) if fmt not in FORMATS else None
    if fmt not in FORMATS and plugged is None:
        raise ConfigError(f"unknown export format {excerpt(fmt)}; choose one of {', '.join(formats())}")
    refuse_links(run, "run folder")
    exported = load_prompt(run)
    target = Path(out) if out is not None else run / "export" / fmt
    refuse_file_on_the_way(target, f"export --out {target}", "pass a folder")
    if out is not None:  # a folder of the user's is never written into, as with optimize --out
        check_output_folder(target, ours=EXPORTED_FILES)
    refuse_links(target, "export folder")
    tests = test_examples(run, exported)
    samples = [inputs for inputs, _ in tests]
    writers: dict[str, Callable[[Path], Path]] = {
        "jinja": lambda to: write_jinja(exported, to, run),
        "openai": lambda to: write_openai(exported, to, samples, model),
        "anthropic": lambda to: write_anthropic(exported, to, samples, model),
        "dspy": lambda to: write_dspy(exported, to, run),
        "promptfoo": lambda to: write_promptfoo(exported, to, tests, model),
    }
    if fmt in writers:
        return _written_whole(target, writers[fmt])
    exporter = plugged
    assert exporter is not None
    return _written_whole(target, lambda to: Path(exporter(exported, to)))


def formats() -> list[str]:
    """The built-in formats and those installed as ``autoprompt.exporters`` plug-ins."""
    return [*FORMATS, *(name for name in named("autoprompt.exporters") if name not in FORMATS)]


def _written_whole(target: Path, write: Callable[[Path], Path]) -> Path:
    """Run ``write`` into a fresh temporary folder beside ``target``, then move what it wrote into
    ``target`` (files of the same names are replaced, others left alone). A write that fails leaves
    ``target`` as it was and no temporary folder behind."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise ConfigError(f"cannot write the export to {target}: {exc.strerror or exc}; "
                          "pass a writable --out") from None
    try:
        written = write(temporary)
        for path in sorted(p for p in temporary.rglob("*") if p.is_file()):
            destination = target / path.relative_to(temporary)
            make_folder(destination.parent)
            os.replace(path, destination)  # a link at the destination is replaced, never followed
        return target / written.relative_to(temporary)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _write_json(path: Path, payload: Mapping[str, Any]) -> Path:
    write_text(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return path
