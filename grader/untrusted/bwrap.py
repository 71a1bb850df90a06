"""bubblewrap command lines for the two sandboxed modes; one file-system view for both.

The view: system files read-only, the Python that runs the kernel read-only, the job folder and
the grader's folders the kernel must reach; nothing else (no home folders, no ``reference/``, no
other submission). New pid, network, IPC and UTS namespaces, ``--die-with-parent``, a fresh
session, a size-capped /tmp.

- ``root``: bwrap run by root, no user namespace (one created by root would map the sandbox to
  root outside); ``setpriv`` then drops to uid 65534 with no capabilities and ``no_new_privs``.
- ``rootless`` for root without CAP_SYS_ADMIN: bwrap enters a user namespace the grader made with
  0 and 65534 mapped to themselves (grader.untrusted.userns); ``setpriv`` drops to 65534, which is
  65534 outside too.
- ``rootless`` for any other user: bwrap makes the user namespace (``--unshare-user``); the kernel
  is 65534 inside and this user outside, with no capabilities, and may not make namespaces.
Where the grader cannot mount a size-capped tmpfs for the job folder (every rootless case), the
kernel's working directory and home are tmpfs mounts of the sandbox instead.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SANDBOX_UID = 65534  # nobody
MiB = 2**20
HOME_MB = 64


@dataclass(frozen=True)
class Binds:
    """What of the grader's own the sandbox binds, beside the job folder, and how."""

    # Folders bound read-write: their file permissions say what the kernel may write there.
    shared: tuple[Path, ...] = ()
    # Files bound read-only (the seal FIFO): the kernel writes into it but cannot change its mode.
    sealed: tuple[Path, ...] = ()


def _bind(option: str, path: Path) -> list[str]:
    """bwrap arguments that bind ``path`` at the same place, its missing parents made 0755 first
    (a parent such as /root may be closed to the sandbox's uid)."""
    parents = [str(p) for p in reversed(path.parents) if str(p) != "/"]
    return [arg for parent in parents for arg in ("--perms", "0755", "--dir", parent)] + [option, str(path), str(path)]


def python_roots() -> list[Path]:
    return sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()})


@functools.cache
def supports(option: str) -> bool:
    try:
        shown = subprocess.run(["bwrap", "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option in shown.stdout + shown.stderr


def _view(job: Path, workdir: Path, home: Path, tmp_mb: int, binds: Binds, job_on_tmpfs: bool) -> list[str]:
    args = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
            "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(tmp_mb * MiB), "--tmpfs", "/tmp",
            "--size", str(MiB), "--tmpfs", "/run"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for root in python_roots():
        if root.parts[1:2] == ("usr",):
            continue  # already bound with /usr
        args += _bind("--ro-bind", root)
    for folder in binds.shared:
        args += _bind("--bind", folder)
    args += _bind("--bind", job)
    for path in binds.sealed:
        args += _bind("--ro-bind", path)
    if not job_on_tmpfs:
        # The job folder is on the host's disk: what the kernel writes goes to tmpfs mounts of
        # the sandbox instead, so that it is bounded and gone with the kernel.
        args += ["--perms", "1777", "--size", str(tmp_mb * MiB), "--tmpfs", str(workdir),
                 "--perms", "1777", "--size", str(HOME_MB * MiB), "--tmpfs", str(home)]
    args += ["--chdir", str(workdir),
             "--setenv", "HOME", str(home), "--setenv", "MPLCONFIGDIR", str(home / "matplotlib"),
             "--setenv", "TMPDIR", "/tmp", "--setenv", "USER", "nobody", "--setenv", "LOGNAME", "nobody",
             # ipykernel exits when its parent pid changes, which a new pid namespace does at once;
             # --die-with-parent does that job here.
             "--unsetenv", "JPY_PARENT_PID"]
    return args


def _drop_to_sandbox_uid() -> list[str]:
    return ["setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


_KEEP_ONLY_SETUID = ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                     "--cap-add", "CAP_SETPCAP"]


def root_command(job: Path, workdir: Path, home: Path, tmp_mb: int, binds: Binds = Binds(),
                 job_on_tmpfs: bool = True) -> list[str]:
    return (["bwrap"] + _view(job, workdir, home, tmp_mb, binds, job_on_tmpfs) + _KEEP_ONLY_SETUID + ["--"]
            + _drop_to_sandbox_uid())


def rootless_as_root_command(userns: str, job: Path, workdir: Path, home: Path, tmp_mb: int,
                             binds: Binds = Binds(), job_on_tmpfs: bool = False) -> list[str]:
    """``userns``: the path of the user namespace to enter; the shell opens it as descriptor 3
    for bwrap, and the sandbox closes it before the kernel starts."""
    return (["/bin/sh", "-c", 'exec 3<"$0" && exec "$@"', userns, "bwrap", "--userns", "3"]
            + _view(job, workdir, home, tmp_mb, binds, job_on_tmpfs) + _KEEP_ONLY_SETUID
            + ["--", "/bin/sh", "-c", 'exec 3<&- && exec "$@"', "grader-sandbox"] + _drop_to_sandbox_uid())


def rootless_command(job: Path, workdir: Path, home: Path, tmp_mb: int, binds: Binds = Binds(),
                     job_on_tmpfs: bool = False) -> list[str]:
    own_namespace = ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    if supports("--disable-userns"):
        own_namespace.append("--disable-userns")
    return (["bwrap"] + own_namespace + _view(job, workdir, home, tmp_mb, binds, job_on_tmpfs)
            + ["--cap-drop", "ALL", "--"])
