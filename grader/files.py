"""Writing files that a crash must never leave half-written."""

from __future__ import annotations

import os
from pathlib import Path

from grader.text import encodable


def write_atomically(path: Path, text: str) -> None:
    """Write a sibling file, then rename it over ``path``: readers see the old file or the new one.
    Text from the student's side that no encoder takes (a lone surrogate) is written as U+FFFD."""
    write_bytes_atomically(path, (encodable(text) + "\n").encode("utf-8"))


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """As ``write_atomically``; on any failure (a full disk) the draft is removed and the error raised."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(draft, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(draft, path)
    except BaseException as err:
        try:
            os.unlink(draft)
        except OSError:
            pass
        if isinstance(err, OSError) and err.filename is None:
            err.filename = str(path)  # fsync and write name no file: say which one could not be written
        raise
