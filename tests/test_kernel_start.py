"""A kernel slow to start (a loaded machine) is waited for, then started again; one that never
starts is the grader's failure (CouldNotGrade, exit 3), never a student's lost points."""

from __future__ import annotations

import asyncio

import nbformat
import pytest

from grader.errors import CouldNotGrade
from grader.untrusted import sandbox
from grader.untrusted.limits import Limits
from grader.untrusted.runner import KernelSession

pytestmark = pytest.mark.kernel
ISOLATION = sandbox.detect()


def slow_first(monkeypatch, slow_starts: int, seconds: int) -> list[int]:
    """The first ``slow_starts`` kernels wait ``seconds`` before starting, as on a machine too
    loaded to start one in time."""
    started = []
    plain = sandbox.rlimit_command

    def maybe_slow(limits):
        started.append(1)
        delay = ["/bin/sh", "-c", f'sleep {seconds}; exec "$@"', "slow"] if len(started) <= slow_starts else []
        return delay + plain(limits)

    monkeypatch.setattr(sandbox, "rlimit_command", maybe_slow)
    return started


def run(job, limits: Limits):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    sandbox.prepare_job(job, ISOLATION)

    async def go():
        async with KernelSession(notebook, job, limits, seed=0, isolation=ISOLATION) as kernel:
            return await kernel.run_notebook()

    return asyncio.run(go()), notebook


def test_a_kernel_too_slow_to_answer_is_started_again(tmp_path, monkeypatch):
    started = slow_first(monkeypatch, slow_starts=1, seconds=60)
    result, notebook = run(tmp_path, Limits(kernel_start_timeout_s=10))
    assert len(started) == 2
    assert [c.status for c in result.cells] == ["ok"]
    assert "42" in "".join(o.get("text", "") for o in notebook.cells[0].outputs)


def test_no_kernel_starting_is_the_graders_failure(tmp_path, monkeypatch):
    started = slow_first(monkeypatch, slow_starts=5, seconds=60)
    with pytest.raises(CouldNotGrade, match="no kernel started"):
        run(tmp_path, Limits(kernel_start_timeout_s=5, kernel_start_attempts=2))
    assert len(started) == 2
