"""Run configs: the starter file validates and runs; bad files are one clear error naming the key."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from autoprompt.cli import main
from autoprompt.config import STARTER, fields, load_config, merge
from autoprompt.errors import ConfigError


def test_init_writes_a_starter_that_validates_and_refuses_to_overwrite(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.yaml"
    assert main(["init", str(path)]) == 0
    assert path.read_text() == STARTER
    config = load_config(path)
    assert (config.data, config.model, config.budget, config.strategy, config.out) == (
        "sentiment", "local", 500, "refine", "runs/sentiment")
    assert main(["init", str(path)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert main(["init", str(path), "--force"]) == 0


def test_every_optimize_option_is_a_config_key() -> None:
    from autoprompt.cli import _parser, optimize_options

    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert {a.dest for a in commands.choices["optimize"]._actions} - {"help"} == {
        a.dest for a in optimize_options()._actions}
    dests = {a.dest for a in optimize_options()._actions} - {"config"}
    assert dests == set(fields())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("budjet: 10\n", "budjet: Extra inputs are not permitted"),
        ("budget: lots\n", "budget: Input should be a valid integer"),
        ("budget: -5\n", "budget: Input should be greater than 0"),
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
    with pytest.raises(ConfigError, match="valid keys: data, dev, test"):
        load_config(tmp_path / "c.yaml")
    with pytest.raises(ConfigError, match="autoprompt init"):
        load_config(tmp_path / "none.yaml")


def test_flags_win_and_lists_and_dashes_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("input: [title, body]\nclarifier: Answer with one word.\nmax-seconds: 30\nbudget: 900\n")
    config = load_config(path)
    args = argparse.Namespace(input=None, clarifier=[], max_seconds=None, budget=100, seed=0)
    merged = merge(config, args, given={"budget"})
    assert (merged.input, merged.clarifier, merged.max_seconds, merged.budget, merged.seed) == (
        "title,body", ["Answer with one word."], 30.0, 100, 0)


def test_missing_data_without_config_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optimize", "--out", str(tmp_path / "o")]) == 2
    assert "--data is required (on the command line or as 'data:' in --config)" in capsys.readouterr().err
