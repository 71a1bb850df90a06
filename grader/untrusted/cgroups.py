"""Memory, process and CPU caps for one kernel, with whichever mechanism this host offers.

Strongest first: cgroup v1 (a writable ``memory`` and ``pids`` hierarchy, as root on a host that
mounts v1), cgroup v2 in a subtree the grader may write (its own delegated cgroup, or the one
named by ``$GRADER_CGROUP``), a transient systemd scope (``systemd-run --scope``, ``--user``
when not root), else none: then the grader's watchdog (grader.untrusted.watchdog) samples the
kernel's processes and kills them at the memory limit. ``$GRADER_MEMORY_CAP`` (``cgroup-v1``,
``cgroup-v2``, ``systemd``, ``watchdog``) chooses one, for tests and for hosts where the
automatic choice is wrong.

CPU: each kernel's cgroup gets the same weight and a quota of ``Limits.cpus`` cores, so a
notebook that starts hundreds of spinning processes competes as one, not as hundreds. Without a
cgroup, the kernel runs at a lower priority (``nice``) under the batch scheduler instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from grader.untrusted import leftovers

CGROUP_ROOT = Path("/sys/fs/cgroup")
MiB = 2**20
CPU_PERIOD_US = 100_000
MECHANISMS = ("cgroup-v1", "cgroup-v2", "systemd", "watchdog")


@dataclass
class Caps:
    """The mechanism that caps a kernel's memory, processes and CPU here, and why stronger ones
    are not available."""

    mechanism: str  # one of MECHANISMS
    v1_controllers: list[str] = field(default_factory=list)  # "memory", "pids", "cpu"
    v2_base: Path | None = None
    failures: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.mechanism == "cgroup-v1":
            return "cgroup v1 " + ", ".join(self.v1_controllers)
        if self.mechanism == "cgroup-v2":
            return f"cgroup v2 in {self.v2_base} (memory.max, memory.swap.max, pids.max, cpu.max)"
        if self.mechanism == "systemd":
            return "a transient systemd scope per kernel (MemoryMax, MemorySwapMax, TasksMax, CPUQuota)"
        return ("the grader's watchdog: the kernel's processes are sampled and killed at the memory limit; "
                "CPU by priority (nice, SCHED_BATCH) only")

    @property
    def complete(self) -> bool:
        return self.mechanism != "watchdog"


def _v1_controllers(root: Path) -> list[str]:
    return [c for c in ("memory", "pids", "cpu") if os.access(root / c, os.W_OK) and (root / c / "tasks").exists()]


def own_v2_cgroup(root: Path = CGROUP_ROOT) -> Path | None:
    """This process's cgroup in the unified (v2) hierarchy, if one is mounted at ``root``."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    # A hybrid host (v1 for the controllers) mounts the unified hierarchy at root/unified.
    mount = root if (root / "cgroup.controllers").exists() or not (root / "unified").is_dir() else root / "unified"
    for line in lines:
        if line.startswith("0::"):
            return mount / line[3:].lstrip("/")
    return None


def v2_usable(base: Path) -> str:
    """Why cgroup v2 at ``base`` cannot hold the kernels' cgroups ("" if it can): the memory and
    pids controllers must be offered there, enabled for its children, and the folder writable."""
    try:
        offered = (base / "cgroup.controllers").read_text().split()
    except OSError:
        return f"no cgroup v2 at {base}"
    missing = [c for c in ("memory", "pids") if c not in offered]
    if missing:
        return f"cgroup v2 at {base} does not offer {', '.join(missing)}"
    if not os.access(base, os.W_OK):
        return f"cgroup v2 at {base} is not writable by this user (not delegated)"
    control = base / "cgroup.subtree_control"
    enabled = control.read_text().split() if control.exists() else []
    wanted = [c for c in ("memory", "pids", "cpu") if c in offered and c not in enabled]
    if wanted:
        try:
            control.write_text(" ".join(f"+{c}" for c in wanted))
        except OSError as err:
            if any(c in ("memory", "pids") for c in wanted):
                return f"cannot enable {', '.join(wanted)} for the children of {base} ({err.strerror})"
    return ""


