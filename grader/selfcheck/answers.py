"""The inputs and the reference's answers ``check()`` judges with: those ``grade submit --seed S`` uses
for a bundle seed ``S`` (grader.trusted.precomputed.SEEDS).

In a student bundle they come with the package. In a full install (reference/ next to the
package, no precomputed files) they are computed by ``grader.authoring.bundle.precomputed_answers`` (the
function that makes the bundle's files) in a child process, so that no reference code ever runs in the
student's kernel, and kept in the user's cache, keyed by everything they depend on.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from grader import __version__
from grader.assignments import get_assignment
from grader.errors import GraderError
from grader.trusted import precomputed


def cache_folder() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "grader" / "answers"


def _key(assignment: str, seed: int) -> str:
    """A digest of what the answers depend on: the reference notebook and the trusted side's code
    (draws, judges, oracles), and the grader's version."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(f"{__version__} {assignment} {seed}".encode())
    digest.update(get_assignment(assignment).reference.read_bytes())
    for source in sorted([*(package / "trusted").rglob("*.py"), *(package / "oracles").rglob("*.py")]):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:20]


def load(assignment: str, seed: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(inputs, hidden, answers) for one of the bundle's seeds."""
    if precomputed.path(assignment).exists() or not get_assignment(assignment).reference.exists():
        return precomputed.load(assignment, seed)
    import torch

    cached = cache_folder() / f"{assignment}-{seed}-{_key(assignment, seed)}.pt"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        draft = cached.with_name(f".{cached.name}.{os.getpid()}")
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH")))))
        done = subprocess.run([sys.executable, "-m", "grader.selfcheck.answers", assignment, str(seed), str(draft)],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise GraderError(f"could not compute the reference's answers for {assignment} (seed {seed}): {last}")
        os.replace(draft, cached)
    entry = torch.load(cached, weights_only=True)
    return entry["inputs"], entry["hidden"], entry["answers"]


def _main(assignment: str, seed: str, out: str) -> None:
    import torch

    torch.set_num_threads(1)  # as grade submit computes them: its grader process uses one thread
    from grader.authoring.bundle import precomputed_answers

    torch.save(precomputed_answers(assignment, seeds=(int(seed),))[int(seed)], out)


if __name__ == "__main__":
    _main(*sys.argv[1:])
