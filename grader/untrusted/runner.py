"""Executes a notebook in a fresh kernel with nbclient, then the grader's probes in that kernel.

Every cell runs even when an earlier one fails; each has a time limit, and so has the whole run.
A cell over its time is interrupted; one that ignores the interrupt has its kernel killed. What
the kernel says about a cell, and how a kernel ended, is kept as plain data for the report.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import os
import re
import secrets
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from traitlets import Type

from grader.errors import CouldNotGrade
from grader.statuses import KERNEL_ENDED, CellStatus, Ending
from grader.untrusted import sandbox
from grader.untrusted.probes import preamble_source
from grader.untrusted.messages import MAX_CELL_OUTPUT_BYTES  # noqa: F401 (the caps are quoted from here)
from grader.untrusted.messages import MAX_ERROR_TEXT, BoundedKernelClient, BoundedNotebookClient

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Limits:
    cell_timeout_s: float = 120.0
    notebook_timeout_s: float = 600.0
    probe_timeout_s: float = 400.0
    torch_threads: int = 1
    memory_mb: int = 4096
    max_processes: int = 256
    max_file_mb: int = 256
    disk_mb: int = 1024  # the job folder, and the kernel's /tmp, each
    interrupt_grace_s: float = 5.0
    max_restarts: int = 3
    grading_timeout_s: float = 1500.0
    # A loaded machine can take long to start a kernel (importing torch, answering kernel_info): a
    # kernel that has not answered by then is ended and another one started.
    kernel_start_timeout_s: float = 120.0
    kernel_start_attempts: int = 2
    cpus: float = 1.0  # each kernel's CPU quota, in cores, where a cgroup can cap it


class SandboxedKernelManager(AsyncKernelManager):
    """Launches the kernel inside the sandbox's command; the connection file is handed over to
    the sandbox's uid once written."""

    client_factory = Type(BoundedKernelClient, klass=AsyncKernelClient)
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


# What the kernel may see of the grader's environment: enough to find Python, its libraries and a
# GPU (the sandbox sets its own HOME, USER and TMPDIR). Not the rest: the grader's secrets and
# tokens, and variables torch sets in this process once it is imported here
# (TORCHINDUCTOR_CACHE_DIR, under the grader's own temporary folder).
_PASSED_ENVIRONMENT = ("PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "LANG", "LANGUAGE", "TZ", "PYTHONPATH",
                       "VIRTUAL_ENV", "CONDA_PREFIX", "LD_LIBRARY_PATH", "CUDA_HOME", "CUDA_PATH",
                       "CUDA_VISIBLE_DEVICES")
_PASSED_PREFIXES = ("LC_", "NVIDIA_")


def kernel_environment(threads: int, home: Path | None = None) -> dict[str, str]:
    """The kernel's environment. With ``home`` (a folder made empty for this kernel), that is its
    HOME and where IPython, Jupyter and matplotlib look for configuration and startup files, so
    that nothing a previous kernel wrote there runs before the grader's preamble; Python's user
    site and the working directory are not on its path."""
    env = {k: v for k, v in os.environ.items() if k in _PASSED_ENVIRONMENT or k.startswith(_PASSED_PREFIXES)}
    if home is not None:
        env.update({"HOME": str(home), "IPYTHONDIR": str(home / ".ipython"),
                    "JUPYTER_CONFIG_DIR": str(home / ".jupyter"), "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter"),
                    "MPLCONFIGDIR": str(home / "matplotlib")})
    env.update({
        "PYTHONNOUSERSITE": "1",
        "PYTHONSAFEPATH": "1",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "MPLBACKEND": "agg",
        "PYTHONHASHSEED": "0",
        "TQDM_DISABLE": "1",
        "GRADER_GRADING": "1",  # a check() the grader did not take out does nothing (grader.selfcheck)
    })
    return env


def _preamble(threads: int, seed: int, token: str, exchange: Path | None, seals: Path | None = None,
              own_pids: bool = False) -> str:
    """The first cell of every kernel, run before any student code: it runs the grader's
    kernel-side keeper (probes/preamble.py) in a namespace of its own, with a copy of the builtins
    as they are then; the keeper prints "grader-ready" once it is in place."""
    settings = {"threads": threads, "seed": seed, "token": token, "exchange": str(exchange) if exchange else None,
                "ipython": True, "seals": str(seals) if seals else None, "own_pids": own_pids}
    return (f"(lambda b: b.exec(b.compile({preamble_source()!r}, '<grader-preamble>', 'exec'), {{'__builtins__': "
            f"dict(b.__dict__), '__name__': '__grader_preamble__', 'SETTINGS': {settings!r}}}))"
            "(__import__('builtins'))\n")


def _ready(cell: nbformat.NotebookNode) -> bool:
    """Whether the preamble said it is in place (trusted: no student code had run in this kernel)."""
    return any(output.get("output_type") == "stream" and "grader-ready" in output.get("text", "")
               for output in cell.get("outputs", []))


def _probe_call(token: str, name: str, folder: str, source_file: str, alone: bool) -> str:
    """A probe cell that looks up no name at all: reading a lambda's ``__code__`` is an audit event,
    and the keeper's audit hook runs the probe named in the lambda's default. The probes' source is
    a file of the grader's in the exchange folder, not text in the cell."""
    return (f"if (lambda grader_probe=({token!r}, {name!r}, {folder!r}, {source_file!r}, {alone!r}): 0).__code__:\n"
            "    pass\n")


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


