"""The grader's own watch over a kernel, where no cgroup can cap it.

A thread samples the kernel's whole process tree with psutil (its descendants, and every process of its
session, so children that were orphaned still count) a few times a second. Over the memory
limit by resident size, the proportional size (PSS, so that memory shared after ``fork`` is
counted once) decides; at the limit every process of the tree is killed, and the grading says
"reached the memory limit", as with a cgroup. Folders the kernel can write that are not a
size-capped tmpfs (its socket folder, where the grader cannot mount one) are watched the same
way against a byte cap. A notebook can outrun one sampling period (at most a few hundred MB
more); the address-space rlimit stays as the backstop.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import psutil

MiB = 2**20
INTERVAL_S = 0.2


def _proc_table() -> dict[int, tuple[int, int, float]]:
    """pid -> (parent pid, session id, start time) of every process."""
    table = {}
    for process in psutil.process_iter(["ppid", "create_time"]):
        try:
            table[process.pid] = (process.info["ppid"] or 0, os.getsid(process.pid), process.info["create_time"])
        except (OSError, psutil.Error):
            continue
    return table


def process_tree(root: int, table: dict[int, tuple[int, int, float]] | None = None) -> set[int]:
    """``root``, its descendants, and the processes of its session with theirs."""
    table = _proc_table() if table is None else table
    found = {root} | {pid for pid, (_, session, _) in table.items() if session == root}
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    stack = list(found)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return {pid for pid in found if pid in table}


def _each(pids: set[int], measure) -> int:
    total = 0
    for pid in pids:
        try:
            total += measure(psutil.Process(pid))
        except (psutil.Error, OSError, AttributeError):
            continue
    return total


def tree_resident_bytes(pids: set[int]) -> int:
    """Cheap, and an upper bound: memory shared between the processes counts once per process."""
    return _each(pids, lambda process: process.memory_info().rss)


def tree_proportional_bytes(pids: set[int]) -> int:
    """Shared memory split between its sharers (PSS; USS where the system has no PSS)."""
    def proportional(process) -> int:
        full = process.memory_full_info()
        return getattr(full, "pss", full.uss)
    return _each(pids, proportional)


def folder_bytes(folder: Path, most: int = 10_000) -> int:
    """Bytes of disk used by the files under ``folder`` (at most ``most`` entries looked at)."""
    total, seen = 0, 0
    stack = [str(folder)]
    while stack and seen < most:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            total += info.st_blocks * 512
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
    return total


class Watchdog:
    """Watches the kernel started as ``pid`` until ``stop``. ``memory_hit`` / ``disk_hit`` say
    whether it killed the kernel, and why."""

    def __init__(self, memory_mb: int | None, folders: dict[Path, int] | None = None,
                 interval_s: float = INTERVAL_S):
        self.memory_limit = memory_mb * MiB if memory_mb else None
        self.folders = dict(folders or {})
        self.interval_s = interval_s
        self.memory_hit = False
        self.disk_hit = False
        self.seen: set[tuple[int, float]] = set()  # (pid, start time): a reused pid is not ours
        self._root: int | None = None
        self._root_start = -1.0
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, pid: int) -> None:
        self._root = pid
        self._root_start = _proc_table().get(pid, (0, 0, -1.0))[2]
        self._thread = threading.Thread(target=self._watch, name=f"grader-watchdog-{pid}", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopped.wait(self.interval_s):
            table = _proc_table()
            pids = self._tree(table)
            self.seen |= {(pid, table[pid][2]) for pid in pids}
            if self.memory_limit and self._over_memory(pids):
                self.memory_hit = True
                self.kill()
            elif any(folder_bytes(folder) > cap for folder, cap in self.folders.items()):
                self.disk_hit = True
                self.kill()

    def _tree(self, table: dict[int, tuple[int, int, float]]) -> set[int]:
        if table.get(self._root, (0, 0, None))[2] != self._root_start:
            table = {pid: entry for pid, entry in table.items() if pid != self._root}  # gone; pid reused
        return process_tree(self._root, table)

    def _over_memory(self, pids: set[int]) -> bool:
        return (tree_resident_bytes(pids) >= self.memory_limit
                and tree_proportional_bytes(pids) >= self.memory_limit)

    def kill(self) -> None:
        """SIGKILL the whole tree, including processes seen earlier that were orphaned since."""
        if self._root is None:
            return
        for _ in range(20):
            table = _proc_table()
            alive = self._tree(table) | {pid for pid, start in self.seen
                                                        if pid in table and table[pid][2] == start}
            alive.discard(os.getpid())
            if not alive:
                return
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            threading.Event().wait(0.02)

    def stop(self) -> None:
        """Stop watching; kill whatever of the tree is left."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.kill()
