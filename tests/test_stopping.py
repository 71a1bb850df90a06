"""Stopping a grading: SIGTERM (a job scheduler, `docker stop`, `kill`) and Ctrl-C end `grade
submit` and `grade batch` within seconds, with their kernels, one line on stderr and exit 143 or
130, never a traceback; and a stopped grading is not recorded as the student's result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader.assignments import get_assignment

pytestmark = pytest.mark.kernel
ROOT = Path(__file__).resolve().parent.parent


def descendants(pid: int) -> set[int]:
    """The processes below ``pid``, from /proc (a sandboxed kernel is one, under bwrap)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, pending = set(), [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def kernels_under(pid: int) -> set[int]:
    kernels = set()
    for process in descendants(pid):
        try:
            if b"ipykernel" in Path(f"/proc/{process}/cmdline").read_bytes():
                kernels.add(process)
        except OSError:
            pass
    return kernels


def alive(pids: set[int]) -> set[int]:
    left = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            left.add(pid)
    return left


def sleepy_notebook(path: Path) -> Path:
    """The backprop reference, whose last cell then sleeps: the grading is surely under way."""
    notebook = nbformat.read(get_assignment("backprop").reference, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(600)"))
    nbformat.write(notebook, path)
    return path


def start(arguments: list[str], cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "grader", *arguments], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_once_kernels_run(process: subprocess.Popen, number: int, kernels: int = 1) -> tuple[set[int], float]:
    deadline = time.monotonic() + 240
    while len(kernels_under(process.pid)) < kernels:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.5)
    time.sleep(3)  # into the notebook's cells
    running = kernels_under(process.pid)
    process.send_signal(number)
    began = time.monotonic()
    process.wait(timeout=60)
    return running, time.monotonic() - began


@pytest.mark.parametrize("number, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_submit_stops_within_seconds_with_its_kernel(tmp_path, number, code):
    process = start(["submit", str(sleepy_notebook(tmp_path / "entrega.ipynb")), "--no-report"], tmp_path)
    running, took = stop_once_kernels_run(process, number)
    out, err = process.communicate()
    assert process.returncode == code, err
    assert took < 15, f"took {took:.1f} s to stop"
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("grade: ")
    assert alive(running) == set(), "the kernel outlived the grader"


def test_batch_stops_its_workers_and_their_kernels_and_records_nothing(tmp_path):
    submissions = tmp_path / "entregas"
    submissions.mkdir()
    for student in ("ana", "bea", "carla"):
        sleepy_notebook(submissions / f"{student}.ipynb")
    out = tmp_path / "notas"
    process = start(["batch", str(submissions), "--out", str(out), "-j", "2"], tmp_path)
    running, took = stop_once_kernels_run(process, signal.SIGTERM, kernels=2)
    _, err = process.communicate()
    assert process.returncode == 143, err
    assert took < 30, f"took {took:.1f} s to stop"
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert alive(running) == set(), "a kernel outlived the grader"
    assert list(out.glob("*/results.json")) == []  # a stopped grading is no student's result
