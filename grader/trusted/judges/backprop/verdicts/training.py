"""The verdict on the training that backprop drives: accuracy on hidden points."""

from __future__ import annotations

from typing import Any

import torch

from grader.trusted.artifacts import Artifact
from grader.trusted.judges.backprop.inputs import TRAINING_EPOCHS, TRAINING_SIZES
from grader.trusted.judges.backprop.network import PARAMETERS, layers
from grader.trusted.judges.contract import CellOf
from grader.trusted.judges.verdict import failed
from grader.trusted.results import Message, Verdict

ACCURACY_THRESHOLD = 0.95


def judge_training(artifact: Artifact, inputs, hidden, cell_of: CellOf, uses_autograd: bool = False) -> Verdict:
    name = "backprop_training_reaches_accuracy"
    if not artifact.ok:
        return failed(name, artifact, "backprop", cell_of)
    messages: list[Message] = []
    if uses_autograd:
        messages.append(Message("uses_autograd", {"function": "backprop"}))
    problem = artifact.values.get("problem")
    if isinstance(problem, dict):
        return Verdict(name, False, messages + [_training_problem(problem)])
    params = {p: artifact.tensors.get(f"final.{p}") for p in PARAMETERS}
    init = inputs["train"]["init"]
    if any(not isinstance(params[p], torch.Tensor) or params[p].shape != init[p].shape
           or not params[p].is_floating_point() for p in PARAMETERS):
        return Verdict(name, False, messages + [Message("training_no_parameters")])
    if not all(bool(torch.isfinite(params[p]).all()) for p in PARAMETERS):
        return Verdict(name, False, messages + [Message("training_not_finite")])
    with torch.no_grad():
        output = layers({p: v.to(torch.float64) for p, v in params.items()}, hidden["test_x"])[3]
    accuracy = float(((output >= 0.5).to(torch.float64) == hidden["test_y"]).to(torch.float64).mean())
    details = {"accuracy": 100 * accuracy, "threshold": 100 * ACCURACY_THRESHOLD,  # the catalogs format them
               "n": len(hidden["test_y"]), "epochs": TRAINING_EPOCHS,
               "sizes": list(TRAINING_SIZES)}
    if accuracy >= ACCURACY_THRESHOLD and not messages:
        return Verdict(name, True, [Message("training_reached", details)])
    return Verdict(name, False, messages + [Message("training_low", details)])


def _training_problem(problem: dict) -> Message:
    """backprop returned something the update W <- W - lr * dW cannot use."""
    epoch, kind = problem.get("epoch", "?"), problem.get("kind")
    if kind == "not_dict":
        return Message("training_not_dict", {"epoch": epoch, "got": str(problem.get("got"))[:60]})
    if kind == "missing_key":
        return Message("training_missing_key", {"epoch": epoch, "key": str(problem.get("key"))[:20]})
    return Message("training_gradient_shape", {
        "epoch": epoch, "key": str(problem.get("key"))[:20],
        "got": _shape_or_text(problem.get("got")), "expected": _shape_or_text(problem.get("expected"))})


def _shape_or_text(value: Any) -> list[int] | str:
    """A shape the probe reported, as plain sizes (the catalogs write it, ``{got:shape}``), or
    what else it reported, trimmed."""
    if isinstance(value, list) and all(isinstance(n, int) and not isinstance(n, bool) for n in value):
        return value[:8]
    return str(value)[:60]
