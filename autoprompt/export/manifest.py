"""Exported prompts: the winner as a Jinja file plus a JSON manifest, and loading it back.

Contract:
- ``write_prompt(directory, prompt, metadata)`` writes ``winner.jinja`` (the
  skeleton) and ``winner.json`` (the manifest: skeleton, constants, label words,
  calibration, addressing mode, the free-text answer settings (longest answer, stop
  strings, answer pattern, JSON schema), the system message (demonstrations given as turns
  are constants, ``turn_demos``), plus scores, model, data hash, seed and version).
- ``load_prompt(path)`` reads either file's directory or the manifest itself and
  returns an ``ExportedPrompt`` that renders byte-identically to the prompt that
  was scored (``render`` the user turn, ``messages`` every message), and gives the whole
  request the search sent for an input (``openai_request``, ``anthropic_request``: the model's
  request settings from ``wire``, with the run's model options). Needs jinja2 and the
  standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoprompt.errors import ConfigError, excerpt
from autoprompt.files import make_folder, read_bytes, read_record, write_text
from autoprompt.prompts.pattern import check_pattern
from autoprompt.prompts.prompt import LEGACY_OUTPUT_TOKENS, Prompt
from autoprompt.prompts.template import ENV_OPTIONS
from autoprompt.records.message import anthropic_messages, as_dicts
from autoprompt.records.model_spec import ModelSpec
from autoprompt.wire import RequestOptions, answer_tool, response_format, sent_stops

FORMAT = "autoprompt.prompt/1"
TEMPLATE_FILE = "winner.jinja"
MANIFEST_FILE = "winner.json"
CLASSIFY_MAX_TOKENS = 12  # the API backends' longest label answer (a label's first tokens)


@dataclass(frozen=True)
class ExportedPrompt:
    """A prompt loaded from an export, ready for production use."""

    prompt: Prompt
    manifest: Mapping[str, Any] = field(hash=False)

    @property
    def input_names(self) -> tuple[str, ...]:
        return self.prompt.input_names

    @property
    def labels(self) -> list[str]:
        return list(self.prompt.label_words)

    def render(self, **inputs: str) -> str:
        """The prompt text for one input, exactly as it was scored."""
        missing = [n for n in self.prompt.input_names if n not in inputs]
        if missing:
            raise ConfigError(f"missing input(s) {', '.join(missing)}; this prompt needs {', '.join(self.input_names)}")
        return self.prompt.render(inputs)

    def messages(self, **inputs: str) -> list[dict[str, str]]:
        """The prompt as chat messages, exactly as they were scored: the system message and the
        demonstration turns (when the prompt has them), then the user turn."""
        self.render(**inputs)  # names any missing input
        return self.prompt.messages(inputs)

    def continuations(self) -> dict[str, str]:
        """For classification: the text scored after the prompt for each label."""
        return self.prompt.continuations()

    def decide(self, logprobs: Mapping[str, float]) -> str:
        """For classification: the label from per-label log-likelihoods (calibrated as scored)."""
        return self.prompt.decide(logprobs)

    def parse(self, generated: str) -> str:
        """For generation: the graded answer in the model's text, as it was scored (cut at the stop
        strings, then the answer pattern's match; "" when the pattern does not match)."""
        return self.prompt.answer(generated) or ""

    @property
    def model(self) -> ModelSpec:
        """The model the run optimized for, as ``winner.json`` names it."""
        return ModelSpec.parse(str(self.manifest.get("model", "")))

    def request_options(self) -> RequestOptions:
        """The model's request settings (reasoning or not, the ``--model-option`` values sent as given),
        read as the backend read them."""
        options = self.manifest.get("model_options") or {}
        return RequestOptions.of(self.model.name, options if isinstance(options, Mapping) else {})

    def openai_parameters(self) -> dict[str, Any]:
        """Every field but the model and the messages of the OpenAI chat request the search scored
        this prompt with: the length and sampling fields (a reasoning model's ``max_completion_tokens``
        and nothing it refuses; for labels, the first answer token's log-probabilities), the stop
        strings of a free-text answer (those with visible text: a line break is cut when the answer is
        read), its JSON schema, and the run's other model options as ``extra_body``."""
        options = self.request_options()
        labels = self.manifest.get("task", "classification") == "classification"
        stop = [] if labels else sent_stops(self.prompt.stop)
        schema = self.prompt.json_schema
        return {**options.sampling(self.answer_tokens(), logprobs=labels), **({"stop": stop} if stop else {}),
                **({"response_format": response_format(schema)} if schema else {}),
                **({"extra_body": dict(options.extra)} if options.extra else {})}

    def answer_tokens(self) -> int:
        """The longest answer the search asked for (before a reasoning model's room to think)."""
        labels = self.manifest.get("task", "classification") == "classification"
        return CLASSIFY_MAX_TOKENS if labels else self.prompt.max_output_tokens

    def openai_request(self, *, model: str | None = None, **inputs: str) -> dict[str, Any]:
        """The keyword arguments of ``openai.OpenAI().chat.completions.create`` for one input: the
        request the search scored, byte for byte (``model`` overrides the run's model name)."""
        self.render(**inputs)  # names any missing input
        return {"model": model or self.model.name, "messages": as_dicts(self.prompt.request(inputs)),
                **self.openai_parameters()}

    def anthropic_parameters(self) -> dict[str, Any]:
        """Every field but the model and the messages of the Anthropic request, as the Anthropic backend
        sent it: ``max_tokens``, the temperature and the run's model options in ``extra_body`` (recent
        SDKs no longer take ``temperature`` as a keyword), stop sequences, a JSON schema's answer tool."""
        stop, schema = self.openai_parameters().get("stop"), self.prompt.json_schema
        return {"max_tokens": self.answer_tokens(), "extra_body": {"temperature": 0.0, **self.request_options().extra},
                **({"stop_sequences": stop} if stop else {}), **(answer_tool(schema) if schema else {})}

    def anthropic_request(self, *, model: str | None = None, **inputs: str) -> dict[str, Any]:
        """The keyword arguments of ``anthropic.Anthropic().messages.create`` for one input: the request
        the search scored (``model`` overrides the run's model name)."""
        self.render(**inputs)
        return {"model": model or self.model.name, **anthropic_messages(self.prompt.request(inputs)),
                **self.anthropic_parameters()}


