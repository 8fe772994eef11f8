"""The package as ``pip install`` gets it: a clean build (no warning), the licence, the type marker,
every bundled template and data file, the version from its one source."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import autoprompt

ROOT = Path(__file__).resolve().parent.parent


def test_the_build_is_clean_and_the_wheel_holds_what_the_package_reads(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as a user builds
    out = subprocess.run([sys.executable, "-m", "build", "--wheel", "--sdist", "-o", str(tmp_path), str(ROOT)],
                         capture_output=True, text=True, env=environment)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "warning" not in (out.stdout + out.stderr).lower(), out.stdout[-3000:]
    [wheel] = tmp_path.glob("*.whl")
    assert wheel.name.startswith(f"autoprompt_search-{autoprompt.__version__}-")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "autoprompt/py.typed" in names and "autoprompt/__main__.py" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    shipped = {p.relative_to(ROOT / "templates").as_posix() for p in (ROOT / "templates").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert shipped and {f"autoprompt/templates/{name}" for name in shipped} <= names
    assert "autoprompt/datasets/intent.csv" in names
