"""The walls around a student's kernel.

With bubblewrap and root: bwrap builds a private view of the file system as root (system files
read-only, the Python that runs the kernel read-only, the job folder, nothing else: not the
course's reference notebooks, not home folders, not other submissions), with its own pid,
network, IPC and UTS namespaces and ``--die-with-parent``; it keeps only the capabilities to
change uid, and ``setpriv`` then becomes an unprivileged uid with no capabilities left and
``no_new_privs`` set. No user namespace is used: one created by root maps the sandbox's uid to
root outside, which reads root-only files. Memory and process counts are capped with cgroup v1
where it is writable; the job folder is a tmpfs of fixed size, so that no notebook fills the disk;
rlimits (address space as a generous backstop, since torch reserves much virtual memory at
import; file size; core dumps; open files) always apply.
Without bubblewrap or root, only the rlimits (and cgroups, if writable) apply, and
``describe()`` says so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from grader.untrusted import leftovers

SANDBOX_UID = 65534  # nobody
CGROUP_ROOT = Path("/sys/fs/cgroup")
MiB = 2**20
EXCHANGE_MB = 512


@dataclass
class Isolation:
    """What this machine allows; ``mode`` is "bubblewrap" or "rlimits"."""

    mode: str
    reasons: list[str] = field(default_factory=list)
    cgroups: list[str] = field(default_factory=list)
    disk_cap: bool = False  # the job folder can be a size-limited tmpfs

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
        lines.append("  disk: " + ("the job folder is a size-limited tmpfs" if self.disk_cap
                                   else "only the size of each file is capped (cannot mount a tmpfs)"))
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
    mode = "rlimits" if reasons else "bubblewrap"
    return Isolation(mode, reasons, cgroups, disk_cap=mode == "bubblewrap" and shutil.which("mount") is not None)


class Cell:
    """One submission's cgroups: created before its kernel starts, emptied and removed after."""

    def __init__(self, isolation: Isolation, limits):
        self.name = f"{leftovers.owned_prefix()}{uuid.uuid4().hex[:12]}"
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

    def kill(self) -> None:
        """Kill every process in these cgroups, however many it started."""
        for path in self.paths:
            for _ in range(50):
                if not leftovers.kill_cgroup_tasks(path):
                    break
                time.sleep(0.02)

    def close(self) -> None:
        """Kill whatever is left in these cgroups and remove them. A kernel whose start failed
        may enter its cgroup only now, so keep killing until the cgroup can be removed."""
        for path in self.paths:
            leftovers.remove_cgroup(path)


def rlimit_command(limits) -> list[str]:
    address_space = max(16 * 1024, 4 * limits.memory_mb) * MiB
    return ["prlimit", f"--as={address_space}", f"--fsize={limits.max_file_mb * MiB}", "--core=0",
            "--nofile=1024", f"--nproc={4 * limits.max_processes}", "--"]


def _bind(option: str, path: Path) -> list[str]:
    """bwrap arguments that bind ``path`` at the same place, its missing parents made 0755 first
    (a parent such as /root may be closed to the sandbox's uid)."""
    parents = [str(p) for p in reversed(path.parents) if str(p) != "/"]
    return [arg for parent in parents for arg in ("--perms", "0755", "--dir", parent)] + [option, str(path), str(path)]


def _python_roots() -> list[Path]:
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    return sorted(roots)


