"""Storage: where a run lives on disk or in a database, so it survives a crash and can be resumed.

Owns: ``run`` (the run directory: ``run.json``, the lock, its input copies), ``trial_log``
(``trials.log.jsonl``),
``shared`` (a run shared through a database, its workers), ``jobs`` (a shared refinement run's model
requests, waiting for a worker), ``feedback_file``
(``feedback.jsonl``). Every file is written through ``autoprompt.files`` (no links followed,
atomic replaces, private folders).
May import: records and the shared modules (errors, files). The search gives it what it must not know
itself: how saved arguments compare (``run.SavedSettings``), how many answers a cache file holds, and the
search space that turns a shared run's trials back into candidates. Never the run specification, data,
models, the search, evaluation, exports or reports (the import contracts in ``make lint`` hold it).
"""
