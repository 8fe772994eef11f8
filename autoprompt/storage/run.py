"""Run directories: where a run lives, so that it survives a crash and can be resumed.

Contract:
- ``RunDirectory(path)`` holds, once a run has started in it:

  - ``run.json``: the run's arguments, written before any model call (data given as a
    DataFrame or ``Dataset`` is saved beside it as ``data/source.jsonl``). API keys are
    never written: they come from the environment. Every path in it is the folder's own
    (``$RUN/...``): each input file (data, dev and test files, a template, system message,
    schema, clarifier or context file) is copied into ``inputs/`` when the run starts, with its
    SHA-256, and the run reads the copy from then on. A ``run.json`` naming an input file
    outside its folder (a received folder may) is refused, never read.
  - ``cache.sqlite``: every model answer, committed as it arrives (WAL).
  - ``trials.log.jsonl``: one line per finished trial (candidate, score of each dev
    example, operator and parent, timings), appended and flushed as it finishes.
  - ``feedback.jsonl``: reviewers' records (``autoprompt review``); every run and
    resume in the directory reads them (``feedback(given)``) and saves them in ``run.json``.
  - at the end, the export: ``winner.json``, ``report.html``, ``study.sqlite3``...

- ``lock()`` lets one process at a time run in a directory; a second one gets
  ``RunInUse`` naming the PID that holds it. It is an OS file lock, so a killed
  process leaves no stale lock behind.
- ``resume(directory)`` (``search.resume``) runs the saved arguments again against the same cache. Every
  answer that arrived before the interruption is replayed for free (charged to the
  budget as before, so the search takes the same path), requests that were in flight
  are asked again, and with a deterministic model the result equals that of an
  uninterrupted run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from autoprompt.errors import ConfigError, RunInUse, excerpt
from autoprompt.files import (
    make_folder,
    names_file,
    open_private,
    read_bytes,
    read_record,
    refuse_file_on_the_way,
    refuse_links,
    try_lock,
    write_bytes,
    write_text,
)
from autoprompt.storage.trial_log import TrialLog

ARGUMENTS_FILE = "run.json"
TRIAL_LOG = "trials.log.jsonl"
CACHE_FILE = "cache.sqlite"
LOCK_FILE = "run.lock"
INPUTS = "inputs"  # the folder's copies of the run's input files
RUN_PREFIX = "$RUN/"  # a path saved inside the run folder, relative to wherever the folder is
FORMAT = "autoprompt.run/1"


class SavedSettings(Protocol):
    """How a run's saved arguments compare with a new run's: the search's run specification."""

    def written(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """``arguments`` (as some version saved them) as this version writes them."""
        ...

    def resumable(self) -> Collection[str]:
        """The settings a resume may change (the limits, the feedback); a run with any other changed is
        another run."""
        ...


@dataclass(frozen=True)
class RunDirectory:
    """A run's directory and the files in it. ``settings`` compares saved arguments with a new run's;
    ``answers(cache)`` counts the answers a cache file holds (the search gives both: the run specification
    and the response cache are its parts, not storage's)."""

    path: Path
    settings: SavedSettings
    answers: Callable[[Path], int]

    @property
    def cache(self) -> Path:
        return self.path / CACHE_FILE

    @property
    def log(self) -> Path:
        return self.path / TRIAL_LOG

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the directory for this process; ``RunInUse`` if another one holds it (``files.try_lock``:
        an OS lock, so a killed process leaves no stale lock behind, on POSIX and Windows alike)."""
        refuse_links(self.path, "run folder")
        try:
            make_folder(self.path)
            handle = os.fdopen(open_private(self.path / LOCK_FILE), "r+")
        except OSError as exc:
            raise ConfigError(f"cannot write the run to {self.path}: {exc.strerror or exc}; pass a writable --out "
                              "folder") from None
        try:
            if not try_lock(handle.fileno()):
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise RunInUse(f"run {self.path} is in use by PID {holder}; wait for it to finish, stop it, "
                               "or use another --out directory") from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            handle.close()

    def claim(self, arguments: Mapping[str, Any], frames: Mapping[str, str], hashes: Mapping[str, str],
              copies: Mapping[Path, bytes] | None = None) -> None:
        """Make this folder the run's, once ``check`` has passed: write the in-memory data
        (``frames``: name -> JSONL text), the input files' ``copies`` (path here -> bytes) and
        ``run.json`` with the data ``hashes``."""
        try:
            make_folder(self.path)
            for name, text in frames.items():
                write_text(self.data_path(name), text)
            for path, data in (copies or {}).items():
                write_bytes(path, data)
            self.save_arguments(arguments, hashes)
        except OSError as exc:
            raise ConfigError(f"cannot write the run to {self.path}: {exc.strerror or exc}; pass a writable --out "
                              "folder") from None

    def check(self, arguments: Mapping[str, Any], hashes: Mapping[str, str]) -> None:
        """``ConfigError`` unless the folder is new, empty, or holds this same run (same arguments but for
        the limits and feedback, which a resume may change) whose data files are unchanged."""
        refuse_file_on_the_way(self.path, f"--out {self.path}", "pass a new or empty folder")
        refuse_links(self.path, "run folder")
        held = sorted(p.name for p in self.path.iterdir() if p.name != LOCK_FILE) if self.path.is_dir() else []
        if not held:
            return
        if ARGUMENTS_FILE not in held:
            names = ", ".join(held[:4])
            raise ConfigError(f"--out {self.path} is not empty and is not an autoprompt run (it holds {names}); pass "
                              "a new or empty folder, so nothing in it is overwritten")
        record = self.record()
        saved = self._as_written(record)
        may_change = set(self.settings.resumable())
        differ = sorted(k for k in {*saved, *arguments} - may_change if saved.get(k) != arguments.get(k))
        if differ and self.holds_work():
            raise ConfigError(f"{self.path} holds another run (its {', '.join(differ[:5])} differ); continue it with "
                              f"'autoprompt resume {self.path}', or pass a new --out folder")
        saved_hashes = dict(record.get("hashes") or {})
        unhashed = sorted(name for name in hashes if name in DATA_FILES and not saved_hashes.get(name))
        if unhashed and self.holds_work():
            raise ConfigError(f"{self.path / ARGUMENTS_FILE} holds no hash of the {unhashed[0]} file, so its answers "
                              "cannot be checked against the data; start a new run with another --out")
        for name, digest in saved_hashes.items():
            if hashes.get(name) not in (None, digest):
                path = saved.get(name)
                shown = f"{name} file {path}" if isinstance(path, str) else f"{name} file"
                raise ConfigError(f"the {shown} changed since the run in {self.path} started (its SHA-256 differs "
                                  "from run.json's), so the answers saved for it would not match; restore it, or start "
                                  "a new run with another --out")

    def holds_work(self) -> bool:
        """Whether a run here computed anything (a logged trial, a cached answer, an export); a run
        that failed before its first answer (a wrong model spec, say) may be replaced by another."""
        if (self.path / "winner.json").exists() or TrialLog(self.log).read():
            return True
        return self.cache.is_file() and self.answers(self.cache) > 0

    def save_arguments(self, arguments: Mapping[str, Any], hashes: Mapping[str, str]) -> None:
        """Write ``run.json``; a log of a run with other limits is moved aside first."""
        record = {"format": FORMAT, "arguments": dict(arguments), "hashes": dict(hashes)}
        path = self.path / ARGUMENTS_FILE
        current = self.record() if path.is_file() and self.log.is_file() else None
        if current is not None and (self._as_written(current) != record["arguments"]
                                    or current.get("hashes") != record["hashes"]):
            number = 1 + sum(1 for _ in self.path.glob(f"{TRIAL_LOG}.*"))
            self.log.rename(self.path / f"{TRIAL_LOG}.{number}")
        write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")

    def record(self) -> dict[str, Any]:
        """``run.json`` as written, checked for shape: every way it can be wrong is a ``ConfigError``."""
        refuse_links(self.path, "run folder")
        record = read_record(self.path / ARGUMENTS_FILE, FORMAT, what="a run written by this version",
                             fix="the run cannot be resumed; start a new one with another --out",
                             missing=f"{self.path} holds no run ({ARGUMENTS_FILE} is missing); "
                                     "start one with: autoprompt optimize ... --out DIR")
        if not isinstance(record.get("arguments"), dict) or not isinstance(record.get("hashes", {}), dict):
            raise ConfigError(f"{self.path / ARGUMENTS_FILE} is damaged (its arguments are not a mapping); "
                              "start a new run with another --out")
        return record

    def arguments(self) -> dict[str, Any]:
        """The run's saved arguments, each path saved inside the folder (``$RUN/...``) taken inside the folder
        where it is now; an input file named outside it is a ``ConfigError``."""
        saved = {name: self.here(value) for name, value in self.record()["arguments"].items()}
        self._refuse_outside_inputs(saved)
        return saved

    def here(self, value: Any) -> Any:
        """``value`` with every ``$RUN/...`` path made a path inside this folder; one that climbs out of it
        (``$RUN/../x``) is a ``ConfigError``."""
        if isinstance(value, list):
            return [self.here(v) for v in value]
        if not (isinstance(value, str) and value.startswith(RUN_PREFIX)):
            return value
        path = (self.path / value.removeprefix(RUN_PREFIX)).resolve()
        if not path.is_relative_to(self.path.resolve()):
            raise ConfigError(f"{self.path / ARGUMENTS_FILE} names {value[:80]!r}, outside the run folder; start a "
                              "new run with another --out")
        return str(path)

    def _outside(self, value: Any) -> bool:
        """Whether ``value`` names a file that is not inside this folder."""
        return names_file(value) and not Path(value).resolve().is_relative_to(self.path.resolve())

    def _refuse_outside_inputs(self, arguments: Mapping[str, Any]) -> None:
        """``ConfigError`` when an input setting names a file outside this folder: a run keeps copies of its
        inputs, so such a ``run.json`` was not written by a run here, and the file is not read."""
        for name, _, value in input_settings(arguments):
            if self._outside(value):
                raise ConfigError(f"{self.path / ARGUMENTS_FILE} names the {name} file {excerpt(str(value))}, "
                                  "outside the run folder (a run keeps copies of its inputs inside it); start a "
                                  "new run with another --out")

    def keep_inputs(self, arguments: Mapping[str, Any]) -> tuple[dict[str, Any], dict[Path, bytes]]:
        """``arguments`` with each input file outside this folder named by its copy in ``inputs/``
        (``$RUN/inputs/data.csv``, ``$RUN/inputs/clarifiers-0.jinja``...), and the copies to write: the
        copy's path (as ``here`` gives it) -> the file's bytes, read once, so ``file_hashes`` hashes
        exactly what is copied."""
        kept = {name: list(value) if isinstance(value, list) else value for name, value in arguments.items()}
        copies: dict[Path, bytes] = {}
        for name, index, value in input_settings(arguments):
            if self._outside(value):
                saved = f"{RUN_PREFIX}{INPUTS}/{name}{'' if index is None else f'-{index}'}{Path(value).suffix}"
                copies[Path(self.here(saved))] = read_bytes(Path(value))
                if index is None:
                    kept[name] = saved
                else:
                    kept[name][index] = saved
        return kept, copies

    def portable(self, value: Any) -> Any:
        """``value`` with every absolute path inside this folder written as ``$RUN/...``, so the folder
        may move: a resume then reads and writes where the folder is, never where it was."""
        if isinstance(value, list):
            return [self.portable(v) for v in value]
        if not (isinstance(value, str) and os.path.isabs(value) and "\n" not in value):
            return value
        root, path = self.path.resolve(), Path(value)
        return RUN_PREFIX + path.relative_to(root).as_posix() if path.is_relative_to(root) else value

    def _as_written(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """``record``'s settings as this version writes them, so an older run.json compares equal."""
        written = self.settings.written(record["arguments"])
        return {name: self.portable(value) for name, value in written.items()}

    def is_new(self) -> bool:
        """Whether the folder does not exist yet, or is empty."""
        return not self.path.is_dir() or not any(self.path.iterdir())

    def discard(self, *, folder: bool) -> None:
        """Remove what a run that computed nothing left (its arguments, empty cache, saved data, lock):
        for a folder that was new, so a run that failed before its first answer leaves no folder behind.
        Only autoprompt's own names are removed, and the folder itself only when ``folder`` (it was created
        by this run) and nothing else is left in it."""
        names = (ARGUMENTS_FILE, TRIAL_LOG, LOCK_FILE, *(CACHE_FILE + end for end in ("", "-wal", "-shm", "-journal")))
        data, inputs = self.path / "data", self.path / INPUTS
        kept = [*(self.path / name for name in names), *(data / f"{name}.jsonl" for name in DATA_FILES),
                *(p for p in (inputs.iterdir() if inputs.is_dir() and not inputs.is_symlink() else [])
                  if p.name.startswith((*DATA_FILES, *TEXT_FILES)))]
        for path in kept:
            if path.is_file() and not path.is_symlink():
                path.unlink()
        for made in (data, inputs, self.path) if folder else (data, inputs):
            if made.is_dir() and not made.is_symlink() and not any(made.iterdir()):
                made.rmdir()

    def data_path(self, name: str) -> Path:
        """Where an argument given as a DataFrame or ``Dataset`` is saved."""
        return (self.path / "data" / f"{name}.jsonl").resolve()

    def feedback(self, given: Any = None) -> list[Any]:
        """Feedback given as an argument, then the records of ``feedback.jsonl`` here, each once."""
        from autoprompt.storage.feedback_file import FEEDBACK_FILE, load_feedback

        records = load_feedback(given or ())
        if (self.path / FEEDBACK_FILE).is_file():
            records += load_feedback(self.path / FEEDBACK_FILE)
        return [r for i, r in enumerate(records) if r not in records[:i]]

    def trial_log(self) -> TrialLog:
        return TrialLog(self.log)


def data_hashes(arguments: Mapping[str, Any], frames: Mapping[str, str],
                contents: Mapping[Path, bytes] | None = None) -> dict[str, str]:
    """SHA-256 of every data file the arguments name, and of every in-memory table as it is saved."""
    return {**file_hashes(arguments, contents), **{name: _sha256(text.encode()) for name, text in frames.items()}}


DATA_FILES = ("data", "dev", "test")
TEXT_FILES = ("template", "system", "json_schema", "clarifiers", "context")  # a text, or a file holding it


def input_settings(arguments: Mapping[str, Any]) -> Iterator[tuple[str, int | None, Any]]:
    """Every value of a setting that may name an input file: (setting, its index in a list or None, value)."""
    for name in (*DATA_FILES, *TEXT_FILES):
        values = arguments.get(name)
        if isinstance(values, list | tuple):
            yield from ((name, i, value) for i, value in enumerate(values))
        elif name in arguments:
            yield name, None, values


def file_hashes(arguments: Mapping[str, Any], contents: Mapping[Path, bytes] | None = None) -> dict[str, str]:
    """SHA-256 of each data file the arguments name (bundled task names and objects have none), and of each
    template, system message, schema, clarifier or context block given as a file (``clarifiers[0]``...);
    a file in ``contents`` (a copy about to be written: path -> bytes) is hashed from those bytes."""
    out = {}
    for name, index, value in input_settings(arguments):
        key = name if index is None else f"{name}[{index}]"
        if isinstance(value, str) and contents and Path(value) in contents:
            out[key] = _sha256(contents[Path(value)])
        elif names_file(value):
            out[key] = _sha256(read_bytes(Path(value)))
    return out


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
