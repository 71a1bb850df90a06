"""``check()`` inside the student's notebook: the grader's probes and judges, run in the student's own
kernel on the inputs of a student bundle, with the result shown where the student writes code.

It runs in the student's process on the student's machine, so it guards nothing: the score that
counts is always ``grade submit``'s. What it promises is agreement: the same probe sources, the
same judges and the same points as ``grade submit --seed S`` for one of the bundle's seeds ``S``.
"""

from grader.selfcheck.check import check, run_checks

__all__ = ["check", "run_checks"]
