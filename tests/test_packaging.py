"""The package as ``pip install`` gets it: a clean build (no warning), the licence, the type marker,
every bundled template and data file, the version from its one source; and the base install (no extra)
in a fresh venv, running the config ``autoprompt init`` writes against an OpenAI-compatible server."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import autoprompt

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel and sdist as a user builds them, and what the build printed."""
    out_dir = tmp_path_factory.mktemp("dist")
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as a user builds
    out = subprocess.run([sys.executable, "-m", "build", "--wheel", "--sdist", "-o", str(out_dir), str(ROOT)],
                         capture_output=True, text=True, env=environment)
    assert out.returncode == 0, out.stderr[-2000:]
    return out_dir, out.stdout + out.stderr


def test_the_build_is_clean_and_the_wheel_holds_what_the_package_reads(built: tuple[Path, str]) -> None:
    out_dir, printed = built
    assert "warning" not in printed.lower(), printed[-3000:]
    [wheel] = out_dir.glob("*.whl")
    assert wheel.name.startswith(f"autoprompt_search-{autoprompt.__version__}-")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "autoprompt/py.typed" in names and "autoprompt/__main__.py" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    shipped = {p.relative_to(ROOT / "templates").as_posix() for p in (ROOT / "templates").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert shipped and {f"autoprompt/templates/{name}" for name in shipped} <= names
    assert "autoprompt/datasets/intent.csv" in names


def test_the_base_install_runs_the_config_init_writes_against_an_openai_compatible_server(
        built: tuple[Path, str], tmp_path: Path) -> None:
    """``pip install autoprompt-search`` (no extra) in a fresh venv: ``autoprompt init`` writes a config on a
    hosted model (the local models are not installed), and ``autoprompt optimize --config`` runs it with no
    other flag, the server named by OpenAI's own ``OPENAI_BASE_URL``."""
    from tests.servers import LatencyServer

    venv, uv = tmp_path / "venv", Path(sys.executable).with_name("uv")
    subprocess.run([str(uv), "venv", "-q", "-p", sys.executable, str(venv)], check=True)
    [wheel] = built[0].glob("*.whl")
    installed = subprocess.run([str(uv), "pip", "install", "-q", str(wheel)], capture_output=True, text=True,
                               env={**os.environ, "VIRTUAL_ENV": str(venv)})
    assert installed.returncode == 0, installed.stderr[-2000:]
    cli = str(venv / "bin" / "autoprompt")
    with LatencyServer(0.0) as api:
        environment = {**os.environ, "OPENAI_BASE_URL": f"{api.url}/v1", "OPENAI_API_KEY": "sk-loopback"}
        environment.pop("PYTHONPATH", None)  # the venv's own package, not this checkout
        init = subprocess.run([cli, "init"], cwd=tmp_path, capture_output=True, text=True, env=environment)
        assert init.returncode == 0, init.stderr
        assert "model: openai:" in (tmp_path / "run.yaml").read_text()
        run = subprocess.run([cli, "optimize", "--config", "run.yaml"], cwd=tmp_path, capture_output=True,
                             text=True, env=environment, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
        assert api.requests > 0 and (tmp_path / "runs" / "sentiment" / "winner.json").is_file()
