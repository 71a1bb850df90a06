"""The walls around a student's kernel.

With bubblewrap and root: bwrap builds a private view of the file system as root (system files
read-only, the Python that runs the kernel read-only, the job folder, nothing else: not the
course's reference notebooks, not home folders, not other submissions), with its own pid,
network, IPC and UTS namespaces and ``--die-with-parent``; it keeps only the capabilities to
change uid, and ``setpriv`` then becomes an unprivileged uid with no capabilities left and
``no_new_privs`` set. No user namespace is used: one created by root maps the sandbox's uid to
root outside, which reads root-only files. Memory and process counts are capped with cgroup v1
where it is writable; rlimits (address space as a generous backstop, since torch reserves much
virtual memory at import; file size; core dumps; open files) always apply.
Without bubblewrap or root, only the rlimits (and cgroups, if writable) apply, and
``describe()`` says so.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SANDBOX_UID = 65534  # nobody
CGROUP_ROOT = Path("/sys/fs/cgroup")
MiB = 2**20


@dataclass
class Isolation:
    """What this machine allows; ``mode`` is "bubblewrap" or "rlimits"."""

    mode: str
    reasons: list[str] = field(default_factory=list)
    cgroups: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        lines = [f"isolation: {self.mode}"]
        if self.mode == "bubblewrap":
            lines.append(f"  kernel runs as uid {SANDBOX_UID} with no capabilities, in its own pid, network, "
                         "IPC and UTS namespaces, seeing only system files, Python and its job folder")
        else:
            lines.append("  WARNING: student code runs as this user, with the file system and network this "
                         "user has; only resource limits apply")
            lines += [f"  why: {reason}" for reason in self.reasons]
        lines.append("  memory and process caps: " + (", ".join(f"cgroup v1 {c}" for c in self.cgroups)
                                                     or "rlimits only (no writable cgroup v1 controller)"))
        return lines


def detect() -> Isolation:
    reasons = []
    if shutil.which("bwrap") is None:
        reasons.append("bubblewrap is not installed (Debian package `bubblewrap`)")
    if shutil.which("setpriv") is None:
        reasons.append("setpriv is not installed (Debian package `util-linux`)")
    if os.geteuid() != 0:
        reasons.append("the grader is not running as root, so it cannot switch the kernel to another uid")
    cgroups = [c for c in ("memory", "pids") if os.access(CGROUP_ROOT / c, os.W_OK)]
    return Isolation("rlimits" if reasons else "bubblewrap", reasons, cgroups)


class Cell:
    """One submission's cgroups: created before its kernel starts, emptied and removed after."""

    def __init__(self, isolation: Isolation, limits):
        self.name = f"grader-{uuid.uuid4().hex[:12]}"
        self.paths = []
        for controller in isolation.cgroups:
            path = CGROUP_ROOT / controller / self.name
            try:
                path.mkdir()
                if controller == "memory":
                    (path / "memory.limit_in_bytes").write_text(str(limits.memory_mb * MiB))
                    swap = path / "memory.memsw.limit_in_bytes"
                    if swap.exists():
                        swap.write_text(str(limits.memory_mb * MiB))
                else:
                    (path / "pids.max").write_text(str(limits.max_processes))
            except OSError:
                continue
            self.paths.append(path)

    def enter_command(self) -> list[str]:
        """A shell prefix that moves itself into these cgroups, then execs the rest."""
        if not self.paths:
            return []
        writes = " && ".join(f"echo $$ > {path / 'cgroup.procs'}" for path in self.paths)
        return ["/bin/sh", "-c", f'{writes} && exec "$@"', "grader-sandbox"]

    def hit_memory_limit(self) -> bool:
        """Whether the kernel was killed for memory, or reached the limit."""
        for path in self.paths:
            try:
                control = (path / "memory.oom_control").read_text()
                peak = int((path / "memory.max_usage_in_bytes").read_text())
                limit = int((path / "memory.limit_in_bytes").read_text())
            except (OSError, ValueError):
                continue
            killed = re.search(r"^oom_kill (\d+)", control, flags=re.MULTILINE)
            if (killed and int(killed.group(1)) > 0) or peak >= limit:
                return True
        return False

    def close(self) -> None:
        """Kill whatever is left in these cgroups and remove them."""
        for path in self.paths:
            for _ in range(50):
                try:
                    pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.02)
            try:
                path.rmdir()
            except OSError:
                pass


def rlimit_command(limits) -> list[str]:
    address_space = max(16 * 1024, 4 * limits.memory_mb) * MiB
    return ["prlimit", f"--as={address_space}", f"--fsize={limits.max_file_mb * MiB}", "--core=0",
            "--nofile=1024", f"--nproc={4 * limits.max_processes}", "--"]


def _ancestors(path: Path) -> list[str]:
    return [str(p) for p in reversed(path.parents) if str(p) != "/"]


def _python_roots() -> list[Path]:
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    return sorted(roots)


def bubblewrap_command(job: Path, workdir: Path, home: Path) -> list[str]:
    args = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
            "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp", "--tmpfs", "/run"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for root in _python_roots():
        if root.parts[1:2] == ("usr",):
            continue  # already bound with /usr
        for ancestor in _ancestors(root):
            args += ["--perms", "0755", "--dir", ancestor]
        args += ["--ro-bind", str(root), str(root)]
    for ancestor in _ancestors(job):
        args += ["--perms", "0755", "--dir", ancestor]
    args += ["--bind", str(job), str(job), "--chdir", str(workdir),
             "--setenv", "HOME", str(home), "--setenv", "MPLCONFIGDIR", str(home / "matplotlib"),
             "--setenv", "TMPDIR", "/tmp", "--setenv", "USER", "nobody", "--setenv", "LOGNAME", "nobody",
             # ipykernel exits when its parent pid changes, which a new pid namespace does at once;
             # --die-with-parent does that job here.
             "--unsetenv", "JPY_PARENT_PID", "--"]
    args += ["setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups",
             "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    return args


def prepare_job(job: Path, isolation: Isolation) -> None:
    """The job folder's subfolders: ``work`` (the notebook's working directory), ``home`` and
    ``ipc`` (the kernel's sockets). Sandboxed, the kernel may write only those."""
    for sub in ("work", "home", "ipc"):
        (job / sub).mkdir(exist_ok=True)
        hand_over(job / sub, isolation)
    if isolation.mode == "bubblewrap":
        job.chmod(0o755)


def hand_over(path: Path, isolation: Isolation) -> None:
    """A file or folder the grader made that the kernel must read or write."""
    if isolation.mode == "bubblewrap":
        os.chown(path, SANDBOX_UID, SANDBOX_UID)
