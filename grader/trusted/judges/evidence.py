"""Turning what came back from a probe into messages: errors at the student's line, hints for
errors the course sees often, and tensor mismatches explained."""

from __future__ import annotations

import re
from typing import Callable

from grader.trusted.artifacts import Artifact
from grader.trusted.compare import Mismatch
from grader.trusted.results import Message

# (pattern in the exception text, hint key): mistakes students of this lecture make.
ERROR_HINTS: tuple[tuple[str, str], ...] = (
    (r"Target size \(.*\) must be the same as input size", "hint.squeeze"),
    (r"result type Float can't be cast to the desired output type Long|"
     r"Found dtype Long but expected Float|expected scalar type Float but found Long", "hint.float_labels"),
    (r"Expected all tensors to be on the same device|Torch not compiled with CUDA|"
     r"CUDA driver|no CUDA GPUs are available", "hint.device"),
    (r"unexpected keyword argument 'num_epochs'", "hint.signature"),
    (r"Weights only load failed|WeightsUnpickler", "hint.save_state_dict"),
    (r"^NotImplementedError", "hint.not_implemented"),
    (r"mat1 and mat2 shapes cannot be multiplied|size mismatch, got input|"
     r"The size of tensor a \(\d+\) must match the size of tensor b", "hint.matmul_shapes"),
)


def error_messages(artifact: Artifact, function: str, cell_of: Callable[[int], int | None]) -> list[Message]:
    """What the student sees when ``function`` raised, or when the probe gave nothing back."""
    if artifact.problem == "missing":
        return [Message("probe_missing", {"function": function})]
    if artifact.problem == "memory":
        return [Message("probe_out_of_memory", {"function": function})]
    if artifact.problem in ("died", "stuck"):
        return [Message("probe_ended_kernel", {"function": function})]
    if artifact.problem == "timeout":
        return [Message("probe_timeout", {"function": function})]
    if artifact.problem == "not_run":
        return [Message("probe_not_run", {"function": function})]
    if artifact.problem == "interfered":
        return [Message("probe_interfered", {"function": function})]
    if artifact.problem is not None:
        return [Message("probe_unreadable", {"function": function})]
    return exception_messages(artifact.error or {}, function, cell_of)


def exception_messages(error: dict, function: str, cell_of: Callable[[int], int | None]) -> list[Message]:
    """An exception the probe recorded: where in the student's cells, and a hint if one fits."""
    if not isinstance(error, dict):
        error = {}
    kind, text = str(error.get("type", "Error")), str(error.get("message", ""))
    # A name the probe looked up and the notebook lacks comes as data (probes/common.py); like
    # everything from the kernel it is a claim, kept only if it can be a name at all.
    missing = error.get("missing")
    if isinstance(missing, str) and missing.isidentifier():
        return [Message("not_defined", {"name": missing})]
    messages = [Message("raised", {"function": function, "type": kind, "message": text[:500]})]
    frames = error.get("frames") if isinstance(error.get("frames"), list) else []
    for frame in frames[-3:]:
        if not isinstance(frame, dict):
            continue
        count = frame.get("execution_count")
        cell = cell_of(count) if isinstance(count, int) else None
        messages.append(Message("at_line", {
            "cell": cell + 1 if cell is not None else "?",
            "line": frame.get("line", "?"),
            "code": str(frame.get("code", ""))[:200],
        }, role="location"))
    # A hint names the function the error came from, which may be a helper the judged one called.
    innermost = frames[-1].get("function") if frames and isinstance(frames[-1], dict) else None
    where = innermost if isinstance(innermost, str) and innermost != "<module>" else function
    full = f"{kind}: {text}"
    for pattern, hint in ERROR_HINTS:
        if re.search(pattern, full, flags=re.MULTILINE):
            messages.append(Message(hint, {"function": where}))
    return messages


def cell_error_hint(text: str) -> str | None:
    """A hint for an error of the notebook's own cells, for the mistakes that stop a notebook
    rather than one function (code that needs CUDA on a machine without it)."""
    for pattern, hint in ERROR_HINTS:
        if hint == "hint.device" and re.search(pattern, text, flags=re.MULTILINE):
            return hint
    return None


def mismatch_message(mismatch: Mismatch, what: str) -> Message:
    return Message(f"mismatch.{mismatch.kind}", {"what": what, **mismatch.params()})
