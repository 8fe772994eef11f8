"""Data: loading CSV/JSONL/JSON files and DataFrames, the bundled tasks, splits, selection rows.

Owns: ``dataset`` (``Example``, ``Dataset``, ``load_data``, ``split``, ``selection_rows``,
``hold_out``, the checks on bad files).
May import: errors, records. Knows nothing of prompts, models or the search.
"""
