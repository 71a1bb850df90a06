"""Results as plain data: what each check found, with messages as catalog keys plus parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.statuses import ROLES, SUBMISSION_STATUSES, IsolationMode, Role, SubmissionStatus

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


# result.json: a GradeResult, and what a batch knows about the submission, as plain JSON in no
# language (keys and parameters, never sentences). Every rendering (the Gradescope file, the
# reports, the gradebook, the class summary) is made from it; none is ever read back.
RESULT_FORMAT = "grader-result/1"


class MalformedResult(ValueError):
    """A result.json this grader cannot read: another format, or a file that is not one."""


def _value_to_json(value: Any) -> Any:
    """A message's parameter or a figure's datum as JSON; a nested Message and a tuple are tagged,
    so that reading them back gives what the catalogs formatted (a tuple prints as "(2, 3)")."""
    if isinstance(value, Message):
        return {"$message": message_to_json(value)}
    if isinstance(value, tuple):
        return {"$tuple": [_value_to_json(v) for v in value]}
    if isinstance(value, list):
        return [_value_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _value_to_json(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    # Anything else (a numpy number, a torch.Size) as the catalogs would have printed it.
    return str(value)


def _value_from_json(value: Any) -> Any:
    if isinstance(value, list):
        return [_value_from_json(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and "$message" in value:
            return message_from_json(value["$message"])
        if len(value) == 1 and "$tuple" in value and isinstance(value["$tuple"], list):
            return tuple(_value_from_json(v) for v in value["$tuple"])
        return {k: _value_from_json(v) for k, v in value.items()}
    return value


def message_to_json(message: Message) -> dict[str, Any]:
    return {"key": message.key, "params": _value_to_json(message.params), "role": message.role}


def message_from_json(data: Any) -> Message:
    if not isinstance(data, dict) or not isinstance(data.get("key"), str) or not isinstance(data.get("params"), dict):
        raise MalformedResult("a message needs a key and its parameters")
    role = data.get("role")
    if role not in ROLES:
        raise MalformedResult(f"a message's role is one of {ROLES}, not {role!r}")
    return Message(data["key"], _value_from_json(data["params"]), role)


def _figure_to_json(figure: Figure) -> dict[str, Any]:
    return {"kind": figure.kind, "data": _value_to_json(figure.data)}


def _check_to_json(check: CheckResult) -> dict[str, Any]:
    return {"name": check.name, "tag": check.tag, "number": check.number, "score": check.score,
            "max_score": check.max_score, "passed": check.passed,
            "messages": [message_to_json(m) for m in check.messages],
            "advice": [message_to_json(m) for m in check.advice],
            "figures": [_figure_to_json(f) for f in check.figures]}


def result_to_json(result: GradeResult) -> dict[str, Any]:
    return {"assignment": result.assignment, "notebook": result.notebook, "score": result.score,
            "max_score": result.max_score, "checks": [_check_to_json(c) for c in result.checks],
            "notes": [message_to_json(n) for n in result.notes], "seed": result.seed, "device": result.device,
            "seconds": result.seconds, "grader_version": result.grader_version, "isolation": result.isolation}


def result_from_json(data: Any) -> GradeResult:
    """The GradeResult ``result_to_json`` wrote; raises MalformedResult for anything else."""
    try:
        checks = [CheckResult(c["name"], c["tag"], c["number"], float(c["score"]), float(c["max_score"]),
                              c["passed"] is True, [message_from_json(m) for m in c["messages"]],
                              [message_from_json(m) for m in c["advice"]],
                              [Figure(f["kind"], _value_from_json(f["data"])) for f in c["figures"]])
                  for c in data["checks"]]
        return GradeResult(data["assignment"], data["notebook"], float(data["score"]), float(data["max_score"]),
                           checks, [message_from_json(n) for n in data["notes"]], data["seed"], data["device"],
                           float(data["seconds"]), data["grader_version"], data["isolation"])
    except (KeyError, TypeError, ValueError) as err:
        raise MalformedResult(f"not a grading result ({type(err).__name__}: {err})") from None


@dataclass
class SubmissionResult:
    """What a batch keeps for one submission, in OUT/students/<student>/result.json: its result
    when it was graded, else why not (``reason``, in the grader's words, for the TA)."""

    student: str
    file: str
    status: SubmissionStatus
    grader_version: str
    content_hash: str = ""  # of the notebook's bytes; "" when they could not be read
    reason: str = ""
    result: GradeResult | None = None

    @property
    def score(self) -> float | None:
        """None for the grader's failure (no grade); an unusable notebook gets 0, as it always has."""
        if self.result is not None:
            return self.result.score
        return 0.0 if self.status == "unusable" else None

    @property
    def max_score(self) -> float | None:
        return self.result.max_score if self.result is not None else None

    def to_json(self) -> dict[str, Any]:
        return {"format": RESULT_FORMAT, "student": self.student, "file": self.file, "status": self.status,
                "grader_version": self.grader_version, "content_hash": self.content_hash, "reason": self.reason,
                "result": result_to_json(self.result) if self.result is not None else None}

    @classmethod
    def from_json(cls, data: Any) -> "SubmissionResult":
        """Raises MalformedResult for a file of another format or shape."""
        if not isinstance(data, dict) or data.get("format") != RESULT_FORMAT:
            raise MalformedResult(f"not a {RESULT_FORMAT} file")
        if data.get("status") not in SUBMISSION_STATUSES:
            raise MalformedResult(f"a submission's status is one of {SUBMISSION_STATUSES}")
        texts = [data.get(k) for k in ("student", "file", "grader_version", "content_hash", "reason")]
        if not all(isinstance(t, str) for t in texts):
            raise MalformedResult("a submission's names and reason are text")
        result = result_from_json(data["result"]) if data.get("result") is not None else None
        if (result is not None) != (data["status"] == "graded"):
            raise MalformedResult("a graded submission, and only one, has a result")
        return cls(*texts[:2], data["status"], *texts[2:], result=result)
