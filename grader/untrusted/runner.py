"""Executes a notebook in a fresh kernel with nbclient, then the grader's probes in that kernel.

Every cell runs even when an earlier one fails; each has a time limit, and so has the whole run.
A cell over its time is interrupted; one that ignores the interrupt has its kernel killed. What
the kernel says about a cell, and how a kernel ended, is kept as plain data for the report.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Awaitable, Callable

import nbformat
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from traitlets import Type

from grader.errors import CouldNotGrade
from grader.statuses import Ending
from grader.untrusted import leftovers, sandbox
from grader.untrusted.environment import kernel_environment
from grader.untrusted.kernel_cells import is_ready, preamble_cell, probe_cell
from grader.untrusted.limits import Limits
from grader.untrusted.messages import MAX_MESSAGE_BYTES, BoundedKernelClient, BoundedNotebookClient, bounded_context
from grader.untrusted.outcomes import CellOutcome, NotebookRun, ending_of, outcome_of
from grader.untrusted.relay import CHANNELS as RELAYED, KERNEL_DISCONNECTED, RELAY_MEMORY_BYTES, Relay, RelaySpec


class SandboxedKernelManager(AsyncKernelManager):
    """Launches the kernel inside the sandbox's command; the connection file is handed over to
    the sandbox's uid once written. With ``relay``, every socket of the grader's (this manager's
    control socket, and its clients') connects to the relay that ``relay`` starts for the
    kernel's endpoints, never to the kernel itself."""

    client_factory = Type(BoundedKernelClient, klass=AsyncKernelClient)
    wrapper: list[str] = []
    connection_owner: Callable[[Path], None] | None = None
    relay: Callable[[str, dict[str, int]], Awaitable[str]] | None = None

    def _context_default(self):
        return bounded_context(super()._context_default())

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        if self.connection_owner is not None:
            self.connection_owner(Path(self.connection_file))
        return list(self.wrapper) + command

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        await super()._async_launch_kernel(kernel_cmd, **kw)
        if self.relay is not None:
            ports = {channel: getattr(self, f"{channel}_port") for channel in RELAYED}
            # The connection file, already written, keeps the kernel's endpoints for the kernel.
            self.ip = await self.relay(self.ip, ports)


def _close_sockets(manager) -> None:
    """A kernel manager whose kernel never answered: its sockets closed now, without lingering,
    so that collecting its ZMQ context later cannot block this process."""
    try:
        manager._close_control_socket()
        if getattr(manager, "_created_context", False):
            manager.context.destroy(linger=0)
    except Exception:  # best effort: the grading is being reported as failed anyway
        pass


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:200]}" if text else type(err).__name__


