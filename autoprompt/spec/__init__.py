"""The run specification: every setting of a run, declared once.

Owns: ``groups`` (the records of a few settings each: ``Start``, ``Answers``, ``Search``, ``Calls``,
``Run``), ``fields`` (``RunSpec``, ``options``, ``sections``, ``group_of``), ``option`` (``Option`` and the
command-line readers), ``values`` (settings as JSON and back), ``checks`` (ranges), ``parse``
(``spec_from``, ``canonical``), ``flags`` (``add_options``, ``keys``).
May import: the error hierarchy, the records, and the models, prompts and data parts' types. Imported
by the search, storage and the face; never imports them.

Contract:
- ``RunSpec`` (a frozen pydantic model) holds every setting of a run once: the data, its columns,
  the model, the budget and the seed as fields of its own, the rest in five group records
  (``spec.search.first_rung``). Each field's ``Option`` says how the setting shows on the command line
  (flag, help, metavar, how the text is read), whether YAML configs and ``run.json`` carry it,
  whether a resume may change it, and whether it names a file. A setting's name is unique across
  groups, and outside Python every setting is flat: one flag, one YAML key, one ``run.json`` key.
  Adding a setting is one field in a group (or in ``RunSpec``): ``optimize`` takes the groups as
  keyword arguments, and the CLI flags (``add_options``), YAML configs (``config``), ``run.json``
  (``storage.run``) and shared runs (``storage.shared``) are built from ``options()`` (a test adds
  one to a copy of this package and finds it in all four).
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
from autoprompt.spec.fields import RunSpec, group_of, groups, options, sections
from autoprompt.spec.flags import add_options, keys
from autoprompt.spec.groups import Answers, Calls, Run, Search, Start
from autoprompt.spec.option import Option
from autoprompt.spec.parse import canonical, spec_from
from autoprompt.spec.values import model_settings

__all__ = ["MAX_SEED", "SECRET_OPTION", "Answers", "Calls", "Option", "Run", "RunSpec", "Search", "Start",
           "add_options", "canonical", "check_ranges", "group_of", "groups", "keys", "model_settings", "options",
           "sections", "spec_from"]
