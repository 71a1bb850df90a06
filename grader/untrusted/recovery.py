"""A submission's kernel that carries on past the code that ends it.

When a cell ends its kernel (``os._exit``, a segfault, the memory limit) or runs past its time
limit, a fresh kernel runs the notebook again without that cell, so that the definitions around
it are still graded: an interrupted kernel may hold half-done state or leave processes spinning.
When a probe ends the kernel, a fresh kernel runs the notebook again before the next probe, so
that one function's crash costs only its own checks.
Each such event is kept as an Incident for the report. Restarts past cells are capped in number;
each probe may end a kernel once; no restart begins after the grading's deadline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.untrusted import sandbox
from grader.untrusted.runner import CellOutcome, KernelSession, Limits, NotebookRun


@dataclass
class Incident:
    """Code that ended a kernel: a notebook cell (``cell``) or a probe (``probe``)."""

    status: str  # "died", "stuck" or "timeout"
    ending: str  # see CellOutcome.ending
    seconds: float
    cell: int | None = None
    probe: str | None = None
    recovered: bool = False  # a fresh kernel went on without it


class RecoveringKernel:
    """``async with RecoveringKernel(...) as kernel``: the notebook has run, skipping what ended a
    kernel; ``kernel.run`` is the run that probes will see, ``kernel.probe`` runs one probe."""

    def __init__(self, notebook: nbformat.NotebookNode, folders: sandbox.JobFolders, limits: Limits, seed: int,
                 isolation: sandbox.Isolation):
        self.notebook = notebook
        self.folders = folders
        self.limits = limits
        self.seed = seed
        self.isolation = isolation
        self.deadline = time.monotonic() + limits.grading_timeout_s
        self.skipped: set[int] = set()
        self.incidents: list[Incident] = []
        self.restarts = 0
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
                                    self.folders.exchange, self.folders.sockets)
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
                return
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

    async def probe(self, source: str, name: str, inputs: Path, out_dir: Path) -> CellOutcome:
        """Run one probe, in a fresh kernel if the last one was ended."""
        if self.session is None or self.session.dead:
            # Only a kernel ended by the previous probe is started again: one ended by the
            # notebook's own cells has used up its restarts already.
            if not self.incidents or self.incidents[-1].probe is None or self._out_of_time():
                return CellOutcome(-1, None, "not_run")
            self.incidents[-1].recovered = True
            await self._close()
            await self._start()
            if self.session.dead:
                return CellOutcome(-1, None, "not_run")
        outcome = await self.session.run_probe(source, name, inputs, out_dir)
        if outcome.ended_kernel:
            self.incidents.append(Incident(outcome.status, outcome.ending, outcome.seconds, probe=name))
        return outcome