def write_prompt(directory: str | Path, prompt: Prompt, metadata: Mapping[str, Any]) -> Path:
    """Write the template file and the manifest; return the manifest's path."""
    out = Path(directory)
    make_folder(out)
    write_text(out / TEMPLATE_FILE, prompt.template)
    manifest = {
        "format": FORMAT,
        "template_file": TEMPLATE_FILE,
        "template": prompt.template,
        "jinja_options": ENV_OPTIONS,
        "constants": dict(prompt.constants),
        "input_names": list(prompt.input_names),
        "label_words": dict(prompt.label_words),
        "chat": prompt.chat,
        "answer_space": prompt.answer_space,
        "calibrate": prompt.calibrate,
        "calibration": dict(prompt.calibration) if prompt.calibration else None,
        "calibration_power": prompt.calibration_power,
        "max_output_tokens": prompt.max_output_tokens,
        "stop": list(prompt.stop),
        "answer_pattern": prompt.answer_pattern,
        "json_schema": json.loads(prompt.json_schema) if prompt.json_schema else None,
        "system": prompt.system,
        **metadata,
    }
    path = out / MANIFEST_FILE
    write_text(path, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return path


def load_prompt(path: str | Path) -> ExportedPrompt:
    """Load an exported prompt from its directory, ``winner.json`` or ``winner.jinja``."""
    path = Path(path)
    manifest_path = path / MANIFEST_FILE if path.is_dir() else path.with_suffix(".json")
    missing = f"no exported prompt at {path}: {manifest_path} does not exist; pass the directory written by " \
              "'autoprompt optimize --out DIR' or its winner.json"
    if (manifest_path.parent / "run.json").is_file():
        missing = f"the run in {manifest_path.parent} has not finished (no {MANIFEST_FILE} yet); finish it with: " \
                  f"autoprompt resume {manifest_path.parent}"
    manifest = read_record(manifest_path, FORMAT, what="an autoprompt export", fix="re-export the prompt",
                           missing=missing)
    template = _template_source(manifest, manifest_path)
    fields = {name: manifest.get(name, _MISSING) for name in _SHAPES}
    for name, (kinds, what) in _SHAPES.items():
        if not isinstance(fields[name], kinds):
            found = "missing" if fields[name] is _MISSING else f"a {type(fields[name]).__name__}"
            raise ConfigError(f"{manifest_path}: '{name}' must be {what}, but it is {found}; re-export the prompt")
    prompt = Prompt(
        template=template,
        constants=fields["constants"],
        input_names=tuple(str(n) for n in fields["input_names"]),
        label_words={str(k): str(v) for k, v in fields["label_words"].items()},
        chat=fields["chat"],
        answer_space=fields["answer_space"],
        calibrate=fields["calibrate"],
        calibration=fields["calibration"],
        calibration_power=_calibration_power(manifest, manifest_path),
        **_answer_settings(manifest, manifest_path),
        system=_system(manifest, manifest_path),
    )
    return ExportedPrompt(prompt, manifest)


def _calibration_power(manifest: Mapping[str, Any], manifest_path: Path) -> float:
    """The power the model's label probabilities are raised to before the calibration prior divides
    them (1 in a manifest written before there was one)."""
    power = manifest.get("calibration_power", 1.0)
    if isinstance(power, bool) or not isinstance(power, int | float) or not 0.0 < power <= 1.0:
        raise ConfigError(f"{manifest_path}: 'calibration_power' must be a number above 0 and at most 1, but it is "
                          f"{excerpt(power)}; re-export the prompt")
    return float(power)


def _system(manifest: Mapping[str, Any], manifest_path: Path) -> str:
    """The system message (none in a manifest written before there were system messages)."""
    system = manifest.get("system", "")
    if not isinstance(system, str):
        raise ConfigError(f"{manifest_path}: 'system' must be a text, but it is a {type(system).__name__}; re-export "
                          "the prompt")
    return system


def _answer_settings(manifest: Mapping[str, Any], manifest_path: Path) -> dict[str, Any]:
    """The free-text answer settings; a manifest written before they existed gets the old ones
    (16 tokens, the first line), so it parses its answers as they were scored."""
    tokens = manifest.get("max_output_tokens", LEGACY_OUTPUT_TOKENS)
    stop = manifest.get("stop", ["\n"])
    pattern = manifest.get("answer_pattern")
    schema = manifest.get("json_schema")
    if not (isinstance(tokens, int) and not isinstance(tokens, bool) and tokens > 0) \
            or not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)) \
            or not isinstance(pattern, str | None) or not (schema is None or (isinstance(schema, dict) and schema)):
        raise ConfigError(f"{manifest_path}: 'max_output_tokens', 'stop', 'answer_pattern' or 'json_schema' is "
                          "damaged (a positive number, a list of texts, a text or null, a JSON schema object or "
                          "null); re-export the prompt")
    if pattern is not None:
        check_pattern(pattern, f"{manifest_path}: 'answer_pattern' {pattern[:80]!r} (re-export the prompt)")
    return {"max_output_tokens": tokens, "stop": tuple(stop), "answer_pattern": pattern,
            "json_schema": json.dumps(schema, ensure_ascii=False, separators=(",", ":")) if schema else None}


