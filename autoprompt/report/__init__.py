"""Report: the run as ``report.md`` and a self-contained ``report.html``.

Owns: ``run_record`` (reading a run directory), ``writer`` (the Markdown report, the leaderboard with
intervals), ``html`` (the page and its plots), ``files`` (``write_report``, which a finished
search calls once its run's files are written), ``mlflow_log`` (a finished run in an MLflow
experiment, its winner in the Prompt Registry; MLflow is imported only there, when called).
May import: errors, records, data, prompts, evaluate (statistics), export, storage's file
readers. Never models, the search or the proposers.
"""
