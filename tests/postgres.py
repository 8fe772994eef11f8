"""A real PostgreSQL server on 127.0.0.1 for the shared-run tests, from Debian's postgresql
package (``.ci/run`` installs it). Started once per test session in a temporary directory,
as the ``postgres`` user when the tests run as root (``initdb`` refuses root)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def start_server() -> tuple[str, Callable[[], None]]:
    """Start a throwaway server; its URL (``postgresql://postgres@127.0.0.1:PORT``) and how to stop it.
    Raises ``FileNotFoundError`` where PostgreSQL is not installed."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not (initdb and pg_ctl):
        raise FileNotFoundError("PostgreSQL is not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="autoprompt-pg-"))  # directly under /tmp: pytest's are root-only
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    subprocess.run(_as_owner([initdb, "-D", str(data), "-A", "trust", "-U", "postgres"]), check=True,
                   capture_output=True)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=150"
    subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]),
                   check=True, capture_output=True)

    def stop() -> None:
        subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

    return f"postgresql://postgres@127.0.0.1:{port}", stop


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A server for the whole test session; skipped where PostgreSQL is not installed."""
    try:
        url, stop = start_server()
    except FileNotFoundError as exc:
        if os.environ.get("AUTOPROMPT_REQUIRE_POSTGRES"):
            pytest.fail(f"{exc}; it is required here (.ci/run installs it)")
        pytest.skip(str(exc))
    try:
        yield url
    finally:
        stop()


def new_database(server: str) -> str:
    """A fresh, empty database on ``server``; its URL."""
    import sqlalchemy as sa

    name = f"t{time.time_ns()}"
    engine = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return f"{server}/{name}"


def url_path(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"
