"""Grading one notebook: the functional core behind ``grade submit``.

The kernel runs the notebook, then each probe in its own cell, each writing into a folder made
for it just before. Meanwhile this process imports torch, draws the inputs and computes the
reference answers. Scores come only from the judge, the artifacts and the points table.
"""

from __future__ import annotations

import asyncio
import hashlib
import concurrent.futures
import secrets
import signal
import threading
import time
from pathlib import Path

import nbformat

from grader import __version__
from grader.assignments import Assignment, get_assignment, recognise, require_course
from grader.errors import Stopped, UnusableInput
from grader.notebook_file import code_digest, read_notebook, uncompilable_cells
from grader.seeds import course_secret, grading_seed
from grader.selfcheck.cells import without_checks
from grader.statuses import Ending
from grader.text import encodable
from grader.trusted.artifacts import Artifact, load_artifact
from grader.trusted.judges import Prepared, prepare
from grader.trusted.judges.evidence import cell_error_hint
from grader.trusted.records import RecordFolder
from grader.trusted.seals import SealReader, Unsealed
from grader.trusted.results import CheckResult, GradeResult, Message, Verdict
from grader.trusted.points import checks_of
from grader.untrusted.probes import probe_source
from grader.untrusted import sandbox
from grader.untrusted.recovery import DEADLINE, Incident, RecoveringKernel
from grader.untrusted.limits import Limits
from grader.untrusted.messages import MAX_MESSAGE_BYTES
from grader.untrusted.outcomes import CellOutcome, NotebookRun

DEVICES = ("auto", "cpu", "cuda")
# Notes of one kind past this many are counted, not listed: 20,000 failing cells give a short report.
MAX_NOTES_PER_KIND = 5


def grade_notebook(path: Path, assignment: str | None = None, seed: int | None = None,
                   device: str = "auto", limits: Limits = Limits(), record: Path | None = None) -> GradeResult:
    """``record``: a folder where the probes' artifacts are kept for kernel-free tests
    (grader.trusted.recorded)."""
    started = time.monotonic()
    named = get_assignment(assignment) if assignment else None
    # check() cells and calls are the student's own tool: graded notebooks run without them.
    notebook = without_checks(read_notebook(path))
    chosen = named or recognise(notebook)
    if device not in DEVICES:
        raise UnusableInput(f"unknown device {device!r}; use one of {', '.join(DEVICES)}")
    if seed is None:
        seed = grading_seed(code_digest(notebook), course_secret())
    if not chosen.reference.exists():
        from grader.trusted import precomputed

        require_course(chosen, precomputed.path(chosen.name))
        seed = precomputed.seed_for(seed)  # a student bundle knows a few seeds only
    return asyncio.run(_until_stopped(_grade(Path(path), notebook, chosen, seed, device, limits, started, record)))


