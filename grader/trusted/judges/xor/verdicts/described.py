"""What a probe says of a value it saw (its kind, dtype and shape), as the XOR verdicts read it."""

from __future__ import annotations

from typing import Any


def tensor_ok(description: Any, dtype: str, shape: list[int]) -> bool:
    return (isinstance(description, dict) and description.get("kind") == "tensor"
            and description.get("dtype") == dtype and description.get("shape") == shape)


def seen(description: Any) -> dict[str, Any] | str:
    """The probe's description as a message carries it (the catalogs write it, ``{got:seen}``):
    only the fields shown, each a plain value; the kernel's claim, so trimmed."""
    if isinstance(description, dict) and description.get("kind") == "tensor":
        shape = description.get("shape", [])
        plain_shape = isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) for n in shape)
        return {"kind": "tensor", "dtype": str(description.get("dtype"))[:40],
                "shape": shape[:8] if plain_shape else str(shape)[:60]}
    if isinstance(description, dict):
        return {"kind": str(description.get("kind"))[:200]}
    return str(description)[:200]
