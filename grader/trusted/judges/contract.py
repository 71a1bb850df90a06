"""What every judge declares, and what the trusted side computes with it for one grading.

A judge (one package per assignment under grader.trusted.judges) names the probes the kernel
runs, draws their inputs from the grading seed, computes what the reference answers on them, and
turns the artifacts into one verdict per check of grader.trusted.points. torch is imported by the
judges themselves, not here: the grader imports it while the kernel starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from grader.assignments import Assignment
    from grader.trusted.artifacts import Artifact
    from grader.trusted.judges.mistakes import Table
    from grader.trusted.results import Verdict

Values = dict[str, Any]
CellOf = Callable[[int], "int | None"]  # a probe frame's execution count -> the notebook's cell index


@dataclass(frozen=True)
class Judge:
    assignment: str
    probes: tuple[str, ...]  # the kernel's probes (grader.untrusted.probes.<assignment>), in the order run
    # (inputs the kernel gets, inputs kept from it), all drawn from the seed, for a device
    draw_inputs: Callable[[int, str], tuple[Values, Values]]
    # the reference's answers on the inputs, from the reference notebook's definitions
    expected: Callable[[Values, Any], Values]
    # one verdict per check, from the artifacts (one per probe), the inputs, hidden inputs and answers
    judge: Callable[[Mapping[str, "Artifact"], Values, Values, Values, CellOf], "list[Verdict]"]
    mistakes: "Table"  # the known mistakes whose hints the judge can name


@dataclass
class Prepared:
    """What the trusted side computes while the kernel runs the notebook."""

    inputs: Values
    hidden: Values
    answers: Values
    judge: Judge
    device: str


def answers_for(judge: Judge, reference: Any, seed: int, device: str) -> tuple[Values, Values, Values]:
    """(inputs, hidden inputs, the reference's answers) for ``seed``: what a grading judges with,
    and what a student bundle stores for its fixed seeds (grader.authoring.bundle)."""
    import torch

    inputs, hidden = judge.draw_inputs(seed, device)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        answers = judge.expected(inputs, reference)
    return inputs, hidden, answers


def prepare(assignment: "Assignment", seed: int, device: str) -> Prepared:
    """The inputs and answers of one grading: computed from the reference notebook, or, in a
    student bundle (no reference), those that came with it for ``seed``."""
    from grader.trusted import precomputed
    from grader.trusted.reference import load_reference

    judge = assignment.judge
    if not assignment.reference.exists():
        inputs, hidden, answers = precomputed.load(assignment.name, seed)
        inputs["device"] = device
        return Prepared(inputs, hidden, answers, judge, device)
    inputs, hidden, answers = answers_for(judge, load_reference(assignment.reference), seed, device)
    return Prepared(inputs, hidden, answers, judge, device)