async def _until_stopped(grading):
    """Run ``grading``; SIGINT or SIGTERM cancels it, so that its kernel is ended on the way out
    (within seconds: nothing on the way waits for the kernel or the reference), and then raises
    KeyboardInterrupt or Stopped. Outside the main thread the caller's own handlers apply."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(grading)
    received: list[int] = []

    def stop(number: int) -> None:
        if not received:
            received.append(number)
            task.cancel()

    previous = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        try:
            handler = signal.getsignal(number)
            loop.add_signal_handler(number, stop, number)
            previous[number] = handler
        except (RuntimeError, ValueError):
            pass
    try:
        result = await task
    except asyncio.CancelledError:
        if not received:
            raise
        result = None
    finally:
        for number, handler in previous.items():
            loop.remove_signal_handler(number)
            if handler is not None:  # None: a handler not set from Python, which stays
                signal.signal(number, handler)
    if received:  # also when the signal came after the last await, while judging
        raise KeyboardInterrupt if received[0] == signal.SIGINT else Stopped(received[0])
    return result


def _in_background(function, *args) -> concurrent.futures.Future:
    """``function(*args)`` in a daemon thread: a grading that is stopped does not wait for it."""
    future: concurrent.futures.Future = concurrent.futures.Future()

    def run() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(function(*args))
            except BaseException as err:
                future.set_exception(err)

    threading.Thread(target=run, name="grader-prepare", daemon=True).start()
    return future


def _prepare(assignment: Assignment, seed: int, device: str, threads: int) -> Prepared:
    import torch

    torch.set_num_threads(threads)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise UnusableInput("--device cuda: CUDA is not available on this machine; use --device cpu")
    return prepare(assignment, seed, device)


async def _grade(path: Path, notebook: nbformat.NotebookNode, assignment: Assignment, seed: int,
                 device: str, limits: Limits, started: float, record: Path | None = None) -> GradeResult:
    isolation = sandbox.detect()
    # The seal FIFO's reader is opened before the kernel starts, which opens it to write.
    with sandbox.job_folders(isolation, limits.disk_mb) as folders, SealReader(folders.seals) as seals:
        preparing = _in_background(_prepare, assignment, seed, device, limits.torch_threads)
        artifacts: dict[str, Artifact] = {}
        probe_cells: dict[str, CellOutcome] = {}
        probe_folders: dict[str, Path] = {}
        uncompilable = uncompilable_cells(notebook)
        async with RecoveringKernel(notebook, folders, limits, seed, isolation, frozenset(uncompilable)) as kernel:
            prepared = await asyncio.wrap_future(preparing)
            import torch

            inputs_path = folders.exchange / "inputs.pt"
            torch.save(prepared.inputs, inputs_path)
            source = probe_source(assignment.name)
            # A forked process cannot use CUDA: on a GPU, probes run in the kernel itself.
            alone = prepared.device != "cuda"
            for name in prepared.judge.probes:
                out_dir = folders.exchange / f"probe-{secrets.token_hex(8)}"
                out_dir.mkdir()
                records = RecordFolder.made(out_dir, frozenset({sandbox.kernel_uid(isolation)}))
                sandbox.hand_over(out_dir, isolation)
                seals.drain()  # what the notebook put there before this probe is nobody's seal
                outcome = await kernel.probe(source, name, inputs_path, out_dir, alone)
                sandbox.take_back(out_dir, isolation)
                probe_cells[name] = outcome
                probe_folders[name] = out_dir
                # Only a probe whose cell finished may speak; a crash leaves whatever the
                # student's code wrote there, which is not evidence.
                # A probe stopped at the memory cap says so on its own checks, not only in the notes.
                if outcome.status != "ok":
                    artifacts[name] = Artifact(name, problem="memory" if outcome.ending == Ending("memory")
                                               else outcome.status)
                    continue
                try:
                    seal = seals.seal_for(out_dir.name, alone)
                except Unsealed:  # the notebook ran beside the probe, or wrote in its channel
                    artifacts[name] = Artifact(name, problem="interfered")
                    continue
                artifacts[name] = load_artifact(records.sealed(seal), name)
        # The notebook's code, as read here, for what judges find in it themselves (autograd).
        prepared.hidden["notebook_code"] = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
        verdicts = prepared.judge.judge(artifacts, prepared.inputs, prepared.hidden, prepared.answers,
                                        kernel.run.cell_index)
        notes = capped_notes([Message("cell_not_compiled", {"cell": index + 1, "type": error})
                              for index, error in sorted(uncompilable.items())]) \
            + _run_notes(kernel.run, kernel.incidents, probe_cells, kernel.memory_limit_hit, limits) \
            + _deadline_notes(probe_cells, limits)
        if record is not None:
            from grader.trusted.recorded import save_run

            cells: dict[int, int] = {}
            for cell in kernel.run.cells:  # the first cell of a count, as cell_index finds it
                if isinstance(cell.execution_count, int):
                    cells.setdefault(cell.execution_count, cell.index)
            made_from = {"notebook": code_digest(notebook).hex(),
                         "probes": hashlib.sha256(source.encode()).hexdigest()}
            save_run(record, assignment.name, seed, probe_folders, artifacts, cells, notes, made_from)
    checks = scored_checks(assignment.name, verdicts)
    return GradeResult(
        assignment=assignment.name,
        notebook=str(path),
        score=sum(c.score for c in checks),
        max_score=sum(c.max_score for c in checks),
        checks=checks,
        notes=notes,
        seed=seed,
        device=prepared.device,
        seconds=time.monotonic() - started,
        grader_version=__version__,
        isolation=isolation.mode,
    )


def scored_checks(assignment: str, verdicts: list[Verdict]) -> list[CheckResult]:
    """Each check of points.py with its points, from the verdict of the same name."""
    by_name = {v.name: v for v in verdicts}
    checks = []
    for number, spec in enumerate(checks_of(assignment), start=1):
        verdict = by_name.pop(spec.name, None)
        if verdict is None:
            raise AssertionError(f"the judge gave no verdict on {spec.name}")
        checks.append(CheckResult(spec.name, spec.tag, str(number), spec.points if verdict.passed else 0.0,
                                  spec.points, verdict.passed, verdict.messages, verdict.advice, verdict.figures))
    if by_name:
        raise AssertionError(f"verdicts without points: {sorted(by_name)}")
    return checks


def _run_notes(run: NotebookRun, incidents: list[Incident], probe_cells: dict[str, CellOutcome],
               memory_limit_hit: bool, limits: Limits) -> list[Message]:
    notes, hints = [], set()
    if memory_limit_hit and not any(i.ending == Ending("memory") for i in incidents):
        notes.append(Message("memory_limit", {"megabytes": limits.memory_mb}))
    for incident in incidents:
        notes += _incident_notes(incident, limits)
    for cell in run.cells:
        if cell.status == "error":
            first_line = (cell.error_message.splitlines() or [""])[0][:300]
            notes.append(Message("cell_error", {"cell": cell.index + 1, "type": encodable(cell.error_type[:100]),
                                                "message": encodable(first_line)}))
            hint = cell_error_hint(f"{cell.error_type}: {cell.error_message}")
            if hint and hint not in hints:
                hints.add(hint)
                notes.append(Message(hint))
        elif cell.status == "timeout":
            notes.append(Message("cell_timeout", {"cell": cell.index + 1, "seconds": cell.seconds}))
    notes += [Message("output_truncated", {"cell": index + 1}) for index in run.truncated_cells]
    if run.timed_out:
        notes.append(Message("notebook_timeout"))
    for name, outcome in probe_cells.items():
        if outcome.status in ("error", "timeout"):
            notes.append(Message("probe_crashed", {"probe": name, "status": outcome.status,
                                                   "type": encodable(outcome.error_type[:100])}))
    return capped_notes(notes)


def capped_notes(notes: list[Message]) -> list[Message]:
    """The first MAX_NOTES_PER_KIND notes of each kind in their order, each kind's last one followed
    by how many more of it there were."""
    total: dict[str, int] = {}
    for note in notes:
        total[note.key] = total.get(note.key, 0) + 1
    kept, seen = [], {}
    for note in notes:
        seen[note.key] = seen.get(note.key, 0) + 1
        if seen[note.key] <= MAX_NOTES_PER_KIND:
            kept.append(note)
        if seen[note.key] == MAX_NOTES_PER_KIND and total[note.key] > MAX_NOTES_PER_KIND:
            kept.append(Message("notes_omitted", {"count": total[note.key] - MAX_NOTES_PER_KIND}))
    return kept


def _deadline_notes(probe_cells: dict[str, CellOutcome], limits: Limits) -> list[Message]:
    """The probes that the grading's overall deadline left unrun, named in one note."""
    late = [name for name, outcome in probe_cells.items() if outcome.ending == DEADLINE]
    if not late:
        return []
    return [Message("grading_timeout", {"seconds": limits.grading_timeout_s, "probes": late})]


