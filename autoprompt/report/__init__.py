"""Report: the run as ``report.md`` and a self-contained ``report.html``.

Owns: ``writer`` (reading a run directory, the Markdown report, the leaderboard with
intervals), ``html`` (the page and its plots), ``files`` (``write_report``, which a finished
search calls once its run's files are written).
May import: errors, records, data, prompts, evaluate (statistics), export, storage's file
readers. Never models, the search or the proposers.
"""
