"""Verdicts on the helper functions (sigmoid to layer_gradients): every case against the reference."""

from __future__ import annotations

from grader.trusted.artifacts import Artifact
from grader.trusted.judges.backprop.verdicts.cases import (case_problem, first_failure, recorded_outcomes,
                                                           stability_advice)
from grader.trusted.judges.contract import CellOf
from grader.trusted.judges.verdict import failed
from grader.trusted.results import Message, Verdict


def judge_function(name: str, check: str, artifact: Artifact, inputs, answers, cell_of: CellOf,
                   parts: tuple[str, ...], autograd: bool = False) -> Verdict:
    """Every case of ``name`` against the reference, reporting the first that fails."""
    if not artifact.ok:
        return failed(check, artifact, name, cell_of, stability_advice(name, artifact, inputs))
    cases, outcomes = inputs["cases"][name], recorded_outcomes(artifact, "case")
    failures: list[list[Message]] = []
    for index, arguments in enumerate(cases):
        outcome = outcomes[index] if index < len(outcomes) else {}
        problem = case_problem(name, artifact, f"case{index}", outcome, arguments, answers[name][index],
                               parts, cell_of)
        if problem:
            failures.append(problem)
    messages: list[Message] = []
    if autograd:
        messages.append(Message("uses_autograd", {"function": name}))
    messages += first_failure(name, failures, len(cases))
    return Verdict(check, not messages, messages, stability_advice(name, artifact, inputs))
