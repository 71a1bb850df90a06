"""What the run with the model on the meta device shows about train_model's and eval_model's
moves to `device`."""

from __future__ import annotations

import re

from grader.trusted.artifacts import Artifact
from grader.trusted.judges.contract import CellOf
from grader.trusted.results import Message, Verdict

# What torch says when a tensor on the CPU meets one on the meta device (see probe_device_moves).
DEVICE_MIX = re.compile(r"(?=.*\bmeta\b)(?=.*\bcpu\b).*\bdevices?\b", re.IGNORECASE | re.DOTALL)


def device_messages(moves: Artifact, function: str, cell_of: CellOf) -> list[Message]:
    """What the run with `device` on the meta device shows about ``function``'s moves: a tensor
    it left on the CPU met the model's meta parameters (any other error there says nothing)."""
    outcome = moves.values.get(function) if moves.ok or moves.values else None
    error = outcome.get("error") if isinstance(outcome, dict) else None
    if not isinstance(error, dict) or not DEVICE_MIX.search(str(error.get("message", ""))):
        return []
    messages = [Message("device_not_moved", {"function": function, "error": str(error.get("message", ""))[:200]})]
    frames = [f for f in error.get("frames", []) if isinstance(f, dict) and isinstance(f.get("execution_count"), int)
              and cell_of(f["execution_count"]) is not None] if isinstance(error.get("frames"), list) else []
    if frames:
        messages.append(Message("at_line", {"cell": cell_of(frames[-1]["execution_count"]) + 1,
                                            "line": frames[-1].get("line", "?"),
                                            "code": str(frames[-1].get("code", ""))[:200]}))
    return messages + [Message("hint.device_move")]


def with_device_problem(verdict: Verdict, messages: list[Message]) -> Verdict:
    if not messages:
        return verdict
    return Verdict(verdict.name, False, verdict.messages + messages, verdict.advice, verdict.figures)
