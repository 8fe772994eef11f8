"""Files in folders autoprompt writes (run folders, export folders): never through a symbolic link,
whole or not at all, private to the user. Standard library and ``errors`` only; every part may use it.

A run folder travels (a tarball, a shared drive) and is untrusted input: a link planted in it must
not turn a report, a resume or an export into a write to another file of the user's, nor a read of one
into an export or an error message.

Contract:
- ``refuse_links(folder, what)``: a ``ConfigError`` naming the first symbolic link anywhere inside
  ``folder`` (the folder itself is the user's to name); nothing is read or written. Every command that
  writes or reads a run or export folder calls it first.
- ``write_text(path, text)`` / ``write_bytes(path, data)``: the content goes to a new file created
  exclusively (``mkstemp``, mode 0600) in ``path``'s folder, which is then ``os.replace``d onto ``path``:
  a reader sees the old file or the new one, and a link at ``path`` is replaced, never followed.
- ``append_line(path, line)``: one line appended through ``O_NOFOLLOW`` (a link is refused), flushed and
  fsynced before returning; a new file is created 0600.
- ``open_private(path)``: a read-write descriptor of ``path``, created 0600 if new, refused when it is a
  link or not a regular file (the run lock, a new cache).
- ``try_lock(handle)``: an exclusive, non-blocking OS lock on an open file, released when it is closed
  (or its process dies): ``flock`` on POSIX, ``msvcrt.locking`` on Windows (on one byte far past the
  end, so the file's text, the holder's PID, stays readable); False when another holds it.
- ``make_folder(path)``: the folder and any missing parents, the new ones 0700 (private to the user).
- ``names_file(value)``: whether a setting given as text names an existing file (one line, short) rather
  than being the text itself: the one rule for every "a text, or a file holding it" setting.
- ``read_bytes(path, links=...)``: the bytes of a regular file; a FIFO, a device or a folder is refused
  at once (nothing blocks), and with ``links=False`` so is a link.
- ``refuse_file_on_the_way(folder, what, fix)`` / ``check_output_folder(folder, ours=...)``: a folder
  that cannot be made (a file in its place), or one of the user's (not empty, holding none of ``ours``),
  is a ``ConfigError`` before anything is written.
- ``read_record(path, fmt, ...)``: a JSON file autoprompt wrote with ``"format": fmt``; absent, not
  JSON or of another format is a ``ConfigError`` naming the fix.
- ``json_lines(text, where)``: the one JSONL reader (data files, feedback files): each non-blank line
  as (number, value); a line that is not JSON is a ``DataError`` naming it as ``where(number)``.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeGuard

from autoprompt.errors import ConfigError, DataError, excerpt

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # absent on Windows, where the lstat checks below still hold
NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def refuse_links(folder: Path, what: str) -> None:
    """``ConfigError`` naming the first symbolic link inside ``folder`` (``what`` names the folder)."""
    if not folder.is_dir():
        return
    for root, folders, files in os.walk(folder, followlinks=False):
        for name in sorted([*folders, *files]):
            path = Path(root) / name
            if path.is_symlink():
                raise ConfigError(f"{what} {folder} holds a symbolic link, {path.relative_to(folder)}; autoprompt "
                                  "never writes or reads through links: remove it, or copy the folder without links")


LOCKED_BYTE = 2**31 - 2  # where a Windows lock goes: past any text the lock file holds


def try_lock(handle: int) -> bool:
    """Take an exclusive lock on the open file ``handle`` without waiting; False when another holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        position = os.lseek(handle, 0, os.SEEK_CUR)
        os.lseek(handle, LOCKED_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(handle, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        finally:
            os.lseek(handle, position, os.SEEK_SET)
        return True
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def make_folder(path: Path) -> None:
    """Create ``path`` and missing parents, the new ones 0700."""
    for folder in reversed([p for p in (path, *path.parents) if not p.exists()]):
        folder.mkdir(mode=0o700, exist_ok=True)


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically, through a private temporary file beside it."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, through a private temporary file beside it."""
    make_folder(path.parent)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def append_line(path: Path, line: str) -> None:
    """Append one line and make it durable (flushed and fsynced) before returning; never through a link."""
    handle = _open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    with os.fdopen(handle, "a", encoding="utf-8") as out:
        out.write(line + "\n")
        out.flush()
        os.fsync(out.fileno())


def open_private(path: Path) -> int:
    """A read-write descriptor of the regular file ``path``, created 0600 when new; never through a link."""
    handle = _open(path, os.O_RDWR | os.O_CREAT)
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise ConfigError(f"{path} is not a regular file; remove it")
    return handle


def names_file(value: object) -> TypeGuard[str | Path]:
    """Whether ``value`` is a path, or a one-line text under 4,096 characters naming an existing file."""
    if isinstance(value, Path):
        return value.is_file()
    return isinstance(value, str) and "\n" not in value and 0 < len(value) < 4096 and Path(value).is_file()


def read_bytes(path: Path, *, links: bool = True) -> bytes:
    """The bytes of the regular file ``path``. A FIFO, device or folder is a ``ConfigError`` at once (the
    file is opened without blocking and checked before any read); so is a link when ``links`` is False."""
    try:
        handle = os.open(path, os.O_RDONLY | NONBLOCK | (0 if links else NOFOLLOW))
    except OSError as exc:
        if exc.errno == errno.ELOOP or (not links and path.is_symlink()):
            raise ConfigError(f"{path} is a symbolic link; autoprompt does not read through links here: "
                              "replace it with the file itself") from None
        raise
    with os.fdopen(handle, "rb") as source:
        if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
            raise ConfigError(f"{path} is not a regular file (a FIFO, a device or a folder); pass a file")
        return source.read()


def _open(path: Path, flags: int) -> int:
    if path.is_symlink():
        raise ConfigError(f"{path} is a symbolic link; autoprompt never writes through links: remove it")
    try:
        return os.open(path, flags | NOFOLLOW, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(f"{path} is a symbolic link; autoprompt never writes through links: remove it") from None
        raise


def refuse_file_on_the_way(directory: Path, what: str, fix: str) -> None:
    """``ConfigError`` when ``directory``, or a folder above it, is a file (so it cannot be made)."""
    for parent in (directory, *directory.parents):
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"{what}: {parent} is a file, not a folder; {fix}")


def check_output_folder(directory: Path, *, ours: tuple[str, ...]) -> None:
    """``ConfigError`` unless ``directory`` is new, empty, or already holds autoprompt's output (one of
    ``ours``): a folder of the user's is never written into, so nothing of theirs is overwritten."""
    refuse_file_on_the_way(directory, f"{directory}", "pass a new or empty folder")
    held = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
    if held and not set(ours) & set(held):
        raise ConfigError(f"{directory} is not empty and holds no autoprompt output (it holds {', '.join(held[:4])}); "
                          "pass a new or empty folder, so nothing in it is overwritten")


def read_record(path: Path, fmt: str, *, what: str, fix: str, missing: str) -> dict[str, Any]:
    """A JSON file written by autoprompt with ``"format": fmt``; each way it can be wrong is a
    ``ConfigError``: ``missing`` when absent, ``fix`` when it is not JSON, ``what`` it should be."""
    if not path.is_file():
        raise ConfigError(missing)
    try:
        record = json.loads(read_bytes(path, links=False).decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); {fix}") from None
    if not isinstance(record, dict) or record.get("format") != fmt:
        found = record.get("format") if isinstance(record, dict) else None
        raise ConfigError(f"{path} is not {what} (format {excerpt(found)})")
    return record


def json_lines(text: str, where: Callable[[int], str]) -> Iterator[tuple[int, Any]]:
    """Each non-blank line of a JSONL text as (line number, value); a line that is not JSON is a
    ``DataError`` naming it as ``where(number)``."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where(number)} is not JSON ({exc.msg}); fix or delete that line") from None
