"""Storage: where a run lives on disk or in a database, so it survives a crash and can be resumed.

Owns: ``run`` (the run directory: ``run.json``, the lock, its input copies), ``trial_log``
(``trials.log.jsonl``),
``shared`` (a run shared through a database, its workers), ``jobs`` (a shared refinement run's model
requests, waiting for a worker), ``feedback_file``
(``feedback.jsonl``). Every file is written through ``autoprompt.files`` (no links followed,
atomic replaces, private folders).
May import: errors, files, spec (the run specification), records, data, models (the response cache), the
proposers' component space (a shared run's trials, read back as candidates). Never the search, evaluation,
exports or reports (an import contract in ``make lint`` holds it).
"""
