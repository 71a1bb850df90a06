"""The relay between the grader and a kernel's channels (grader/untrusted/relay.py), against a
stand-in kernel made of plain zmq sockets: what it passes on, and that it ends at the first
message larger than the grader takes, however that message is split into frames, and at its
memory cap."""

from __future__ import annotations

import asyncio

import pytest
import zmq
import zmq.asyncio

from grader.untrusted.relay import CHANNELS, IDENTITY, KERNEL_DISCONNECTED, MESSAGE_TOO_LARGE, Relay, RelaySpec

CAP = 2**20
PORTS = {channel: 40 + number for number, channel in enumerate(CHANNELS)}


class StandInKernel:
    """The kernel's side of the channels: ROUTER sockets and an iopub publisher, bound where a
    kernel would bind them."""

    def __init__(self, context: zmq.asyncio.Context, ip: str):
        self.sockets = {}
        for channel in CHANNELS:
            socket = context.socket(zmq.PUB if channel == "iopub" else zmq.ROUTER)
            socket.bind(f"ipc://{ip}-{PORTS[channel]}")
            self.sockets[channel] = socket


def relaying(tmp_path, check, memory_bytes: int = 512 * 2**20):
    """Runs ``check(kernel, grader_sockets, relay, broken)`` with a relay started between a
    stand-in kernel and the grader's sockets; ``broken`` is set when the relay ends unasked."""

    async def go():
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.LINGER, 0)
        kernel = StandInKernel(context, str(tmp_path / "kernel"))
        spec = RelaySpec(str(tmp_path / "kernel"), str(tmp_path / "relay"), PORTS, CAP, memory_bytes)
        broken = asyncio.Event()
        relay = await Relay.start(spec, lambda code: broken.set(), timeout=30)
        grader = {}
        for channel in CHANNELS:
            socket = context.socket(zmq.SUB if channel == "iopub" else zmq.DEALER)
            if channel == "iopub":
                socket.setsockopt(zmq.SUBSCRIBE, b"")
            else:
                socket.setsockopt(zmq.IDENTITY, b"client")
            socket.connect(f"ipc://{spec.relay_ip}-{PORTS[channel]}")
            grader[channel] = socket
        try:
            return await asyncio.wait_for(check(kernel, grader, relay, broken), 30)
        finally:
            await relay.close()
            context.destroy(linger=0)

    return asyncio.run(go())


async def published(kernel, grader, frames: list[bytes]) -> list[bytes]:
    """Publishes ``frames`` until the grader's subscription has reached the kernel, and returns
    the first message the grader receives."""
    while True:
        await kernel.sockets["iopub"].send_multipart(frames)
        if await grader["iopub"].poll(100):
            return await grader["iopub"].recv_multipart()


def test_requests_and_replies_cross_the_relay_with_their_identities(tmp_path):
    async def check(kernel, grader, relay, broken):
        replies = {}
        for channel in ("shell", "control", "stdin", "hb"):
            await grader[channel].send_multipart([b"<IDS|MSG>", channel.encode()])
            request = await kernel.sockets[channel].recv_multipart()
            # The kernel sees the relay, then the client, and answers through both.
            assert request == [IDENTITY, b"client", b"<IDS|MSG>", channel.encode()]
            await kernel.sockets[channel].send_multipart(request[:2] + [b"<IDS|MSG>", b"reply"])
            replies[channel] = await grader[channel].recv_multipart()
        assert replies == {channel: [b"<IDS|MSG>", b"reply"] for channel in ("shell", "control", "stdin", "hb")}
        assert await published(kernel, grader, [b"<IDS|MSG>", b"output"]) == [b"<IDS|MSG>", b"output"]
        # A message of many frames under the cap in all passes whole.
        frames = [b"<IDS|MSG>"] + [b"f" * 1000] * 500
        assert await published(kernel, grader, frames) == frames
        assert not broken.is_set() and relay.process.returncode is None

    relaying(tmp_path, check)


@pytest.mark.parametrize("frames", [
    pytest.param([b"<IDS|MSG>", b"x" * (CAP + 1)], id="one_large_frame"),
    pytest.param([b"<IDS|MSG>"] + [b"x" * (CAP // 16)] * 17, id="many_frames_each_under_the_cap"),
    pytest.param([b"<IDS|MSG>"] + [b""] * (CAP // 32), id="many_empty_frames"),
], )
def test_the_relay_ends_at_a_message_larger_than_the_cap(tmp_path, frames):
    async def check(kernel, grader, relay, broken):
        request = [b"<IDS|MSG>", b"execute"]
        await grader["shell"].send_multipart(request)
        await kernel.sockets["shell"].recv_multipart()
        await kernel.sockets["shell"].send_multipart([IDENTITY, b"client"] + frames)
        await broken.wait()
        assert relay.process.returncode == MESSAGE_TOO_LARGE
        assert not await grader["shell"].poll(200), "the large message reached the grader"

    relaying(tmp_path, check)


def test_the_relay_ends_at_its_memory_cap(tmp_path):
    async def check(kernel, grader, relay, broken):
        await grader["shell"].send_multipart([b"<IDS|MSG>", b"execute"])
        await kernel.sockets["shell"].recv_multipart()
        # 256 MiB in one message, against a relay of 128 MiB: zmq cannot even hold it.
        chunk = b"x" * (16 * 2**20)
        await kernel.sockets["shell"].send_multipart([IDENTITY, b"client", b"<IDS|MSG>"] + [chunk] * 16)
        await broken.wait()
        # zmq in the relay gives the connection up (the message lost) or the relay dies.
        assert relay.process.returncode in (KERNEL_DISCONNECTED, MESSAGE_TOO_LARGE) or relay.process.returncode < 0
        assert not await grader["shell"].poll(200)

    relaying(tmp_path, check, memory_bytes=128 * 2**20)


def test_the_relay_ends_when_the_kernel_goes(tmp_path):
    async def check(kernel, grader, relay, broken):
        await grader["shell"].send_multipart([b"<IDS|MSG>", b"execute"])
        await kernel.sockets["shell"].recv_multipart()
        kernel.sockets["shell"].close(linger=0)
        await broken.wait()
        assert relay.process.returncode == KERNEL_DISCONNECTED

    relaying(tmp_path, check)