def _outcome(index: int, cell: nbformat.NotebookNode, status: str, ending: Ending | None) -> CellOutcome:
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


def _ending(returncode: int | None, memory: bool, isolated: bool) -> Ending | None:
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
                self.client, self.dead, self.ending = self._new_client(), False, None
            try:
                return await self._start()
            except Exception as err:  # a CouldNotGrade says what failed and what to do
                failures.append(str(err) if isinstance(err, CouldNotGrade) else _one_line(err))
        raise CouldNotGrade(f"no kernel started in {len(failures)} tries (last: {failures[-1]}); on a loaded "
                            "machine, grade this notebook again with fewer at once")

    async def _start(self) -> "KernelSession":
        self.own.mkdir()  # the grader's: the kernel cannot swap its two folders for links
        for folder in (self.work, self.home):
            folder.mkdir()
            sandbox.hand_over(folder, self.isolation)
        shared = tuple(f for f in (self.exchange, self.sockets) if f is not None and not f.is_relative_to(self.job))
        # The kernel's walls: cgroups or a watchdog, and the sandbox of the mode detected.
        self.cgroup = sandbox.Walls(self.isolation, self.limits, self.job, shared, self.sockets,
                                    work=self.work, home=self.home,
                                    sealed=(self.seals,) if self.seals is not None else ())
        self._log_handle = None
        entered = False
        try:
            try:
                self.client.km.wrapper = self.cgroup.command()
            except OSError as err:
                raise CouldNotGrade(f"cannot build the {self.isolation.mode} sandbox ({_one_line(err)}); "
                                    "run `grade doctor`") from None
            self.client.km.connection_owner = lambda path: sandbox.hand_over(path, self.isolation)
            # The kernel's own stderr (its log, a crash report) goes to a file, not to our terminal.
            self._log_handle = open(self.log, "wb")
            self._kernel_context = self.client.async_setup_kernel(
                env=kernel_environment(self.limits.torch_threads, self.home), stdout=self._log_handle,
                stderr=self._log_handle,
            )
            manager = self.client.km
            try:
                await self._kernel_context.__aenter__()
            except Exception as err:
                # No student code has run yet: the sandbox failed, not the notebook.
                atexit.unregister(self.client._cleanup_kernel)
                _close_sockets(manager)
                raise CouldNotGrade(f"the kernel did not start in the {self.isolation.mode} sandbox "
                                    f"({_one_line(err)}{self._log_tail()}); run `grade doctor`") from None
            entered = True
            process = getattr(self.client.km.provisioner, "process", None)
            self.cgroup.launched(getattr(process, "pid", None))
            # The preamble imports torch, which takes seconds on a loaded machine: its time limit
            # is not the notebook's cells'.
            cell, status = await self._run_source(
                _preamble(self.limits.torch_threads, self.seed, self.token, self.exchange, self.seals,
                          own_pids=self.isolation.mode in ("root", "rootless")),
                max(self.limits.cell_timeout_s, 120))
            if status != "finished" or not _ready(cell):
                raise CouldNotGrade(f"the kernel did not run the grader's preamble in the {self.isolation.mode} "
                                    f"sandbox ({status} {self.ending or ''}{self._log_tail()}); run `grade doctor`")
        except BaseException:
            try:
                if entered:  # a kernel that started but did not run the preamble is ended
                    await self._kernel_context.__aexit__(None, None, None)
            finally:
                if self._log_handle is not None:
                    self._log_handle.close()
                self.cgroup.close()
                shutil.rmtree(self.own, ignore_errors=True)
            raise
        return self

    def _log_tail(self) -> str:
        """The kernel's last words, when it wrote any: what a TA needs to see why it failed."""
        try:
            lines = self.log.read_text("utf-8", errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f": {lines[-1][:200]}" if lines else ""

    async def __aexit__(self, *exc_info) -> None:
        try:
            await self._kernel_context.__aexit__(*exc_info)
        finally:
            self._log_handle.close()
            if self.cgroup is not None:
                self.memory_limit_hit = self.cgroup.hit_memory_limit()
                self.cgroup.close()
            # Its processes are gone: what it wrote goes too, and frees the job folder's space.
            shutil.rmtree(self.own, ignore_errors=True)

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
        memory = self.cgroup is not None and self.cgroup.hit_memory_limit()
        if status == "stuck":
            return Ending("memory") if memory else None
        provisioner = self.client.km.provisioner
        process = getattr(provisioner, "process", None)
        returncode = process.poll() if process is not None else None
        return _ending(returncode, memory, self.isolation.sandboxed)

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
            outcome = _outcome(index, cell, status, self.ending)
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
        source_file = self.exchange / f"probes-{hashlib.sha256(probe_source.encode()).hexdigest()[:16]}.py"
        if not source_file.exists():
            source_file.write_text(probe_source, "utf-8")
        call = _probe_call(self.token, name, out_dir.name, source_file.name, alone)
        began = time.monotonic()
        cell, status = await self._run_source(call, min(self.limits.probe_timeout_s, timeout or float("inf")))
        outcome = _outcome(-1, cell, status, self.ending)
        outcome.seconds = time.monotonic() - began
        return outcome
