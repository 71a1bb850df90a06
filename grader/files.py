"""Writing files that a crash must never leave half-written."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Write a sibling file, then rename it over ``path``: readers see the old file or the new one."""
    write_bytes_atomically(path, (text + "\n").encode("utf-8"))


def write_bytes_atomically(path: Path, data: bytes) -> None:
    draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(draft, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(draft, path)
