"""Comparing a student's tensor with the expected one, explained in the order a student fixes it:
shape, dtype, then values (max abs/rel error and the first index that differs)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


FLOAT64 = Tolerance(rtol=1e-7, atol=1e-9)
FLOAT32 = Tolerance(rtol=1e-4, atol=1e-5)


@dataclass(frozen=True)
class Mismatch:
    """Why ``got`` is not ``expected``; ``kind`` is "missing", "shape", "dtype" or "values"."""

    kind: str
    # a shape (a list of sizes), a dtype or a type's name; for "values", the values at ``index``
    expected: str | float | list[int]
    got: str | float | list[int]
    max_abs: float = 0.0
    max_rel: float = 0.0
    index: tuple[int, ...] = ()

    def params(self) -> dict[str, object]:
        return {
            "expected": self.expected,
            "got": self.got,
            "max_abs": self.max_abs,
            "max_rel": self.max_rel,
            "index": list(self.index),
        }


def shape_of(tensor: torch.Tensor) -> list[int]:
    """A tensor's shape as plain numbers, for a message (the catalogs show it as ``[4, 2]``)."""
    return [int(n) for n in tensor.shape]


def dtype_text(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def compare(got, expected: torch.Tensor, tolerance: Tolerance, check_dtype: bool = False) -> Mismatch | None:
    """None when ``got`` matches ``expected`` within the tolerance, else what differs first."""
    if not isinstance(got, torch.Tensor):
        return Mismatch("missing", shape_of(expected), type(got).__name__)
    if tuple(got.shape) != tuple(expected.shape):
        return Mismatch("shape", shape_of(expected), shape_of(got))
    if check_dtype and got.dtype != expected.dtype:
        return Mismatch("dtype", dtype_text(expected.dtype), dtype_text(got.dtype))
    if not (got.is_floating_point() or got.dtype in (torch.int64, torch.int32, torch.bool)):
        return Mismatch("dtype", dtype_text(expected.dtype), dtype_text(got.dtype))
    a, b = got.to(torch.float64), expected.to(torch.float64)
    if a.numel() == 0:
        return None
    diff = (a - b).abs()
    bad = ~torch.isclose(a, b, rtol=tolerance.rtol, atol=tolerance.atol)
    bad |= ~torch.isfinite(a)
    if not bool(bad.any()):
        return None
    rel = diff / b.abs().clamp_min(1e-12)
    first = tuple(int(i) for i in torch.nonzero(bad)[0].tolist())
    return Mismatch(
        "values",
        expected=float(b[first].item()),
        got=float(a[first].item()),
        max_abs=float(torch.nan_to_num(diff, nan=float("inf")).max()),
        max_rel=float(torch.nan_to_num(rel, nan=float("inf")).max()),
        index=first,
    )
