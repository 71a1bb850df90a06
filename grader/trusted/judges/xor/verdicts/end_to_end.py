"""The verdict on the whole: accuracy on hidden points after the notebook's own training."""

from __future__ import annotations

from typing import Any

import torch

from grader.trusted.artifacts import Artifact
from grader.trusted.compare import dtype_text
from grader.trusted.judges.contract import CellOf
from grader.trusted.judges.verdict import failed
from grader.trusted.judges.xor.model import PARAMETER_NAMES, reference_forward, strict_load_problem
from grader.trusted.judges.xor.verdicts.described import seen
from grader.trusted.judges.xor.verdicts.figures import boundary_figure, training_figure
from grader.trusted.results import Message, Verdict

ACCURACY_THRESHOLD = 0.95
# Accuracy that predictions made without the trained weights must not exceed. A linear boundary
# gets 3 of XOR's 4 corners (75 %); the lecture's model with its random initial weights scored at
# most 77 % over 3,000 seeds.
CHANCE_ACCURACY = 0.85
SHUFFLES = 7  # the end_to_end probe's shuffles of the trained weights (probes/xor.py)


def judge_end_to_end(e2e: Artifact, inputs, hidden, answers, forward_ok: bool, cell_of: CellOf) -> Verdict:
    """Accuracy on the hidden points, from predictions the grader can trust. When the student's
    forward is the reference's (model_forward), the grader predicts itself from the trained
    weights, whatever else the model's state holds. Otherwise only the kernel can predict, and its
    predictions count only if the same model with its initial weights, and with its trained weights
    shuffled, scores near chance: predictions that follow from the points themselves (a forward
    that rounds its input) or from anything but the trained weights do not pass that test."""
    name = "end_to_end_accuracy"
    if not e2e.ok:
        return failed(name, e2e, "XORDataset + ClasificadorSimple + train_model", cell_of)
    labels, notes = hidden["test_y"], []
    trained, initial = _reference_weights(e2e, "state."), _reference_weights(e2e, "initial.")
    if forward_ok and trained is not None:
        logits, grid_logits = reference_forward(trained, inputs["test_x"]), reference_forward(trained, inputs["grid_x"])
        # Weights that score well before any training were not learnt (a state set by hand).
        without_training = [reference_forward(initial, inputs["test_x"]) if initial is not None else None]
    else:
        # The student's forward differs from the reference: only its own kernel can predict.
        logits, grid_logits = e2e.tensors.get("logits"), e2e.tensors.get("grid_logits")
        notes.append(Message("logits_from_kernel"))
        points = e2e.tensors.get("test_x")
        if not isinstance(points, torch.Tensor) or points.shape != inputs["test_x"].shape \
                or not torch.equal(points, inputs["test_x"]):
            logits = None  # predictions for other points than the grader's
        without_training = [e2e.tensors.get("initial_logits")]
        shuffled = [e2e.tensors.get(f"shuffled_logits.{i}") for i in range(SHUFFLES)]
        without_training.append(_median_accuracy_logits(shuffled, labels))
    accuracy = _accuracy(logits, labels)
    if accuracy is None:
        return Verdict(name, False, [Message("logits_unusable", {"got": seen(
            {"kind": "tensor", "dtype": dtype_text(logits.dtype), "shape": list(logits.shape)}
            if isinstance(logits, torch.Tensor) else {"kind": type(logits).__name__})})])
    # Percentages, formatted by the catalogs.
    params = {"accuracy": 100 * accuracy, "threshold": 100 * ACCURACY_THRESHOLD,
              "n": len(labels)}
    figures = boundary_figure(grid_logits, inputs, labels, params["accuracy"]) \
        + training_figure(e2e, answers["end_to_end_losses"])
    if accuracy < ACCURACY_THRESHOLD:
        return Verdict(name, False, [Message("accuracy_low", params)] + notes, figures=figures)
    untrained = [_accuracy(t, labels) for t in without_training]
    if any(a is None or a > CHANCE_ACCURACY for a in untrained):
        shown = max((a for a in untrained if a is not None), default=accuracy)
        return Verdict(name, False, [Message("predictions_ignore_training", {
            "accuracy": 100 * shown, "chance": 100 * CHANCE_ACCURACY})] + notes, figures=figures)
    return Verdict(name, True, [Message("accuracy_reached", params)] + notes, figures=figures)


def _reference_weights(e2e: Artifact, prefix: str) -> dict[str, torch.Tensor] | None:
    """The reference model's four parameters from a recorded state, or None when one is missing
    or misshapen; other entries (buffers, extra layers) are left out."""
    state = {k[len(prefix):]: x for k, x in e2e.tensors.items() if k.startswith(prefix)}
    chosen = {k: state.get(k) for k in PARAMETER_NAMES}
    if strict_load_problem(chosen) or not all(x.is_floating_point() for x in chosen.values()):
        return None
    return chosen


def _accuracy(logits: Any, labels: torch.Tensor) -> float | None:
    if not isinstance(logits, torch.Tensor) or logits.numel() != len(labels) or not logits.is_floating_point():
        return None
    return float(((logits.reshape(-1).double() >= 0).long() == labels).double().mean())


def _median_accuracy_logits(candidates: list[Any], labels: torch.Tensor) -> Any:
    """The shuffled-weights predictions of median accuracy (a single shuffle can, rarely, give
    another solution of XOR), or None if any of them is unusable."""
    scored = [(_accuracy(t, labels), i) for i, t in enumerate(candidates)]
    if any(a is None for a, _ in scored):
        return None
    return candidates[sorted(scored)[len(scored) // 2][1]]