def _systemd_scope_works(user: bool) -> str:
    if shutil.which("systemd-run") is None:
        return "systemd-run is not installed"
    command = ["systemd-run", "--quiet", "--scope", "--collect", "-p", "MemoryMax=64M", "-p", "TasksMax=16"]
    if user:
        command.insert(1, "--user")
    try:
        tried = subprocess.run(command + ["true"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"systemd-run failed ({err})"
    if tried.returncode != 0:
        return "systemd-run --scope failed: " + (tried.stderr.strip().splitlines() or ["?"])[-1]
    return ""


def detect(root: Path = CGROUP_ROOT) -> Caps:
    forced = os.environ.get("GRADER_MEMORY_CAP", "")
    failures = []
    v1 = _v1_controllers(root)
    if forced in ("", "cgroup-v1"):
        if {"memory", "pids"} <= set(v1):
            return Caps("cgroup-v1", v1, failures=failures)
        failures.append("cgroup v1: no writable memory and pids hierarchies under " + str(root))
    if forced in ("", "cgroup-v2"):
        base = Path(os.environ["GRADER_CGROUP"]) if os.environ.get("GRADER_CGROUP") else own_v2_cgroup(root)
        why = v2_usable(base) if base is not None else "no cgroup v2 hierarchy"
        if not why:
            return Caps("cgroup-v2", v2_base=base, failures=failures)
        failures.append("cgroup v2: " + why)
    if forced in ("", "systemd"):
        why = _systemd_scope_works(user=os.geteuid() != 0)
        if not why:
            return Caps("systemd", failures=failures)
        failures.append("systemd scope: " + why)
    return Caps("watchdog", failures=failures)


class Cell:
    """One kernel's cgroups: created before it starts, emptied and removed after. ``paths`` are
    the cgroup folders; ``enter_command`` is the shell prefix that moves the kernel into them."""

    def __init__(self, caps: Caps, limits, root: Path = CGROUP_ROOT):
        self.caps = caps
        self.name = f"{leftovers.owned_prefix()}{uuid.uuid4().hex[:12]}"
        self.paths: list[Path] = []
        if caps.mechanism == "cgroup-v1":
            self._make_v1(root, limits)
        elif caps.mechanism == "cgroup-v2" and caps.v2_base is not None:
            self._make_v2(caps.v2_base, limits)
        self.scope = caps.mechanism == "systemd"
        self.limits = limits

    def _make_v1(self, root: Path, limits) -> None:
        writes = {
            "memory": {"memory.limit_in_bytes": limits.memory_mb * MiB, "memory.memsw.limit_in_bytes": limits.memory_mb * MiB},
            "pids": {"pids.max": limits.max_processes},
            "cpu": {"cpu.shares": 1024, "cpu.cfs_period_us": CPU_PERIOD_US,
                    "cpu.cfs_quota_us": int(limits.cpus * CPU_PERIOD_US)},
        }
        for controller in self.caps.v1_controllers:
            path = root / controller / self.name
            try:
                path.mkdir()
                for name, value in writes[controller].items():
                    if name != "memory.memsw.limit_in_bytes" or (path / name).exists():
                        (path / name).write_text(str(value))
            except OSError:
                leftovers.remove_cgroup(path, attempts=5)
                continue
            self.paths.append(path)

    def _make_v2(self, base: Path, limits) -> None:
        path = base / self.name
        try:
            path.mkdir()
            (path / "memory.max").write_text(str(limits.memory_mb * MiB))
            (path / "pids.max").write_text(str(limits.max_processes))
        except OSError:
            leftovers.remove_cgroup(path, attempts=5)
            return
        for name, value in (("memory.swap.max", "0"), ("cpu.weight", "100"),
                            ("cpu.max", f"{int(limits.cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}")):
            try:
                (path / name).write_text(value)
            except OSError:
                pass  # swap accounting or the cpu controller may be off on this host
        self.paths.append(path)

    def enter_command(self) -> list[str]:
        """A prefix that moves the kernel's first process into these cgroups, then execs the rest."""
        if self.scope:
            return systemd_scope_command(self.name, self.limits)
        if not self.paths:
            return []
        writes = " && ".join(f"echo $$ > {path / 'cgroup.procs'}" for path in self.paths)
        return ["/bin/sh", "-c", f'{writes} && exec "$@"', "grader-sandbox"]

    def hit_memory_limit(self) -> bool:
        """Whether the kernel was killed for memory, or reached the limit."""
        for path in self._cgroup_folders():
            if _v1_memory_hit(path) or _v2_memory_hit(path):
                return True
        return False

    def _cgroup_folders(self) -> list[Path]:
        if self.scope:
            found = _scope_cgroup(self.name)
            return [found] if found else []
        return self.paths

    def kill(self) -> None:
        """Kill every process in these cgroups, however many it started."""
        if self.scope:
            subprocess.run(_systemctl(["kill", "--signal=KILL", f"{self.name}.scope"]), capture_output=True)
        for path in self._cgroup_folders():
            if (path / "cgroup.kill").exists():
                try:
                    (path / "cgroup.kill").write_text("1")
                except OSError:
                    pass
            for _ in range(50):
                if not leftovers.kill_cgroup_tasks(path):
                    break
                time.sleep(0.02)

    def close(self) -> None:
        """Kill whatever is left in these cgroups and remove them. A kernel whose start failed
        may enter its cgroup only now, so keep killing until the cgroup can be removed."""
        if self.scope:
            self.kill()
            subprocess.run(_systemctl(["stop", f"{self.name}.scope"]), capture_output=True)
        for path in self.paths:
            leftovers.remove_cgroup(path)


def _v1_memory_hit(path: Path) -> bool:
    try:
        control = (path / "memory.oom_control").read_text()
        peak = int((path / "memory.max_usage_in_bytes").read_text())
        limit = int((path / "memory.limit_in_bytes").read_text())
    except (OSError, ValueError):
        return False
    killed = re.search(r"^oom_kill (\d+)", control, flags=re.MULTILINE)
    return bool(killed and int(killed.group(1)) > 0) or peak >= limit


def _v2_memory_hit(path: Path) -> bool:
    try:
        events = dict(line.split() for line in (path / "memory.events").read_text().splitlines() if line.strip())
    except (OSError, ValueError):
        return False
    if int(events.get("oom_kill", 0)) > 0 or int(events.get("oom", 0)) > 0:
        return True
    try:
        return int((path / "memory.peak").read_text()) >= int((path / "memory.max").read_text())
    except (OSError, ValueError):
        return False


def systemd_scope_command(unit: str, limits) -> list[str]:
    command = ["systemd-run", "--quiet", "--scope", "--collect", f"--unit={unit}",
               "-p", f"MemoryMax={limits.memory_mb}M", "-p", "MemorySwapMax=0",
               "-p", f"TasksMax={limits.max_processes}", "-p", f"CPUQuota={int(limits.cpus * 100)}%", "--"]
    if os.geteuid() != 0:
        command.insert(1, "--user")
    return command


def _systemctl(arguments: list[str]) -> list[str]:
    return ["systemctl"] + (["--user"] if os.geteuid() != 0 else []) + arguments


def _scope_cgroup(unit: str) -> Path | None:
    shown = subprocess.run(_systemctl(["show", "-p", "ControlGroup", "--value", f"{unit}.scope"]),
                           capture_output=True, text=True)
    group = shown.stdout.strip()
    return CGROUP_ROOT / group.lstrip("/") if shown.returncode == 0 and group else None


def lower_priority_command() -> list[str]:
    """Without a cgroup for CPU: the kernel at the lowest priority, under the batch scheduler, so
    that the grader and other kernels' interactive work come first."""
    prefix = ["nice", "-n", "19"] if shutil.which("nice") else []
    if shutil.which("chrt"):
        prefix += ["chrt", "--batch", "0"]
    return prefix

