"""Run configs: the starter file validates and runs; bad files are one clear error naming the key."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from autoprompt.cli import main
from autoprompt.config import HOSTED_STARTER_MODEL, STARTER, load_config, starter
from autoprompt.errors import ConfigError


def test_init_writes_a_starter_that_validates_and_refuses_to_overwrite(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.yaml"
    assert main(["init", str(path)]) == 0
    assert path.read_text() == starter()  # STARTER, or on a base install the same file on a hosted model
    config = load_config(path)
    model = "local" if starter() == STARTER else HOSTED_STARTER_MODEL
    assert (config["data"], config["model"], config["budget"], config["strategy"], config["run_dir"]) == (
        "sentiment", model, 500, "refine", "runs/sentiment")
    assert main(["init", str(path)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert main(["init", str(path), "--force"]) == 0


def test_every_optimize_flag_is_a_setting_and_a_config_key() -> None:
    from autoprompt.cli import _COMMAND_ONLY, _parser
    from autoprompt.spec import keys, options

    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    dests = {a.dest for a in commands.choices["optimize"]._actions} - {"help", *_COMMAND_ONLY}
    assert dests == {name for name, (_, opt) in options().items() if opt.cli}
    assert set(keys()) >= {"input", "clarifier", "out", "max_seconds", "consistency_weight"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("budjet: 10\n", "budjet: not a setting; did you mean 'budget'"),
        ("budget: lots\n", "budget must be a positive number of model calls, got 'lots'"),
        ("budget: -5\n", "budget must be a positive number of model calls, got -5"),
        ("consistency_weight: 2\n", "consistency_weight must be a finite number from 0 to 1, got 2"),
        ("strategy: greedy\n", "strategy: Input should be 'refine' or 'components'"),
        ("data: [unclosed\n", "is not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_unknown_key_lists_the_valid_ones_and_missing_file_points_at_init(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("temprature: 0.7\n")  # a typo
    with pytest.raises(ConfigError, match="temprature: not a setting; did you mean 'temperature'\\? valid keys: data"):
        load_config(tmp_path / "c.yaml")
    with pytest.raises(ConfigError, match="autoprompt init"):
        load_config(tmp_path / "none.yaml")


def test_flags_win_and_lists_and_dashes_are_accepted(tmp_path: Path) -> None:
    from autoprompt.cli import _parser, _spec

    path = tmp_path / "c.yaml"
    path.write_text("input: [title, body]\nclarifier: Answer with one word.\nmax-seconds: 30\nbudget: 900\n"
                    "data: sentiment\nout: runs/x\noperators: move,demos\n")
    config = load_config(path)
    assert (config["inputs"], config["clarifiers"], config["max_seconds"]) == (
        ["title", "body"], ["Answer with one word."], 30)
    spec = _spec(_parser().parse_args(["optimize", "--config", str(path), "--budget", "100", "--out", "runs/y"]))
    assert (spec.inputs, spec.start.clarifiers, spec.calls.max_seconds, spec.budget, spec.seed, spec.run.run_dir,
            spec.search.operators) == (
        ["title", "body"], ("Answer with one word.",), 30.0, 100, 0, "runs/y", ("move", "demos"))


def test_missing_data_without_config_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optimize", "--out", str(tmp_path / "o")]) == 2
    assert "--data is required (on the command line or as 'data:' in --config)" in capsys.readouterr().err


def test_every_key_the_starter_mentions_is_a_setting() -> None:
    import re

    from autoprompt.spec import keys

    mentioned = set(re.findall(r"^#? ?([a-z_]+): ", STARTER, flags=re.MULTILINE))
    assert mentioned and mentioned <= set(keys()), mentioned - set(keys())


def test_without_the_local_models_init_writes_a_config_that_runs_on_a_hosted_model(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A base install (no [local]) runs 'autoprompt init' and then the written file, no flag added: here against
    an OpenAI-compatible server on loopback, named by the OpenAI SDK's own variables."""
    import importlib.util

    from tests.servers import LatencyServer

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    monkeypatch.chdir(tmp_path)
    assert main(["init", "run.yaml"]) == 0
    monkeypatch.setattr(importlib.util, "find_spec", real)
    assert load_config(tmp_path / "run.yaml")["model"] == "openai:gpt-4o-mini"
    with LatencyServer(0.0) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback")
        assert main(["optimize", "--config", "run.yaml", "-q"]) == 0
        assert server.requests > 0
    assert (tmp_path / "runs" / "sentiment" / "winner.json").is_file()
    assert "winner" in capsys.readouterr().out
