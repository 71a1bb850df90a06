"""The pictures of the XOR report: loss curves and the trained model's decision boundary."""

from __future__ import annotations

import torch

from grader.trusted.artifacts import Artifact
from grader.trusted.judges.xor.inputs import GRID_HIGH, GRID_LOW, GRID_SIZE
from grader.trusted.results import Figure


def loss_figure(train: Artifact, answers) -> list[Figure]:
    return _losses_figure("loss_curves", train, answers["train_losses"])


def training_figure(e2e: Artifact, reference: list[float]) -> list[Figure]:
    return _losses_figure("training_loss", e2e, reference)


def _losses_figure(kind: str, artifact: Artifact, reference: list[float]) -> list[Figure]:
    losses = artifact.values.get("losses")
    if not isinstance(losses, list) or not losses or not all(isinstance(v, (int, float)) for v in losses):
        return []
    return [Figure(kind, {"student": [round(float(v), 5) for v in losses[:4000]],
                          "reference": [round(v, 5) for v in reference]})]


def boundary_figure(grid_logits, inputs, labels, accuracy: float) -> list[Figure]:
    """``accuracy``: the percentage of hidden points right, for the picture's title."""
    if not isinstance(grid_logits, torch.Tensor) or grid_logits.numel() != GRID_SIZE**2 \
            or not grid_logits.is_floating_point():
        return []
    probabilities = torch.sigmoid(grid_logits.double().reshape(GRID_SIZE, GRID_SIZE))
    return [Figure("decision_boundary", {
        "low": GRID_LOW, "high": GRID_HIGH, "n": GRID_SIZE, "accuracy": accuracy,
        "probabilities": [[round(float(v), 4) for v in row] for row in probabilities],
        "points": [[round(float(v), 4) for v in point] for point in inputs["test_x"]],
        "labels": [int(v) for v in labels],
    })]
