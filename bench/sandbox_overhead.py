"""The start-up cost of the sandbox per submission: the job folders made (tmpfs mounts where
possible), a kernel started, its preamble run (which imports torch) and shut down, and the
folders removed, sandboxed vs. not, alternating.

    python bench/sandbox_overhead.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import nbformat

from grader.untrusted import sandbox
from grader.untrusted.runner import KernelSession, Limits


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
    sandboxed = sandbox.detect()
    if sandboxed.mode != "bubblewrap":
        raise SystemExit("no sandbox on this machine: " + "; ".join(sandboxed.reasons))
    plain = sandbox.Isolation("rlimits", reasons=["baseline"], cgroups=[])
    times: dict[str, list[float]] = {"sandboxed": [], "plain": []}
    asyncio.run(one(plain))  # warm the file cache
    for _ in range(args.runs):
        times["plain"].append(asyncio.run(one(plain)))
        times["sandboxed"].append(asyncio.run(one(sandboxed)))
    for name, values in times.items():
        print(f"{name:>9}: median {statistics.median(values):.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")
    extra = statistics.median(times["sandboxed"]) - statistics.median(times["plain"])
    print(f"extra start-up per submission: {extra:+.2f} s (target < 0.3 s)")


if __name__ == "__main__":
    main()
