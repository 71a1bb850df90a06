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
from typing import Callable

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from grader.untrusted import sandbox

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MAX_ERROR_TEXT = 3000
MAX_CELL_OUTPUT_BYTES = 2**20
MAX_NOTEBOOK_OUTPUT_BYTES = 8 * 2**20
TRUNCATION_MARK = "\n[grader: output truncated]\n"


@dataclass(frozen=True)
class Limits:
    cell_timeout_s: float = 120.0
    notebook_timeout_s: float = 600.0
    probe_timeout_s: float = 400.0
    torch_threads: int = 1
    memory_mb: int = 4096
    max_processes: int = 256
    max_file_mb: int = 256


class SandboxedKernelManager(AsyncKernelManager):
    """Launches the kernel inside the sandbox's command; the connection file is handed over to
    the sandbox's uid once written."""

    wrapper: list[str] = []
    connection_owner: Callable[[Path], None] | None = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        if self.connection_owner is not None:
            self.connection_owner(Path(self.connection_file))
        return list(self.wrapper) + command


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
    truncated_cells: list[int] = field(default_factory=list)

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


def _content_bytes(content) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, dict):
        return sum(_content_bytes(v) for v in content.values())
    if isinstance(content, (list, tuple)):
        return sum(_content_bytes(v) for v in content)
    return 8


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

    def __init__(self, notebook: nbformat.NotebookNode, job: Path, limits: Limits, seed: int,
                 isolation: sandbox.Isolation):
        """``job`` is a folder prepared by ``sandbox.prepare_job``; the kernel runs in job/work."""
        self.notebook = notebook
        self.limits = limits
        self.seed = seed
        self.isolation = isolation
        self.client = NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=limits.cell_timeout_s,
            allow_errors=True,
            interrupt_on_timeout=True,
            record_timing=False,
            shutdown_kernel="immediate",
            resources={"metadata": {"path": str(job / "work")}},
            kernel_manager_class=SandboxedKernelManager,
        )
        self.job = job
        self.log = job / "kernel.log"
        self.cgroup: sandbox.Cell | None = None
        self.memory_limit_hit = False
        # ZMQ over files in the job folder rather than TCP ports: nothing listens on the network,
        # and a kernel in its own network namespace can still be reached.
        self.client.km = self.client.create_kernel_manager()
        self.client.km.transport = "ipc"
        self.client.km.ip = str(job / "ipc" / "kernel")
        self.client.km.connection_file = str(job / "ipc" / "kernel.json")
        # A signal would reach the sandbox's launcher, not the kernel: ask the kernel to interrupt
        # itself over its control channel instead.
        self.client.km.kernel_spec.interrupt_mode = "message"
        self.token = "_grader_" + secrets.token_hex(8)
        # nbclient interrupts a cell that runs out of time and then reports only the interrupt:
        # note the timeout where it is handled.
        self.cell_timed_out = False
        handle_timeout = self.client._async_handle_timeout

        async def noting_timeout(*args, **kwargs):
            self.cell_timed_out = True
            return await handle_timeout(*args, **kwargs)

        self.client._async_handle_timeout = noting_timeout
        self.output_bytes: dict[int, int] = {}
        self.truncated_cells: list[int] = []
        self.client.output = self._capped_output(self.client.output)

    def _capped_output(self, keep):
        """nbclient's output handler behind a cap, so that a flood of printing is dropped as it
        arrives instead of piling up in this process; errors always pass."""
        def output(outs, msg, display_id, cell_index):
            if msg.get("msg_type") == "error":
                return keep(outs, msg, display_id, cell_index)
            size = _content_bytes(msg.get("content", {}))
            cell = self.output_bytes.get(cell_index, 0)
            room = min(MAX_CELL_OUTPUT_BYTES - cell, MAX_NOTEBOOK_OUTPUT_BYTES - sum(self.output_bytes.values()))
            if size > room:
                if cell_index in self.truncated_cells:
                    return None
                self.truncated_cells.append(cell_index)
                content = msg.get("content", {})
                if msg.get("msg_type") == "stream" and room > 0 and isinstance(content.get("text"), str):
                    # Kept: the start of the flood, which is what a student needs to see.
                    self.output_bytes[cell_index] = cell + room
                    keep(outs, {**msg, "content": {**content, "text": content["text"][:room]}}, display_id,
                         cell_index)
                outs.append(nbformat.v4.new_output("stream", name="stderr", text=TRUNCATION_MARK))
                return None
            self.output_bytes[cell_index] = cell + size
            return keep(outs, msg, display_id, cell_index)
        return output

    async def __aenter__(self) -> "KernelSession":
        self.cgroup = sandbox.Cell(self.isolation, self.limits)
        wrapper = self.cgroup.enter_command() + sandbox.rlimit_command(self.limits)
        if self.isolation.mode == "bubblewrap":
            wrapper += sandbox.bubblewrap_command(self.job, self.job / "work", self.job / "home")
        self.client.km.wrapper = wrapper
        self.client.km.connection_owner = lambda path: sandbox.hand_over(path, self.isolation)
        # The kernel's own stderr (its log, a crash report) goes to a file, not to our terminal.
        self._log_handle = open(self.log, "wb")
        self._kernel_context = self.client.async_setup_kernel(
            env=kernel_environment(self.limits.torch_threads), stdout=self._log_handle,
            stderr=self._log_handle,
        )
        try:
            await self._kernel_context.__aenter__()
            await self._run_source(
                _preamble(self.limits.torch_threads, self.seed, self.token), self.limits.cell_timeout_s
            )
        except BaseException:
            self._log_handle.close()
            self.cgroup.close()
            raise
        return self

    async def __aexit__(self, *exc_info) -> None:
        try:
            await self._kernel_context.__aexit__(*exc_info)
        finally:
            self._log_handle.close()
            if self.cgroup is not None:
                self.memory_limit_hit = self.cgroup.hit_memory_limit()
                self.cgroup.close()

    async def _run_source(self, source: str, timeout: float) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["execution"] = {}
        self.client.timeout = timeout
        # nbclient stores an executed cell at its index: the grader's cell gets a slot of its own
        # after the notebook's cells, removed afterwards, so no cell of the notebook is replaced.
        self.notebook.cells.append(cell)
        try:
            await self.client.async_execute_cell(cell, len(self.notebook.cells) - 1, store_history=False)
        finally:
            self.client.timeout = self.limits.cell_timeout_s
            self.notebook.cells.pop()
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
            self.cell_timed_out = False
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
            if self.cell_timed_out and outcome.status != "timeout":
                outcome.status = "timeout"
            run.cells.append(outcome)
        self.client.timeout = self.limits.cell_timeout_s
        run.seconds = time.monotonic() - start
        run.truncated_cells = [i for i in self.truncated_cells if 0 <= i < len(self.notebook.cells)]
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
