"""Limits that keep a whole grading inside a Gradescope container.

Gradescope gives each submission a container with 768 MB of memory and 10 minutes by default
(both can be raised in the assignment's settings); reaching either ends the run with 0 points and
no tests shown, which would blame the student for the grader's choice of limits. So the grader
cuts first: the kernel's memory cap is what the container leaves once the grader's own process is
counted, and the time limits of cells, the notebook, restarts and probes add up, in the worst
case, to less than the container's time. A notebook that hits one is then cut by the grader and
graded on what it did, with a note on each check it cost.
"""

from __future__ import annotations

from dataclasses import replace

from grader.errors import GraderError
from grader.untrusted.limits import Limits

GRADESCOPE_MEMORY_MB = 768
GRADESCOPE_TIMEOUT_S = 600
# The grader's own process peaks at about 300 MiB PSS, 380 MiB RSS (torch, the reference's answers,
# nbclient) while grading either assignment (bench/gradescope_memory.py); the rest is bwrap, the
# shells and slack.
GRADER_RESERVE_MB = 420
# The kernel of the XOR reference notebook needs between 200 and 300 MB under a memory cgroup:
# below this cap a correct notebook could lose points.
MIN_KERNEL_MB = 300
# Starting Python and the grader, judging, writing results, and a margin.
RESERVE_S = 60
# A kernel started just before the grading's deadline (a restart) may still take nbclient's
# start-up limit, then the grader's preamble, whose own limit is max(cell limit, 120 s)
# (grader.untrusted.runner).
KERNEL_STARTUP_S = 60
PREAMBLE_MIN_S = 120
INTERRUPT_GRACE_S = 3.0
# A probe that ignores its interrupt has its kernel killed, then up to 10 s to end; once, since
# no kernel is started again after the deadline.
KILL_WAIT_S = 10
# For the default 10 minutes; a longer container timeout stretches them in proportion.
PROBE_TIMEOUT_S = 20.0  # the slowest probe of a reference takes 2 s (end-to-end training)
CELL_TIMEOUT_S = 60.0
DISK_MB = 64  # the job folder and the kernel's /tmp are tmpfs: their pages are the container's memory
MIN_GRADING_S = 60


def probe_count() -> int:
    """The most probes any assignment runs: each may use its whole time limit."""
    from grader.assignments import ASSIGNMENTS
    return max(len(assignment.judge.probes) for assignment in ASSIGNMENTS.values())


def worst_case_s(limits: Limits, probes: int) -> float:
    """The longest a grading can take under ``limits``: the notebook's runs and restarts end by
    the grading's deadline; past it, a kernel started just before it still starts, every probe
    may run to its limit and be interrupted, and one may have to be killed; plus the grader's
    own work."""
    return (RESERVE_S + limits.grading_timeout_s + kernel_start_s(limits.cell_timeout_s) + KILL_WAIT_S
            + probes * (limits.probe_timeout_s + limits.interrupt_grace_s))


def kernel_start_s(cell_timeout_s: float) -> float:
    return KERNEL_STARTUP_S + max(cell_timeout_s, PREAMBLE_MIN_S)


def _grading_s(timeout_s: int, probes: int) -> tuple[float, float, float]:
    """(cell, probe, notebook-and-restarts) limits for a container timeout: what is left once
    the grader's own time, a late kernel start and every probe's limit are set aside."""
    scale = timeout_s / GRADESCOPE_TIMEOUT_S
    cell_s, probe_s = CELL_TIMEOUT_S * scale, PROBE_TIMEOUT_S * scale
    grading_s = (timeout_s - RESERVE_S - kernel_start_s(cell_s) - KILL_WAIT_S
                 - probes * (probe_s + INTERRUPT_GRACE_S))
    return min(cell_s, grading_s), probe_s, grading_s


def container_limits(memory_mb: int = GRADESCOPE_MEMORY_MB, timeout_s: int = GRADESCOPE_TIMEOUT_S,
                     probes: int | None = None) -> Limits:
    """The grader's limits for a container of ``memory_mb`` and ``timeout_s``; a GraderError when
    the container is too small to grade a correct notebook in."""
    probes = probe_count() if probes is None else probes
    kernel_mb = memory_mb - GRADER_RESERVE_MB
    if kernel_mb < MIN_KERNEL_MB:
        raise GraderError(f"--memory-mb {memory_mb}: too little for the grader ({GRADER_RESERVE_MB} MB) and a "
                          f"kernel ({MIN_KERNEL_MB} MB); give at least {GRADER_RESERVE_MB + MIN_KERNEL_MB} and "
                          "the same in Gradescope's autograder settings")
    cell_s, probe_s, grading_s = _grading_s(timeout_s, probes)
    if grading_s < MIN_GRADING_S:
        minimum = next(t for t in range(timeout_s, 100 * GRADESCOPE_TIMEOUT_S)
                       if _grading_s(t, probes)[2] >= MIN_GRADING_S)
        raise GraderError(f"--timeout-s {timeout_s}: too little to run a notebook and {probes} probes within "
                          f"their limits; give at least {minimum} and the same in Gradescope's settings")
    return replace(
        Limits(),
        memory_mb=kernel_mb,
        disk_mb=DISK_MB,
        max_file_mb=DISK_MB,
        cell_timeout_s=cell_s,
        notebook_timeout_s=grading_s,
        grading_timeout_s=grading_s,
        probe_timeout_s=probe_s,
        interrupt_grace_s=INTERRUPT_GRACE_S,
    )
