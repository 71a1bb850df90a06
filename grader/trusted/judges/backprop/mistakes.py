"""The backprop exercise's known mistakes as data (see grader.trusted.judges.mistakes): each row
computes, from a case's arguments and the reference's answer, what a function with that mistake
returns."""

from __future__ import annotations

from typing import Callable

import torch

from grader.trusted.compare import Tolerance, compare
from grader.trusted.judges.backprop.network import FUNCTIONS, PARAMETERS, layers
from grader.trusted.judges.mistakes import Mistake, Table, diagnose
from grader.trusted.results import Message

CLOSE_TO_MISTAKE = Tolerance(rtol=1e-6, atol=1e-9)


def hints(name: str, part: str, arguments: list, got, want: dict[str, torch.Tensor],
          look: bool = True) -> list[Message]:
    """The hint of the known mistake whose result the wrong answer equals on the same inputs
    (see grader.trusted.judges.mistakes), or how to look for the difference."""
    if not isinstance(got, torch.Tensor) or not got.is_floating_point():
        return []
    return diagnose(MISTAKES, _judged(name, part), got.to(torch.float64), _close_to_mistake, arguments, want,
                    params={"function": name}, look=look)


def _judged(name: str, part: str) -> str:
    return name if part == "out" else f"{name}.{part}"


def _close_to_mistake(got: torch.Tensor, candidate: torch.Tensor) -> bool:
    return tuple(candidate.shape) == tuple(got.shape) and compare(got, candidate, CLOSE_TO_MISTAKE) is None


def sigmoid_prime_typo(z: torch.Tensor) -> torch.Tensor:
    a = torch.sigmoid(z)
    return a * z * (1 - a)


def _hidden_delta_with(prime) -> Callable:
    return lambda args, want: (args[1] @ args[0]) * prime(args[2])


def _backprop_rows() -> tuple[Mistake, ...]:
    rows = []
    for part in PARAMETERS:
        judged = f"backprop.{part}"
        rows += [
            Mistake.row(judged, "hint.slide_typo", lambda args, want, p=part: _backprop_with(*args, sigmoid_prime_typo)[p]),
            Mistake.row(judged, "hint.flipped_sign", lambda args, want, p=part: -want[p]),
            Mistake.row(judged, "hint.transpose", lambda args, want, p=part: want[p].T if want[p].dim() == 2 else None),
            Mistake.row(judged, "hint.mean_not_sum", lambda args, want, p=part: want[p] / len(args[1])),
        ]
        if part.startswith("b"):
            rows.append(Mistake.row(judged, "hint.bias_not_summed",
                                    lambda args, want, p=part: _backprop_deltas(*args)[p]))
    return tuple(rows)


def _backprop_deltas(params, x, y) -> dict[str, torch.Tensor]:
    """Each layer's delta, as a bias gradient that was not summed over the batch."""
    z1, a1, z2, a2 = layers(params, x)
    delta2 = (a2 - y) * a2 * (1 - a2)
    return {"b2": delta2, "b1": (delta2 @ params["W2"]) * a1 * (1 - a1)}


S = torch.sigmoid
# The backprop exercise's known mistakes: each row computes, from a case's arguments and the
# reference's answer, what a function with that mistake returns.
MISTAKES = Table((
    Mistake.row("sigmoid", "hint.sigmoid_sign", lambda args, want: S(-args[0])),
    Mistake.row("sigmoid_prime", "hint.slide_typo", lambda args, want: sigmoid_prime_typo(args[0])),
    Mistake.row("sigmoid_prime", "hint.prime_takes_z", lambda args, want: args[0] * (1 - args[0])),
    Mistake.row("sigmoid_prime", "hint.prime_is_sigmoid", lambda args, want: S(args[0])),
    Mistake.row("mse_loss", "hint.mse_half", lambda args, want: ((args[1] - args[0]) ** 2).sum()),
    Mistake.row("mse_loss", "hint.mean_not_sum", lambda args, want: 0.5 * ((args[1] - args[0]) ** 2).mean()),
    Mistake.row("mse_loss", "hint.mean_not_sum", lambda args, want: ((args[1] - args[0]) ** 2).mean()),
    Mistake.row("mse_loss", "hint.mean_not_sum", lambda args, want: 0.5 * ((args[1] - args[0]) ** 2).sum() / len(args[0])),
    Mistake.row("mse_loss_grad", "hint.flipped_sign", lambda args, want: args[1] - args[0]),
    Mistake.row("mse_loss_grad", "hint.factor_two", lambda args, want: 2 * (args[0] - args[1])),
    Mistake.row("mse_loss_grad", "hint.mean_not_sum", lambda args, want: (args[0] - args[1]) / len(args[0])),
    Mistake.row("mse_loss_grad", "hint.mean_not_sum", lambda args, want: (args[0] - args[1]) / args[0].numel()),
    Mistake.row("output_delta", "hint.flipped_sign", lambda args, want: -want["out"]),
    Mistake.row("output_delta", "hint.slide_typo", lambda args, want: (args[1] - args[2]) * args[1] * args[0] * (1 - args[1])),
    Mistake.row("output_delta", "hint.prime_of_activation",
                lambda args, want: (args[1] - args[2]) * S(args[1]) * (1 - S(args[1]))),
    Mistake.row("output_delta", "hint.missing_prime", lambda args, want: args[1] - args[2]),
    Mistake.row("hidden_delta", "hint.transpose", lambda args, want: (args[1] @ args[0].T) * S(args[2]) * (1 - S(args[2]))
                if args[0].shape[0] == args[0].shape[1] else None),
    Mistake.row("hidden_delta", "hint.flipped_sign", lambda args, want: -want["out"]),
    Mistake.row("hidden_delta", "hint.missing_prime", lambda args, want: args[1] @ args[0]),
    Mistake.row("hidden_delta", "hint.slide_typo", _hidden_delta_with(sigmoid_prime_typo)),
    Mistake.row("hidden_delta", "hint.prime_of_activation", lambda args, want: (args[1] @ args[0]) * S(S(args[2])) * (1 - S(S(args[2])))),
    Mistake.row("layer_gradients.dW", "hint.transpose", lambda args, want: args[1].T @ args[0]),
    Mistake.row("layer_gradients.dW", "hint.flipped_sign", lambda args, want: -want["dW"]),
    Mistake.row("layer_gradients.dW", "hint.mean_not_sum", lambda args, want: want["dW"] / len(args[0])),
    Mistake.row("layer_gradients.db", "hint.bias_not_summed", lambda args, want: args[0]),
    Mistake.row("layer_gradients.db", "hint.bias_not_summed", lambda args, want: args[0].sum(dim=1)),
    Mistake.row("layer_gradients.db", "hint.flipped_sign", lambda args, want: -want["db"]),
    Mistake.row("layer_gradients.db", "hint.mean_not_sum", lambda args, want: want["db"] / len(args[0])),
) + _backprop_rows(), look={name: "look.backprop_values" for name in FUNCTIONS})


def _backprop_with(params, x, y, prime) -> dict[str, torch.Tensor]:
    z1, a1, z2, a2 = layers(params, x)
    delta2 = (a2 - y) * prime(z2)
    delta1 = (delta2 @ params["W2"]) * prime(z1)
    return {"W1": delta1.T @ x, "b1": delta1.sum(0), "W2": delta2.T @ a1, "b2": delta2.sum(0)}
