"""Text that can always be written and printed: a string from the student's side (a kernel's
message, a cell, a file name that is not UTF-8) may hold lone surrogates, which no encoder takes;
each becomes U+FFFD where such text enters a result, and again wherever text leaves the grader."""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable(text: str) -> str:
    """``text`` with every lone surrogate (including a file name's undecodable bytes) replaced."""
    return _SURROGATE.sub("\ufffd", text)


def encodable_data(value):
    """A JSON-like value with every string in it (keys too) made encodable."""
    if isinstance(value, str):
        return encodable(value)
    if isinstance(value, dict):
        return {encodable_data(k): encodable_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encodable_data(v) for v in value]
    return value
