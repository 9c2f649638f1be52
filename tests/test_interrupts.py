"""Ctrl-C (SIGINT) and SIGTERM stop a command with one line saying what is kept, exit 130 / 143, no traceback,
no lock and no temporary file left; the same command then finishes the work."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dystress.atomic import TEMPORARY_MARK
from dystress.engine import run_folder

pytestmark = pytest.mark.usefixtures("private_runs")

EPOCHS = 24  # enough that the signal, sent up to 1.5 s after the first epoch, always finds training running
TRAIN = ["train", "--profile", "smoke", "--subset_total", "1024", "--epochs", str(EPOCHS), "--eval_every", "1",
         "--knn_k", "10"]


def default_signals() -> None:
    """In the child: SIGINT acts as it does in a terminal, even where the tests run in the background of a shell
    without job control, which starts them with SIGINT ignored (an ignored signal stays ignored across exec)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(arguments: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dystress", *arguments], cwd=cwd, env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_signals)


def interrupt_when(process: subprocess.Popen, ready, signum: int, timeout: float = 120.0) -> tuple[str, str]:
    """Send ``signum`` at a random moment after ``ready()`` holds; return the output."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the command never got ready"
        time.sleep(0.05)
    time.sleep(random.uniform(0.0, 1.5))
    process.send_signal(signum)
    return process.communicate(timeout=timeout)


def leftovers(folder: Path) -> list[str]:
    """Temporary files, half-written notebooks and held locks under ``folder`` (a ``.lock`` file stays by design:
    the lock is the operating system's ``flock`` on it, released with the process)."""
    left = [p.name for p in folder.rglob("*") if TEMPORARY_MARK in p.name or p.name.endswith(".partial.ipynb")]
    for lock in folder.rglob(run_folder.LOCK):
        with run_folder.locked(lock.parent):  # raises RunFolderBusy if anyone still holds it
            pass
    return sorted(left)


@pytest.mark.parametrize("signum, code, word", [(signal.SIGINT, 130, "interrupted (SIGINT)"),
                                                (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_training_stops_with_one_line_and_the_same_command_resumes(signum, code, word, tmp_path):
    run = tmp_path / "run"
    process = start([*TRAIN, "--run-dir", str(run)], tmp_path)
    out, err = interrupt_when(process, lambda: (run / run_folder.METRICS).exists(), signum)
    assert process.returncode == code, err
    (line,) = err.strip().splitlines()[-1:]
    assert "Traceback" not in err and line.startswith(f"dystress train: {word}; ")
    assert f"of {EPOCHS} saved in" in line and "the same command resumes" in line or "no epoch finished" in line
    assert leftovers(run) == []
    finished = subprocess.run([sys.executable, "-m", "dystress", *TRAIN, "--run-dir", str(run)], cwd=tmp_path,
                              capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert run_folder.last_epoch(run) == EPOCHS


def test_evaluation_stops_with_one_line_and_no_bundle_then_evaluates_again(tmp_path):
    run = tmp_path / "run"
    trained = subprocess.run([sys.executable, "-m", "dystress", *TRAIN, "--epochs", "1", "--run-dir", str(run)],
                             cwd=tmp_path, capture_output=True, text=True)
    assert trained.returncode == 0, trained.stderr
    process = start(["evaluate", str(run)], tmp_path)
    out, err = interrupt_when(process, lambda: process.stdout.readline().startswith("evaluating"), signal.SIGINT)
    if process.returncode == 0:  # finished before the signal arrived: nothing to test at this moment
        pytest.skip("the evaluation finished before the signal")
    assert process.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("dystress evaluate: interrupted (SIGINT); no bundle was written")
    assert not (run / run_folder.BUNDLE_JSON).exists() and leftovers(run) == []
    again = subprocess.run([sys.executable, "-m", "dystress", "evaluate", str(run)], cwd=tmp_path,
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    run_folder.check_result(run)


def test_the_notebook_series_stops_with_one_line_and_leaves_no_partial_notebook(tmp_path):
    out = tmp_path / "out"
    process = start(["run", "--only", "01,02", "--out", str(out)], tmp_path)  # 02 still runs when 01 has written
    stdout, err = interrupt_when(process, lambda: out.exists() and any(out.iterdir()), signal.SIGINT)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("dystress run: interrupted (SIGINT); ")
    assert leftovers(out) == []
    again = subprocess.run([sys.executable, "-m", "dystress", "run", "--only", "01,02", "--out", str(out)],
                           cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert (out / "01_gradient_analysis.ipynb").exists()


def test_an_interrupted_book_leaves_the_previous_one_and_no_scratch_folder(tmp_path):
    pytest.importorskip("sphinx")
    site = tmp_path / "site"
    built = subprocess.run([sys.executable, "-m", "dystress", "book", "--out", str(site)], cwd=tmp_path,
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    before = sorted((p.relative_to(site), p.stat().st_mtime_ns) for p in site.rglob("*"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".book-")], list(tmp_path.iterdir())
    process = start(["book", "--out", str(site)], tmp_path)
    stdout, err = interrupt_when(process, lambda: any(tmp_path.glob(".book-*/source/conf.py")), signal.SIGINT)
    if process.returncode == 0:
        pytest.skip("the book was built before the signal")
    assert process.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "dystress book: interrupted (SIGINT); the previous book, if any, is unchanged"
    assert sorted((p.relative_to(site), p.stat().st_mtime_ns) for p in site.rglob("*")) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".book-")]


def test_an_interrupted_render_leaves_the_committed_notebook_and_nothing_beside_it(tmp_path, monkeypatch):
    from dystress.paths import REPO_ROOT

    series = tmp_path / "notebooks"
    series.mkdir()
    for suffix in (".py", ".ipynb"):
        name = f"01_gradient_analysis{suffix}"
        (series / name).write_bytes((REPO_ROOT / "notebooks" / name).read_bytes())
    committed = (series / "01_gradient_analysis.ipynb").read_bytes()
    monkeypatch.setenv("DYSTRESS_NOTEBOOKS", str(series))
    process = start(["render", "--only", "01", "--figures", str(tmp_path / "figures")], tmp_path)
    stdout, err = interrupt_when(process, lambda: any(series.glob(".*.partial.ipynb")), signal.SIGINT)
    if process.returncode == 0:
        pytest.skip("the render finished before the signal")
    assert process.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("dystress render: interrupted (SIGINT); ")
    assert (series / "01_gradient_analysis.ipynb").read_bytes() == committed
    assert sorted(p.name for p in series.iterdir()) == ["01_gradient_analysis.ipynb", "01_gradient_analysis.py"]
    again = subprocess.run([sys.executable, "-m", "dystress", "render", "--only", "01", "--figures",
                            str(tmp_path / "figures")], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
