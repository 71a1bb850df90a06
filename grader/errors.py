"""The grader's own error types: a failed check is a result, never one of these."""

from __future__ import annotations

from grader.text import encodable


class GraderError(Exception):
    """Something the user must fix before a notebook can be graded; its message is one line."""

    exit_code = 2


class UnusableInput(GraderError):
    """The file given to the grader is not a notebook it can grade."""


class CouldNotGrade(GraderError):
    """The grader itself failed (its sandbox, its disk, its time): not the student's fault, and never
    shown as lost points. Its message says what failed and what to do."""

    exit_code = 3


def could_not_grade(err: BaseException) -> CouldNotGrade:
    """Any unexpected failure of the grader as a CouldNotGrade whose one line says what failed and
    what to do: a disk or permission problem names the file; anything else is a bug to report."""
    if isinstance(err, CouldNotGrade):
        return err
    if isinstance(err, OSError) and err.strerror:
        where = f" {encodable(str(err.filename))}" if err.filename else ""
        return CouldNotGrade(f"could not grade: cannot use{where}: {err.strerror}; free some space or fix its "
                             "permissions (or choose another folder), then run again")
    if isinstance(err, RecursionError):
        what = "something nested too deeply for the grader"
    else:
        detail = encodable(str(err)).strip().splitlines()
        what = f"{type(err).__name__}: {detail[0][:200]}" if detail else type(err).__name__
    return CouldNotGrade(f"could not grade: the grader failed ({what}); this is not the notebook's fault: "
                         "run again with --debug for the details and report them")


class Stopped(BaseException):
    """The grader was told to stop (SIGTERM; Ctrl-C is KeyboardInterrupt) and has ended the kernel
    it was running. Not an Exception, so that no guard records it as a student's result."""

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.signal_number = signal_number

    @property
    def exit_code(self) -> int:
        return 128 + self.signal_number
