"""The run specification: every setting of a run, declared once.

Owns: ``fields`` (``RunSpec`` and ``options``), ``option`` (``Option`` and the command-line readers),
``values`` (settings as JSON and back), ``checks`` (ranges), ``parse`` (``spec_from``, ``canonical``),
``flags`` (``add_options``, ``SECTIONS``, ``keys``).
May import: the error hierarchy, the records, and the models, prompts and data parts' types. Imported
by the search, storage and the face; never imports them.

Contract:
- ``RunSpec`` (a frozen pydantic model) has one field per setting of a run. Each field's
  ``Option`` says how the setting shows on the command line (flag, help, metavar, how the
  text is read), whether YAML configs and ``run.json`` carry it, whether a resume may change
  it, and whether it names a file. Adding a setting is one field in ``fields``: ``optimize``'s keyword
  arguments are pinned to these fields by a test, and the CLI flags (``add_options``), YAML
  configs (``config``), ``run.json`` (``storage.run``) and shared runs (``storage.shared``)
  are built from them.
- ``spec_from(values, where)`` is the one parser: it accepts field names, the flag spellings
  (``input``, ``clarifier``, ``out``; dashes or underscores) and the JSON forms ``record``
  writes, and turns every problem into one ``ConfigError`` that names ``where``, the
  setting, the range or type, and the value it got. Ranges are checked before types, so a
  number out of range gets the same message from every door.
- ``RunSpec.record(data_paths)`` is the one serializer: the JSON that ``run.json`` and shared
  runs keep. Price tables and template libraries are kept by value, a cache as its file,
  in-memory tables as the paths in ``data_paths``, and objects that cannot be kept (a backend
  or metric object) as ``{"object": NAME}``, which a resume asks for again.
  ``spec_from(spec.record(...))`` equals ``spec`` for every setting but those objects.
"""

from autoprompt.spec.checks import MAX_SEED, SECRET_OPTION, check_ranges
from autoprompt.spec.fields import RunSpec, options
from autoprompt.spec.flags import SECTIONS, add_options, keys
from autoprompt.spec.option import Option
from autoprompt.spec.parse import canonical, spec_from
from autoprompt.spec.values import model_settings

__all__ = ["MAX_SEED", "SECRET_OPTION", "SECTIONS", "Option", "RunSpec", "add_options", "canonical", "check_ranges",
           "keys", "model_settings", "options", "spec_from"]
