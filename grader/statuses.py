"""The grader's parts tell one another how things went in these words only: every status a cell,
a probe's artifact, a check or a submission can have, a message's role in a report, and how a
kernel ended. They are types rather than strings spelled anew in each module, so that a type
checker sees every place that must know a new one. Neutral ground: the untrusted side, the
trusted side, the batch and the reports all import it, and it holds no sentence in any language
(the catalogs turn each of these into words).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

# What became of one cell, a notebook's or a probe's (grader.untrusted.outcomes.CellOutcome).
CellStatus = Literal["ok", "error", "timeout", "stuck", "died", "skipped", "not_run"]
KERNEL_ENDED: tuple[CellStatus, ...] = ("died", "stuck")

# Why a probe gave nothing usable back (grader.trusted.artifacts.Artifact.problem): its records
# were missing or unreadable, not sealed as the probe's own ("interfered": grader.trusted.seals), or
# its cell did not finish (a CellStatus other than "ok").
ArtifactProblem = Literal["missing", "unreadable", "interfered", "memory", "error", "timeout", "stuck", "died",
                          "skipped", "not_run"]

# A submission of a class (grader.batch): graded, not a notebook the grader can take (the
# student's to fix), or the grader's own failure (tried again by the next run); "skipped" is a
# run's outcome only: a result that stood from an earlier run.
SubmissionStatus = Literal["graded", "unusable", "error"]
BatchOutcome = Literal["graded", "skipped", "unusable", "error"]
SUBMISSION_STATUSES: tuple[SubmissionStatus, ...] = get_args(SubmissionStatus)

# The sandbox a notebook ran in (grader.untrusted.sandbox), "unknown" for results that do not say.
IsolationMode = Literal["root", "rootless", "none", "unknown"]

# A message's place in a report (grader.trusted.results.Message.role): a sentence of its own
# ("headline"), a detail under the sentence before it (a call with its shapes), or where in the
# student's cells it happened ("location"). Renderers show details and locations as code.
Role = Literal["headline", "detail", "location"]
ROLES: tuple[Role, ...] = get_args(Role)

# How a kernel ended (Ending.kind): its process exited with a status, a signal ended it, it hit
# the memory limit, it sent a message larger than the grader takes, or the grading's deadline
# came before its code could run.
EndingKind = Literal["exit", "signal", "memory", "message", "deadline"]


@dataclass(frozen=True)
class Ending:
    """How a kernel ended, as data: ``code`` is the exit status ("exit") or the signal's number
    ("signal"); ``signal`` its name where it has one (``SIGSEGV``)."""

    kind: EndingKind
    code: int | None = None
    signal: str = ""

    def __str__(self) -> str:
        """For the grader's own error messages (the TA's, in English), never for a report."""
        if self.kind == "exit":
            return f"exit {self.code}"
        if self.kind == "signal":
            return self.signal or f"signal {self.code}"
        return self.kind
