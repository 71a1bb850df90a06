"""The seals of probe records: one line per probe, written by the probe's own process into a FIFO
that only the grader reads, naming each file that process wrote and its SHA-256.

The kernel can write into that FIFO but neither read it nor change its mode (it is owned by root,
or bound read-only into the sandbox), so it cannot take a seal away; anything it adds makes the
probe's seal ambiguous, and an ambiguous seal is no seal. A record that does not match its seal
was changed after the probe wrote it. What the grader accepts for one probe, exactly: one line,
well formed, naming that probe's folder, made while the probe ran alone when the grader asked for
that, and nothing else read from the FIFO between the probe's start and its end.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Mapping

MAX_SEAL_LINE = 4096  # what the kernel writes in one write(2) on a pipe: whole or not at all
_DIGEST = re.compile(r"[0-9a-f]{64}")


class Unsealed(Exception):
    """No seal the grader can take as the probe's own."""


class SealReader:
    """The read end of the seal FIFO, opened before the kernel starts (a writer opening it without
    blocking needs a reader) and kept for the whole grading."""

    def __init__(self, path: Path):
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        # Then write-only for all, the kernel's uid included (in rootless mode the kernel owns it as
        # seen from inside; the sandbox binds it read-only, so that it cannot chmod it back).
        os.chmod(path, 0o222)

    def drain(self, cap: int = 1 << 20) -> bytes:
        """What is waiting in the FIFO now (at most ``cap`` bytes; more is a flood)."""
        chunks, size = [], 0
        while size <= cap:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    def seal_for(self, folder: str, alone: bool) -> dict[str, str]:
        """The files probe ``folder`` wrote and their digests, from what came since the last drain."""
        return parse_seal(self.drain(), folder, alone)

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> "SealReader":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def parse_seal(data: bytes, folder: str, alone: bool) -> dict[str, str]:
    if len(data) > MAX_SEAL_LINE or data.count(b"\n") != 1 or not data.endswith(b"\n"):
        raise Unsealed("not exactly one line")
    try:
        seal = json.loads(data)
    except (ValueError, RecursionError):
        raise Unsealed("not JSON") from None
    if not isinstance(seal, dict) or seal.get("probe") != folder:
        raise Unsealed("not this probe's")
    if alone and seal.get("alone") is not True:
        raise Unsealed("the probe did not run alone")
    files = seal.get("files")
    if not isinstance(files, dict) or not all(
            isinstance(name, str) and isinstance(digest, str) and _DIGEST.fullmatch(digest)
            for name, digest in files.items()):
        raise Unsealed("no list of files")
    return dict(files)


def matches(seal: Mapping[str, str], name: str, data: bytes) -> bool:
    """Whether ``data`` is what the seal says the probe wrote as ``name``."""
    return seal.get(name) == hashlib.sha256(data).hexdigest()
