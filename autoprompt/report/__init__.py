"""Report: a finished run as ``report.md`` and a self-contained ``report.html``.

Owns: ``run_record`` (``RunRecord``: a finished run as records, the start and the winner as
``PromptView``, and the readers of its trial and test rows), ``writer`` (the Markdown report, the
leaderboard with intervals, and the figures and tables as plain data), ``html`` (the page and its plots).
May import: records and the shared modules. It is handed a ``RunRecord`` (``search.run_report`` reads a
run folder into one, loads its prompts and computes its intervals) and calls no model, loads no export
and computes no statistics (the import contracts in ``make lint`` hold it).
"""
