"""Running a few code cells as a notebook in a sandboxed kernel of this host's strongest mode, for
the tests of the kernel's walls and channels."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nbformat

from grader.untrusted import sandbox
from grader.untrusted.limits import Limits
from grader.untrusted.runner import KernelSession


def run_cells(job: Path, sources: list[str], limits: Limits = Limits()):
    """Run ``sources`` as a notebook in a sandboxed kernel: (run, executed cells, session)."""
    isolation = sandbox.detect()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    sandbox.prepare_job(job, isolation)

    async def go():
        async with KernelSession(notebook, job, limits, seed=0, isolation=isolation) as kernel:
            return await kernel.run_notebook(), kernel

    run, kernel = asyncio.run(go())
    return run, notebook.cells, kernel
