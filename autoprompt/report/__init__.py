"""Report: the run as ``report.md`` and a self-contained ``report.html``, and the files a
finished search writes.

Owns: ``writer`` (reading a run directory, the Markdown report, the leaderboard with
intervals), ``html`` (the page and its plots), ``files`` (``write_report``),
``result_files`` (a search result's winner, tables and reports written into its folder;
the search's result type is read, never imported at run time).
May import: errors, records, data, prompts, evaluate (statistics), export, storage's file
readers. Never models, the search or the proposers.
"""
