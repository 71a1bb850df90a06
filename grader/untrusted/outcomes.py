"""What became of the cells the grader ran in a kernel, and how a kernel ended: plain data for
recovery, grading and the reports, read from nbclient's cells and the kernel's exit status."""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass, field

import nbformat

from grader.statuses import KERNEL_ENDED, CellStatus, Ending
from grader.untrusted.messages import MAX_ERROR_TEXT

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class CellOutcome:
    index: int
    execution_count: int | None
    status: CellStatus
    error_type: str = ""
    error_message: str = ""
    traceback: str = ""
    seconds: float = 0.0
    ending: Ending | None = None  # how the kernel ended, for "died" and "stuck", where known

    @property
    def ended_kernel(self) -> bool:
        return self.status in KERNEL_ENDED


@dataclass
class NotebookRun:
    cells: list[CellOutcome] = field(default_factory=list)
    timed_out: bool = False
    seconds: float = 0.0
    truncated_cells: list[int] = field(default_factory=list)
    # The cell after which no other ran: it ended the kernel, or timed out in a run told to stop.
    stopped_by: CellOutcome | None = None

    @property
    def kernel_died(self) -> bool:
        return any(cell.ended_kernel for cell in self.cells)

    def cell_index(self, execution_count: int) -> int | None:
        for cell in self.cells:
            if cell.execution_count == execution_count:
                return cell.index
        return None


def outcome_of(index: int, cell: nbformat.NotebookNode, status: str, ending: Ending | None) -> CellOutcome:
    """What became of an executed cell: its error, if it raised one, unless its kernel ended (and
    then ``ending`` says how)."""
    outcome = CellOutcome(index=index, execution_count=cell.get("execution_count"), status="ok")
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            outcome.status = "error"
            outcome.error_type = output.get("ename", "")
            outcome.error_message = ANSI.sub("", output.get("evalue", ""))[:MAX_ERROR_TEXT]
            outcome.traceback = ANSI.sub("", "\n".join(output.get("traceback", [])))[-MAX_ERROR_TEXT:]
    if status != "finished":
        outcome.status = status
    if outcome.ended_kernel:
        outcome.ending = ending
    return outcome


def ending_of(returncode: int | None, memory: bool, isolated: bool) -> Ending | None:
    """How a kernel process ended, from its exit status: bubblewrap reports a signal as 128+N."""
    if memory:
        return Ending("memory")
    if returncode is None:
        return None
    number = -returncode if returncode < 0 else returncode - 128 if isolated and returncode > 128 else 0
    if number:
        try:
            return Ending("signal", number, signal.Signals(number).name)
        except ValueError:
            return Ending("signal", number)
    return Ending("exit", returncode)
