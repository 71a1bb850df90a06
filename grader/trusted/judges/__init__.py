"""One judge package per assignment (its probes, inputs, the reference's answers, verdicts and
known mistakes), reached as ``Assignment.judge``; the contract every judge fulfils is in
grader.trusted.judges.contract."""

from grader.trusted.judges.contract import Judge, Prepared, answers_for, prepare

__all__ = ["Judge", "Prepared", "answers_for", "prepare"]
