"""The two findings every judge repeats: a probe whose artifact is unusable fails its checks with
the reason, and a tensor unlike the reference's is explained (shape, dtype, then values)."""

from __future__ import annotations

from typing import Any

from grader.trusted.artifacts import Artifact
from grader.trusted.compare import Tolerance, compare
from grader.trusted.judges.contract import CellOf
from grader.trusted.judges.evidence import error_messages, mismatch_message
from grader.trusted.results import Message, Verdict


def failed(check: str, artifact: Artifact, function: str, cell_of: CellOf,
           advice: list[Message] | None = None) -> Verdict:
    """``check`` failed because ``function``'s probe gave nothing usable (or raised), saying why."""
    return Verdict(check, False, error_messages(artifact, function, cell_of), list(advice or []))


def mismatched(got: Any, expected: Any, tolerance: Tolerance, what: str, *headline: Message,
               check_dtype: bool = False) -> list[Message]:
    """Nothing when ``got`` matches ``expected``; else ``headline`` and how ``what`` differs."""
    mismatch = compare(got, expected, tolerance, check_dtype=check_dtype)
    if mismatch is None:
        return []
    return [*headline, mismatch_message(mismatch, what)]


def mismatched_notebook_state(got: Any, expected: Any, tolerance: Tolerance, what: str,
                              *headline: Message) -> list[Message]:
    """As ``mismatched``, for tensors computed from objects the notebook's own cells made (its
    ``model``, ``new_model``, the file it saved), not from the grader's inputs. Their values follow
    the random state those cells ran in: grade submit seeds it before the first cell, while
    check() finds the objects as the student's kernel made them, before it was called, and cannot
    make them again. So differing values are said without quoting them (the numbers would differ
    between the two, and say nothing the student can act on); a shape or a missing tensor is the
    code's own and is told as ``mismatched`` tells it."""
    mismatch = compare(got, expected, tolerance)
    if mismatch is None:
        return []
    if mismatch.kind == "values":
        return [*headline, Message("mismatch.values_not_quoted", {"what": what})]
    return [*headline, mismatch_message(mismatch, what)]


def verdict(check: str, messages: list[Message], advice: list[Message] | None = None,
            passed: bool | None = None, **more: Any) -> Verdict:
    """``check`` passes when nothing is wrong with it (no messages), unless told otherwise."""
    return Verdict(check, not messages if passed is None else passed, messages, list(advice or []), **more)


def by_name(verdicts: list[Verdict]) -> dict[str, Verdict]:
    """Verdicts by the name of their check, for a judge that combines them (never by position)."""
    found = {v.name: v for v in verdicts}
    if len(found) != len(verdicts):
        raise AssertionError(f"two verdicts on one check: {sorted(v.name for v in verdicts)}")
    return found


def in_points_order(assignment: str, found: dict[str, Verdict]) -> list[Verdict]:
    """One verdict per check of grader.trusted.points, in its order; raises when one is missing or
    has no points."""
    from grader.trusted.points import checks_of

    names = [spec.name for spec in checks_of(assignment)]
    if sorted(found) != sorted(names):
        raise AssertionError(f"verdicts {sorted(found)} are not the checks {sorted(names)}")
    return [found[name] for name in names]