def bubblewrap_command(job: Path, workdir: Path, home: Path, tmp_mb: int,
                       shared: tuple[Path, ...] = ()) -> list[str]:
    args = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
            "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(tmp_mb * MiB), "--tmpfs", "/tmp",
            "--size", str(MiB), "--tmpfs", "/run"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for root in _python_roots():
        if root.parts[1:2] == ("usr",):
            continue  # already bound with /usr
        args += _bind("--ro-bind", root)
    for folder in shared:  # the grader's folders: file permissions say what the kernel may write
        args += _bind("--bind", folder)
    args += _bind("--bind", job)
    args += ["--chdir", str(workdir),
             "--setenv", "HOME", str(home), "--setenv", "MPLCONFIGDIR", str(home / "matplotlib"),
             "--setenv", "TMPDIR", "/tmp", "--setenv", "USER", "nobody", "--setenv", "LOGNAME", "nobody",
             # ipykernel exits when its parent pid changes, which a new pid namespace does at once;
             # --die-with-parent does that job here.
             "--unsetenv", "JPY_PARENT_PID", "--"]
    args += ["setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups",
             "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    return args


def prepare_job(job: Path, isolation: Isolation, disk_mb: int | None = None) -> None:
    """The job folder's subfolders: ``work`` (the notebook's working directory), ``home`` and
    ``ipc`` (the kernel's sockets). Sandboxed, the kernel may write only those. With ``disk_mb``,
    the job folder becomes a tmpfs of that size first (undone by ``release_job``)."""
    if disk_mb:
        _mount_tmpfs(job, disk_mb, isolation)
    for sub in ("work", "home", "ipc"):
        (job / sub).mkdir(exist_ok=True)
        hand_over(job / sub, isolation)
    if isolation.mode == "bubblewrap":
        job.chmod(0o755)


def _mount_tmpfs(folder: Path, megabytes: int, isolation: Isolation) -> None:
    if not isolation.disk_cap:
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0755,nosuid,nodev",
                              "grader-job", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        isolation.disk_cap = False


def release_job(job: Path) -> None:
    """Unmount the job folder's tmpfs, if it has one; its processes are gone by now."""
    if os.path.ismount(job):
        if subprocess.run(["umount", str(job)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(job)], capture_output=True)


@dataclass(frozen=True)
class JobFolders:
    """Where one grading keeps its files. ``job``: the kernel's own (``work``, its working
    directory, and ``home``), a tmpfs of fixed size where possible. ``exchange``: the grader's,
    with the probes' inputs (readable by the kernel) and one folder per probe (writable by it
    only while that probe runs), on a tmpfs of its own, so that a notebook that fills its disk
    neither fills the machine's nor keeps the grader from handing over inputs. ``sockets``: the
    kernel's ZMQ sockets, at a short path, since a Unix socket's path has at most 107 bytes."""

    job: Path
    exchange: Path
    sockets: Path


@contextmanager
def job_folders(isolation: Isolation, disk_mb: int) -> Iterator[JobFolders]:
    sweep_leftovers()
    prefix = leftovers.owned_prefix()
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp, \
            tempfile.TemporaryDirectory(prefix=prefix, dir=_short_temp_dir()) as sockets:
        folders = JobFolders(Path(tmp) / "job", Path(tmp) / "exchange", Path(sockets))
        folders.job.mkdir()
        folders.exchange.mkdir()
        Path(tmp).chmod(0o755)
        folders.sockets.chmod(0o755)
        hand_over(folders.sockets, isolation)
        try:
            prepare_job(folders.job, isolation, disk_mb)
            _mount_tmpfs(folders.exchange, EXCHANGE_MB, isolation)
            yield folders
        finally:
            release_job(folders.job)
            release_job(folders.exchange)


def sweep_leftovers() -> list[str]:
    """Remove what graders killed outright left behind (see grader.untrusted.leftovers)."""
    return leftovers.sweep(CGROUP_ROOT, [tempfile.gettempdir(), _short_temp_dir()])


def _short_temp_dir() -> str:
    return "/tmp" if os.path.isdir("/tmp") and os.access("/tmp", os.W_OK) else tempfile.gettempdir()


def hand_over(path: Path, isolation: Isolation) -> None:
    """A file or folder the grader made that the kernel must read or write."""
    if isolation.mode == "bubblewrap":
        os.chown(path, SANDBOX_UID, SANDBOX_UID)


def kernel_uid(isolation: Isolation) -> int:
    """The uid that owns what the kernel writes, as this process sees it."""
    return SANDBOX_UID if isolation.mode == "bubblewrap" else os.geteuid()


def take_back(path: Path, isolation: Isolation) -> None:
    """A folder handed over earlier, no longer the kernel's to write."""
    if isolation.mode == "bubblewrap":
        os.chown(path, 0, 0)
        path.chmod(0o755)
