"""Peak memory of a whole grading's process tree (the grader and every kernel it starts), the
figure that must stay inside a Gradescope container's memory (768 MB by default).

Runs a command (by default `grade submit` of each reference notebook with the Gradescope limits)
and samples, every 50 ms, the sum over the command's process tree of each process's resident set
(RSS, which counts shared library pages once per process, so it overstates) and proportional set
size (PSS, which shares them out, the closer figure to what a container's memory cgroup charges).
Prints the peaks; asserts nothing.

    python bench/gradescope_memory.py                       # both references
    python bench/gradescope_memory.py -- python -m grader submit my.ipynb --no-report
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]


def tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def memory_kb(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def peak_of(command: list[str]) -> tuple[float, float, float, int]:
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_rss = peak_pss = 0
    most = 0
    while process.poll() is None:
        pids = tree(process.pid)
        sums = [memory_kb(p) for p in pids]
        peak_rss = max(peak_rss, sum(s[0] for s in sums))
        peak_pss = max(peak_pss, sum(s[1] for s in sums))
        most = max(most, len(pids))
        time.sleep(0.05)
    return peak_rss / 1024, peak_pss / 1024, time.monotonic() - started, most


def main(argv: list[str]) -> None:
    if "--" in argv:
        commands = [("command", argv[argv.index("--") + 1:])]
    else:
        commands = [(name, [sys.executable, "-m", "grader", "gradescope", "grade",
                            str(COURSE / "reference" / f"{name}.ipynb")])
                    for name in ("xor", "backprop")]
    for label, command in commands:
        rss, pss, seconds, processes = peak_of(command)
        print(f"{label}: peak RSS {rss:.0f} MiB, peak PSS {pss:.0f} MiB of the process tree "
              f"(up to {processes} processes), {seconds:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
