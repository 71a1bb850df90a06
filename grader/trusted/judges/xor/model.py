"""The lecture's model, ClasificadorSimple(2, 4, 1), as the grader knows it without the reference's
code: its parameters, and its forward as a function of a state_dict."""

from __future__ import annotations

import torch

from grader.trusted.results import Message

# The lecture's ClasificadorSimple(2, 4, 1): its parameters, in the order the model registers them.
REFERENCE_SHAPES = {"linear1.weight": (4, 2), "linear1.bias": (4,), "linear2.weight": (1, 4), "linear2.bias": (1,)}
PARAMETER_NAMES = tuple(REFERENCE_SHAPES)


def logits_of_state(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The lecture's model as a function of its state_dict, with the same ``addmm`` as ``nn.Linear``
    (so float32 logits are those of the model with these weights loaded): the grader predicts with
    a student's weights without the reference's code, so that judging needs no solution (see
    grader.authoring.bundle)."""
    hidden = torch.tanh(torch.addmm(state["linear1.bias"], x, state["linear1.weight"].T))
    return torch.addmm(state["linear2.bias"], hidden, state["linear2.weight"].T)


def strict_load_problem(state: dict[str, torch.Tensor]) -> Message | None:
    """What ``load_state_dict(strict=True)`` on the reference model would refuse, as data (the
    names are the student's: a few, each cut short)."""
    missing, unexpected = sorted(set(REFERENCE_SHAPES) - set(state)), sorted(set(state) - set(REFERENCE_SHAPES))
    if missing or unexpected:
        return Message("load_problem.keys", {"missing": missing, "unexpected": [k[:60] for k in unexpected[:8]]})
    for name, shape in REFERENCE_SHAPES.items():
        if not isinstance(state[name], torch.Tensor) or tuple(state[name].shape) != shape:
            got = list(state[name].shape) if isinstance(state[name], torch.Tensor) else type(state[name]).__name__
            return Message("load_problem.shape", {"param": name, "got": got, "expected": list(shape)})
    return None


def reference_forward(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """float32 logits of the reference model with a student's weights loaded."""
    with torch.no_grad():
        return logits_of_state({k: v.detach().to(torch.float32) for k, v in state.items()}, x.to(torch.float32))
