# What every probe shares, executed inside the student's kernel by the keeper that the preamble left
# there (preamble.py), as the first module of the probes' bundle (see __init__.py): with globals of
# its own and builtins as they were before the notebook ran. The keeper's tools reach a probe only
# as the ``kit`` its entry point is called with, wrapped in one ``Tools`` per probe run; nothing here
# is kept between runs. Everything a probe learns goes to files in its folder of the exchange
# folder, written by the keeper: JSON for plain values, torch.save's format for tensors. The
# grader's own process reads and judges them.
import contextlib
import io
import math
import random
import signal
import traceback

import numpy
import torch

PROBE_TIME_LIMIT_S = 120
MAX_TEXT = 4000
_ABSENT = object()


class ProbeTimeout(Exception):
    pass


class NotDefined(NameError):
    """A name a probe needs that the notebook does not define: recorded as data, ``"missing"``,
    so that the grader's side says so in the student's language without reading a sentence."""


class Tools:
    """What one probe run gets from the keeper: its tools (``kit``, preamble.py's ``_KIT``) and the
    name of the folder its records go to."""

    def __init__(self, kit, folder):
        self.kit = kit
        self.folder = folder

    def cpu_tensor(self, value):
        """A CPU copy of ``value`` taken now by the keeper (None for what is not a tensor)."""
        return self.kit.snapshot(value) if isinstance(value, self.kit.TensorBase) else None

    def describe_exception(self, exc):
        """The exception with only the student's own frames: cell execution number, line, code."""
        numbers = self.kit.cell_numbers()
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
            "message": str(exc)[:MAX_TEXT],
            "frames": frames[-6:],
        }
        if type(exc) is NotDefined:
            described["missing"] = exc.name
        return described

    def write_bytes(self, name, data):
        """A file of the probe's own beside its record (the keeper writes it)."""
        self.kit.write_bytes(self.folder, name, data)


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


def student_object(namespace, name):
    if name not in namespace:
        raise NotDefined(name, name=name)
    return namespace[name]


@contextlib.contextmanager
def names_set(ns, replacements):
    """The notebook's globals named in ``replacements`` set to those values for one call, and put
    back afterwards as they were (a name the notebook lacked is removed again)."""
    saved = {name: ns.get(name, _ABSENT) for name in replacements}
    try:
        ns.update(replacements)
        yield
    finally:
        for name, value in saved.items():
            if value is _ABSENT:
                ns.pop(name, None)
            else:
                ns[name] = value


def _on_alarm(signum, frame):
    raise ProbeTimeout(f"{PROBE_TIME_LIMIT_S} s")  # a number, not a sentence: the grader says it in words


def run_probe(tools, name, seed, probe, *args):
    """Run one probe in isolation from the others, recording values, tensors and any error."""
    values, tensors = {}, {}
    record = {"name": name, "ok": True, "error": None}
    stdout, stderr = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, PROBE_TIME_LIMIT_S)
    try:
        # The student's functions may draw from Python's or numpy's generators as well as torch's:
        # each probe starts all three from its seed, in grade submit and in check() alike.
        torch.manual_seed(seed)
        random.seed(seed)
        numpy.random.seed(seed % 2**32)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            probe(tools, values, tensors, *args)
    except (Exception, SystemExit, KeyboardInterrupt) as exc:
        record["ok"] = False
        record["error"] = tools.describe_exception(exc)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    record["values"] = plain(values)
    record["stdout"] = stdout.getvalue()[-MAX_TEXT:]
    tensors = {str(k): v for k, v in tensors.items() if isinstance(v, tools.kit.TensorBase)}
    tools.kit.write_record(tools.folder, name, record, tensors)


def entry_point(probes):
    """The entry point of an assignment's probes (its module's ``main``, which the keeper calls):
    run probe ``name`` of ``probes`` on the notebook's namespace ``ns`` with the keeper's ``kit``;
    ``out_dir`` is the probe's folder as the keeper opens it."""

    def main(kit, ns, name, inputs_path, out_dir):
        inputs = kit.load(inputs_path, weights_only=True)
        seed = int(inputs["seed"]) + list(probes).index(name)
        run_probe(Tools(kit, out_dir), name, seed, probes[name], ns, inputs)

    return main
