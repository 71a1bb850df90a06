"""Results as plain data: what each check found, with messages as catalog keys plus parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.statuses import IsolationMode, Role

# The role of the messages that are not sentences of their own (every other key's is "headline").
ROLE_OF_KEY: dict[str, Role] = {"at_line": "location", "case_call": "detail"}


@dataclass(frozen=True)
class Message:
    """A sentence for the student, written in the catalog of each language under ``key``;
    ``role`` is its place in a report (grader.statuses.Role), its key's unless given."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    role: Role | None = None

    def __post_init__(self) -> None:
        if self.role is None:
            object.__setattr__(self, "role", ROLE_OF_KEY.get(self.key, "headline"))


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
    isolation: IsolationMode = "unknown"  # see grader.untrusted.sandbox

    @property
    def full_marks(self) -> bool:
        return self.score >= self.max_score

    def tag_scores(self) -> dict[str, tuple[float, float]]:
        totals: dict[str, tuple[float, float]] = {}
        for check in self.checks:
            got, out_of = totals.get(check.tag, (0.0, 0.0))
            totals[check.tag] = (got + check.score, out_of + check.max_score)
        return totals
