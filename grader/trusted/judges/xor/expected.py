"""What the reference notebook answers on the XOR judge's inputs."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.utils.data as tud

from grader.trusted.judges.xor.inputs import eval_sets
from grader.trusted.judges.xor.mistakes import eval_accuracy


class _RecordingBCE(nn.BCEWithLogitsLoss):
    """The reference's loss, kept per batch for the report's loss curve."""

    def __init__(self):
        super().__init__()
        self.values: list[float] = []

    def forward(self, input, target):
        loss = super().forward(input, target)
        self.values.append(float(loss.detach()))
        return loss


def expected(inputs: dict[str, Any], ref) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for i, sizes in enumerate(inputs["model_sizes"].tolist()):
        model = ref.ClasificadorSimple(*sizes).double()
        model.load_state_dict(inputs[f"model{i}_state"], strict=True)
        out = model(inputs[f"model{i}_x"])
        (out * inputs[f"model{i}_r"]).sum().backward()
        answers[f"out{i}"] = out.detach()
        answers[f"grads{i}"] = {name: p.grad.detach() for name, p in model.named_parameters()}
        answers[f"parameters{i}"] = [[name, list(p.shape)] for name, p in model.named_parameters()]
    answers["act_out"] = torch.tanh(inputs["act_in"])

    model = ref.ClasificadorSimple(2, 4, 1)
    model.load_state_dict(inputs["train_state"])
    loader = tud.DataLoader(tud.TensorDataset(inputs["train_x"], inputs["train_y"]),
                            batch_size=inputs["train_batch_size"], shuffle=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=inputs["train_lr"])
    loss = _RecordingBCE()
    ref.train_model(model, optimizer, loader, loss, num_epochs=inputs["train_epochs"])
    answers["train_losses"] = loss.values
    answers["trained"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    answers["train_forward_calls"] = inputs["train_epochs"] * len(loader)

    answers["end_to_end_losses"] = _reference_training_losses(ref)

    answers["accuracy"], answers["accuracy2"] = (eval_accuracy(case) for case in eval_sets(inputs))
    return answers


_REFERENCE_LOSSES: dict[str, list[float]] = {}


def _reference_training_losses(ref) -> list[float]:
    """The loss per batch of the lecture's training run with the reference code, for the report's
    picture next to the student's own run. Its seed is fixed, so it is computed once per process
    (about 5 s of CPU here), not once per submission."""
    key = getattr(ref, "__name__", "")
    if key not in _REFERENCE_LOSSES:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            dataset = ref.XORDataset(size=2500)
            loader = tud.DataLoader(dataset, batch_size=128, shuffle=True)
            model = ref.ClasificadorSimple(2, 4, 1)
            loss = _RecordingBCE()
            ref.train_model(model, torch.optim.SGD(model.parameters(), lr=0.1), loader, loss, num_epochs=100)
        _REFERENCE_LOSSES[key] = loss.values
    return list(_REFERENCE_LOSSES[key])
