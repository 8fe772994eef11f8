"""Prompts: the sandboxed Jinja environment, the template library, composing a candidate into a
renderable prompt, and reading what the model answered.

Owns: ``template`` (the sandbox), ``library`` (the bundled and user templates), ``compose``
(``Candidate`` and ``compose``), ``fields`` (the field names worth trying for a task),
``prompt`` (``Prompt``: render, continuations, decide),
``structured`` (JSON schemas, the JSON
in an answer, and how each API is asked for a schema), ``pattern`` (users' regular expressions,
with a time limit).
May import: records and the shared modules (errors, files, wire, answers). Knows nothing of models,
evaluation or the search.
"""
