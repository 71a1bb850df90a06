# Executed inside the student's kernel, before the assignment's probes (see __init__.py), by the
# keeper that the preamble left there (preamble.py): with globals of its own, builtins as they were
# before the notebook ran, and PRISTINE, the keeper's tools. Everything a probe learns goes to files
# in the artifact folder, written by the keeper: JSON for plain values, torch.save's format for
# tensors. The grader's own process reads and judges them.
import contextlib
import io
import json
import math
import os
import signal
import traceback

import torch

PROBE_TIME_LIMIT_S = 120
_MAX_TEXT = 4000


class ProbeTimeout(Exception):
    pass


class NotDefined(NameError):
    """A name a probe needs that the notebook does not define: recorded as data, ``"missing"``,
    so that the grader's side says so in the student's language without reading a sentence."""


def _on_alarm(signum, frame):
    raise ProbeTimeout(f"no terminó en {PROBE_TIME_LIMIT_S} s")


def _cell_numbers():
    try:
        return dict(get_ipython().compile._filename_map)  # noqa: F821 (IPython builtin)
    except Exception:
        return {}


def describe_exception(exc):
    """The exception with only the student's own frames: cell execution number, line, code."""
    numbers = _cell_numbers()
    frames = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename in numbers:
            frames.append({
                "execution_count": numbers[frame.filename],
                "line": frame.lineno,
                "function": frame.name,
                "code": (frame.line or "")[:200],
            })
    described = {
        "type": type(exc).__name__,
        "message": str(exc)[:_MAX_TEXT],
        "frames": frames[-6:],
    }
    if type(exc) is NotDefined:
        described["missing"] = exc.name
    return described


def plain(value):
    """A JSON-safe copy of a probe value (numbers that are not finite become strings)."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return repr(value)[:200]


def cpu_tensor(value):
    return PRISTINE.snapshot(value) if isinstance(value, PRISTINE.TensorBase) else None  # noqa: F821


def run_probe(out_dir, name, seed, probe, *args):
    """Run one probe in isolation from the others, recording values, tensors and any error."""
    values, tensors = {}, {}
    record = {"name": name, "ok": True, "error": None}
    stdout, stderr = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, PROBE_TIME_LIMIT_S)
    try:
        torch.manual_seed(seed)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            probe(values, tensors, *args)
    except (Exception, SystemExit, KeyboardInterrupt) as exc:
        record["ok"] = False
        record["error"] = describe_exception(exc)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    record["values"] = plain(values)
    record["stdout"] = stdout.getvalue()[-_MAX_TEXT:]
    tensors = {str(k): v for k, v in tensors.items() if isinstance(v, PRISTINE.TensorBase)}  # noqa: F821
    PRISTINE.write_record(out_dir, name, record, tensors)  # noqa: F821


def student_object(namespace, name):
    if name not in namespace:
        raise NotDefined(name, name=name)
    return namespace[name]


def main(ns, name, inputs_path, out_dir):
    """Entry point of a probe cell: run the assignment's probe ``name`` (from its PROBES) on the
    notebook's namespace ``ns``; ``out_dir`` is the probe's folder as the keeper opens it."""
    global _OUT_DIR
    _OUT_DIR = out_dir
    inputs = PRISTINE.load(inputs_path, weights_only=True)  # noqa: F821
    seed = int(inputs["seed"]) + list(PROBES).index(name)  # noqa: F821 (defined by the assignment)
    run_probe(out_dir, name, seed, PROBES[name], ns, inputs)  # noqa: F821