def _incident_notes(incident: Incident, limits: Limits) -> list[Message]:
    """Which code ended the kernel, how, and what the grader did about it."""
    if incident.status == "timeout":
        how = Message("ending.timeout", {"seconds": incident.seconds})
    elif incident.status == "stuck":
        how = Message("ending.stuck", {"seconds": max(incident.seconds - limits.interrupt_grace_s, 0)})
    elif incident.ending is not None and incident.ending.kind == "memory":
        how = Message("ending.memory", {"megabytes": limits.memory_mb})
    elif incident.ending is not None and incident.ending.kind == "message":
        how = Message("ending.message", {"megabytes": MAX_MESSAGE_BYTES // 2**20})
    elif incident.ending is not None and incident.ending.kind == "exit":
        how = Message("ending.exit", {"code": incident.ending.code})
    elif incident.ending is not None and incident.ending.kind == "signal":
        # A number the platform gives no name is shown as the number.
        how = Message("ending.signal", {"signal": incident.ending.signal or incident.ending.code})
    else:
        how = Message("ending.unknown")
    if incident.cell is not None:
        where = Message("where.cell", {"cell": incident.cell + 1})
        then = Message("restarted_without_cell", {"cell": incident.cell + 1})
    else:
        where = Message("where.probe", {"probe": incident.probe})
        then = Message("restarted_for_probes")
    return [Message("did_not_finish", {"where": where, "how": how}),
            then if incident.recovered else Message("not_restarted")]
