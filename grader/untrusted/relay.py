"""A relay between the grader and a kernel's channels, in a process of its own whose memory is
capped: zmq receives a message of many frames whole before anyone can look at it, so a kernel
could otherwise make the grader's own process hold any number of bytes. The relay receives what
the kernel sends, passes on each message of at most ``max_message_bytes`` in all, and ends at the
first larger one (exit status MESSAGE_TOO_LARGE), or dies at its memory cap: either way the
grader, which reads only the relay's sockets, ends the kernel and says why
(``grader.untrusted.runner``).

Run as ``python -m grader.untrusted.relay SPEC``, SPEC being JSON with the kernel's endpoints,
the folder for the relay's own and the caps; it writes one line, ``ready``, once its sockets are
bound. It sees frames, never decodes them: the kernel's signatures reach the grader unchanged.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

MESSAGE_TOO_LARGE = 3
# A connection to the kernel ended: the kernel is gone, or zmq dropped a message of the kernel's
# that it could not hold under the memory cap (and would have reconnected, the message lost).
KERNEL_DISCONNECTED = 4
# The relay's address space: Python, zmq and the few messages it holds at once.
RELAY_MEMORY_BYTES = 1024 * 2**20
CHANNELS = ("shell", "control", "stdin", "hb", "iopub")
# Each frame costs zmq and Python some bytes beyond its own: a message of a million empty frames
# is large too.
FRAME_OVERHEAD = 64
# The kernel answers every request of the grader's with a message naming it as the sender: the
# relay's sockets towards the kernel share one identity, as a client's shell and stdin sockets do,
# so that an input request reaches the client whose request asked for it.
IDENTITY = b"grader-relay"
# Messages waiting in the relay for the grader to take them, per channel, and messages received
# from the kernel and not yet looked at: few, since each may be as large as the memory cap allows.
QUEUED_TO_GRADER = 64
QUEUED_FROM_KERNEL = 4


@dataclass(frozen=True)
class RelaySpec:
    kernel_ip: str  # the kernel's ipc endpoints are "<ip>-<port>"
    relay_ip: str  # the relay's, with the same ports, in a folder the kernel cannot reach
    ports: dict[str, int]
    max_message_bytes: int
    memory_bytes: int
    parent: int = field(default_factory=os.getpid)  # the grader's process

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "RelaySpec":
        return cls(**json.loads(text))


def message_size(frames) -> int:
    return sum(len(frame) + FRAME_OVERHEAD for frame in frames)


def serve(spec: RelaySpec) -> int:
    import zmq  # after the memory cap, so that zmq's own allocations are under it

    context = zmq.Context(io_threads=1)
    context.setsockopt(zmq.LINGER, 0)
    peer: dict = {}
    from_kernel = set()
    watched = []
    for channel in CHANNELS:
        towards_grader = context.socket(zmq.XPUB if channel == "iopub" else zmq.ROUTER)
        towards_kernel = context.socket(zmq.XSUB if channel == "iopub" else zmq.DEALER)
        if channel != "iopub":
            towards_kernel.setsockopt(zmq.IDENTITY, IDENTITY)
        towards_grader.setsockopt(zmq.SNDHWM, QUEUED_TO_GRADER)
        towards_kernel.setsockopt(zmq.RCVHWM, QUEUED_FROM_KERNEL)
        towards_grader.bind(f"ipc://{spec.relay_ip}-{spec.ports[channel]}")
        towards_kernel.connect(f"ipc://{spec.kernel_ip}-{spec.ports[channel]}")
        peer[towards_grader], peer[towards_kernel] = towards_kernel, towards_grader
        from_kernel.add(towards_kernel)
        watched.append(towards_kernel.get_monitor_socket(zmq.EVENT_DISCONNECTED))
    poller = zmq.Poller()
    for socket in [*peer, *watched]:
        poller.register(socket, zmq.POLLIN)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        for socket, _ in poller.poll():
            if socket in watched:
                return KERNEL_DISCONNECTED
            frames = socket.recv_multipart(copy=False)
            if socket in from_kernel and message_size(frames) > spec.max_message_bytes:
                return MESSAGE_TOO_LARGE
            try:
                # A full queue towards the grader drops the message (the grader is not keeping
                # up with a flood), as the kernel's own publisher would.
                peer[socket].send_multipart(frames, copy=False, flags=zmq.NOBLOCK)
            except zmq.Again:
                pass


def _die_with_parent(parent: int) -> None:
    """A grader killed outright (SIGKILL, the OOM killer) leaves no relay behind."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above
        os._exit(0)


def main(argv: list[str]) -> None:
    spec = RelaySpec.from_json(argv[1])
    _die_with_parent(spec.parent)
    resource.setrlimit(resource.RLIMIT_AS, (spec.memory_bytes, spec.memory_bytes))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    # The grader ends the relay when it is done; Ctrl-C in the grader's terminal is the grader's.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = serve(spec)
    except MemoryError:
        code = MESSAGE_TOO_LARGE
    os._exit(code)  # without waiting on zmq's sockets, whatever they still hold


class Relay:
    """The grader's handle on a running relay. ``broken`` is called, once, if the relay ends
    before the grader closes it, with its exit status (negative: the signal that ended it)."""

    def __init__(self, process: asyncio.subprocess.Process, broken: Callable[[int], None]):
        self.process = process
        self.closing = False
        self._watcher = asyncio.ensure_future(self._watch(broken))

    @classmethod
    async def start(cls, spec: RelaySpec, broken: Callable[[int], None], timeout: float) -> "Relay":
        # PYTHONSAFEPATH: the grader's working folder (a class's submissions) is not on its path.
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "grader.untrusted.relay", spec.to_json(), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONSAFEPATH": "1"})
        try:
            line = await asyncio.wait_for(process.stdout.readline(), timeout)
        except BaseException:
            process.kill()
            await process.wait()
            raise
        if line != b"ready\n":
            await process.wait()
            raise OSError(f"the grader's relay to the kernel did not start (status {process.returncode})")
        return cls(process, broken)

    async def _watch(self, broken: Callable[[int], None]) -> None:
        code = await self.process.wait()
        if not self.closing:
            broken(code)

    async def close(self) -> None:
        self.closing = True
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        await self._watcher


def relay_folder(base: Path) -> Path:
    """A folder for a relay's sockets that only the grader's user can enter."""
    base.mkdir(mode=0o700)
    os.chmod(base, 0o700)
    return base


if __name__ == "__main__":
    main(sys.argv)
