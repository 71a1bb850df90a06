"""How the catalogs write the plain values that messages carry, by the spec after a field's colon
(``{got:shape}``): the judges pass numbers, shapes, names and what a probe saw as data, and only
here do they become text, the same in every language (code, shapes and dtypes are not translated).
A value that does not have the form a spec expects (a result of another version, a probe's odd
answer) is shown as it came."""

from __future__ import annotations

import re
from typing import Any, Callable

EMPTY = "—"


def shape(value: Any) -> str:
    """``[4, 2]``: a tensor's sizes."""
    if isinstance(value, (list, tuple)) and all(isinstance(n, int) and not isinstance(n, bool) for n in value):
        return "[" + ", ".join(str(n) for n in value) + "]"
    return str(value)


def sizes(value: Any) -> str:
    """``2-4-1``: a network's layer sizes."""
    if isinstance(value, (list, tuple)):
        return "-".join(str(n) for n in value)
    return str(value)


def listed(value: Any) -> str:
    """``W1, b1``: names or words as they are, ``—`` for none."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or EMPTY
    return str(value)


def seen(value: Any) -> str:
    """What a probe saw of a value (``{"kind": "tensor", "dtype": ..., "shape": ...}`` or another
    kind's name): ``tensor float32 [4, 2]``; several, ``; ``-separated."""
    if isinstance(value, list):
        return "; ".join(seen(v) for v in value)
    if isinstance(value, dict) and value.get("kind") == "tensor":
        return f"tensor {value.get('dtype')} {shape(value.get('shape', []))}"
    if isinstance(value, dict):
        return str(value.get("kind"))
    return str(value)


def parameters(value: Any) -> str:
    """``linear1.weight [4, 2], linear1.bias [4]``: a model's parameters, each ``[name, shape]``."""
    if not isinstance(value, list):
        return str(value)
    return ", ".join(f"{p[0]} {shape(p[1])}" for p in value if isinstance(p, list) and len(p) == 2) or EMPTY


def call(value: Any) -> str:
    """``backprop(x [5, 3], params 3-3-1)``: a call the grader made, ``{"function": name,
    "arguments": [{"name": ..., "shape": [...]} or {"name": ..., "sizes": [...]}]}``."""
    if not isinstance(value, dict):
        return str(value)
    shown = []
    for argument in value.get("arguments", []):
        if isinstance(argument, dict) and "sizes" in argument:
            shown.append(f"{argument.get('name')} {sizes(argument['sizes'])}")
        elif isinstance(argument, dict):
            shown.append(f"{argument.get('name')} {shape(argument.get('shape'))}")
    return f"{value.get('function')}({', '.join(shown)})"


def rounded(value: Any, decimals: int) -> str:
    """A number to at most ``decimals`` places as Python writes it (``0.875``, ``1.0``); a list of
    numbers, each so (``[0.123, 1.5]``)."""
    if isinstance(value, list):
        return "[" + ", ".join(rounded(v, decimals) for v in value) + "]"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(round(value, decimals))
    return str(value)


SPECS: dict[str, Callable[[Any], str]] = {
    "shape": shape, "sizes": sizes, "list": listed, "seen": seen, "params": parameters, "call": call,
}
_ROUNDED = re.compile(r"round(\d)")


def formatted(value: Any, spec: str) -> str | None:
    """``value`` written as ``spec`` says, or None where ``spec`` is not one of these."""
    if spec in SPECS:
        return SPECS[spec](value)
    match = _ROUNDED.fullmatch(spec)
    if match:
        return rounded(value, int(match.group(1)))
    return None
