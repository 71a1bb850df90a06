"""Each isolation mode this machine can produce, made by the test itself (tests/isolation_hosts.py),
holds what it promises: root (the whole hostile corpus runs there, in test_hostile_notebooks),
root without CAP_SYS_ADMIN and an unprivileged user (rootless: the cases that test what differs:
the file view, the network, the memory bomb and its note, processes left, the socket folder),
and a PATH without bubblewrap (none: the warning, and batch and check-reference refusing).
Also: the caps' mechanisms without a kernel (cgroup v1 and v2 writes against fake cgroup trees,
the psutil watchdog for real), a sandbox failing after detection, a CPU hog next to a classmate
in a batch, and a wheel installed away from the course."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from isolation_hosts import WORKTREE, available, run_on
from grader.untrusted import cgroups, sandbox
from grader.untrusted.limits import Limits
from grader.untrusted.watchdog import Watchdog

HOSTS_MODES = [("root", "root"), ("rootless-root", "rootless"), ("rootless-user", "rootless"), ("none", "none")]
# What differs between modes; the whole corpus runs as root (test_hostile_notebooks).
DIFFERING_CASES = {
    "rootless-root": ["sees_no_home_reference_or_network", "memory_bomb", "fork_bomb", "fills_the_socket_folder"],
    "rootless-user": ["sees_no_home_reference_or_network", "memory_bomb", "fills_the_socket_folder"],
}


def _skip_unless(host: str) -> None:
    why = available(host)
    if why:
        pytest.skip(why)


@pytest.mark.parametrize("host,mode", HOSTS_MODES, ids=[h for h, _ in HOSTS_MODES])
def test_doctor_tries_each_mode_and_says_which_it_got(host, mode):
    _skip_unless(host)
    if host == "root" and sandbox.detect().mode != "root":
        pytest.skip("this machine gives root no sandbox: " + "; ".join(sandbox.detect().reasons))
    shown = run_on(host, ["python", "-m", "grader", "doctor"], timeout=120)
    lines = shown.stdout.splitlines()
    assert lines[0] == f"isolation: {mode}", shown.stdout + shown.stderr
    caps = next(line for line in lines if line.startswith("  memory, processes and CPU:"))
    # Complete: a sandbox, and memory capped by a cgroup rather than sampled.
    assert shown.returncode == (0 if mode != "none" and "watchdog" not in caps else 1), shown.stdout
    failed = {line.split()[0] for line in lines if re.match(r"  \w+ failed: ", line)}
    assert failed == set(m for m in ("root", "rootless") if sandbox.MODES.index(m) < sandbox.MODES.index(mode))
    if host == "rootless-root":
        assert "Creating new namespace failed" in shown.stdout and "--cap-add SYS_ADMIN" in shown.stdout
    if host == "rootless-user":
        assert "watchdog" in caps and "the grader is not running as root" in shown.stdout
    if host == "none":
        assert "bubblewrap is not installed" in shown.stdout and "apt-get install bubblewrap" in shown.stdout


@pytest.mark.kernel
@pytest.mark.parametrize("host", sorted(DIFFERING_CASES))
def test_hostile_cases_that_differ_between_modes_are_contained(host):
    _skip_unless(host)
    names = DIFFERING_CASES[host]
    ran = run_on(host, ["python", str(WORKTREE / "tests" / "hostile_cases_in_mode.py"), *names], timeout=900)
    lines = [json.loads(line) for line in ran.stdout.splitlines() if line.startswith("{")]
    assert ran.returncode == 0 and sorted(line["name"] for line in lines) == sorted(names), ran.stderr[-3000:]
    assert {line["isolation"] for line in lines} == {"rootless"}
    assert [line for line in lines if not line["ok"]] == []
    bomb = next(line for line in lines if line["name"] == "memory_bomb")
    assert "ending.memory" in bomb["notes"]  # the same note whichever mechanism stopped it
    if host == "rootless-user":
        assert bomb["memory"] == "watchdog"  # no cgroup for this user here: the watchdog, for real


@pytest.mark.kernel
def test_without_cap_sys_admin_a_correct_notebook_gets_full_marks_and_exit_0():
    _skip_unless("rootless-root")
    graded = run_on("rootless-root", ["python", "-m", "grader", "submit", "reference/backprop.ipynb", "--no-report",
                                      "--lang", "en"], timeout=600)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "Total: 100/100" in graded.stdout and "rootless)" in graded.stdout
    assert "Traceback" not in graded.stderr and "warning" not in graded.stderr


@pytest.mark.kernel
def test_without_a_sandbox_submit_warns_and_batch_and_check_reference_refuse(tmp_path):
    _skip_unless("none")
    graded = run_on("none", ["python", "-m", "grader", "submit", "exercises/backprop.ipynb", "--no-report"])
    assert graded.returncode == 1 and "ran without the sandbox" in graded.stderr, graded.stderr
    assert "none)" in graded.stdout
    (tmp_path / "class").mkdir()
    shutil.copy(WORKTREE / "exercises" / "backprop.ipynb", tmp_path / "class" / "ana.ipynb")
    for command in (["batch", str(tmp_path / "class"), "--out", str(tmp_path / "out")],
                    ["check-reference", "--only", "backprop:reference*"]):
        refused = run_on("none", ["python", "-m", "grader", *command], timeout=120)
        assert refused.returncode == 2 and "--allow-unsandboxed" in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    assert not (tmp_path / "out" / "ana").exists()


@pytest.mark.kernel
def test_a_sandbox_that_fails_after_detection_is_could_not_grade(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from grader.cli import main

    broken = ["/bin/sh", "-c", "echo 'bwrap: cannot mount /proc' >&2; exit 1", "sandbox"]
    monkeypatch.setattr(sandbox, "_mode_command", lambda *args, **kwargs: broken)
    monkeypatch.setattr(sandbox, "detect", lambda: sandbox.Isolation("rootless", cgroups.Caps("watchdog")))
    shutil.copy(WORKTREE / "exercises" / "backprop.ipynb", tmp_path / "nb.ipynb")
    began = time.monotonic()
    ran = CliRunner().invoke(main, ["submit", str(tmp_path / "nb.ipynb"), "--no-report"])
    assert ran.exit_code == 3, ran.output
    # Tried once more (a kernel can also fail to start on a loaded machine), then the last reason.
    assert ran.output.startswith("grade: error: no kernel started in 2 tries (last: the kernel did not start in "
                                 "the rootless sandbox")
    assert "bwrap: cannot mount /proc" in ran.output and "grade doctor" in ran.output
    assert len(ran.output.strip().splitlines()) == 1 and time.monotonic() - began < 120


def test_cgroup_v1_caps_memory_processes_and_cpu(tmp_path):
    for controller in ("memory", "pids", "cpu"):
        (tmp_path / controller).mkdir()
    caps = cgroups.Caps("cgroup-v1", ["memory", "pids", "cpu"])
    cell = cgroups.Cell(caps, Limits(memory_mb=512, max_processes=32, cpus=1.5), root=tmp_path)
    written = {path.parent.name: {f.name: f.read_text() for f in path.iterdir()} for path in cell.paths}
    assert written == {"memory": {"memory.limit_in_bytes": str(512 * 2**20)}, "pids": {"pids.max": "32"},
                       "cpu": {"cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "150000"}}


def test_cgroup_v2_caps_are_written_in_a_delegated_subtree(tmp_path, monkeypatch):
    base = tmp_path / "grader.scope"  # laid out as cgroupfs shows a delegated cgroup
    base.mkdir()
    (base / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (base / "cgroup.subtree_control").write_text("")
    monkeypatch.setenv("GRADER_CGROUP", str(base))
    monkeypatch.setenv("GRADER_MEMORY_CAP", "cgroup-v2")
    caps = cgroups.detect()
    assert caps.mechanism == "cgroup-v2" and caps.v2_base == base
    assert (base / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    cell = cgroups.Cell(caps, Limits(memory_mb=512, max_processes=32, cpus=0.5))
    [path] = cell.paths
    assert path.parent == base and path.name.startswith("grader-")
    assert {f.name: f.read_text() for f in path.iterdir()} == {
        "memory.max": str(512 * 2**20), "memory.swap.max": "0", "pids.max": "32", "cpu.weight": "100",
        "cpu.max": "50000 100000"}
    assert cell.enter_command()[2] == f'echo $$ > {path / "cgroup.procs"} && exec "$@"'
    assert not cell.hit_memory_limit()
    (path / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n")
    assert cell.hit_memory_limit()
    sleeper = subprocess.Popen(["sleep", "60"])
    (path / "cgroup.procs").write_text(f"{sleeper.pid}\n")
    (path / "cgroup.kill").write_text("")  # made by cgroupfs (Linux 5.14 and later) with the cgroup
    cell.kill()
    assert sleeper.wait(timeout=5) == -9 and (path / "cgroup.kill").read_text() == "1"
    shutil.rmtree(path)


def test_cgroup_v2_without_the_memory_controller_is_not_used(tmp_path, monkeypatch):
    (tmp_path / "cgroup.controllers").write_text("cpu io\n")
    monkeypatch.setenv("GRADER_CGROUP", str(tmp_path))
    monkeypatch.setenv("GRADER_MEMORY_CAP", "cgroup-v2")
    caps = cgroups.detect()
    assert caps.mechanism == "watchdog" and "does not offer memory, pids" in caps.failures[0]


def _python(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True)


def test_the_watchdog_kills_a_process_tree_at_the_memory_limit():
    # Two processes (a fork) each hoarding memory: neither alone reaches the limit soon.
    hoarder = _python("import os, time\nos.fork()\nhoard = []\nwhile True:\n"
                      "    hoard.append(b'x' * 2**23)\n    time.sleep(0.01)")
    dog = Watchdog(memory_mb=300)
    dog.start(hoarder.pid)
    try:
        assert hoarder.wait(timeout=60) == -9
    finally:
        hoarder.kill()
        dog.stop()
    assert dog.memory_hit and len(dog.seen) == 2
    time.sleep(0.2)
    assert [pid for pid, _ in dog.seen if Path(f"/proc/{pid}").exists()
            and "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]] == []


def test_the_watchdog_counts_memory_shared_after_fork_once():
    # 200 MB, then four forks that only sleep: 1 GB resident in all, 200 MB in truth.
    sharer = _python("import os, time\nheld = bytearray(200 * 2**20)\nfor _ in range(4):\n"
                     "    if os.fork() == 0:\n        break\ntime.sleep(3)")
    dog = Watchdog(memory_mb=600, interval_s=0.1)
    dog.start(sharer.pid)
    try:
        assert sharer.wait(timeout=30) == 0
    finally:
        dog.stop()
    assert not dog.memory_hit and len(dog.seen) == 5


@pytest.mark.kernel
def test_a_cpu_hog_does_not_cost_a_classmate_graded_beside_it(tmp_path):
    """One core for two jobs (fewer cores than jobs: where a hog starves its neighbour): one
    notebook starts 150 processes that spin for 20 s, the other is correct."""
    if shutil.which("taskset") is None:
        pytest.skip("taskset not installed")
    hog = nbformat.read(WORKTREE / "exercises" / "backprop.ipynb", as_version=4)
    hog.cells.append(nbformat.v4.new_code_cell(
        "import subprocess, sys\nspin = 'import time\\nend = time.time() + 20\\nwhile time.time() < end:\\n    pass'\n"
        "hogs = [subprocess.Popen([sys.executable, '-c', spin]) for _ in range(150)]"))
    (tmp_path / "class").mkdir()
    nbformat.write(hog, tmp_path / "class" / "hugo.ipynb")
    shutil.copy(WORKTREE / "reference" / "xor.ipynb", tmp_path / "class" / "ana.ipynb")
    ran = run_on("root", ["taskset", "-c", "0", sys.executable, "-m", "grader", "batch", str(tmp_path / "class"),
                          "--out", str(tmp_path / "out"), "-j", "2"], timeout=600)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    rows = {row["student"]: row for row in csv.DictReader((tmp_path / "out" / "gradebook.csv").open(encoding="utf-8"))}
    assert rows["ana"]["status"] == "graded" and rows["ana"]["score"] == "100", rows["ana"]
    assert rows["hugo"]["status"] == "graded"


@pytest.mark.kernel
def test_a_wheel_installed_away_from_the_course_grades_the_course_it_is_pointed_at(tmp_path):
    source = tmp_path / "source"  # a copy, so that the build leaves nothing in the checkout
    shutil.copytree(WORKTREE / "grader", source / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(WORKTREE / name, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-deps", str(source)],
                   check=True, capture_output=True)
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("PYTHONPATH", "GRADER_COURSE", "GRADER_COURSE_DIR")}
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import grader; print(grader.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr
    grade = str(venv / "bin" / "grade")
    lost = subprocess.run([grade, "submit", str(WORKTREE / "exercises" / "backprop.ipynb"), "--no-report"],
                          capture_output=True, text=True, cwd=tmp_path, env=env)
    assert lost.returncode == 2 and "--course DIR" in lost.stderr and "GRADER_COURSE" in lost.stderr, lost.stderr
    graded = subprocess.run([grade, "submit", "--course", str(WORKTREE), str(WORKTREE / "reference" / "backprop.ipynb"),
                             "--no-report", "--lang", "en"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert graded.returncode == 0 and "Total: 100/100" in graded.stdout, graded.stdout + graded.stderr
