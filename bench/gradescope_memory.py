"""Peak memory and time of whole gradings as the Gradescope autograder runs them: the grader's
process and every kernel it starts, the figures that must stay inside a Gradescope container
(768 MB and 10 minutes by default).

For each notebook (by default both reference notebooks), builds the autograder zip, lays out a
temporary folder like Gradescope's /autograder, runs `grade gradescope run` on it, and samples
every 50 ms:
- the sum, over the run's process tree, of each process's proportional set size (PSS: shared
  library pages divided among the processes that map them) and resident set (RSS: counted once
  per process, so it overstates);
- where the sandbox gives each kernel a cgroup v1 memory controller, the kernels' own peak
  (memory.max_usage_in_bytes: what the kernel's memory cap is compared with).
Prints the peaks; asserts nothing. Run it on an idle machine.

    python bench/gradescope_memory.py
    python bench/gradescope_memory.py my_notebook.ipynb --memory-mb 1024
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]
MEMORY_CGROUPS = Path("/sys/fs/cgroup/memory")


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


def kernel_cgroup_peaks(owner: int, peaks: dict[str, int]) -> None:
    # The sandbox names its cgroups grader-<owner pid>.<its start time>-...; each kernel gets a new one.
    for path in MEMORY_CGROUPS.glob(f"grader-{owner}.*"):
        try:
            peaks[path.name] = max(peaks.get(path.name, 0), int((path / "memory.max_usage_in_bytes").read_text()))
        except (OSError, ValueError):
            pass


def grade(notebook: Path, archive: Path, workdir: Path) -> dict[str, float]:
    root = workdir / "autograder"
    shutil.rmtree(root, ignore_errors=True)
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    with zipfile.ZipFile(archive) as unpacking:
        unpacking.extractall(root / "source")
    shutil.copy(notebook, root / "submission" / notebook.name)
    env = {**os.environ, "GRADER_COURSE_DIR": str(root / "source"), "PYTHONPATH": str(COURSE)}
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "grader", "gradescope", "run", "--root", str(root)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak_rss = peak_pss = grader_pss = 0
    kernels: dict[str, int] = {}
    while process.poll() is None:
        sums = [memory_kb(pid) for pid in tree(process.pid)]
        peak_rss = max(peak_rss, sum(s[0] for s in sums))
        peak_pss = max(peak_pss, sum(s[1] for s in sums))
        grader_pss = max(grader_pss, memory_kb(process.pid)[1])
        kernel_cgroup_peaks(process.pid, kernels)
        time.sleep(0.05)
    score = next((line for line in process.stdout.read().splitlines() if line.startswith("graded ")), "not graded")
    return {"seconds": time.monotonic() - started, "rss": peak_rss / 1024, "pss": peak_pss / 1024,
            "grader_pss": grader_pss / 1024, "kernel_cgroup": max(kernels.values(), default=0) / 2**20,
            "kernels": len(kernels), "score": score}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        default=[COURSE / "reference" / "xor.ipynb", COURSE / "reference" / "backprop.ipynb"])
    parser.add_argument("--memory-mb", type=int, default=768)
    parser.add_argument("--timeout-s", type=int, default=600)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "autograder.zip"
        subprocess.run([sys.executable, "-m", "grader", "gradescope", "build", str(archive), "--memory-mb",
                        str(options.memory_mb), "--timeout-s", str(options.timeout_s)], check=True,
                       env={**os.environ, "PYTHONPATH": str(COURSE)}, stdout=subprocess.DEVNULL)
        for notebook in options.notebooks:
            figures = grade(notebook, archive, Path(tmp))
            kernel = (f"; each kernel's cgroup peaked at {figures['kernel_cgroup']:.0f} MiB at most "
                      f"({figures['kernels']} kernels)" if figures["kernels"] else "")
            print(f"{notebook.name}: {figures['seconds']:.1f} s; process tree peak PSS {figures['pss']:.0f} MiB "
                  f"(RSS {figures['rss']:.0f} MiB), of which the grader's own process {figures['grader_pss']:.0f} MiB"
                  f"{kernel}; {figures['score']}")


if __name__ == "__main__":
    main(sys.argv[1:])
