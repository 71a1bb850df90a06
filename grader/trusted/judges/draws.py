"""Inputs drawn at grading time from the grading seed, with a generator of their own so that
nothing else that uses torch's global generator changes them."""

from __future__ import annotations

import torch


class Draw:
    def __init__(self, seed: int):
        self.g = torch.Generator().manual_seed(seed)

    def int(self, low: int, high: int) -> int:
        return int(torch.randint(low, high + 1, (1,), generator=self.g))

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * float(torch.rand(1, generator=self.g))

    def normal(self, *shape: int, scale: float = 1.0, dtype=torch.float32) -> torch.Tensor:
        return (scale * torch.randn(*shape, generator=self.g, dtype=torch.float64)).to(dtype)

    def rand(self, *shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
        return low + (high - low) * torch.rand(*shape, generator=self.g, dtype=torch.float64)
