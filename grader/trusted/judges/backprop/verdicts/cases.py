"""One function's cases as the probe recorded them, against the reference's answers: the first
that fails explained, and what happens on extreme inputs (advice)."""

from __future__ import annotations

from typing import Any

import torch

from grader.trusted.artifacts import Artifact
from grader.trusted.compare import FLOAT64, Tolerance, shape_of
from grader.trusted.judges.backprop.mistakes import hints
from grader.trusted.judges.backprop.network import ARGUMENTS, PARAMETERS
from grader.trusted.judges.contract import CellOf
from grader.trusted.judges.evidence import exception_messages
from grader.trusted.judges.verdict import mismatched
from grader.trusted.results import Message


def call_made(name: str, arguments: list) -> dict[str, Any]:
    """The grader's call of ``name`` on ``arguments`` as a message carries it (the catalogs write
    it, ``{call:call}``): each argument's name and shape, the parameters' layer sizes."""
    shown: list[dict[str, Any]] = []
    for label, value in zip(ARGUMENTS[name], arguments):
        if isinstance(value, dict):
            shown.append({"name": label, "sizes": [value["W1"].shape[1], value["W1"].shape[0], value["W2"].shape[0]]})
        else:
            shown.append({"name": label, "shape": shape_of(value)})
    return {"function": name, "arguments": shown}


def recorded_outcomes(artifact: Artifact, prefix: str) -> list[dict]:
    found = artifact.values.get(prefix)
    return [o if isinstance(o, dict) else {} for o in found] if isinstance(found, list) else []


def student_parts(name: str, artifact: Artifact, key: str, outcome: dict) -> tuple[dict[str, Any], list[Message]]:
    """The student's result split like the reference's, or why it cannot be."""
    result = outcome.get("result") if isinstance(outcome.get("result"), dict) else {}
    kind = str(result.get("kind", "?"))
    if name == "layer_gradients":
        if kind not in ("tuple", "list") or result.get("len") != 2:
            return {}, [Message("not_pair", {"got": kind, "length": result.get("len", "-")})]
        return {"dW": artifact.tensors.get(f"{key}.0"), "db": artifact.tensors.get(f"{key}.1")}, []
    if name == "backprop":
        if kind != "dict":
            return {}, [Message("not_dict", {"got": kind})]
        return {p: artifact.tensors.get(f"{key}.{p}") for p in PARAMETERS}, []
    if kind == "ndarray":
        return {}, [Message("numpy_result", {"function": name})]
    number = kind in ("float", "int") and name == "mse_loss"  # a Python number is a fine scalar loss
    if not (result.get("tensor") is True or number) or key not in artifact.tensors:
        return {}, [Message("not_tensor", {"function": name, "got": kind})]
    return {"out": artifact.tensors[key]}, []


def first_failure(name: str, failures: list[list[Message]], total: int) -> list[Message]:
    """The first failing case in full, plus the hints that only later cases revealed (a missing
    transpose raises on most shapes and only shows as a wrong value on a square one)."""
    if not failures:
        return []
    messages = [Message("cases_failed", {"function": name, "failed": len(failures), "total": total})]
    messages += failures[0]
    for failure in failures[1:]:
        messages += [m for m in failure if m.key.startswith("hint.") and m not in messages]
    if any(m.key.startswith("hint.") for m in messages):  # named: no need to say how to look
        messages = [m for m in messages if not m.key.startswith("look.")]
    return messages


def case_problem(name: str, artifact: Artifact, key: str, outcome: dict, arguments: list,
                 want: dict[str, torch.Tensor], parts: tuple[str, ...], cell_of: CellOf,
                 tolerance: Tolerance = FLOAT64) -> list[Message]:
    call = Message("case_call", {"call": call_made(name, arguments)})
    if "error" in outcome:
        return [call] + exception_messages(outcome["error"], name, cell_of)
    if "result" not in outcome:
        return [call, Message("case_not_run")]
    got, problems = student_parts(name, artifact, key, outcome)
    if problems:
        return [call] + problems
    for part in parts:
        what = name if part == "out" else f"{name}: {part}"
        differs = mismatched(got.get(part), want[part], tolerance, what, call, check_dtype=True)
        if differs:
            return differs + hints(name, part, arguments, got.get(part), want)
    return []


def stability_advice(name: str, artifact: Artifact, inputs) -> list[Message]:
    """Advice, never points: what happens at |z| in the hundreds, for a function that runs on the
    ordinary cases (when it does not, the student has more pressing feedback)."""
    cases = inputs["extreme"].get(name)
    if not cases or artifact.values.get("extreme") is None:
        return []
    if not all("result" in outcome for outcome in recorded_outcomes(artifact, "case")):
        return []
    for index, (arguments, outcome) in enumerate(zip(cases, recorded_outcomes(artifact, "extreme"))):
        call = call_made(name, arguments)
        if "error" in outcome:
            return [Message("advice.unstable_raised", {"call": call, "type": str(outcome["error"].get("type", ""))
                                                       if isinstance(outcome["error"], dict) else ""})]
        found = [t for k, t in artifact.tensors.items() if k == f"extreme{index}" or k.startswith(f"extreme{index}.")]
        if any(t.is_floating_point() and not bool(torch.isfinite(t).all()) for t in found):
            return [Message("advice.unstable", {"call": call})]
    return []
