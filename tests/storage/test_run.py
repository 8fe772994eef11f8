"""Run directories: kill -9 anywhere and resume at no extra cost; one process per run; Ctrl-C saves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import autoprompt
from autoprompt.errors import ConfigError, RunInUse
from autoprompt.search.run_folder import run_directory
from autoprompt.storage.trial_log import TrialLog

DRIVER = Path(__file__).parent.parent / "drivers" / "killable_run.py"


def attempt(run_dir: Path, kill_at: int, ledger: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(DRIVER), str(run_dir), str(kill_at), str(ledger)],
                          capture_output=True, text=True, timeout=300)


def paid(ledger: Path) -> int:
    return len(ledger.read_text().splitlines()) if ledger.is_file() else 0


def test_killed_at_six_points_and_resumed_the_run_pays_each_answer_once_and_ends_the_same(tmp_path: Path) -> None:
    whole = attempt(tmp_path / "whole", 0, tmp_path / "whole.ledger")
    assert whole.returncode == 0, whole.stderr
    total = paid(tmp_path / "whole.ledger")
    # 400 search calls, then 48 on test: the last two cuts land while the test set is scored
    cuts = sorted({int(total * f) for f in (0.02, 0.2, 0.45, 0.7, 0.93, 0.97)})
    assert len(cuts) == 6 and cuts[-1] > 400
    ledger = tmp_path / "cut.ledger"
    for cut in cuts:
        crashed = attempt(tmp_path / "cut", cut - paid(ledger), ledger)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        assert paid(ledger) == cut - 1
    final = attempt(tmp_path / "cut", 0, ledger)
    assert final.returncode == 0, final.stderr
    assert json.loads(final.stdout) == json.loads(whole.stdout)
    assert paid(ledger) == total
    run = tmp_path / "cut"
    logged = [json.loads(line) for line in (run / "trials.log.jsonl").read_text().splitlines()]
    exported = [json.loads(line) for line in (run / "trials.jsonl").read_text().splitlines()]
    assert [t["number"] for t in logged] == [t["number"] for t in exported] == list(range(len(exported)))
    assert [t["scores"] for t in logged] == [t["scores"] for t in exported]


def test_trial_log_drops_a_line_cut_short_by_a_kill(tmp_path: Path) -> None:
    from autoprompt.records.progress import Progress
    from tests.report.test_report import WINNER

    log = tmp_path / "trials.log.jsonl"
    log.write_text('{"number": 0, "score": 1}\n{"number": 1, "sco')
    trial = autoprompt.Trial(1, WINNER, autoprompt.TrialState.PRUNED, 0.5, (), 3, 0.1, 10)
    TrialLog(log)(trial, Progress(2, 3, 10, 0.5, ""))
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["number"] for line in lines] == [0, 1] and lines[1]["state"] == "pruned"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autoprompt.cli", *args], capture_output=True, text=True, timeout=300)


def test_a_second_process_on_a_run_directory_is_told_who_holds_it(tmp_path: Path, keyword_csv: Path) -> None:
    args = ("optimize", "--data", str(keyword_csv), "--input", "text", "--target", "label", "--model", "fake",
            "--budget", "100", "--out", str(tmp_path / "run"))
    with run_directory(tmp_path / "run").lock():
        refused = cli(*args)
    assert refused.returncode == 2 and f"is in use by PID {os.getpid()}" in refused.stderr
    assert not (tmp_path / "run" / "run.json").exists()
    assert cli(*args).returncode == 0  # the lock went with its holder


def _interruptible() -> None:
    """In the child: Ctrl-C as a terminal delivers it, even when the tests run in a background job (whose
    shell ignores SIGINT, which the child would inherit and Python would then leave ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_saves_everything_and_resume_finishes_paying_only_for_new_answers(tmp_path: Path,
                                                                                 keyword_csv: Path) -> None:
    run = tmp_path / "run"
    args = ["--data", str(keyword_csv), "--input", "text", "--target", "label", "--model", "fake", "--budget",
            "3000", "--seed", "4"]
    process = subprocess.Popen([sys.executable, "-m", "autoprompt.cli", "optimize", *args, "--out", str(run)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_interruptible)
    deadline = time.monotonic() + 120
    while paid_trials(run) < 5 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert f"autoprompt resume {run}" in err and "Traceback" not in err
    resumed = cli("resume", str(run))
    assert resumed.returncode == 0, resumed.stderr
    whole = cli("optimize", *args, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    a, b = (json.loads((d / "winner.json").read_text()) for d in (run, tmp_path / "whole"))
    assert a["scores"] == b["scores"] and a["candidate"] == b["candidate"]
    assert 0 < a["model_calls"]["paid"] < b["model_calls"]["paid"]


def paid_trials(run: Path) -> int:
    log = run / "trials.log.jsonl"
    return len(log.read_text().splitlines()) if log.is_file() else 0


def test_resume_needs_a_run_and_the_objects_it_could_not_save(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds no run"):
        autoprompt.resume(tmp_path)
    result = attempt(tmp_path / "r", 30, tmp_path / "ledger")
    assert result.returncode == -signal.SIGKILL
    refused = cli("resume", str(tmp_path / "r"))
    assert refused.returncode == 2 and "pass it again" in refused.stderr and "model" in refused.stderr


def test_prices_a_library_and_a_cache_object_survive_a_resume(keyword_frame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Objects given to optimize are saved in run.json by value and rebuilt by resume."""
    from autoprompt.models.cache import SQLiteCache
    from autoprompt.models.usage import PriceTable
    from autoprompt.prompts.library import TemplateLibrary
    from autoprompt.prompts.template import Template

    library = TemplateLibrary.bundled().add("clarifiers", Template("brief", "Answer in one word."))
    prices = PriceTable({"fake": (1.0, 2.0)})
    first = autoprompt.optimize(keyword_frame, inputs="text", target="label", model="fake", budget=200,
                                calls=autoprompt.Calls(prices=prices, cache=SQLiteCache(tmp_path / "c.sqlite")),
                                template=autoprompt.Start(library=library), run=tmp_path / "run")
    again = autoprompt.resume(tmp_path / "run")
    assert again.best.candidate == first.best.candidate and again.paid_calls == 0
    saved = json.loads((tmp_path / "run" / "run.json").read_text())["arguments"]
    assert saved["prices"] == {"prices": {"fake": [1.0, 2.0]}}
    assert saved["library"]["library"]["clarifiers"]["brief"]["source"] == "Answer in one word."
    assert saved["cache"] == str((tmp_path / "c.sqlite").resolve())


def test_a_run_json_written_before_the_run_specification_still_resumes(keyword_frame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Earlier versions kept the API limits and consistency as nested records: such a run resumes as the
    same run (its trial log is kept, not moved aside) with the same winner."""
    first = autoprompt.optimize(keyword_frame, inputs="text", target="label", model="fake", budget=200,
                                run=tmp_path / "run")
    path = tmp_path / "run" / "run.json"
    record = json.loads(path.read_text())
    arguments = record["arguments"]
    arguments["limits"] = {name: arguments.pop(name) for name in ("concurrency", "rpm", "tpm")}
    for name in ("temperature", "consistency_weight"):
        arguments.pop(name)
    arguments["consistency"] = None
    path.write_text(json.dumps(record))
    again = autoprompt.resume(tmp_path / "run")
    assert again.best.candidate == first.best.candidate and again.paid_calls == 0
    assert not list((tmp_path / "run").glob("trials.log.jsonl.*"))
    assert "limits" not in json.loads(path.read_text())["arguments"]  # rewritten in today's form


def test_a_moved_run_folder_resumes_where_it_is(keyword_frame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """run.json names the folder's own files as ``$RUN/...``: a moved (or received) folder replays its cache
    in place and never re-creates the old one."""
    first = autoprompt.optimize(keyword_frame, inputs="text", target="label", model="fake", budget=200, seed=0,
                                run=tmp_path / "a" / "run")
    arguments = json.loads((tmp_path / "a" / "run" / "run.json").read_text())["arguments"]
    assert arguments["cache"] == "$RUN/cache.sqlite" and arguments["data"] == "$RUN/data/data.jsonl"
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "run").rename(tmp_path / "b" / "run")
    again = autoprompt.resume(tmp_path / "b" / "run")
    assert again.paid_calls == 0 and again.best.candidate == first.best.candidate
    assert not (tmp_path / "a" / "run").exists()


def test_a_run_json_path_that_climbs_out_of_its_folder_is_refused(keyword_frame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    autoprompt.optimize(keyword_frame, inputs="text", target="label", model="fake", budget=200, seed=0,
                        run=tmp_path / "run")
    path = tmp_path / "run" / "run.json"
    record = json.loads(path.read_text())
    record["arguments"]["cache"] = "$RUN/../elsewhere.sqlite"
    path.write_text(json.dumps(record))
    with pytest.raises(ConfigError, match="outside the run folder"):
        autoprompt.resume(tmp_path / "run")
    assert not (tmp_path / "elsewhere.sqlite").exists()


def test_a_run_keeps_copies_of_its_input_files_and_reads_only_those(keyword_csv: Path, tmp_path: Path) -> None:
    """The data file and a template file are copied into the run folder with their hashes; the folder,
    moved away from the originals (which are then gone), resumes from its copies alone."""
    template = tmp_path / "t.jinja"
    template.write_text("Text: {{ text }}\nLabel:")
    first = autoprompt.optimize(str(keyword_csv), inputs="text", target="label", model="fake", budget=200, seed=0,
                                template=str(template), run=tmp_path / "a" / "run")
    run = tmp_path / "a" / "run"
    record = json.loads((run / "run.json").read_text())
    assert record["arguments"]["data"] == "$RUN/inputs/data.csv"
    assert record["arguments"]["template"] == "$RUN/inputs/template.jinja"
    assert (run / "inputs" / "data.csv").read_bytes() == keyword_csv.read_bytes()
    assert (run / "inputs" / "template.jinja").stat().st_mode & 0o077 == 0
    keyword_csv.unlink()
    template.unlink()
    (tmp_path / "b").mkdir()
    run.rename(tmp_path / "b" / "run")
    again = autoprompt.resume(tmp_path / "b" / "run")
    assert again.paid_calls == 0 and again.best.candidate == first.best.candidate


def test_a_run_json_naming_an_input_outside_its_folder_is_refused_unread(keyword_csv: Path, tmp_path: Path) -> None:
    """A received run.json that names a file of the user's as its data: one error, the file never read."""
    autoprompt.optimize(str(keyword_csv), inputs="text", target="label", model="fake", budget=200, seed=0,
                        run=tmp_path / "run")
    secret = tmp_path / "secrets.csv"
    secret.write_text("text,label\nmy password is hunter2,yes\n")
    path = tmp_path / "run" / "run.json"
    record = json.loads(path.read_text())
    record["arguments"]["data"] = str(secret)
    path.write_text(json.dumps(record))
    with pytest.raises(ConfigError, match="outside the run folder") as raised:
        autoprompt.resume(tmp_path / "run")
    assert "hunter2" not in str(raised.value)


def test_the_run_lock_needs_no_fcntl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where there is no ``fcntl`` (Windows), the lock is ``msvcrt.locking`` on one byte past the PID. This
    machine has no Windows, so ``msvcrt`` is a stand-in that locks as Windows does, exclusively and
    without waiting (through the real ``flock``, captured before ``fcntl`` is hidden)."""
    import fcntl
    import types

    def locking(handle: int, mode: int, nbytes: int) -> None:
        assert (mode, nbytes) == (fake.LK_NBLCK, 1) and os.lseek(handle, 0, os.SEEK_CUR) > 1000
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)

    fake = types.ModuleType("msvcrt")
    fake.LK_NBLCK = 2  # type: ignore[attr-defined]
    fake.locking = locking  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl now raises ImportError
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    with run_directory(tmp_path / "run").lock():
        assert (tmp_path / "run" / "run.lock").read_text() == str(os.getpid())
        with pytest.raises(RunInUse, match=f"in use by PID {os.getpid()}"), run_directory(tmp_path / "run").lock():
            pass
    with run_directory(tmp_path / "run").lock():  # released with its holder
        pass
