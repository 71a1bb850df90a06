"""This process's peak resident memory over a block of code, from the kernel's own counter
(VmHWM, which writing 5 to /proc/self/clear_refs resets): what a grading cost the grader."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator


def _high_water_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


@contextlib.contextmanager
def peak_mb() -> Iterator[list[float]]:
    """``with peak_mb() as peak:`` ... then ``peak[0]`` is the peak in MiB during the block."""
    Path("/proc/self/clear_refs").write_text("5")
    found: list[float] = []
    try:
        yield found
    finally:
        found.append(_high_water_mb())
