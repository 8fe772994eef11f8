"""Records: frozen dataclasses that the other parts pass between them.

Owns: ``example``, ``candidate`` (one set of search choices), ``message`` (a chat turn, and a
request as backends receive it), ``prediction``, ``grade``, ``analysis`` (error analysis),
``trial`` (and its one serializer), ``interval`` (an estimate with its confidence interval),
``feedback``, ``usage``, ``progress``, ``task_kind`` (labels or free text) and ``model_spec`` (a
model's name, parsed once).
May import: nothing of the project (an import contract in ``make lint`` holds it).
"""
