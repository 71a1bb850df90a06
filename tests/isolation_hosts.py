"""The hosts a course runs the grader on, made from this machine for tests: each is a way to run a
command as that host would (root; root without CAP_SYS_ADMIN, as in a container; an
unprivileged user; a PATH without bubblewrap)."""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WORKTREE = Path(__file__).resolve().parents[1]
TEST_USER = "grader-test"
HOSTS = ("root", "rootless-root", "rootless-user", "none")


def _python_path() -> str:
    return os.pathsep.join([str(WORKTREE), str(WORKTREE / "tests")])


def unprivileged_user() -> pwd.struct_passwd:
    """A user made for these tests (with a home folder), once per machine."""
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", TEST_USER], check=True)
        return pwd.getpwnam(TEST_USER)


def _as_user(command: list[str]) -> list[str]:
    """``command`` as the test user, with this Python readable at its own path: a Python under a
    0700 /root (pyenv's) is shown to the user through a private mount namespace in which /root
    is an empty tmpfs holding only a bind of that Python; nothing on the host changes."""
    user = unprivileged_user()
    python_root = str(Path(sys.base_prefix).resolve())
    script = "\n".join([
        "set -e",
        'python_root=$1; user=$2; home=$3; pythonpath=$4; shift 4',
        'if ! su -s /bin/sh "$user" -c "test -r $python_root/bin"; then',
        '  stage=$(mktemp -d /tmp/grader-test-python.XXXXXX)',
        '  mount --bind "$python_root" "$stage"',
        '  top=/$(echo "$python_root" | cut -d/ -f2)',
        '  mount -t tmpfs -o mode=0755,size=1m grader-test-view "$top"',
        '  mkdir -p "$python_root"',
        '  mount --bind "$stage" "$python_root"',
        'fi',
        'exec setpriv --reuid="$user" --regid="$user" --init-groups -- env -i HOME="$home" USER="$user" '
        'LOGNAME="$user" LANG=C.UTF-8 PATH="$python_root/bin:/usr/local/bin:/usr/bin:/bin" PYTHONPATH="$pythonpath" "$@"',
    ])
    return ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh",
            python_root, user.pw_name, user.pw_dir, _python_path()] + command


def path_without_bubblewrap(folder: Path) -> str:
    """A PATH of one folder with every command of this PATH but bwrap."""
    folder.mkdir(parents=True, exist_ok=True)
    for directory in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/sbin", "/sbin"]:
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            target = folder / name
            if name != "bwrap" and not target.exists() and os.access(os.path.join(directory, name), os.X_OK):
                target.symlink_to(os.path.join(directory, name))
    return str(folder)


def run_on(host: str, command: list[str], timeout: float = 600, cwd: Path = WORKTREE,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``command`` (``python`` as its first word means this Python) run as ``host`` would."""
    if command[0] == "python":
        command = [sys.executable] + command[1:]
    environment = {**os.environ, "PYTHONPATH": _python_path(), **(env or {})}
    if host == "rootless-root":
        command = ["capsh", "--drop=cap_sys_admin", "--", "-c", "exec " + shlex.join(command)]
    elif host == "rootless-user":  # its environment is made afresh: pass ours explicitly
        command = _as_user(["env"] + [f"{k}={v}" for k, v in (env or {}).items()] + command)
        cwd = Path(tempfile.gettempdir())
    elif host == "none":
        environment["PATH"] = path_without_bubblewrap(Path(tempfile.gettempdir()) / "grader-test-path-without-bwrap")
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=environment)


def available(host: str) -> str:
    """Why this machine cannot produce ``host`` ("" if it can)."""
    if os.geteuid() != 0:
        return "making the test hosts needs root"
    needed = {"rootless-root": ["capsh"], "rootless-user": ["useradd", "unshare", "setpriv", "su"]}.get(host, [])
    missing = [tool for tool in needed if shutil.which(tool) is None]
    return f"{', '.join(missing)} not installed" if missing else ""
