"""Times `grade batch` on a class made from the reference notebooks and the test mutants: wall time
with -j 1 and -j 2, the overhead per submission beyond executing the notebook with nbclient, the
peak memory of a worker and of a kernel, how busy the two cores were, and how the time grows with
the class.

    python bench/batch.py [--sizes 10 40] [--jobs 1 2] [--xor-only-10]

Prints figures; asserts nothing. Run it on an otherwise idle machine (it takes tens of minutes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from grader.authoring.mutants import load_mutants
from submit_vs_nbclient import NBCLIENT_ONLY  # this folder is on sys.path when a bench script runs

ROOT = Path(__file__).resolve().parents[1]


def make_class(folder: Path, size: int, assignments: tuple[str, ...], correct_every: int = 4) -> list[Path]:
    """``size`` notebooks, alternating assignments; every ``correct_every``-th one is the reference,
    the others cycle through that assignment's mutants. Each gets its student's name in its
    metadata, so that no two files are the same (nor are their seeds)."""
    references = {a: nbformat.read(ROOT / "reference" / f"{a}.ipynb", as_version=4) for a in assignments}
    mutants = {a: load_mutants(a) for a in assignments}
    folder.mkdir(parents=True)
    paths = []
    for n in range(size):
        assignment = assignments[n % len(assignments)]
        k = n // len(assignments)
        if correct_every == 1 or k % correct_every == 0:
            notebook = references[assignment]
        else:
            mutant = mutants[assignment][k % len(mutants[assignment])]
            notebook = mutant.notebook(references[assignment])
        notebook.metadata["student"] = f"student-{n:03d}"
        path = folder / f"student-{n:03d}.ipynb"
        nbformat.write(notebook, path)
        paths.append(path)
    return paths


class PeakMemory(threading.Thread):
    """Samples the peak resident memory (VmHWM) of the grader's processes (the batch and its
    workers) and of the kernels, told apart by their command line."""

    def __init__(self):
        super().__init__(daemon=True)
        self.worker = 0
        self.kernel = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                peak = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")), 0)
                if b"multiprocessing" in command and b"spawn" in command or b"grader batch" in command:
                    self.worker = max(self.worker, peak)
                elif b"ipykernel_launcher" in command:
                    self.kernel = max(self.kernel, peak)


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine: the kernels' time is not reaped back to us
    through bubblewrap, so ask the machine how busy its cores were."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def run_batch(folder: Path, jobs: int) -> dict[str, float]:
    out = folder.with_name(f"{folder.name}-out-j{jobs}")
    memory = PeakMemory()
    memory.start()
    ticks, start = cpu_ticks(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "batch", str(folder), "--out", str(out), "-j", str(jobs),
                    "--seed", "1"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    busy, total = (after - before for after, before in zip(cpu_ticks(), ticks))
    memory.stop.set()
    memory.join()
    return {"wall": wall, "busy": busy / total, "worker_mb": memory.worker / 1024,
            "kernel_mb": memory.kernel / 1024}


def nbclient_seconds(paths: list[Path]) -> float:
    env = {**os.environ, "MPLBACKEND": "agg", "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    for path in paths:
        subprocess.run([sys.executable, "-c", NBCLIENT_ONLY, str(path)], env=env, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 40])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--xor-only-10", action="store_true", help="Also time 10 correct XOR notebooks with -j 2.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        print(f"{'class':>28} {'-j':>3} {'wall s':>8} {'s/sub':>7} {'cores busy':>10} {'grader MB':>10} "
              f"{'kernel MB':>10}")
        walls: dict[tuple[int, int], float] = {}
        for size in options.sizes:
            folder = Path(tmp) / f"mixed-{size}"
            paths = make_class(folder, size, ("xor", "backprop"))
            for jobs in options.jobs:
                figures = run_batch(folder, jobs)
                walls[size, jobs] = figures["wall"]
                print(f"{f'{size} mixed (xor+backprop)':>28} {jobs:>3} {figures['wall']:8.1f} "
                      f"{figures['wall'] / size:7.2f} {figures['busy']:10.0%} {figures['worker_mb']:10.0f} "
                      f"{figures['kernel_mb']:10.0f}", flush=True)
            if 1 in options.jobs:
                alone = nbclient_seconds(paths)
                print(f"{'':>28} nbclient alone, serially: {alone:.1f} s; grading overhead per submission "
                      f"with -j 1: {(walls[size, 1] - alone) / size:.2f} s", flush=True)
        for size in options.sizes:
            if (size, 1) in walls and (size, 2) in walls:
                print(f"{size} submissions: -j 2 is {walls[size, 1] / walls[size, 2]:.2f}x faster than -j 1")
        if len(options.sizes) > 1:
            small, large = min(options.sizes), max(options.sizes)
            for jobs in options.jobs:
                per_small, per_large = walls[small, jobs] / small, walls[large, jobs] / large
                print(f"-j {jobs}: {per_small:.2f} s per submission at {small}, {per_large:.2f} s at {large}")
        if options.xor_only_10:
            folder = Path(tmp) / "xor-10"
            make_class(folder, 10, ("xor",), correct_every=1)
            figures = run_batch(folder, 2)
            print(f"10 correct XOR notebooks, -j 2: {figures['wall']:.1f} s "
                  f"(cores busy {figures['busy']:.0%})")


if __name__ == "__main__":
    main()
