"""Results as plain data: what each check found, with messages as catalog keys plus parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Message:
    """A sentence for the student, written in the catalog of each language under ``key``."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    """Data for a picture in the report (plain numbers and strings), drawn by grader.reports.figures."""

    kind: str  # "decision_boundary", "loss_curves", "training_loss" or "gradient_errors"
    data: dict[str, Any]


@dataclass
class Verdict:
    """A judge's finding on one check; points are added later, from the points table."""

    name: str
    passed: bool
    messages: list[Message] = field(default_factory=list)
    # Shown whether the check passed or not, and never worth points (e.g. numerical stability).
    advice: list[Message] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


@dataclass
class CheckResult:
    name: str
    tag: str
    number: str
    score: float
    max_score: float
    passed: bool
    messages: list[Message]
    advice: list[Message] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


@dataclass
class GradeResult:
    assignment: str
    notebook: str
    score: float
    max_score: float
    checks: list[CheckResult]
    notes: list[Message]
    seed: int
    device: str
    seconds: float
    grader_version: str
    isolation: str = "unknown"  # "root", "rootless" or "none" (see grader.untrusted.sandbox)

    @property
    def full_marks(self) -> bool:
        return self.score >= self.max_score

    def tag_scores(self) -> dict[str, tuple[float, float]]:
        totals: dict[str, tuple[float, float]] = {}
        for check in self.checks:
            got, out_of = totals.get(check.tag, (0.0, 0.0))
            totals[check.tag] = (got + check.score, out_of + check.max_score)
        return totals
