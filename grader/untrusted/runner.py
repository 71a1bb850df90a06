"""Executes a notebook in a fresh kernel with nbclient, then the grader's probes in that kernel.

Every cell runs even when an earlier one fails; each has a time limit, and so has the whole run.
What the kernel says about a cell is kept as plain data for the report.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MAX_ERROR_TEXT = 3000


@dataclass(frozen=True)
class Limits:
    cell_timeout_s: float = 120.0
    notebook_timeout_s: float = 600.0
    probe_timeout_s: float = 400.0
    torch_threads: int = 1


@dataclass
class CellOutcome:
    index: int
    execution_count: int | None
    status: str  # "ok", "error", "timeout", "not_run"
    error_type: str = ""
    error_message: str = ""
    traceback: str = ""
    seconds: float = 0.0


@dataclass
class NotebookRun:
    cells: list[CellOutcome] = field(default_factory=list)
    kernel_died: bool = False
    timed_out: bool = False
    seconds: float = 0.0

    def cell_index(self, execution_count: int) -> int | None:
        for cell in self.cells:
            if cell.execution_count == execution_count:
                return cell.index
        return None


def kernel_environment(threads: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADER_", "JPY_"))}
    env.update({
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "MPLBACKEND": "agg",
        "PYTHONHASHSEED": "0",
        "TQDM_DISABLE": "1",
    })
    return env


def _preamble(threads: int, seed: int, token: str) -> str:
    # Runs before any student code: keeps the functions that probes write artifacts with under a
    # name drawn for this grading, so that a notebook that replaces `torch.save` or `open` does
    # not change what the probes write. The notebook's own cells run seeded too.
    return (
        "import builtins as _b, json as _j, os as _o, sys as _s, types as _t, torch as _torch\n"
        f"_m = _t.ModuleType({token!r})\n"
        "_m.save, _m.load, _m.dump, _m.open = _torch.save, _torch.load, _j.dump, _b.open\n"
        "_m.exec, _m.compile = _b.exec, _b.compile\n"
        f"_s.modules[{token!r}] = _m\n"
        f"_torch.set_num_threads({threads})\n"
        f"_torch.manual_seed({seed})\n"
        "del _b, _j, _o, _s, _t, _torch, _m\n"
    )


def _error_outcome(index: int, cell: nbformat.NotebookNode) -> CellOutcome:
    outcome = CellOutcome(index=index, execution_count=cell.get("execution_count"), status="ok")
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            outcome.status = "error"
            outcome.error_type = output.get("ename", "")
            outcome.error_message = ANSI.sub("", output.get("evalue", ""))[:_MAX_ERROR_TEXT]
            outcome.traceback = ANSI.sub("", "\n".join(output.get("traceback", [])))[-_MAX_ERROR_TEXT:]
    return outcome


class KernelSession:
    """One kernel for one submission: the notebook's cells, then probe code."""

    def __init__(self, notebook: nbformat.NotebookNode, workdir: Path, limits: Limits, seed: int,
                 log: Path):
        self.notebook = notebook
        self.limits = limits
        self.seed = seed
        self.client = NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=limits.cell_timeout_s,
            allow_errors=True,
            interrupt_on_timeout=True,
            record_timing=False,
            shutdown_kernel="immediate",
            resources={"metadata": {"path": str(workdir)}},
        )
        self._kernel_context = None
        self.log = log
        # ZMQ over files in the job folder rather than TCP ports: nothing listens on the network.
        self.client.km = self.client.create_kernel_manager()
        self.client.km.transport = "ipc"
        self.client.km.ip = str(log.parent / "kernel")
        self.token = "_grader_" + secrets.token_hex(8)

    async def __aenter__(self) -> "KernelSession":
        # The kernel's own stderr (its log, a crash report) goes to a file, not to our terminal.
        self._log_handle = open(self.log, "wb")
        self._kernel_context = self.client.async_setup_kernel(
            env=kernel_environment(self.limits.torch_threads), stdout=self._log_handle,
            stderr=self._log_handle,
        )
        await self._kernel_context.__aenter__()
        await self._run_source(
            _preamble(self.limits.torch_threads, self.seed, self.token), self.limits.cell_timeout_s
        )
        return self

    async def __aexit__(self, *exc_info) -> None:
        try:
            await self._kernel_context.__aexit__(*exc_info)
        finally:
            self._log_handle.close()

    async def _run_source(self, source: str, timeout: float) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["execution"] = {}
        self.client.timeout = timeout
        try:
            await self.client.async_execute_cell(cell, -1, store_history=False)
        finally:
            self.client.timeout = self.limits.cell_timeout_s
        return cell

    async def run_notebook(self) -> NotebookRun:
        run = NotebookRun()
        start = time.monotonic()
        deadline = start + self.limits.notebook_timeout_s
        for index, cell in enumerate(self.notebook.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            remaining = deadline - time.monotonic()
            if run.kernel_died or remaining <= 0:
                run.timed_out = run.timed_out or remaining <= 0
                run.cells.append(CellOutcome(index, None, "not_run"))
                continue
            self.client.timeout = min(self.limits.cell_timeout_s, remaining)
            began = time.monotonic()
            try:
                await self.client.async_execute_cell(cell, index)
                outcome = _error_outcome(index, cell)
            except CellTimeoutError:
                outcome = CellOutcome(index, cell.get("execution_count"), "timeout")
            except DeadKernelError:
                run.kernel_died = True
                outcome = CellOutcome(index, cell.get("execution_count"), "error",
                                      error_type="DeadKernelError",
                                      error_message="the kernel died while running this cell")
            outcome.seconds = time.monotonic() - began
            run.cells.append(outcome)
        self.client.timeout = self.limits.cell_timeout_s
        run.seconds = time.monotonic() - start
        return run

    async def run_probe(self, probe_source: str, name: str, inputs: Path, out_dir: Path) -> CellOutcome:
        """Run one probe in its own cell; it writes its artifacts into ``out_dir``."""
        call = (
            f"__grader_probe = {{'__name__': '__grader_probe__', 'PRISTINE': __import__('sys').modules[{self.token!r}]}}\n"
            f"__grader_probe['PRISTINE'].exec(__grader_probe['PRISTINE'].compile({probe_source!r}, '<grader-probe>', 'exec'), __grader_probe)\n"
            f"__grader_probe['main'](globals(), {name!r}, {str(inputs)!r}, {str(out_dir)!r})\n"
            "del __grader_probe\n"
        )
        began = time.monotonic()
        try:
            cell = await self._run_source(call, self.limits.probe_timeout_s)
            outcome = _error_outcome(-1, cell)
        except CellTimeoutError:
            outcome = CellOutcome(-1, None, "timeout")
        except DeadKernelError:
            outcome = CellOutcome(-1, None, "error", error_type="DeadKernelError",
                                  error_message="the kernel died while the grader probed it")
        outcome.seconds = time.monotonic() - began
        return outcome
