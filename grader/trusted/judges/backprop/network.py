"""The backprop exercise's network: its functions and their arguments, its parameters, and its
forward pass, as the grader computes it."""

from __future__ import annotations

import torch

FUNCTIONS = ("sigmoid", "sigmoid_prime", "mse_loss", "mse_loss_grad", "output_delta", "hidden_delta",
             "layer_gradients", "backprop")


ARGUMENTS = {
    "sigmoid": ("z",), "sigmoid_prime": ("z",), "mse_loss": ("a", "y"), "mse_loss_grad": ("a", "y"),
    "output_delta": ("z_L", "a_L", "y"), "hidden_delta": ("W_next", "delta_next", "z"),
    "layer_gradients": ("delta", "a_prev"), "backprop": ("params", "x", "y"),
}
PARAMETERS = ("W1", "b1", "W2", "b2")


def layers(params, x) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    z1 = x @ params["W1"].T + params["b1"]
    a1 = torch.sigmoid(z1)
    z2 = a1 @ params["W2"].T + params["b2"]
    return z1, a1, z2, torch.sigmoid(z2)
