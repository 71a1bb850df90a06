"""How long and how much one grading may take: each limit with what it bounds, beside its default
(as nbclient declares its options). Tests, the Gradescope build and ``grade batch`` make their own
with ``dataclasses.replace``; ``help_of`` gives the text for documentation and errors."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


def _limit(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Limits:
    cell_timeout_s: float = _limit(120.0, "Seconds one notebook cell may run before it is interrupted.")
    notebook_timeout_s: float = _limit(600.0, "Seconds all the notebook's cells may take together.")
    probe_timeout_s: float = _limit(400.0, "Seconds one probe (the grader's test of one function) may run.")
    torch_threads: int = _limit(1, "Threads torch may use, in the kernel and in the grader's judges.")
    memory_mb: int = _limit(4096, "Memory of the kernel and every process it starts, swap included.")
    max_processes: int = _limit(256, "Processes (and threads) the kernel may have at once.")
    max_file_mb: int = _limit(256, "Size of any one file the kernel writes.")
    disk_mb: int = _limit(1024, "Size of the kernel's job folder, and of its /tmp, each.")
    interrupt_grace_s: float = _limit(5.0, "Seconds an interrupted cell has to stop before its kernel is killed.")
    max_restarts: int = _limit(3, "Kernels started again, each without the cell that ended the last one.")
    grading_timeout_s: float = _limit(1500.0, "Seconds the whole grading may take; probes left then are not run.")
    kernel_start_timeout_s: float = _limit(
        120.0, "Seconds a kernel has to start and answer (importing torch on a loaded machine takes long); "
               "one that has not is ended and another started.")
    kernel_start_attempts: int = _limit(2, "Kernels tried before the grading is 'could not grade'.")
    cpus: float = _limit(1.0, "Each kernel's CPU quota, in cores, where a cgroup can cap it.")


def help_of(name: str) -> str:
    """What the limit ``name`` bounds."""
    for limit in fields(Limits):
        if limit.name == name:
            return limit.metadata["help"]
    raise KeyError(name)
