"""What a probe says of a value it saw (its kind, dtype and shape), as the XOR verdicts read it."""

from __future__ import annotations

from typing import Any

from grader.trusted.compare import shape_text


def tensor_ok(description: Any, dtype: str, shape: list[int]) -> bool:
    return (isinstance(description, dict) and description.get("kind") == "tensor"
            and description.get("dtype") == dtype and description.get("shape") == shape)


def describe(description: Any) -> str:
    if isinstance(description, dict) and description.get("kind") == "tensor":
        return f"tensor {description.get('dtype')} {shape_text(description.get('shape', []))}"
    if isinstance(description, dict):
        return str(description.get("kind"))
    return str(description)
