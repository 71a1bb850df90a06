"""Verdicts on backprop: its gradients' keys and shapes, against the reference, against finite
differences; advice on its own helpers and on inputs it changed."""

from __future__ import annotations

import math

import torch

from grader.trusted.artifacts import Artifact
from grader.trusted.compare import FLOAT64, compare, shape_of
from grader.trusted.judges.backprop.expected import FINITE_DIFFERENCES
from grader.trusted.judges.backprop.mistakes import hints
from grader.trusted.judges.backprop.network import PARAMETERS
from grader.trusted.judges.backprop.verdicts.cases import (call_made, case_problem, first_failure, recorded_outcomes,
                                                           stability_advice, student_parts)
from grader.trusted.judges.contract import CellOf
from grader.trusted.judges.evidence import exception_messages
from grader.trusted.judges.verdict import failed
from grader.trusted.results import Figure, Message, Verdict

SHAPES, VALUES, FINITE = ("backprop_gradient_keys_and_shapes", "backprop_matches_reference",
                          "backprop_matches_finite_differences")


def judge_backprop(artifact: Artifact, own: Artifact, inputs, answers, cell_of: CellOf,
                   failed_helpers: list[str], uses_autograd: bool = False) -> list[Verdict]:
    advice = stability_advice("backprop", artifact, inputs)
    if not artifact.ok:
        return [failed(SHAPES, artifact, "backprop", cell_of, advice), failed(VALUES, artifact, "backprop", cell_of),
                failed(FINITE, artifact, "backprop", cell_of)]
    cases, outcomes = inputs["cases"]["backprop"], recorded_outcomes(artifact, "case")
    shape_fail: list[list[Message]] = []
    value_fail: list[list[Message]] = []
    fd_fail: list[list[Message]] = []
    for index, arguments in enumerate(cases):
        outcome = outcomes[index] if index < len(outcomes) else {}
        key = f"case{index}"
        shapes = _backprop_shape_problem(artifact, key, outcome, arguments, answers["backprop"][index], cell_of)
        if shapes:
            shape_fail.append(shapes)
        values = case_problem("backprop", artifact, key, outcome, arguments, answers["backprop"][index],
                              PARAMETERS, cell_of)
        if values:
            value_fail.append(values + layer_hint(artifact, key, answers["backprop"][index]))
        numeric = case_problem("backprop", artifact, key, outcome, arguments, answers["finite_differences"][index],
                               PARAMETERS, cell_of, tolerance=FINITE_DIFFERENCES)
        if numeric:
            fd_fail.append(numeric)
    autograd = [Message("uses_autograd", {"function": "backprop"})] if uses_autograd else []

    def verdict(name: str, failures: list[list[Message]], extra: list[Message]) -> Verdict:
        messages = autograd + first_failure("backprop", failures, len(cases))
        return Verdict(name, not messages, messages, extra)

    own_advice = _own_helpers_advice(own, answers, failed_helpers) if not value_fail else []
    mutated = [Message("advice.params_modified")] if any(
        0 in o.get("changed_inputs", []) for o in outcomes if isinstance(o.get("changed_inputs"), list)) else []
    values_verdict = verdict(VALUES, value_fail, own_advice + mutated)
    if not values_verdict.passed:
        values_verdict.figures = _gradient_error_figure(artifact, cases, answers["backprop"])
    return [verdict(SHAPES, shape_fail, advice), values_verdict, verdict(FINITE, fd_fail, [])]


def _gradient_error_figure(artifact: Artifact, cases: list, want: list[dict[str, torch.Tensor]]) -> list[Figure]:
    """Relative error per case and parameter, for the report's heatmap; None where no tensor of
    the right shape came back."""
    rows, errors = [], []
    for index, arguments in enumerate(cases):
        params, x = arguments[0], arguments[1]
        sizes = [params["W1"].shape[1], params["W1"].shape[0], params["W2"].shape[0]]
        rows.append({"case": index + 1, "sizes": sizes, "batch": x.shape[0]})  # the catalogs label it
        row = []
        for name in PARAMETERS:
            got, expected = artifact.tensors.get(f"case{index}.{name}"), want[index][name]
            if not isinstance(got, torch.Tensor) or got.shape != expected.shape or not got.is_floating_point():
                row.append(None)
                continue
            error = float((got.double() - expected).abs().max() / expected.abs().max().clamp_min(1e-12))
            row.append(error if math.isfinite(error) else 1e3)
        errors.append(row)
    return [Figure("gradient_errors", {"cases": rows, "parameters": list(PARAMETERS), "errors": errors})]


def _backprop_shape_problem(artifact: Artifact, key: str, outcome: dict, arguments: list,
                            want: dict[str, torch.Tensor], cell_of: CellOf) -> list[Message]:
    call = Message("case_call", {"call": call_made("backprop", arguments)})
    if "error" in outcome:
        return [call] + exception_messages(outcome["error"], "backprop", cell_of)
    got, problems = student_parts("backprop", artifact, key, outcome)
    if problems:
        return [call] + problems
    result = outcome.get("result", {})
    keys = result.get("keys") if isinstance(result.get("keys"), list) else []
    if sorted(str(k) for k in keys) != sorted(PARAMETERS):
        return [call, Message("gradient_keys", {"got": [str(k)[:40] for k in keys[:16]], "expected": list(PARAMETERS)})]
    params = arguments[0]
    for name in PARAMETERS:
        tensor = got.get(name)
        if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != tuple(params[name].shape):
            shown = shape_of(tensor) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            messages = [call, Message("gradient_shape", {"param": name, "got": shown,
                                                         "expected": shape_of(params[name])})]
            return messages + hints("backprop", name, arguments, tensor, want, look=False)
    return []


def layer_hint(artifact: Artifact, key: str, want: dict[str, torch.Tensor]) -> list[Message]:
    """Output layer right and hidden layer wrong: the mistake is in propagating delta back."""
    got = {name: artifact.tensors.get(f"{key}.{name}") for name in PARAMETERS}
    right = {name: compare(got[name], want[name], FLOAT64) is None for name in PARAMETERS}
    # A gradient that is not there at all is a missing key (said elsewhere), not a wrong layer.
    present = all(isinstance(got[name], torch.Tensor) for name in ("W1", "b1"))
    if present and right["W2"] and right["b2"] and not (right["W1"] and right["b1"]):
        return [Message("hint.backprop_hidden_layer")]
    return []


def _own_helpers_advice(artifact: Artifact, answers, failed_helpers: list[str]) -> list[Message]:
    """backprop is right with the grader's helpers; is it also right with the student's own?"""
    outcomes = recorded_outcomes(artifact, "own") if artifact.ok else []
    if not outcomes:
        return []
    outcome, want = outcomes[0], answers["backprop"][-1]
    wrong = "error" in outcome or any(
        compare(artifact.tensors.get(f"own0.{name}"), want[name], FLOAT64) is not None for name in PARAMETERS)
    if not wrong:
        return []
    if failed_helpers:
        return [Message("advice.own_helpers_wrong", {"functions": list(failed_helpers)})]
    return [Message("advice.own_helpers_differ")]
