"""What the reference notebook answers on the backprop judge's inputs, checked against autograd
(and backprop against finite differences)."""

from __future__ import annotations

from typing import Any

import torch

from grader.oracles.backprop import ORACLES, network_loss
from grader.trusted.compare import FLOAT64, Tolerance, compare
from grader.trusted.judges.backprop.network import FUNCTIONS, PARAMETERS

FINITE_DIFFERENCES = Tolerance(rtol=1e-5, atol=1e-7)
FD_STEP = 1e-6


class ReferenceDisagrees(RuntimeError):
    """The reference notebook and autograd (or finite differences) give different answers."""


def expected(inputs: dict[str, Any], ref) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for name in FUNCTIONS:
        results = []
        for index, arguments in enumerate(inputs["cases"][name]):
            got = as_parts(name, getattr(ref, name)(*copies(arguments)))
            truth = as_parts(name, ORACLES[name](*copies(arguments)))
            for part, value in truth.items():
                if compare(got.get(part), value, FLOAT64) is not None:
                    raise ReferenceDisagrees(f"reference {name} case {index} part {part} differs from autograd")
            results.append(got)
        answers[name] = results
    for name, cases in inputs["extreme"].items():
        for index, arguments in enumerate(cases):
            parts = as_parts(name, getattr(ref, name)(*copies(arguments)))
            if not all(bool(torch.isfinite(value).all()) for value in parts.values()):
                raise ReferenceDisagrees(f"reference {name} is not finite on extreme case {index}")
    answers["finite_differences"] = []
    for index, (params, x, y) in enumerate(inputs["cases"]["backprop"]):
        numeric = finite_differences(params, x, y)
        for part, value in numeric.items():
            if compare(answers["backprop"][index][part], value, FINITE_DIFFERENCES) is not None:
                raise ReferenceDisagrees(f"reference backprop case {index} {part} differs from finite differences")
        answers["finite_differences"].append(numeric)
    return answers


def copies(arguments: list) -> list:
    return [{k: v.clone() for k, v in a.items()} if isinstance(a, dict) else a.clone() for a in arguments]


def as_parts(name: str, result) -> dict[str, torch.Tensor]:
    if name == "layer_gradients":
        return {"dW": result[0], "db": result[1]}
    if name == "backprop":
        return {key: result[key] for key in PARAMETERS}
    return {"out": result}


def finite_differences(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Central differences of the network's loss, one parameter entry at a time."""
    grads = {}
    for name in PARAMETERS:
        grad = torch.zeros_like(params[name])
        flat = grad.view(-1)
        for i in range(flat.numel()):
            shifted = {k: v.clone() for k, v in params.items()}
            shifted[name].view(-1)[i] += FD_STEP
            up = float(network_loss(shifted, x, y))
            shifted[name].view(-1)[i] -= 2 * FD_STEP
            down = float(network_loss(shifted, x, y))
            flat[i] = (up - down) / (2 * FD_STEP)
        grads[name] = grad
    return grads
