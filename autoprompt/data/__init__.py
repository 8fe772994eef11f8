"""Data: loading CSV/JSONL/JSON files and DataFrames, the bundled tasks, splits, selection rows.

Owns: ``dataset`` (``Dataset``, ``Split``, ``load_data``, the checks on bad files), ``bundled`` (the
bundled tasks and their files), ``splits`` (``split``, ``selection_rows``, ``hold_out``, leak checks).
May import: errors, records. Knows nothing of prompts, models or the search.
"""
