"""`grade batch` killed with SIGKILL (the batch and its workers at once) and started again gives the
same gradebook as a run that was never interrupted, and the killed run's cgroups, mounts and
temporary folders are gone afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from conftest import apply_replacements, load_cases
from gradescope_schema import assert_gradescope_file
from grader.cli import main

pytestmark = [pytest.mark.kernel, pytest.mark.xdist_group("uninterrupted_class")]  # one worker builds its module fixture


@pytest.fixture(scope="module")
def small_class(tmp_path_factory, reference):
    folder = tmp_path_factory.mktemp("class") / "entregas"
    folder.mkdir()
    nbformat.write(reference("backprop"), folder / "ana.ipynb")
    mutants = {m["name"]: m for m in load_cases("backprop.toml", "mutant")}
    for student, mutant in (("luis", "sigmoid_sign_flipped"), ("marta", "slide_typo_in_sigmoid_prime")):
        nbformat.write(apply_replacements(reference("backprop"), mutants[mutant]["replace"]), folder / f"{student}.ipynb")
    (folder / "rota.ipynb").write_text("{ not json")
    return folder


@pytest.fixture(scope="module")
def uninterrupted(small_class, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("uninterrupted")
    run = CliRunner().invoke(main, ["batch", str(small_class), "--out", str(out), "-j", "2", "--seed", "7"])
    assert run.exit_code == 0, run.output
    return (out / "gradebook.csv").read_text("utf-8")


def _owned_by(pids: set[int]) -> list[str]:
    """Cgroups, mounts and temporary folders whose names say one of these processes made them."""
    places = [Path("/tmp"), Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/pids")]
    names = [str(p / n) for p in places if p.is_dir() for n in os.listdir(p)]
    with open("/proc/self/mounts", encoding="utf-8") as handle:
        names += [line.split()[1] for line in handle]
    return [n for n in names if any(f"grader-{pid}." in n for pid in pids)]


def _group_pids(group: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == group:
                    found.add(int(entry))
            except ProcessLookupError:
                pass
    return found


@pytest.mark.parametrize("moment", ["while the first kernels run", "after the first result"])
def test_a_batch_killed_and_started_again_gives_the_same_gradebook(small_class, uninterrupted, tmp_path, moment):
    out = tmp_path / "notas"
    batch = subprocess.Popen([sys.executable, "-m", "grader", "batch", str(small_class), "--out", str(out),
                              "-j", "2", "--seed", "7"], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and batch.poll() is None:
        results = list(out.glob("students/*/result.json")) if out.exists() else []
        if moment == "after the first result" and results:
            break
        if moment == "while the first kernels run" and not results and _owned_by(_group_pids(batch.pid)):
            break
        time.sleep(0.1)
    assert batch.poll() is None, "the batch ended before it could be killed"
    pids = _group_pids(batch.pid)
    os.killpg(batch.pid, signal.SIGKILL)
    batch.wait()

    again = CliRunner().invoke(main, ["batch", str(small_class), "--out", str(out), "-j", "2", "--seed", "7"])
    assert again.exit_code == 0, again.output
    if moment == "after the first result":
        assert "skipped" in again.output
    assert (out / "gradebook.csv").read_text("utf-8") == uninterrupted
    assert _owned_by(pids) == []
    for results in sorted(out.glob("*/results.json")):
        assert_gradescope_file(results)
