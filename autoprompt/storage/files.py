"""File helpers every writer of a run directory uses: durable appends and atomic replaces.

Contract: ``append_line(path, line)`` returns once the line is flushed and fsynced;
``write_atomically(path, text)`` replaces a file through a temporary file and
``os.replace``, so a reader sees the old content or the new one, never a mix.
Standard library only.
"""

from __future__ import annotations

import os
from pathlib import Path


def append_line(path: str | Path, line: str) -> None:
    """Append one line to a file and make it durable (flushed and fsynced) before returning."""
    with open(path, "a", encoding="utf-8") as out:
        out.write(line + "\n")
        out.flush()
        os.fsync(out.fileno())


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
