"""Running the grader's probes in this process, the student's own kernel, as ``grade submit`` runs
them in a sandboxed one: the same probe modules (grader/untrusted/probes/), imported here, entered through the
same ``main(kit, namespace, name, inputs_path, out_dir)``, writing the same records (``<name>.json``,
``<name>.pt``) that ``grader.trusted.artifacts.load_artifact`` reads back.

``in_process_tools`` is the one adapter between the two: it gives the probes the tools (``kit``) the
kernel's preamble (grader/untrusted/probes/preamble.py) gives them there, made in this process
without the audit hook that would stay here for good. Nothing here needs protecting: the
student's own process, on the student's own machine.

Around the probes, this process is made to look like the grading kernel (one torch thread,
matplotlib's non-interactive backend, where inline plotting would show and close the figures the
probe looks at) and then put back as it was (threads, backend, random state).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from pathlib import Path
from typing import Any, Iterator

from grader.trusted.artifacts import Artifact, load_artifact
from grader.trusted.records import RecordFolder
from grader.untrusted.probes import bundle_modules, in_process_tools


@contextlib.contextmanager
def like_the_grading_kernel() -> Iterator[None]:
    import random

    import torch

    threads = torch.get_num_threads()
    backend = _matplotlib_backend()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    # The student's code the probes call may draw from Python's and numpy's generators too: the
    # notebook's later cells draw what they would have drawn without check().
    numpy = sys.modules.get("numpy")
    states = random.getstate(), numpy.random.get_state() if numpy is not None else None
    try:
        with torch.random.fork_rng(devices=devices):
            torch.set_num_threads(1)
            _switch_backend("agg")
            yield
    finally:
        torch.set_num_threads(threads)
        if backend is not None:
            _switch_backend(backend)
        random.setstate(states[0])
        if numpy is not None:
            numpy.random.set_state(states[1])


def _matplotlib_backend() -> str | None:
    try:
        import matplotlib
        import matplotlib.pyplot  # noqa: F401 (resolves the backend the notebook would use)
    except ImportError:
        return None
    return matplotlib.get_backend()


def _switch_backend(name: str) -> None:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    if plt.get_backend() != name:
        plt.switch_backend(name)


def run_probes(assignment: str, names: list[str], namespace: dict[str, Any], inputs: dict[str, Any],
               folder: Path) -> tuple[dict[str, Artifact], dict[str, float]]:
    """Each named probe run on ``namespace`` (the notebook's globals) with ``inputs``; the records
    it wrote into ``folder`` read back as the grader reads them (the judge may still open files
    there), and the seconds each took."""
    import time

    import torch

    entry = importlib.import_module(bundle_modules(assignment)[-1])
    artifacts, seconds = {}, {}
    with like_the_grading_kernel():
        inputs_path = folder / "inputs.pt"
        torch.save(inputs, inputs_path)
        for name in names:
            out_dir = folder / f"probe-{name}"
            out_dir.mkdir()
            records = RecordFolder.made(out_dir, frozenset({os.geteuid()}))
            kit = in_process_tools(str(folder))
            began = time.monotonic()
            try:
                # The preamble's writer opens a probe's folder by its name below the exchange folder.
                entry.main(kit, namespace, name, str(inputs_path), out_dir.name)
            except Exception:  # as grade submit takes a probe cell that raised: nothing came back
                artifacts[name] = Artifact(name, problem="error")
            else:
                artifacts[name] = load_artifact(records, name)
            seconds[name] = time.monotonic() - began
            error = artifacts[name].error or {}
            if error.get("type") == "KeyboardInterrupt":
                # The probe keeps an interrupt as the student's code's error (grade submit's kernel
                # is never interrupted by a person); here the student pressed stop.
                raise KeyboardInterrupt
    return artifacts, seconds
