"""A submission's kernel that carries on past the code that ends it.

When a cell ends its kernel (``os._exit``, a segfault, the memory limit) or runs past its time
limit, a fresh kernel runs the notebook again without that cell, so that the definitions around
it are still graded: an interrupted kernel may hold half-done state or leave processes spinning.
When a probe ends the kernel, a fresh kernel runs the notebook again before the next probe, so
that one function's crash costs only its own checks.
Each such event is kept as an Incident for the report. Restarts past cells are capped in number,
and when they run out the probes still get one more kernel, without every cell that ended one, so
that a notebook with many such cells still has its correct definitions graded; each probe may end
a kernel once. The grading's deadline bounds everything: no restart begins after it, and no probe
runs past it (a probe that swallows its own time limit is interrupted, then killed, at the
deadline); probes left when it comes are "not_run" with ``ending`` DEADLINE.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.statuses import CellStatus, Ending
from grader.untrusted import sandbox
from grader.untrusted.limits import Limits
from grader.untrusted.outcomes import CellOutcome, NotebookRun
from grader.untrusted.runner import KernelSession

DEADLINE = Ending("deadline")  # the ending of a probe not run because the grading ran out of time
_LEAST_PROBE_S = 1.0  # a probe given less than this would only be interrupted at once


@dataclass
class Incident:
    """Code that ended a kernel: a notebook cell (``cell``) or a probe (``probe``)."""

    status: CellStatus  # "died", "stuck" or "timeout"
    ending: Ending | None  # see CellOutcome.ending
    seconds: float
    cell: int | None = None
    probe: str | None = None
    recovered: bool = False  # a fresh kernel went on without it


class RecoveringKernel:
    """``async with RecoveringKernel(...) as kernel``: the notebook has run, skipping what ended a
    kernel; ``kernel.run`` is the run that probes will see, ``kernel.probe`` runs one probe."""

    def __init__(self, notebook: nbformat.NotebookNode, folders: sandbox.JobFolders, limits: Limits, seed: int,
                 isolation: sandbox.Isolation, skip: frozenset[int] = frozenset()):
        """``skip``: cells never to run (ones the kernel cannot take)."""
        self.notebook = notebook
        self.folders = folders
        self.limits = limits
        self.seed = seed
        self.isolation = isolation
        self.deadline = time.monotonic() + limits.grading_timeout_s
        self.skipped: set[int] = set(skip)
        self.incidents: list[Incident] = []
        self.restarts = 0
        self.last_kernel_used = False
        self.memory_limit_hit = False
        self.session: KernelSession | None = None
        self.run = NotebookRun()

    async def __aenter__(self) -> "RecoveringKernel":
        try:
            await self._start()
        except BaseException:
            await self._close()
            raise
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self._close()

    async def _start(self) -> None:
        """Start a kernel and run the notebook; again without each cell that ends it."""
        while True:
            session = KernelSession(self.notebook, self.folders.job, self.limits, self.seed, self.isolation,
                                    self.folders.exchange, self.folders.sockets, self.folders.seals)
            await session.__aenter__()
            self.session = session
            deadline = min(time.monotonic() + self.limits.notebook_timeout_s, self.deadline)
            may_restart = self.restarts < self.limits.max_restarts and not self._out_of_time()
            self.run = await session.run_notebook(frozenset(self.skipped), deadline, stop_after_timeout=may_restart)
            fatal = self.run.stopped_by
            if fatal is None:
                return
            self.incidents.append(Incident(fatal.status, fatal.ending, fatal.seconds, cell=fatal.index))
            if not may_restart:
                # Out of restarts: one last kernel, without every cell that ended one, for the probes.
                if self.last_kernel_used or not fatal.ended_kernel or self._out_of_time():
                    return
                self.last_kernel_used = True
            self.restarts += 1
            self.incidents[-1].recovered = True
            self.skipped.add(fatal.index)
            await self._close()

    def _out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline

    async def _close(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            await session.__aexit__(None, None, None)
            self.memory_limit_hit = self.memory_limit_hit or session.memory_limit_hit

    async def probe(self, source: str, name: str, inputs: Path, out_dir: Path, alone: bool = True) -> CellOutcome:
        """Run one probe, in a fresh kernel if the last one was ended; ``alone``: see
        ``KernelSession.run_probe``."""
        if self.deadline - time.monotonic() < _LEAST_PROBE_S:
            return CellOutcome(-1, None, "not_run", ending=DEADLINE)
        if self.session is None or self.session.dead:
            # Only a kernel ended by the previous probe is started again: one ended by the
            # notebook's own cells has used up its restarts already.
            if not self.incidents or self.incidents[-1].probe is None:
                return CellOutcome(-1, None, "not_run")
            self.incidents[-1].recovered = True
            await self._close()
            await self._start()
            if self.session.dead:
                return CellOutcome(-1, None, "not_run")
            if self.deadline - time.monotonic() < _LEAST_PROBE_S:
                return CellOutcome(-1, None, "not_run", ending=DEADLINE)
        outcome = await self.session.run_probe(source, name, inputs, out_dir,
                                               timeout=self.deadline - time.monotonic(), alone=alone)
        if outcome.ended_kernel:
            self.incidents.append(Incident(outcome.status, outcome.ending, outcome.seconds, probe=name))
        return outcome
