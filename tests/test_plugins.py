"""Plug-ins by entry point: a backend, an operator, a metric and an export format, each in its
own tiny package (a module plus its ``.dist-info`` with ``entry_points.txt``, as pip installs
it), found by ``importlib.metadata`` on ``PYTHONPATH`` and used from the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from autoprompt.plugins import GROUPS

PACKAGES = {
    "parrot_backend": ("autoprompt.backends", "parrot", "make", '''
from autoprompt.models.backend import FakeBackend


def make(spec):
    return FakeBackend(name=spec)
'''),
    "demo_operator": ("autoprompt.operators", "flip", "FlipOperator", '''
from dataclasses import replace

from autoprompt.propose.operator import Child


class FlipOperator:
    family = "flip"

    def propose(self, parent, context):
        return [Child(replace(parent.candidate, n_demos=1, demo_seed=97), "flip.demo")]
'''),
    "lenient_metric": ("autoprompt.metrics", "lenient", "lenient", '''
def lenient(example, output):
    return float(example.target.lower() in output.lower())
'''),
    "plaintext_exporter": ("autoprompt.exporters", "plaintext", "write", '''
from pathlib import Path


def write(exported, out):
    out.mkdir(parents=True, exist_ok=True)
    path = Path(out) / "prompt.txt"
    path.write_text(exported.render(**{name: "{" + name + "}" for name in exported.input_names}))
    return path
'''),
}


def install(root: Path) -> None:
    """Each package as pip would leave it: the module, and a dist-info naming its entry point."""
    for package, (group, name, attribute, source) in PACKAGES.items():
        (root / f"{package}.py").write_text(source.lstrip())
        info = root / f"{package}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[{group}]\n{name} = {package}:{attribute}\n")


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "autoprompt.cli", *args], capture_output=True, text=True, env=env)


def test_a_backend_an_operator_a_metric_and_an_exporter_plug_in_by_entry_point(tmp_path: Path,
                                                                            keyword_csv: Path) -> None:
    plugins = tmp_path / "site"
    plugins.mkdir()
    install(plugins)
    assert {group for group, *_ in PACKAGES.values()} == set(GROUPS)
    out = tmp_path / "run"
    run = cli(plugins, "optimize", "--data", str(keyword_csv), "--input", "text", "--target", "label",
              "--model", "parrot:loud", "--metric", "lenient", "--operators", "move,flip", "--budget", "300",
              "--seed", "0", "--out", str(out))
    assert run.returncode == 0, run.stderr
    winner = json.loads((out / "winner.json").read_text())
    assert winner["model"] == "parrot:loud" and winner["metric"] == "lenient"
    operators = {json.loads(line)["operator"] for line in (out / "trials.jsonl").read_text().splitlines()}
    assert "flip.demo" in operators, operators
    exported = cli(plugins, "export", str(out), "--format", "plaintext")
    assert exported.returncode == 0, exported.stderr
    text = (out / "export" / "plaintext" / "prompt.txt").read_text()
    assert "{text}" in text
    unknown = cli(plugins, "optimize", "--data", str(keyword_csv), "--input", "text", "--target", "label",
                  "--model", "parrot", "--operators", "move,unheard", "--out", str(tmp_path / "x"))
    assert unknown.returncode == 2 and "flip" in unknown.stderr and "unheard" in unknown.stderr


def test_a_plug_in_that_fails_to_load_is_one_line_naming_it(tmp_path: Path, keyword_csv: Path) -> None:
    plugins = tmp_path / "site"
    info = plugins / "broken-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[autoprompt.metrics]\nbroken = missing_module:score\n")
    run = cli(plugins, "optimize", "--data", str(keyword_csv), "--input", "text", "--target", "label",
              "--model", "fake", "--metric", "broken", "--out", str(tmp_path / "run"))
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert "plug-in 'broken' (missing_module:score) failed to load" in run.stderr
