"""A user namespace for the kernel of a root grader that may not create mount namespaces
(a container without CAP_SYS_ADMIN).

bubblewrap's own ``--unshare-user`` maps the sandbox to the uid that ran it: for root, the kernel
would be uid 0 outside, the owner of every root file it can see. Instead, a placeholder process
(``unshare --user sleep``) makes the namespace and the grader, which still has CAP_SETUID and
CAP_SETGID, maps two ids into it: 0 to 0, so that bubblewrap, root in it, can read the Python the
kernel needs even under a 0700 /root, and 65534 to 65534, which ``setpriv`` in the sandbox then
becomes, with no capabilities. Outside, the kernel is uid 65534, as in the ``root`` mode.
"""

from __future__ import annotations

import os
import subprocess
import time
from contextlib import contextmanager
from typing import Iterator

SANDBOX_ID = 65534


class UserNamespace:
    """``with UserNamespace() as userns``: ``userns.path`` names the namespace for ``bwrap --userns``
    (opened by the launch command). The placeholder ends when the block does; the namespace lives
    on as long as the kernel is in it."""

    def __init__(self):
        self.process: subprocess.Popen | None = None

    @staticmethod
    @contextmanager
    def maybe(wanted: bool) -> Iterator["UserNamespace | None"]:
        """A namespace when ``wanted``, else None."""
        if not wanted:
            yield None
            return
        with UserNamespace() as userns:
            yield userns

    def __enter__(self) -> "UserNamespace":
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open(self) -> None:
        mine = os.readlink("/proc/self/ns/user")
        # Killed with the grader, even one killed outright: the namespace lives on in its kernel.
        self.process = subprocess.Popen(["setpriv", "--pdeathsig", "KILL", "--", "unshare", "--user", "sleep", "86400"],
                                        stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                if os.readlink(f"/proc/{self.process.pid}/ns/user") != mine:
                    break
            except OSError:
                pass
            if self.process.poll() is not None:
                why = self.process.stderr.read().decode(errors="replace").strip()
                raise OSError(f"unshare --user failed: {why or self.process.returncode}")
            if time.monotonic() > deadline:
                self.close()
                raise OSError("unshare --user did not start")
            time.sleep(0.002)
        mapping = f"0 0 1\n{SANDBOX_ID} {SANDBOX_ID} 1\n"
        try:
            for name in ("uid_map", "gid_map"):
                with open(f"/proc/{self.process.pid}/{name}", "w") as handle:
                    handle.write(mapping)
        except OSError as err:
            self.close()
            raise OSError(f"cannot map uid {SANDBOX_ID} into a user namespace ({err.strerror}; "
                          "needs CAP_SETUID and CAP_SETGID)") from None

    @property
    def path(self) -> str:
        return f"/proc/{self.process.pid}/ns/user"

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
