"""The one thing that would give this host a stronger sandbox, for ``grade doctor``: a package to
install, a container flag, a sysctl. Read from the host, never guessed from the mode's name."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CAP_SYS_ADMIN = 21


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def has_cap_sys_admin() -> bool:
    for line in _read("/proc/self/status").splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> CAP_SYS_ADMIN & 1)
    return False


def in_container() -> bool:
    return (os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv")
            or any(word in _read("/proc/1/cgroup") for word in ("docker", "containerd", "kubepods", "lxc")))


def userns_blocker() -> str:
    """The sysctl that forbids unprivileged user namespaces here, as the command that lifts it."""
    if _read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        return "sudo sysctl -w kernel.unprivileged_userns_clone=1"
    if _read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        return "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
    if _read("/proc/sys/user/max_user_namespaces") == "0":
        return "sudo sysctl -w user.max_user_namespaces=15000"
    return ""


def advice_for(isolation) -> str:
    """One command for a stronger mode than ``isolation.mode``, or for cgroup memory caps; ""
    when the grader already has the strongest it can."""
    if shutil.which("bwrap") is None:
        return "install bubblewrap: sudo apt-get install bubblewrap (Fedora: sudo dnf install bubblewrap)"
    root = os.geteuid() == 0
    if isolation.mode == "none":
        blocker = userns_blocker()
        if blocker:
            return blocker
        if in_container():
            return ("run the container with --cap-add SYS_ADMIN --security-opt seccomp=unconfined "
                    "--security-opt apparmor=unconfined (or --privileged)")
        if not root and "Can't find source path" in isolation.failures.get("rootless", ""):
            return ("use a Python this user can read: python3 -m venv /opt/grader-venv, then install the grader "
                    "in it (a Python under a 0700 home is hidden from the sandbox)")
        return "run as root: sudo grade ..."
    if isolation.mode == "rootless" and root and not has_cap_sys_admin():
        return "for the root mode, give the container --cap-add SYS_ADMIN --security-opt seccomp=unconfined"
    if not isolation.caps.complete:
        if root:
            return "mount the cgroup controllers writable (docker: --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw)"
        return "run under a delegated systemd scope: systemd-run --user --scope -p Delegate=yes grade ..."
    return ""