class KernelSession:
    """One kernel for one submission: the notebook's cells, then probe code."""

    def __init__(self, notebook: nbformat.NotebookNode, job: Path, limits: Limits, seed: int,
                 isolation: sandbox.Isolation, exchange: Path | None = None, sockets: Path | None = None,
                 seals: Path | None = None):
        """``job`` is a folder prepared by ``sandbox.prepare_job``; the kernel runs in a folder of
        its own below it, with a HOME of its own, both empty when it starts and removed after.
        ``exchange`` is the grader's folder for probe inputs and outputs, shared with the kernel;
        ``sockets`` holds the kernel's sockets and connection file (job/ipc unless given);
        ``seals`` is the FIFO probes seal their records through (grader.trusted.seals)."""
        self.exchange = exchange
        self.seals = seals
        self.sockets = sockets or job / "ipc"
        self.token = "_grader_" + secrets.token_hex(8)
        # Each kernel starts in folders of its own, made empty: no file a previous kernel of this
        # grading wrote (an IPython startup file, a module shadowing torch) is there to run first.
        self.own = job / f"kernel-{self.token[len('_grader_'):]}"
        self.work, self.home = self.own / "work", self.own / "home"
        self.notebook = notebook
        self.limits = limits
        self.seed = seed
        self.isolation = isolation
        self.job = job
        self.log = job / "kernel.log"
        self.cgroup: sandbox.Walls | None = None
        self.memory_limit_hit = False
        self.relay: Relay | None = None
        self.relay_broke = False
        self.dead = False
        self.ending: Ending | None = None
        self.client = self._new_client()

    def _new_client(self) -> BoundedNotebookClient:
        client = BoundedNotebookClient(
            self.notebook,
            kernel_name="python3",
            # Time is kept by _execute, which can kill a kernel that ignores the interrupt.
            timeout=None,
            allow_errors=True,
            record_timing=False,
            shutdown_kernel="immediate",
            resources={"metadata": {"path": str(self.work)}},
            kernel_manager_class=SandboxedKernelManager,
            startup_timeout=self.limits.kernel_start_timeout_s,
        )
        # ZMQ over files in the job folder rather than TCP ports: nothing listens on the network,
        # and a kernel in its own network namespace can still be reached.
        client.km = client.create_kernel_manager()
        client.km.transport = "ipc"
        client.km.ip = str(self.sockets / "kernel")
        client.km.connection_file = str(self.sockets / "kernel.json")
        # A signal would reach the sandbox's launcher, not the kernel: ask the kernel to interrupt
        # itself over its control channel instead.
        client.km.kernel_spec.interrupt_mode = "message"
        return client

    async def __aenter__(self) -> "KernelSession":
        """Start the kernel and run the grader's preamble in it. A kernel that does not answer in
        time (a loaded machine) is ended and another started; none answering is the grader's
        failure, never the student's."""
        failures: list[str] = []
        for attempt in range(self.limits.kernel_start_attempts):
            if attempt:
                self.client, self.dead, self.ending, self.relay_broke = self._new_client(), False, None, False
            try:
                return await self._start()
            except Exception as err:  # a CouldNotGrade says what failed and what to do
                failures.append(str(err) if isinstance(err, CouldNotGrade) else _one_line(err))
        raise CouldNotGrade(f"no kernel started in {len(failures)} tries (last: {failures[-1]}); on a loaded "
                            "machine, grade this notebook again with fewer at once")

    async def _start(self) -> "KernelSession":
        """One kernel in its walls, its preamble run. What it needs is undone in reverse order, by
        ``__aexit__`` or at once when the start fails: the kernel ended, its log closed, its walls
        taken down (noting whether it hit the memory cap), its folders removed."""
        async with contextlib.AsyncExitStack() as stack:
            self.own.mkdir()  # the grader's: the kernel cannot swap its two folders for links
            # Its processes are gone by the time this runs: what it wrote goes too.
            stack.callback(shutil.rmtree, self.own, ignore_errors=True)
            for folder in (self.work, self.home):
                folder.mkdir()
                sandbox.hand_over(folder, self.isolation)
            shared = tuple(f for f in (self.exchange, self.sockets)
                           if f is not None and not f.is_relative_to(self.job))
            # The kernel's walls: cgroups or a watchdog, and the sandbox of the mode detected.
            self.cgroup = sandbox.Walls(self.isolation, self.limits, self.job, shared, self.sockets,
                                        work=self.work, home=self.home,
                                        sealed=(self.seals,) if self.seals is not None else ())
            stack.callback(self._take_down_walls)
            try:
                self.client.km.wrapper = self.cgroup.command()
            except OSError as err:
                raise CouldNotGrade(f"cannot build the {self.isolation.mode} sandbox ({_one_line(err)}); "
                                    "run `grade doctor`") from None
            self.client.km.connection_owner = lambda path: sandbox.hand_over(path, self.isolation)
            # The relay's sockets, in a folder of the grader's that no sandbox binds.
            relay_folder = Path(tempfile.mkdtemp(prefix=leftovers.owned_prefix(), dir=sandbox.short_temp_dir()))
            stack.callback(shutil.rmtree, relay_folder, ignore_errors=True)
            self.client.km.relay = lambda ip, ports: self._start_relay(ip, ports, relay_folder)
            stack.push_async_callback(self._close_relay)
            # The kernel's own stderr (its log, a crash report) goes to a file, not to our terminal.
            log = stack.enter_context(open(self.log, "wb"))
            kernel = self.client.async_setup_kernel(
                env=kernel_environment(self.limits.torch_threads, self.home), stdout=log, stderr=log)
            manager = self.client.km
            try:
                await stack.enter_async_context(kernel)
            except Exception as err:
                # No student code has run yet: the sandbox failed, not the notebook.
                atexit.unregister(self.client._cleanup_kernel)
                _close_sockets(manager)
                raise CouldNotGrade(f"the kernel did not start in the {self.isolation.mode} sandbox "
                                    f"({_one_line(err)}{self._log_tail()}); run `grade doctor`") from None
            # From here on, the relay ending with the kernel is the grader's doing.
            stack.callback(self._ending_relay)
            process = getattr(self.client.km.provisioner, "process", None)
            self.cgroup.launched(getattr(process, "pid", None))
            # The preamble imports torch, which takes seconds on a loaded machine: its time limit
            # is not the notebook's cells'.
            cell, status = await self._run_source(
                preamble_cell(self.limits.torch_threads, self.seed, self.token, self.exchange, self.seals,
                              own_pids=self.isolation.mode in ("root", "rootless")),
                max(self.limits.cell_timeout_s, 120))
            if status != "finished" or not is_ready(cell):
                raise CouldNotGrade(f"the kernel did not run the grader's preamble in the {self.isolation.mode} "
                                    f"sandbox ({status} {self.ending or ''}{self._log_tail()}); run `grade doctor`")
            self._stack = stack.pop_all()
        return self

    async def _start_relay(self, kernel_ip: str, ports: dict[str, int], folder: Path) -> str:
        spec = RelaySpec(kernel_ip, str(folder / "relay"), ports, MAX_MESSAGE_BYTES, RELAY_MEMORY_BYTES)
        self.relay = await Relay.start(spec, self._relay_broken, timeout=self.limits.kernel_start_timeout_s)
        return spec.relay_ip

    def _relay_broken(self, code: int) -> None:
        asyncio.ensure_future(self._relay_ended(code))

    async def _relay_ended(self, code: int) -> None:
        """The relay ended unasked: the kernel sent a message larger than the grader takes, or
        one the relay could not hold, or the kernel itself ended (its connections with it). A
        kernel still alive a moment later is ended (nbclient then finds it dead), and its ending
        says why; one that ended by itself keeps its own ending."""
        if code == KERNEL_DISCONNECTED:
            for _ in range(20):
                manager = self.client.km
                if manager is None or not await manager.is_alive():
                    return
                await asyncio.sleep(0.1)
        self.relay_broke = True
        await self._kill()

    def _ending_relay(self) -> None:
        if self.relay is not None:
            self.relay.closing = True

    async def _close_relay(self) -> None:
        if self.relay is not None:
            await self.relay.close()
            self.relay = None

    def _take_down_walls(self) -> None:
        if self.cgroup is not None:
            self.memory_limit_hit = self.cgroup.hit_memory_limit()
            self.cgroup.close()

    def _log_tail(self) -> str:
        """The kernel's last words, when it wrote any: what a TA needs to see why it failed."""
        try:
            lines = self.log.read_text("utf-8", errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f": {lines[-1][:200]}" if lines else ""

    async def __aexit__(self, *exc_info) -> None:
        await self._stack.__aexit__(*exc_info)

    async def _execute(self, cell: nbformat.NotebookNode, index: int, timeout: float,
                       store_history: bool = True) -> str:
        """Run one cell: "finished", "timeout" (interrupted, the kernel lives on), "stuck" (the
        interrupt did not stop it, so the kernel was killed) or "died" (the kernel ended)."""
        task = asyncio.ensure_future(self.client.async_execute_cell(cell, index, store_history=store_history))
        # A grading that is stopped leaves this cell's task behind: its end (the kernel ended
        # under it) is nobody's to report.
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        status = "finished"
        try:
            done, _ = await asyncio.wait({task}, timeout=max(timeout, 0.01))
            if not done:
                status = "timeout"
                try:
                    await self.client.km.interrupt_kernel()
                except Exception:  # an unreachable kernel is killed below
                    pass
                done, _ = await asyncio.wait({task}, timeout=self.limits.interrupt_grace_s)
                if not done:
                    status = "stuck"
                    await self._kill()
                    done, _ = await asyncio.wait({task}, timeout=10)
                    if not done:
                        task.cancel()
        except asyncio.CancelledError:
            task.cancel()
            raise
        try:
            await task
        except (DeadKernelError, asyncio.CancelledError):
            if status == "finished":
                status = "died"
        except Exception:  # the kernel broke the protocol (a malformed reply): it is not trusted further
            await self._kill()
            status = "died"
        if status in ("died", "stuck"):
            self.dead = True
            self.ending = await self._how_it_ended(status)
        return status

    async def _kill(self) -> None:
        if self.cgroup is not None:
            self.cgroup.kill()
        provisioner = self.client.km.provisioner
        if provisioner is not None:
            try:
                await provisioner.kill()
            except OSError:
                pass

    async def _how_it_ended(self, status: str) -> Ending | None:
        if self.relay_broke:
            return Ending("message")
        memory = self.cgroup is not None and self.cgroup.hit_memory_limit()
        if status == "stuck":
            return Ending("memory") if memory else None
        provisioner = self.client.km.provisioner
        process = getattr(provisioner, "process", None)
        returncode = process.poll() if process is not None else None
        return ending_of(returncode, memory, self.isolation.sandboxed)

    async def _run_source(self, source: str, timeout: float) -> tuple[nbformat.NotebookNode, str]:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["execution"] = {}
        # nbclient stores an executed cell at its index: the grader's cell gets a slot of its own
        # after the notebook's cells, removed afterwards, so no cell of the notebook is replaced.
        self.notebook.cells.append(cell)
        try:
            status = await self._execute(cell, len(self.notebook.cells) - 1, timeout, store_history=False)
        finally:
            self.notebook.cells.pop()
        return cell, status

    async def run_notebook(self, skip: frozenset[int] = frozenset(), deadline: float | None = None,
                           stop_after_timeout: bool = False) -> NotebookRun:
        """Run the notebook's code cells in order, except those in ``skip``, until ``deadline``
        (a ``time.monotonic`` value), until a cell ends the kernel, or, if told so, until one
        times out."""
        run = NotebookRun()
        start = time.monotonic()
        if deadline is None:
            deadline = start + self.limits.notebook_timeout_s
        for index, cell in enumerate(self.notebook.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            if index in skip:
                run.cells.append(CellOutcome(index, None, "skipped"))
                continue
            remaining = deadline - time.monotonic()
            if run.stopped_by is not None or remaining <= 0:
                run.timed_out = run.timed_out or remaining <= 0
                run.cells.append(CellOutcome(index, None, "not_run"))
                continue
            began = time.monotonic()
            status = await self._execute(cell, index, min(self.limits.cell_timeout_s, remaining))
            outcome = outcome_of(index, cell, status, self.ending)
            outcome.seconds = time.monotonic() - began
            if outcome.ended_kernel or (stop_after_timeout and outcome.status == "timeout"):
                run.stopped_by = outcome
            run.cells.append(outcome)
        run.seconds = time.monotonic() - start
        run.truncated_cells = [i for i in self.client.truncated_cells if 0 <= i < len(self.notebook.cells)]
        return run

    async def run_probe(self, probe_source: str, name: str, inputs: Path, out_dir: Path,
                        timeout: float | None = None, alone: bool = True) -> CellOutcome:
        """Run one probe in its own cell, for at most ``timeout`` seconds (and the probes' own
        limit); it reads ``inputs`` (the exchange folder's inputs.pt) and
        writes its artifacts into ``out_dir`` (a folder of the exchange folder). With ``alone``
        (not when probes run on a GPU, which a forked process cannot use), it runs in a process of
        its own while every other process of the sandbox is stopped (probes/preamble.py)."""
        if self.exchange is None or inputs != self.exchange / "inputs.pt" or out_dir.parent != self.exchange:
            raise ValueError("probes read and write only in the exchange folder")
        source_file = self.exchange / f"probes-{hashlib.sha256(probe_source.encode()).hexdigest()[:16]}.json"
        if not source_file.exists():
            source_file.write_text(probe_source, "utf-8")
        call = probe_cell(self.token, name, out_dir.name, source_file.name, alone)
        began = time.monotonic()
        cell, status = await self._run_source(call, min(self.limits.probe_timeout_s, timeout or float("inf")))
        outcome = outcome_of(-1, cell, status, self.ending)
        outcome.seconds = time.monotonic() - began
        return outcome
