"""The XOR judge's inputs, drawn at grading time from the grading seed."""

from __future__ import annotations

from typing import Any

import torch

from grader.trusted.judges.draws import Draw
from grader.trusted.judges.xor.mistakes import eval_case_is_telling, eval_points, eval_state_and_zero_point
from grader.trusted.judges.xor.model import logits_of_state

TEST_SIZE = 500
GRID_LOW, GRID_HIGH, GRID_SIZE = -0.5, 1.5, 41
DEFAULT_STD = 0.1


class XorDraw(Draw):
    def xor_points(self, n: int, std: float = DEFAULT_STD) -> tuple[torch.Tensor, torch.Tensor]:
        corners = torch.randint(0, 2, (n, 2), generator=self.g).to(torch.float32)
        labels = (corners.sum(dim=1) == 1).to(torch.long)
        return corners + self.normal(n, 2, scale=std), labels

    def state(self, sizes, scale: float, dtype=torch.float32) -> dict[str, torch.Tensor]:
        n_in, n_hidden, n_out = sizes
        return {
            "linear1.weight": self.normal(n_hidden, n_in, scale=scale, dtype=dtype),
            "linear1.bias": self.normal(n_hidden, scale=scale, dtype=dtype),
            "linear2.weight": self.normal(n_out, n_hidden, scale=scale, dtype=dtype),
            "linear2.bias": self.normal(n_out, scale=scale, dtype=dtype),
        }


def _eval_case(draw: XorDraw) -> dict[str, Any]:
    """A fixed model and two sets of points for ``eval_model``, built so that the decision rules
    and averages students write give accuracies different from the lecture's and from one
    another (see grader.trusted.judges.xor_mistakes): a mistake is named only when the returned
    accuracies match it on both sets."""
    while True:
        state, x0 = eval_state_and_zero_point(draw)
        sets = []
        for _ in range(2):
            for _attempt in range(20):
                case = eval_points(draw, state, x0, logits_of_state)
                if case is not None and eval_case_is_telling(case):
                    sets.append(case)
                    break
        if len(sets) == 2 and sets[0]["batch_size"] != sets[1]["batch_size"]:
            break
    found: dict[str, Any] = {"eval_state": state}
    for prefix, case in zip(("eval", "eval2"), sets):
        found.update({f"{prefix}_x": case["x"], f"{prefix}_y": case["y"], f"{prefix}_batch_size": case["batch_size"]})
    return found


def eval_sets(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """The two sets ``eval_model`` is judged on, with the float32 logits of the grader's model."""
    sets = []
    for prefix in ("eval", "eval2"):
        x = inputs[f"{prefix}_x"]
        with torch.no_grad():
            logits = logits_of_state(inputs["eval_state"], x.to(torch.float32)).squeeze(1)
        sets.append({"x": x, "y": inputs[f"{prefix}_y"], "logits": logits,
                     "batch_size": inputs[f"{prefix}_batch_size"]})
    return sets


def draw_inputs(seed: int, device: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(inputs the kernel gets, inputs kept hidden from it), all drawn from ``seed``."""
    draw = XorDraw(seed)
    inputs: dict[str, Any] = {"seed": seed, "device": device}
    inputs["dataset_sizes"] = torch.tensor([1, draw.int(2, 20), draw.int(50, 400), draw.int(1000, 3000)])
    inputs["dataset_sample_size"] = 2000
    inputs["dataset_stds"] = torch.tensor([draw.uniform(0.03, 0.07), draw.uniform(0.12, 0.16)])
    batch = draw.int(5, 40)
    inputs["loader_batch_size"] = batch
    size = draw.int(41, 200)
    inputs["loader_dataset_size"] = size + 1 if size % batch == 0 else size
    other = [draw.int(3, 6), draw.int(3, 8), draw.int(2, 4)]
    inputs["model_sizes"] = torch.tensor([[2, 4, 1], other])
    for i, sizes in enumerate(([2, 4, 1], other)):
        rows = draw.int(3, 12)
        inputs[f"model{i}_state"] = draw.state(sizes, scale=0.8, dtype=torch.float64)
        inputs[f"model{i}_x"] = draw.normal(rows, sizes[0], dtype=torch.float64)
        inputs[f"model{i}_r"] = draw.normal(rows, sizes[2], dtype=torch.float64)
    inputs["act_in"] = draw.normal(16, scale=2.0)
    inputs["train_state"] = draw.state((2, 4, 1), scale=0.6)
    inputs["train_x"], inputs["train_y"] = draw.xor_points(draw.int(96, 160))
    inputs["train_batch_size"] = draw.int(16, 40)
    inputs["train_epochs"] = 2
    inputs["train_lr"] = 0.1
    inputs.update(_eval_case(draw))
    while True:
        inputs["viz_data"], inputs["viz_label"] = draw.xor_points(draw.int(30, 80))
        if 0 < int(inputs["viz_label"].sum()) < len(inputs["viz_label"]):
            break
    inputs["roundtrip_x"] = draw.normal(16, 2)
    inputs["test_x"], test_y = draw.xor_points(TEST_SIZE)
    inputs["grid_x"] = _grid()
    return inputs, {"test_y": test_y}


def _grid() -> torch.Tensor:
    """The points where the report draws the trained model's decision boundary."""
    axis = torch.linspace(GRID_LOW, GRID_HIGH, GRID_SIZE)
    rows, columns = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([columns.reshape(-1), rows.reshape(-1)], dim=1)
