"""What a grader leaves behind when it is killed with SIGKILL, and removing it once its owner is gone.

A grading makes temporary folders (with tmpfs mounts in them) and cgroups, and removes them when it
ends. A grader killed outright (``kill -9``, the OOM killer, a CI job cancelled) cannot, so every
such thing is named after its owner: ``grader-<pid>.<start time>-…``. The next grading removes
those whose owner process no longer exists; the start time tells a reused pid from its owner, so
graders running side by side never touch each other's.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from functools import lru_cache
from pathlib import Path

_OWNED = re.compile(r"^grader-(\d+)\.(\d+)-")


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; the fields after it do not.
    return int(stat.rsplit(")", 1)[1].split()[19])


@lru_cache(maxsize=None)
def _owner(pid: int) -> str:
    return f"{pid}.{_start_time(pid) or 0}"


def owned_prefix() -> str:
    """The prefix of the names this process gives to what it must remove later."""
    return f"grader-{_owner(os.getpid())}-"


def _owner_is_gone(name: str) -> bool:
    found = _OWNED.match(name)
    if found is None:
        return False  # not named by a grader that records its owner: not ours to judge
    pid, started = int(found.group(1)), int(found.group(2))
    return _start_time(pid) != started


def kill_cgroup_tasks(path: Path) -> bool:
    """SIGKILL each task in one cgroup (v1's ``tasks``, v2's ``cgroup.procs``); whether there were any."""
    listing = path / "tasks" if (path / "tasks").exists() else path / "cgroup.procs"
    try:
        pids = [int(p) for p in listing.read_text().split()]
    except OSError:
        return False
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return bool(pids)


def remove_cgroup(path: Path, attempts: int = 250) -> bool:
    """Kill whatever is in a cgroup and remove it; a process may still be entering it, so keep
    killing until the removal succeeds. Whether it is gone."""
    for _ in range(attempts):
        kill_cgroup_tasks(path)
        try:
            path.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            time.sleep(0.02)
    return False


def unmount_below(folder: Path) -> None:
    """Unmount every mount at or below ``folder``, deepest first."""
    root = os.path.realpath(folder)
    with open("/proc/self/mounts", encoding="utf-8") as handle:
        points = [line.split()[1].replace("\\040", " ") for line in handle]
    for point in sorted((p for p in points if p == root or p.startswith(root + "/")), key=len, reverse=True):
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)


def sweep(cgroup_bases: list[Path], temp_dirs: list[str]) -> list[str]:
    """Remove the cgroups (and their processes) in ``cgroup_bases``, and the mounts and temporary
    folders in ``temp_dirs``, of graders that no longer run. Returns what was removed, for tests
    and ``grade doctor``."""
    removed = []
    for base in cgroup_bases:
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            if _owner_is_gone(name) and remove_cgroup(base / name, attempts=50):
                removed.append(str(base / name))
    for temp in dict.fromkeys(temp_dirs):
        try:
            names = os.listdir(temp)
        except OSError:
            continue
        for name in names:
            folder = Path(temp) / name
            if _owner_is_gone(name) and folder.is_dir() and not folder.is_symlink():
                unmount_below(folder)
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(str(folder))
    return removed
