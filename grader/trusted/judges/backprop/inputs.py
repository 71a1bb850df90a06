"""The backprop judge's inputs, drawn at grading time from the grading seed."""

from __future__ import annotations

from typing import Any

import torch

from grader.trusted.judges.backprop.network import layers
from grader.trusted.judges.draws import Draw

# Layer sizes (n_in, n_hidden, n_out) of the drawn networks: the lecture's 2-3-1 with a batch of one
# and a larger batch, a 4-5-2, and a square 3-3-3, where a missing transpose keeps every shape.
FIXED_NETWORKS = ((2, 3, 1), (2, 3, 1), (4, 5, 2), (3, 3, 3))
# exp overflows float64 beyond 709.78, and its square beyond 354.9: both sides of both are here.
EXTREME_Z = torch.tensor([[-900.0, -720.0, -400.0, 400.0, 720.0, 900.0]], dtype=torch.float64)
# backprop_training: the grader's gradient descent on XOR. Sizes, step and epochs were chosen so
# that the reference reaches 100 % on every drawn data set (bench/backprop_training_pass_rate.py).
TRAINING_SIZES = (2, 8, 1)
TRAINING_INIT_SEED = 0
TRAINING_LR = 5.0
TRAINING_EPOCHS = 400
TRAINING_POINTS = 64
TEST_POINTS = 500


def network(draw: Draw, sizes, batch: int, scale: float = 1.0) -> list:
    n_in, n_hidden, n_out = sizes
    params = {
        "W1": draw.normal(n_hidden, n_in, scale=1.5 * scale, dtype=torch.float64),
        "b1": draw.normal(n_hidden, scale=scale, dtype=torch.float64),
        "W2": draw.normal(n_out, n_hidden, scale=1.5 * scale, dtype=torch.float64),
        "b2": draw.normal(n_out, scale=scale, dtype=torch.float64),
    }
    return [params, draw.normal(batch, n_in, scale=2.0, dtype=torch.float64), draw.rand(batch, n_out)]


def xor_points(draw: Draw, n: int, std: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    corners = torch.randint(0, 2, (n, 2), generator=draw.g).to(torch.float64)
    labels = (corners.sum(dim=1) == 1).to(torch.float64).unsqueeze(1)
    return corners + draw.normal(n, 2, scale=std, dtype=torch.float64), labels


def training_init() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(TRAINING_INIT_SEED)
    n_in, n_hidden, n_out = TRAINING_SIZES
    shapes = {"W1": (n_hidden, n_in), "b1": (n_hidden,), "W2": (n_out, n_hidden), "b2": (n_out,)}
    return {name: torch.randn(*shape, generator=g, dtype=torch.float64) for name, shape in shapes.items()}


def draw_inputs(seed: int, device: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(inputs the kernel gets, inputs kept hidden from it), all drawn from ``seed``. Everything
    runs on the CPU in float64: the exercise is about formulas, not devices."""
    draw = Draw(seed)
    networks = list(FIXED_NETWORKS) + [(draw.int(2, 6), draw.int(2, 7), draw.int(1, 4))]
    batches = [1] + [draw.int(2, 12) for _ in networks[1:]]
    nets = [network(draw, sizes, batch) for sizes, batch in zip(networks, batches)]
    cases: dict[str, list] = {}
    b = batches
    cases["sigmoid"] = [[draw.normal(1, 3, scale=3.0, dtype=torch.float64)],
                        [draw.normal(b[1], 5, scale=3.0, dtype=torch.float64)],
                        [draw.rand(b[2], 4, low=-30.0, high=30.0)],
                        [draw.normal(7, scale=4.0, dtype=torch.float64)]]
    cases["sigmoid_prime"] = [[draw.normal(1, 3, scale=3.0, dtype=torch.float64)],
                              [draw.normal(b[1], 5, scale=3.0, dtype=torch.float64)],
                              [draw.rand(b[2], 4, low=-30.0, high=30.0)],
                              [draw.normal(7, scale=4.0, dtype=torch.float64)]]
    outputs = [layers(params, x)[3] for params, x, _ in nets]
    cases["mse_loss"] = [[a, y] for a, (_, _, y) in zip(outputs, nets)]
    cases["mse_loss_grad"] = [[a, draw.rand(*a.shape)] for a in outputs]
    cases["output_delta"] = []
    cases["hidden_delta"] = []
    cases["layer_gradients"] = []
    for params, x, y in nets:
        z1, a1, z2, a2 = layers(params, x)
        cases["output_delta"].append([z2, a2, y])
        cases["hidden_delta"].append([params["W2"], draw.normal(*z2.shape, dtype=torch.float64), z1])
        cases["layer_gradients"].append([draw.normal(*z1.shape, dtype=torch.float64), x])
    cases["backprop"] = nets
    extreme_z = torch.cat([EXTREME_Z, draw.rand(2, 6, low=200.0, high=800.0),
                           -draw.rand(2, 6, low=200.0, high=800.0), draw.normal(1, 6, dtype=torch.float64)])
    z_out = torch.cat([EXTREME_Z.view(3, 2), draw.rand(1, 2, low=200.0, high=800.0),
                       -draw.rand(1, 2, low=200.0, high=800.0)])
    extreme = {
        "sigmoid": [[extreme_z]],
        "sigmoid_prime": [[extreme_z.clone()]],
        "output_delta": [[z_out, torch.sigmoid(z_out), draw.rand(*z_out.shape)]],
        "hidden_delta": [[draw.normal(2, 6, dtype=torch.float64),
                          draw.normal(len(extreme_z), 2, dtype=torch.float64), extreme_z.clone()]],
        "backprop": [network(draw, (2, 3, 1), 4, scale=100.0)],
    }
    train_x, train_y = xor_points(draw, TRAINING_POINTS)
    test_x, test_y = xor_points(draw, TEST_POINTS)
    inputs = {
        "seed": seed,
        "cases": cases,
        "extreme": extreme,
        "train": {"init": training_init(), "x": train_x, "y": train_y, "lr": TRAINING_LR,
                  "epochs": TRAINING_EPOCHS},
    }
    return inputs, {"test_x": test_x, "test_y": test_y}
