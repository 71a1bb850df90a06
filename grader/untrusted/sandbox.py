"""The walls around a student's kernel, as strong as this host allows, chosen by trying.

Three modes, strongest first (grader.untrusted.bwrap has their command lines):

- ``root``: bubblewrap run by root builds the kernel's view of the file system; ``setpriv`` drops
  the kernel to uid 65534 with no capabilities. Needs root with CAP_SYS_ADMIN.
- ``rootless``: the same view and namespaces inside a user namespace: for root without
  CAP_SYS_ADMIN (most containers) and for any other user, where user namespaces are allowed.
- ``none``: the kernel runs as this user with this user's files and network; only limits apply.

At first use in a process, each mode is tried by starting a tiny process with exactly the
options a kernel gets, and the first that works is kept, with why each stronger one failed
(``grade doctor`` prints it). ``$GRADER_ISOLATION`` names the strongest mode to try. Memory,
process and CPU caps come from grader.untrusted.cgroups, or from the grader's watchdog
(grader.untrusted.watchdog) where no cgroup can be had; rlimits (address space as a generous
backstop, file size, core dumps, open files) always apply. The job folder, the exchange folder
and the socket folder are size-capped tmpfs mounts where the grader may mount (``root``);
elsewhere the kernel's writable folders are tmpfs mounts inside the sandbox, the folders it
shares with the grader are handed back after use, and the watchdog caps what is left.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from grader.untrusted import bwrap, cgroups, leftovers
from grader.untrusted.bwrap import SANDBOX_UID
from grader.untrusted.cgroups import CGROUP_ROOT
from grader.untrusted.host_advice import advice_for
from grader.untrusted.userns import UserNamespace
from grader.untrusted.watchdog import Watchdog

MiB = 2**20
EXCHANGE_MB = 512
SOCKETS_MB = 1
MODES = ("root", "rootless", "none")
TRIAL_TIMEOUT_S = 60

__all__ = ["Isolation", "detect", "Walls", "JobFolders", "job_folders", "prepare_job", "hand_over", "take_back",
           "SANDBOX_UID", "CGROUP_ROOT", "MODES"]


@dataclass
class Isolation:
    """What this machine allows: ``mode`` (one of MODES), the memory caps' mechanism, and why
    each stronger mode failed when tried."""

    mode: str
    caps: cgroups.Caps
    failures: dict[str, str] = field(default_factory=dict)
    disk_cap: bool = False  # the grader may mount size-capped tmpfs folders
    kernel_uid: int | None = None  # the kernel's uid outside the sandbox, when not the grader's own

    @property
    def reasons(self) -> list[str]:
        return [f"{mode}: {why}" for mode, why in self.failures.items()]

    @property
    def sandboxed(self) -> bool:
        return self.mode != "none"

    @property
    def complete(self) -> bool:
        """The strongest containment this grader has: a sandbox, and memory capped by a cgroup."""
        return self.sandboxed and self.caps.complete

    def _disk(self) -> str:
        if self.disk_cap:
            return "the job, exchange and socket folders are size-capped tmpfs mounts"
        if not self.sandboxed:
            return "only the size of each file is capped"
        shared = ("taken back from the kernel once used" if self.kernel_uid is not None
                  else "watched, the kernel killed past their caps")
        return f"the kernel's own folders are size-capped tmpfs mounts of the sandbox; the folders it shares with the grader are {shared}"

    def describe(self) -> list[str]:
        lines = [f"isolation: {self.mode}"]
        if self.mode == "root":
            lines.append(f"  kernel runs as uid {SANDBOX_UID} with no capabilities, in its own pid, network, "
                         "IPC and UTS namespaces, seeing only system files, Python and its job folder")
        elif self.mode == "rootless":
            who = (f"uid {SANDBOX_UID}" if self.kernel_uid is not None
                   else f"this user (uid {os.getuid()}), {SANDBOX_UID} inside its user namespace,")
            lines.append(f"  kernel runs as {who} with no capabilities, in its own user, pid, network, IPC "
                         "and UTS namespaces, seeing only system files, Python and its job folder")
        else:
            lines.append("  WARNING: student code runs as this user, with the file system and network this "
                         "user has; only resource limits apply")
        lines += [f"  {mode} failed: {why}" for mode, why in self.failures.items()]
        lines.append(f"  memory, processes and CPU: {self.caps.describe()}")
        lines += [f"    (not {why})" for why in self.caps.failures if self.caps.mechanism != "cgroup-v1"]
        lines.append("  disk: " + self._disk())
        stronger = advice_for(self)
        if stronger:
            lines.append(f"  for stronger containment: {stronger}")
        return lines


def _trial_folders(tmp: Path, kernel_uid: int | None) -> tuple[Path, Path, Path]:
    job = tmp / "job"
    for folder in (job, job / "work", job / "home"):
        folder.mkdir()
    tmp.chmod(0o755)
    job.chmod(0o755)
    if kernel_uid is not None:
        for folder in (job / "work", job / "home"):
            os.chown(folder, kernel_uid, kernel_uid)
    return job, job / "work", job / "home"


def try_mode(mode: str) -> str:
    """Why ``mode`` does not work here ("" if it does): a tiny process started with the options
    a kernel of that mode gets."""
    if mode == "none":
        return ""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed"
    as_root = os.geteuid() == 0
    if mode == "root" and not as_root:
        return "the grader is not running as root"
    needed = ["setpriv"] if as_root else []
    needed += ["unshare"] if as_root and mode == "rootless" else []
    missing = [tool for tool in needed if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} is not installed (util-linux)"
    with tempfile.TemporaryDirectory(prefix=leftovers.owned_prefix() + "trial-") as tmp, UserNamespace.maybe(
            mode == "rootless" and as_root) as userns:
        kernel_uid = SANDBOX_UID if as_root else None
        job, work, home = _trial_folders(Path(tmp), kernel_uid)
        # The options a kernel of this mode gets (only root mounts the job folder's tmpfs itself).
        command = _mode_command(mode, userns, job, work, home, 16, bwrap.Binds(), job_on_tmpfs=mode == "root")
        try:
            tried = subprocess.run(command + [sys.executable, "-c", "import encodings"], capture_output=True,
                                   text=True, timeout=TRIAL_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"the trial process failed: {err}"
    if tried.returncode != 0:
        return (tried.stderr.strip().splitlines() or [f"exit status {tried.returncode}"])[-1]
    return ""


def _mode_command(mode: str, userns: UserNamespace | None, job: Path, work: Path, home: Path, tmp_mb: int,
                  binds: bwrap.Binds, job_on_tmpfs: bool) -> list[str]:
    if mode == "root":
        return bwrap.root_command(job, work, home, tmp_mb, binds, job_on_tmpfs)
    if mode == "rootless" and userns is not None:
        return bwrap.rootless_as_root_command(userns.path, job, work, home, tmp_mb, binds, job_on_tmpfs)
    if mode == "rootless":
        return bwrap.rootless_command(job, work, home, tmp_mb, binds, job_on_tmpfs)
    return []


@functools.cache
def detect() -> Isolation:
    """The strongest mode that works here (at most ``$GRADER_ISOLATION``), tried once per process."""
    strongest = os.environ.get("GRADER_ISOLATION", "root")
    if strongest not in MODES:
        strongest = "root"
    failures = {mode: "not tried ($GRADER_ISOLATION)" for mode in MODES[:MODES.index(strongest)]}
    for mode in MODES[MODES.index(strongest):]:
        why = try_mode(mode)
        if not why:
            return isolation_for(mode, failures)
        failures[mode] = why
    raise AssertionError("the mode none always works")


def isolation_for(mode: str, failures: dict[str, str] | None = None) -> Isolation:
    """The isolation of ``mode`` on this host (which must have been tried: see ``try_mode``)."""
    sandboxed_by_root = os.geteuid() == 0 and mode != "none"
    return Isolation(mode, cgroups.detect(), dict(failures or {}),
                     disk_cap=mode == "root" and shutil.which("mount") is not None,
                     kernel_uid=SANDBOX_UID if sandboxed_by_root else None)


def rlimit_command(limits) -> list[str]:
    address_space = max(16 * 1024, 4 * limits.memory_mb) * MiB
    return ["prlimit", f"--as={address_space}", f"--fsize={limits.max_file_mb * MiB}", "--core=0",
            "--nofile=1024", f"--nproc={4 * limits.max_processes}", "--"]


class Walls:
    """One kernel's walls: its cgroups (or watchdog), its user namespace, its launch command.
    Made before the kernel starts; ``launched`` once it answers; ``close`` after it ended."""

    def __init__(self, isolation: Isolation, limits, job: Path, shared: tuple[Path, ...] = (),
                 sockets: Path | None = None, work: Path | None = None, home: Path | None = None,
                 sealed: tuple[Path, ...] = ()):
        """``work`` and ``home``: the kernel's working folder and HOME, below ``job`` (each kernel
        gets its own, made empty: see grader.untrusted.runner); ``shared`` and ``sealed``: what
        else the sandbox binds, and how (bwrap.Binds)."""
        self.isolation = isolation
        self.limits = limits
        self.job = job
        self.work, self.home = work or job / "work", home or job / "home"
        self.binds = bwrap.Binds(shared, sealed)
        self.sockets = sockets
        self.cell = cgroups.Cell(isolation.caps, limits)
        self.userns: UserNamespace | None = None
        watched = {}
        if not isolation.disk_cap and isolation.kernel_uid is None:
            # The kernel is this user: it could give itself back the folders it shares with us.
            watched = {folder: (SOCKETS_MB if folder == sockets else EXCHANGE_MB) * MiB for folder in shared}
        memory = limits.memory_mb if isolation.caps.mechanism == "watchdog" else None
        self.watchdog = Watchdog(memory, watched) if memory or watched else None

    @property
    def paths(self) -> list[Path]:
        return self.cell.paths

    def command(self) -> list[str]:
        prefix = self.cell.enter_command() + rlimit_command(self.limits)
        has_cpu_cgroup = self.isolation.caps.mechanism in ("cgroup-v2", "systemd") or \
            "cpu" in self.isolation.caps.v1_controllers
        if not has_cpu_cgroup:
            prefix += cgroups.lower_priority_command()
        if self.sockets is not None:
            _empty(self.sockets)  # what an earlier kernel left there (its sockets, or a flood) goes
            hand_over(self.sockets, self.isolation)  # to make its sockets in; taken back in `launched`
        mode = self.isolation.mode
        if mode == "rootless" and os.geteuid() == 0:
            self.userns = UserNamespace()
            self.userns.open()
        return prefix + _mode_command(mode, self.userns, self.job, self.work, self.home,
                                      self.limits.disk_mb, self.binds, job_on_tmpfs=self.isolation.disk_cap)

    def launched(self, pid: int | None) -> None:
        """The kernel answers: the socket folder is no longer the kernel's to write (it has made
        its sockets), and the watchdog, if any, watches from now on."""
        if self.sockets is not None and self.isolation.kernel_uid is not None:
            for entry in self.sockets.iterdir():
                if entry.is_file() and not entry.is_symlink():
                    take_back(entry, self.isolation, mode=0o644)
            take_back(self.sockets, self.isolation)
        if self.watchdog is not None and pid is not None:
            self.watchdog.start(pid)

    def hit_memory_limit(self) -> bool:
        return self.cell.hit_memory_limit() or (self.watchdog is not None and self.watchdog.memory_hit)

    def kill(self) -> None:
        self.cell.kill()
        if self.watchdog is not None:
            self.watchdog.kill()

    def close(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
        self.cell.close()
        if self.userns is not None:
            self.userns.close()


def _empty(folder: Path) -> None:
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False) and not os.path.ismount(entry.path):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except OSError:
                pass


def prepare_job(job: Path, isolation: Isolation, disk_mb: int | None = None) -> None:
    """The job folder's subfolders: ``work`` (the notebook's working directory), ``home`` and
    ``ipc`` (the kernel's sockets). Sandboxed, the kernel may write only those. With ``disk_mb``,
    the job folder becomes a tmpfs of that size first (undone by ``release_job``)."""
    if disk_mb:
        _mount_tmpfs(job, disk_mb, isolation)
    for sub in ("work", "home", "ipc"):
        (job / sub).mkdir(exist_ok=True)
        hand_over(job / sub, isolation)
    if isolation.kernel_uid is not None:
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
    kernel's ZMQ sockets, at a short path, since a Unix socket's path has at most 107 bytes; a
    tmpfs of 1 MiB where possible, and the kernel's to write only while it starts. ``seals``:
    the FIFO through which each probe's process seals the records it wrote."""

    job: Path
    exchange: Path
    sockets: Path
    seals: Path  # a FIFO the kernel may write but not read: see grader.trusted.seals


@contextmanager
def job_folders(isolation: Isolation, disk_mb: int) -> Iterator[JobFolders]:
    sweep_leftovers()
    prefix = leftovers.owned_prefix()
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp, \
            tempfile.TemporaryDirectory(prefix=prefix, dir=short_temp_dir()) as sockets:
        folders = JobFolders(Path(tmp) / "job", Path(tmp) / "exchange", Path(sockets), Path(tmp) / "seals")
        folders.job.mkdir()
        folders.exchange.mkdir()
        os.mkfifo(folders.seals, 0o600)  # made write-only once the grader opened it to read
        Path(tmp).chmod(0o755)
        try:
            _mount_tmpfs(folders.sockets, SOCKETS_MB, isolation)
            folders.sockets.chmod(0o755)
            prepare_job(folders.job, isolation, disk_mb)
            _mount_tmpfs(folders.exchange, EXCHANGE_MB, isolation)
            yield folders
        finally:
            release_job(folders.job)
            release_job(folders.exchange)
            release_job(folders.sockets)


def sweep_leftovers() -> list[str]:
    """Remove what graders killed outright left behind (see grader.untrusted.leftovers)."""
    bases = [CGROUP_ROOT / controller for controller in ("memory", "pids", "cpu")]
    v2 = cgroups.own_v2_cgroup()
    if v2 is not None:
        bases.append(v2)
    return leftovers.sweep(bases, [tempfile.gettempdir(), short_temp_dir()])


def short_temp_dir() -> str:
    return "/tmp" if os.path.isdir("/tmp") and os.access("/tmp", os.W_OK) else tempfile.gettempdir()


def hand_over(path: Path, isolation: Isolation) -> None:
    """A file or folder the grader made that the kernel must read or write."""
    if isolation.kernel_uid is not None:
        os.chown(path, isolation.kernel_uid, isolation.kernel_uid)


def kernel_uid(isolation: Isolation) -> int:
    """The uid that owns what the kernel writes, as this process sees it."""
    return isolation.kernel_uid if isolation.kernel_uid is not None else os.geteuid()


def take_back(path: Path, isolation: Isolation, mode: int = 0o755) -> None:
    """A file or folder handed over earlier, no longer the kernel's to write."""
    if isolation.kernel_uid is not None:
        os.chown(path, os.getuid(), os.getgid())
        path.chmod(mode)