_MISSING = object()
_SHAPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "constants": (dict, "a mapping"), "input_names": (list, "a list of column names"),
    "label_words": (dict, "a mapping of label to word"), "chat": (bool, "true or false"),
    "answer_space": (bool, "true or false"), "calibrate": (bool, "true or false"),
    "calibration": ((dict, type(None)), "a mapping or null"),
}


def _template_source(manifest: Mapping[str, Any], manifest_path: Path) -> str:
    """The template: the file the manifest names, which must lie inside the manifest's own folder
    (a manifest is untrusted: it may come from another machine), else the inline ``template``."""
    name = manifest.get("template_file", TEMPLATE_FILE)
    folder = manifest_path.parent.resolve()
    if not isinstance(name, str) or not (folder / name).resolve().is_relative_to(folder):
        raise ConfigError(f"{manifest_path} names template_file {excerpt(name)}, outside its own folder; a manifest "
                          f"may only name a file beside it (e.g. {TEMPLATE_FILE!r}); fix or re-export it")
    path = folder / name
    if path.is_file():
        try:
            return read_bytes(path).decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not UTF-8 text; re-export the prompt") from None
    if not isinstance(manifest.get("template"), str):
        raise ConfigError(f"{manifest_path}: neither {path.name} nor an inline 'template' is there; "
                          "re-export the prompt")
    return str(manifest["template"])
