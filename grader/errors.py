"""The grader's own error types: a failed check is a result, never one of these."""


class GraderError(Exception):
    """Something the user must fix before a notebook can be graded; its message is one line."""

    exit_code = 2


class UnusableInput(GraderError):
    """The file given to the grader is not a notebook it can grade."""


class CouldNotGrade(GraderError):
    """The grader itself failed (its sandbox, its disk, its time): not the student's fault, and never
    shown as lost points. Its message says what failed and what to do."""

    exit_code = 3


class Stopped(BaseException):
    """The grader was told to stop (SIGTERM; Ctrl-C is KeyboardInterrupt) and has ended the kernel
    it was running. Not an Exception, so that no guard records it as a student's result."""

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.signal_number = signal_number

    @property
    def exit_code(self) -> int:
        return 128 + self.signal_number
