"""Times `grade submit` on the reference notebook against executing the same notebook with nbclient
alone, and the lecture's training with 1 and 2 torch threads (why the grader uses 1).

    python bench/submit_vs_nbclient.py [--runs 3]

Prints figures; asserts nothing. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "reference" / "xor.ipynb"

NBCLIENT_ONLY = """
import nbformat, sys
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True).execute()
"""

TRAINING = """
import sys, time, torch, torch.nn as nn, torch.utils.data as data
torch.set_num_threads(int(sys.argv[1]))
torch.manual_seed(0)
x = torch.randint(0, 2, (2500, 2)).float(); y = (x.sum(1) == 1).long(); x += 0.1 * torch.randn(x.shape)
loader = data.DataLoader(data.TensorDataset(x, y), batch_size=128, shuffle=True)
model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1); loss = nn.BCEWithLogitsLoss()
start = time.perf_counter()
for _ in range(100):
    for a, b in loader:
        out = loss(model(a).squeeze(1), b.float()); opt.zero_grad(); out.backward(); opt.step()
print(time.perf_counter() - start)
"""


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    env = {**os.environ, "MPLBACKEND": "agg"}
    grade = [timed([sys.executable, "-m", "grader", "submit", str(NOTEBOOK), "--seed", "1"]) for _ in range(runs)]
    alone = [timed([sys.executable, "-c", NBCLIENT_ONLY, str(NOTEBOOK)], env) for _ in range(runs)]
    g, a = statistics.median(grade), statistics.median(alone)
    print(f"grade submit reference/xor.ipynb   median {g:6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in grade)})")
    print(f"nbclient alone, same notebook      median {a:6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in alone)})")
    print(f"ratio                              {g / a:6.2f}x  (target <= 1.5x)")
    threads = {}
    for n in (1, 2):
        out = [subprocess.run([sys.executable, "-c", TRAINING, str(n)], capture_output=True, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": str(n)}).stdout for _ in range(runs)]
        threads[n] = statistics.median(float(t) for t in out)
        print(f"lecture training, 100 epochs, {n} torch thread(s): median {threads[n]:.2f} s")
    best = min(threads, key=threads.get)
    print(f"torch threads chosen by the grader: 1 (fastest here: {best})")


if __name__ == "__main__":
    main()
