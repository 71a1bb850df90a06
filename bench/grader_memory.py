"""The grader's own peak resident memory while it grades a notebook: each notebook graded by a
fresh process, as `grade submit` would, which reports its VmHWM (the kernel is another process
and not counted).

    python bench/grader_memory.py [NOTEBOOK ...]   # default: the reference notebooks
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from grader.assignments import ASSIGNMENTS

CHILD = """
import sys
from pathlib import Path
from grader.grading import grade_notebook
result = grade_notebook(Path(sys.argv[1]), seed=1234)
peak = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
print(f"{result.score:g}/{result.max_score:g} {int(peak.split()[1]) / 1024:.0f} {result.seconds:.0f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args()
    notebooks = args.notebooks or [str(a.reference) for a in ASSIGNMENTS.values()]
    print(f"{'notebook':<50} {'score':>8} {'peak MiB':>9} {'seconds':>8}")
    for notebook in notebooks:
        done = subprocess.run([sys.executable, "-c", CHILD, notebook], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{notebook:<50} failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        score, peak, seconds = done.stdout.split()[-3:]
        print(f"{notebook[-50:]:<50} {score:>8} {peak:>9} {seconds:>8}")


if __name__ == "__main__":
    main()
