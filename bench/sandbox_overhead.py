"""The start-up cost of each isolation mode per submission: the job folders made (tmpfs mounts
where possible), a kernel started in the mode's sandbox, its preamble run (which imports torch)
and shut down, and the folders removed; the modes alternate, so that the machine's load falls
on each alike. Every mode this host can produce is measured (as root with CAP_SYS_ADMIN: root,
rootless and none; the target is rootless within 0.3 s of root).

    python bench/sandbox_overhead.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import nbformat

from grader.untrusted import sandbox
from grader.untrusted.limits import Limits
from grader.untrusted.runner import KernelSession


async def one(isolation: sandbox.Isolation) -> float:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    began = time.perf_counter()
    with sandbox.job_folders(isolation, Limits().disk_mb) as folders:
        async with KernelSession(notebook, folders.job, Limits(), 0, isolation, folders.exchange, folders.sockets) as kernel:
            await kernel.run_notebook()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    modes = {}
    for mode in sandbox.MODES:
        why = sandbox.try_mode(mode)
        if why:
            print(f"{mode:>9}: not available here ({why})")
        else:
            modes[mode] = sandbox.isolation_for(mode)
    print("memory caps:", sandbox.detect().caps.describe())
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    asyncio.run(one(modes["none"]))  # warm the file cache
    for _ in range(args.runs):
        for mode, isolation in modes.items():
            times[mode].append(asyncio.run(one(isolation)))
    for mode, values in times.items():
        print(f"{mode:>9}: median {statistics.median(values):.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")
    medians = {mode: statistics.median(values) for mode, values in times.items()}
    for mode in ("root", "rootless"):
        if mode in medians:
            print(f"{mode} vs none: {medians[mode] - medians['none']:+.2f} s per submission")
    if {"root", "rootless"} <= set(medians):
        print(f"rootless vs root: {medians['rootless'] - medians['root']:+.2f} s (target < 0.3 s)")


if __name__ == "__main__":
    main()
