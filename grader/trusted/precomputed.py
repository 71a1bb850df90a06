"""The reference's answers for fixed inputs, for a student bundle that has no reference solutions
(``grade release --student-bundle``). The TA's grading never uses them: it draws fresh inputs at
grading time and computes the answers from the reference notebook.

One file per assignment, ``grader/precomputed/<assignment>.pt``: ``{seed: {"inputs", "hidden",
"answers"}}`` of tensors, numbers and strings only, read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.errors import UnusableInput

FOLDER = Path(__file__).resolve().parents[1] / "precomputed"
SEEDS = (101, 202, 303)  # the inputs a bundle knows; a constant, so choosing one needs no file or torch


def path(assignment: str) -> Path:
    return FOLDER / f"{assignment}.pt"


def seed_for(seed: int) -> int:
    """One of the stored seeds: ``seed`` itself if stored, else the one it picks."""
    return seed if seed in SEEDS else SEEDS[seed % len(SEEDS)]


def load(assignment: str, seed: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    import torch

    if not path(assignment).exists():
        raise UnusableInput(f"neither the reference notebook of {assignment!r} nor its precomputed answers "
                            f"({path(assignment)}) are here; reinstall the grader or its student bundle")
    entry = torch.load(path(assignment), weights_only=True)[seed]
    return entry["inputs"], entry["hidden"], entry["answers"]


def compute(assignment: str, seeds=SEEDS) -> dict[int, dict[str, Any]]:
    """What a bundle stores, computed here from the reference notebook on the CPU."""
    import torch

    from grader.assignments import get_assignment
    from grader.trusted.judges import judge_for
    from grader.trusted.reference import load_reference

    judge, ref = judge_for(assignment), load_reference(get_assignment(assignment).reference)
    stored = {}
    for seed in seeds:
        inputs, hidden = judge.draw_inputs(seed, "cpu")
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            answers = judge.expected(inputs, ref)
        stored[seed] = {"inputs": inputs, "hidden": hidden, "answers": answers}
    return stored
