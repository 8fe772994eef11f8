"""Storage: where a run lives on disk or in a database, so it survives a crash and can be resumed.

Owns: ``run`` (the run directory: ``run.json``, the trial log, the lock, ``resume``),
``shared`` (a run shared through a database, its workers), ``feedback_file``
(``feedback.jsonl``). Every file is written through ``autoprompt.files`` (no links followed,
atomic replaces, private folders).
May import: errors, spec (the run specification), records, data, prompts, models (caches, limits); ``run`` and
``shared`` reach the search to resume or join a run.
"""
