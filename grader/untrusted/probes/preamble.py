# Executed in the student's kernel before any of its code (kernel_cells.preamble_cell), in a namespace of its
# own whose builtins are a copy taken now. It keeps, as objects no notebook has a name for, what
# probes need to run and to write their records:
# - C-level functions bound now (os.open/os.write on a descriptor of the exchange folder, the C JSON
#   encoder, zlib.crc32, torch's TensorBase methods), so that replacing json._default_encoder,
#   torch.serialization._save, torch.Tensor.clone or os.write later changes nothing they write;
#   records are built byte by byte here, never through torch.save or json.dump;
# - the probe runner, reached from a probe cell through an audit hook (no name looked up, nothing a
#   notebook can remove or put in front), which compiles the grader's probe modules (a bundle, see
#   __init__.py) with the compile saved here, runs each as a module object of its own with these
#   builtins, and calls the last one's entry point with these tools and the notebook's namespace,
#   handed over as data.
# What this does not stop: code that digs this namespace out of the process (gc, frames) can still
# change it. See README, "Containment".
import builtins as _builtins
import hashlib as _hashlib
import os as _os
import random as _random
import signal as _signal
import subprocess as _subprocess
import sys as _sys
import time as _time
import types as _types
import zlib as _zlib

import _json

# The keeper's settings, which the bootstrap cell (bootstrap.py) puts in this namespace.
_SETTINGS = globals()["SETTINGS"]
_PRISTINE_BUILTINS = dict(vars(_builtins))
_exec, _compile, _isinstance, _type, _len = exec, compile, isinstance, type, len
_int, _float, _str, _bool, _list, _tuple, _dict = int, float, str, bool, list, tuple, dict
_object_getattribute = object.__getattribute__
_str_join, _bytes_join = "".join, b"".join
_int_to_bytes = int.to_bytes
# IPython's builtin, as it is before the notebook runs (absent when tests run this in-process).
_shell = _PRISTINE_BUILTINS["get_ipython"]() if _SETTINGS["ipython"] else None
_USER_NS = _shell.user_ns if _shell is not None else {}

# The working directory is the notebook's: nothing there may shadow a module imported here.
_cwd = _os.getcwd()
_path = _sys.path[:]
_sys.path[:] = [p for p in _path if p not in ("", ".", _cwd)]
try:
    import json as _json_module
    import numpy as _numpy
    import torch as _torch
    import torch.utils._python_dispatch as _python_dispatch
    # torch.load imports some of its modules on first use: let that happen now, not through an
    # import machinery the notebook may have patched by the time probes load their inputs.
    import io as _io
    _buffer = _io.BytesIO()
    _torch.save({"warm": _torch.zeros(1)}, _buffer)
    _buffer.seek(0)
    _torch.load(_buffer, weights_only=True)
    # Probes run in forked processes that end with them: what they import is imported again by
    # the next. torch.autograd and torch.optim import torch._dynamo on first use (seconds): now.
    import torch._dynamo  # noqa: F401
finally:
    _sys.path[:] = _path

_open_fd, _write_fd, _close_fd, _fstat, _unlink = _os.open, _os.write, _os.close, _os.fstat, _os.unlink
_O_DIR = _os.O_RDONLY | _os.O_DIRECTORY | _os.O_NOFOLLOW | _os.O_CLOEXEC
_O_NEW = _os.O_WRONLY | _os.O_CREAT | _os.O_EXCL | _os.O_NOFOLLOW | _os.O_CLOEXEC
_crc32 = _zlib.crc32
_sha256 = _hashlib.sha256
_fork, _waitpid, _kill, _getpid, _getppid, _exit = _os.fork, _os.waitpid, _os.kill, _os.getpid, _os.getppid, _os._exit
_pipe, _read, _listdir, _monotonic, _sleep = _os.pipe, _os.read, _os.listdir, _time.monotonic, _time.sleep
_waitstatus_to_exitcode = _os.waitstatus_to_exitcode
_SIGSTOP, _SIGCONT, _SIGKILL = _signal.SIGSTOP, _signal.SIGCONT, _signal.SIGKILL
_Popen = _subprocess.Popen
_set_signal, _SIG_DFL = _signal.signal, _signal.SIG_DFL
# The C scanner, made from a decoder now: its parsing options are read once, here.
_scan_json = _json.make_scanner(_json_module.JSONDecoder())
_encode = _json.make_encoder(None, repr, _json.encode_basestring_ascii, None, ":", ",", False, False, True)

_TB, _Tensor = _torch._C.TensorBase, _torch.Tensor
_detach, _cpu, _contiguous, _reshape, _view, _to_numpy = (
    _TB.detach, _TB.cpu, _TB.contiguous, _TB.reshape, _TB.view, _TB.numpy)
_numel, _size, _clone = _TB.numel, _TB.size, _TB.clone
_schema_name = _torch._C.FunctionSchema.name.__get__
_dtype_of = _TB.dtype.__get__
_requires_grad = _TB.requires_grad.__get__
_grad_fn = _TB.grad_fn.__get__
_tobytes = _numpy.ndarray.tobytes
_uint8 = _torch.uint8
_no_torch_function = _torch._C.DisableTorchFunctionSubclass
_STORAGES = {_torch.float64: "DoubleStorage", _torch.float32: "FloatStorage", _torch.float16: "HalfStorage",
             _torch.bfloat16: "BFloat16Storage", _torch.int64: "LongStorage", _torch.int32: "IntStorage",
             _torch.int16: "ShortStorage", _torch.int8: "CharStorage", _torch.uint8: "ByteStorage",
             _torch.bool: "BoolStorage", _torch.complex64: "ComplexFloatStorage",
             _torch.complex128: "ComplexDoubleStorage"}

_EXCHANGE = _SETTINGS["exchange"]
# The grader's seal channel (a FIFO it reads, which the kernel can write but not read, reopen for
# reading or chmod): one line per probe, naming the files the probe wrote and their SHA-256.
_SEALS = _SETTINGS.get("seals")
_seals_fd = _open_fd(_SEALS, _os.O_WRONLY | _os.O_NONBLOCK | _os.O_CLOEXEC) if _SEALS else None
# Whether this kernel is alone in a pid namespace (the sandbox's): then every other process in it
# is the notebook's, and kill(-1) reaches them all and nothing outside.
_OWN_PIDS = bool(_SETTINGS.get("own_pids"))
_exchange_fd = _open_fd(_EXCHANGE, _O_DIR) if _EXCHANGE else None
_exchange_id = (_fstat(_exchange_fd).st_dev, _fstat(_exchange_fd).st_ino) if _EXCHANGE else None


# ---------------------------------------------------------------- plain values, exact types

def _plain(value, depth=0):
    """A copy of a probe value made of exact builtin types only (a subclass of int or dict could
    change how the C encoder writes it); non-finite floats become strings."""
    kind = _type(value)
    if value is None or kind is _bool:
        return value
    if depth > 40:
        return "..."
    if _isinstance(value, _int):
        return _int.__int__(value)
    if _isinstance(value, _float):
        number = _float.__float__(value)
        return number if number - number == 0.0 else _float.__repr__(number)
    if _isinstance(value, _str):
        return _str.__str__(value)
    if _isinstance(value, _list):
        return [_plain(v, depth + 1) for v in _list.__iter__(value)]
    if _isinstance(value, _tuple):
        return [_plain(v, depth + 1) for v in _tuple.__iter__(value)]
    if _isinstance(value, _dict):
        return {_str.__str__(k) if _isinstance(k, _str) else _object_text(k): _plain(v, depth + 1)
                for k, v in _dict.items(value)}
    return _object_text(value)


def _object_text(value):
    return "<" + _str.__str__(_type(value).__name__)[:60] + ">"


def _json_bytes(record):
    return _str_join(_encode(_plain(record), 0)).encode("ascii")


# ---------------------------------------------------------------- tensors as torch.load reads them

def _u16(n):
    return _int_to_bytes(n, 2, "little")


def _u32(n):
    return _int_to_bytes(n, 4, "little")


def _pickle_text(text):
    data = text.encode("utf-8")
    return b"X" + _u32(_len(data)) + data


def _pickle_int(n):
    return b"J" + _int_to_bytes(n, 4, "little", signed=True)


def _pickle_ints(numbers):
    return b"(" + _bytes_join([_pickle_int(n) for n in numbers]) + b"t"


def _tensor_bytes(tensor):
    """(storage class name, raw little-endian bytes, shape) of a tensor, read through the methods
    saved above with subclasses' __torch_function__ turned off; None for a dtype torch.load would
    not know."""
    with _no_torch_function():
        storage = _STORAGES.get(_dtype_of(tensor))
        if storage is None:
            return None
        flat = _contiguous(_cpu(_detach(tensor)))
        shape = [_int(n) for n in _size(flat)]
        raw = _tobytes(_to_numpy(_view(_reshape(flat, (-1,)), _uint8)))
    return storage, raw, shape, _int(_numel(flat))


def _tensor_file(tensors):
    """The bytes of ``torch.save(tensors)`` for a dict of tensors: a zip of stored entries with
    the pickle that torch.load(weights_only=True) reads and one storage per tensor."""
    pickle = [b"\x80\x02}("]
    storages = []
    for name, tensor in _dict.items(tensors):
        described = _tensor_bytes(tensor)
        if described is None:
            continue
        storage, raw, shape, elements = described
        key = _str(_len(storages))
        strides, step = [], 1
        for n in shape[::-1]:
            strides.insert(0, step)
            step *= n if n else 1
        pickle.append(_pickle_text(name) + b"ctorch._utils\n_rebuild_tensor_v2\n((" + _pickle_text("storage")
                      + b"ctorch\n" + storage.encode() + b"\n" + _pickle_text(key) + _pickle_text("cpu")
                      + _pickle_int(elements) + b"tQ" + _pickle_int(0) + _pickle_ints(shape)
                      + _pickle_ints(strides) + b"\x89ccollections\nOrderedDict\n)Rt" + b"R")
        storages.append(("archive/data/" + key, raw))
    pickle.append(b"u.")
    entries = [("archive/data.pkl", _bytes_join(pickle)), ("archive/.format_version", b"1"),
               ("archive/.storage_alignment", b"64"), ("archive/byteorder", b"little")]
    entries += storages + [("archive/version", b"3\n")]
    return _zip(entries)


def _zip(entries):
    """A zip archive of stored (uncompressed) entries, written by hand, each entry's data at a
    multiple of 64 bytes as torch.save places it (a padding extra field, as torch's writer adds),
    so that it can also be memory-mapped."""
    body, directory = [], []
    offset = 0
    for name, data in entries:
        encoded = name.encode("ascii")
        crc = _crc32(data)
        padding = -(offset + 30 + _len(encoded) + 4) % 64
        extra = b"FB" + _u16(padding) + b"Z" * padding
        common = _u16(20) + _u16(0) + _u16(0) + _u16(0) + _u16(0x21) + _u32(crc) + _u32(_len(data)) \
            + _u32(_len(data)) + _u16(_len(encoded))
        header = b"PK\x03\x04" + common + _u16(_len(extra)) + encoded + extra
        directory.append(b"PK\x01\x02" + _u16(20) + common + _u16(0) + _u16(0) + _u16(0) + _u16(0) + _u32(0)
                         + _u32(offset) + encoded)
        body += [header, data]
        offset += _len(header) + _len(data)
    central = _bytes_join(directory)
    end = b"PK\x05\x06" + _u16(0) + _u16(0) + _u16(_len(entries)) + _u16(_len(entries)) + _u32(_len(central)) \
        + _u32(offset) + _u16(0)
    return _bytes_join(body) + central + end


# ---------------------------------------------------------------- writing into the probe's folder

def _folder_fd(folder):
    """A descriptor of the probe's folder, opened below the exchange folder's descriptor taken
    before the notebook ran (and checked to be still that folder), never by following a link."""
    if "/" in folder or folder in ("", ".", ".."):
        raise OSError("a probe writes only in its own folder of the exchange folder")
    if _exchange_fd is None:
        return _open_fd(folder, _O_DIR)
    status = _fstat(_exchange_fd)
    if (status.st_dev, status.st_ino) != _exchange_id:
        raise OSError("the grader's exchange folder was replaced")
    return _open_fd(folder, _O_DIR, dir_fd=_exchange_fd)


def _write_file(folder_fd, name, data):
    try:
        _unlink(name, dir_fd=folder_fd)
    except FileNotFoundError:
        pass
    fd = _open_fd(name, _O_NEW, 0o644, dir_fd=folder_fd)
    try:
        view = memoryview(data)
        while _len(view):
            view = view[_write_fd(fd, view):]
    finally:
        _close_fd(fd)
    _written[name] = _sha256(data).hexdigest()


_written = {}  # the files the running probe wrote, and their SHA-256: what its seal lists


def write_record(folder, name, record, tensors):
    """``<name>.pt`` (a dict of tensors as torch.save writes it), then ``<name>.json``."""
    fd = _folder_fd(folder)
    try:
        try:
            tensor_file = _tensor_file(tensors)
        except Exception as exc:  # a tensor whose bytes cannot be read: the probe failed
            tensor_file = _tensor_file({})
            record = _dict(record, ok=False, error={"type": _type(exc).__name__, "message": _str(exc)[:400],
                                                    "frames": []})
        _write_file(fd, name + ".pt", tensor_file)
        _write_file(fd, name + ".json", _json_bytes(record))
    finally:
        _close_fd(fd)


def write_bytes(folder, name, data):
    fd = _folder_fd(folder)
    try:
        _write_file(fd, name, bytes(data))
    finally:
        _close_fd(fd)


# ---------------------------------------------------------------- watching how a function computes

class AutogradWatch(_python_dispatch.TorchDispatchMode):
    """A dispatch mode the probe pushes around the student's call (by the C functions saved here,
    not TorchDispatchMode.__enter__): every aten op the call runs passes through it, and it notes
    ops run by the autograd engine (a backward pass, torch.func.grad), derivative formulas run
    outside it (forward-mode AD, torch.func.jvp), dual tensors made, and ops on tensors that
    require grad. While ``grader_code`` is above zero (the grader's own autograd oracles run), it
    notes nothing."""

    def __init__(self):
        super().__init__()
        self.seen = []
        self.grader_code = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if not self.grader_code and _len(self.seen) < 8:
            # The op's name from its C schema (OpOverload.__str__ is Python a notebook could patch).
            name = _schema_name(_object_getattribute(func, "_schema"))
            if _graph_task_id() != -1:
                self.seen.append("backward: " + name)
            elif "_backward" in name or "_has_same_storage_numel" in name or "_make_dual" in name:
                self.seen.append("derivative: " + name)
            else:
                for value in _list(args) + _list(kwargs.values()):
                    if _isinstance(value, _TB) and _requires_grad(value):
                        self.seen.append("requires_grad: " + name)
                        break
        return func(*args, **kwargs)


_graph_task_id = _torch._C._current_graph_task_id
_push_mode, _pop_mode = _torch._C._push_on_torch_dispatch_stack, _torch._C._pop_torch_dispatch_stack
_mode_count, _mode_at = _torch._C._len_torch_dispatch_stack, _torch._C._get_dispatch_stack_at


def watched_call(watch, function, *args):
    """``function(*args)`` with ``watch`` on the dispatch stack; a call that takes it off (or
    leaves another mode on top) is noted as tampering."""
    depth = _mode_count()
    _push_mode(watch)
    try:
        return function(*args)
    finally:
        top = _mode_count() - 1
        if top != depth or _mode_at(top) is not watch:
            watch.seen.append("tampered: the dispatch stack changed")
            while _mode_count() > depth:
                _pop_mode(None)
        else:
            _pop_mode(None)


def snapshot(value):
    """A CPU copy of a tensor, taken now with TensorBase's own methods (a later in-place change, or
    a patched ``torch.Tensor.clone``, does not reach it)."""
    with _no_torch_function():
        copy = _clone(_cpu(_detach(value)))
    if _type(copy) is not _Tensor:  # a subclass that answers torch's dispatch itself
        raise TypeError("not a plain tensor: " + _str.__str__(_type(value).__name__)[:60])
    return copy


def tensor_facts(value):
    """Whether a result tensor carries autograd history (read with TensorBase's own getters)."""
    return {"requires_grad": _bool(_requires_grad(value)), "grad_fn": _grad_fn(value) is not None}


# ---------------------------------------------------------------- the probe runner

def cell_numbers():
    """IPython's execution number of each cell's code, by the file name its frames carry (empty
    where no IPython runs: tests)."""
    try:
        shell = _shell if _shell is not None else _PRISTINE_BUILTINS["get_ipython"]()
        return _dict(shell.compile._filename_map)
    except Exception:
        return {}


_KIT = _types.SimpleNamespace(
    write_record=write_record, write_bytes=write_bytes, AutogradWatch=AutogradWatch, watched_call=watched_call,
    tensor_facts=tensor_facts, snapshot=snapshot, load=_torch.load, open=open, Tensor=_torch.Tensor, TensorBase=_TB,
    is_grad_enabled=_torch._C.is_grad_enabled, set_grad_enabled=_torch._C._set_grad_enabled,
    requires_grad=_requires_grad, exchange=_EXCHANGE, cell_numbers=cell_numbers)
_TOKEN = _SETTINGS["token"]
_INPUTS = "inputs.pt"
_running = []


def _read_exchange_file(name):
    """A file the grader put in the exchange folder (the kernel may read it, never write it)."""
    if "/" in name:
        raise OSError("the probes' source is a file of the exchange folder")
    fd = _open_fd(name, _os.O_RDONLY | _os.O_NOFOLLOW | _os.O_CLOEXEC, dir_fd=_exchange_fd) \
        if _exchange_fd is not None else _open_fd(name, _os.O_RDONLY | _os.O_CLOEXEC)
    try:
        chunks = []
        while True:
            chunk = _os.read(fd, 1 << 20)
            if not chunk:
                return _bytes_join(chunks)
            chunks.append(chunk)
    finally:
        _close_fd(fd)


_ModuleType = _type(_sys)
_import = _PRISTINE_BUILTINS["__import__"]


def _probe_modules(bundle):
    """The bundle's modules (``[[name, source], ...]``, see __init__.py), each compiled with the
    compile saved above and run, in order, as a module object of its own with the builtins as they
    were before the notebook ran; ``from <an earlier module> import ...`` gets that object, never
    one of sys.modules (where a notebook could put its own)."""
    modules = {}

    def import_(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name in modules:
            return modules[name]
        if level != 0 or name == "grader" or name.startswith("grader."):
            raise ImportError("the grader's probes import only the modules of their bundle: " + _str(name))
        return _import(name, globals, locals, fromlist, level)

    builtins = _dict(_PRISTINE_BUILTINS, __import__=import_)
    for name, source in bundle["modules"]:
        module = _ModuleType(name)
        # The marker the audit hook knows the grader's functions by (see _audit).
        module.__dict__.update(__builtins__=builtins, __grader_kit__=_KIT)
        _exec(_compile(source, "<grader-probe " + name + ">", "exec"), module.__dict__)
        modules[name] = module
    return module


def _run_probe(name, folder, source_file):
    """Run the probes' bundle (``source_file``, the grader's, in the exchange folder) and its entry
    point for probe ``name``, writing into ``folder``."""
    bundle, _ = _scan_json(_read_exchange_file(source_file).decode("utf-8"), 0)
    entry = _probe_modules(bundle)
    inputs_path = _os.path.join(_EXCHANGE, _INPUTS) if _EXCHANGE else _INPUTS
    entry.main(_KIT, _USER_NS, name, inputs_path, folder)


# ---------------------------------------------------------------- a probe alone in the sandbox
# A thread or process the notebook started would run beside the probe: it could change the values
# the student's function returns, in memory, or the files the probe writes. So a probe runs in a
# child forked from this thread (which has no other thread), after that child has stopped every
# other process of the sandbox (SIGSTOP stops all of a process's threads, this kernel's too); a
# waker forked after the stop resumes them once the child is gone, however it ended. The child
# seals what it wrote before anything resumes; what changes later no longer matches the seal.

def _processes():
    try:
        return [_int(entry) for entry in _listdir("/proc") if entry.isdigit()]
    except OSError:
        return []


def _stat_fields(path):
    try:
        fd = _open_fd(path, _os.O_RDONLY | _os.O_CLOEXEC)
    except OSError:
        return None
    try:
        text = _read(fd, 4096).decode("ascii", "replace")
    except OSError:
        return None
    finally:
        _close_fd(fd)
    return text.rpartition(")")[2].split()  # after "pid (comm)": state, ppid, ...


def _running_threads(pid):
    """How many of ``pid``'s threads are neither stopped nor gone."""
    try:
        tasks = _listdir("/proc/" + _str(pid) + "/task")
    except OSError:
        return 0
    count = 0
    for tid in tasks:
        fields = _stat_fields("/proc/" + _str(pid) + "/task/" + tid + "/stat")
        if fields and fields[0] not in ("T", "t", "Z", "X", "x"):
            count += 1
    return count


def _kernel_and_descendants(kernel):
    """Without a pid namespace of its own: the kernel and the processes it started (what is
    reparented elsewhere escapes; the mode "none" promises no containment)."""
    parents = {}
    for pid in _processes():
        fields = _stat_fields("/proc/" + _str(pid) + "/stat")
        if fields and _len(fields) > 1:
            parents[pid] = _int(fields[1])
    family, grown = {kernel}, True
    while grown:
        grown = False
        for pid, parent in parents.items():
            if parent in family and pid not in family:
                family.add(pid)
                grown = True
    return family


# Without a pid namespace, how many times the probe's child reads /proc to stop the kernel's family.
# A stopped process starts no other, so each pass need only stop those born since the one before
# it (a pass takes well under a millisecond per process); a notebook that keeps forking faster
# than that would hold the probe here for good, so the passes end after this many, and what is
# still running then makes the probe not alone (see _stop_family).
_STOP_PASSES = 20


def _stop_family(kernel, me):
    """Mode "none": SIGSTOP to the kernel and its descendants, pass after pass until one finds
    nobody new (at most _STOP_PASSES); the set stopped, and whether the family as /proc shows it
    afterwards holds nobody else."""
    stopped = set()
    for _ in range(_STOP_PASSES):
        fresh = _kernel_and_descendants(kernel) - stopped - {me}
        if not fresh:
            return stopped, True
        for pid in fresh:
            try:
                _kill(pid, _SIGSTOP)
            except OSError:
                pass
        stopped |= fresh
    return stopped, not (_kernel_and_descendants(kernel) - stopped - {me})


def _stop_others(kernel):
    """Stop every other process of the sandbox; the set stopped (None: all but pid 1), and whether
    each of their threads is seen stopped within two seconds."""
    me = _getpid()
    if _OWN_PIDS:
        _kill(-1, _SIGSTOP)
        stopped, complete = None, True
    else:
        stopped, complete = _stop_family(kernel, me)
    deadline = _monotonic() + 2.0
    while True:
        others = [pid for pid in (_processes() if stopped is None else stopped) if pid not in (1, me)]
        if not any(_running_threads(pid) for pid in others):
            return stopped, complete
        if _monotonic() > deadline:
            return stopped, False
        _sleep(0.002)


def _waker(stopped):
    """A shell (exec'd at once: no Python of the notebook's, such as an at-fork hook, runs in it)
    that resumes the others when the probe's child is gone and the pipe it reads closes."""
    readable, writable = _pipe()
    targets = "-1" if stopped is None else " ".join(_str(pid) for pid in stopped)
    script = "while read -r _; do :; done; kill -s CONT -- " + targets + " 2>/dev/null"
    _Popen(["/bin/sh", "-c", script], stdin=readable, close_fds=True)
    _close_fd(readable)
    return writable


def _alone_in_process():
    try:
        return _len(_listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _seal(folder, alone):
    line = _json_bytes({"probe": folder, "alone": alone, "files": _dict(_written)}) + b"\n"
    _write_fd(_seals_fd, line)  # one write under PIPE_BUF bytes: whole, or not at all


# How the probe's child ends when it sealed its records, and when the grader's own code failed in
# it; any other ending is the student's code ending the process, which then ends the kernel too.
_PROBE_SEALED, _PROBE_FAILED = 253, 254


def run_probe(name, folder, source_file, alone):
    """Run probe ``name``: with ``alone`` (the grader's choice: not on a GPU, which a forked child
    cannot use) in a child that first stops every other process, as above."""
    _written.clear()
    if not alone or _seals_fd is None:
        _run_probe(name, folder, source_file)
        if _seals_fd is not None:
            _seal(folder, False)
        return
    kernel = _getpid()
    child = _fork()
    if child == 0:
        status = _PROBE_FAILED
        try:
            stopped, quiet = _stop_others(kernel)
            _waker(stopped)  # kept open until this process ends
            # An at-fork hook of the notebook's may have started a thread here: then not alone.
            quiet = quiet and _alone_in_process()
            if quiet:
                _run_probe(name, folder, source_file)
            _seal(folder, quiet)
            status = _PROBE_SEALED
        finally:
            _exit(status)
    try:
        _, status = _waitpid(child, 0)
    except ChildProcessError:  # reaped by someone else: nothing to say about it
        return
    except BaseException:  # interrupted by the grader: the child goes too
        try:
            _kill(child, _SIGKILL)
        finally:
            raise
    code = _waitstatus_to_exitcode(status)
    if code == _PROBE_SEALED:
        return
    if code == _PROBE_FAILED:
        raise RuntimeError("the grader's probe failed in its process")
    if code < 0:  # a signal killed it (a segfault, the memory cap): the kernel gets the same
        try:
            _set_signal(-code, _SIG_DFL)
        except (OSError, ValueError):  # SIGKILL and SIGSTOP have no handler to reset
            pass
        _kill(kernel, -code)
    _exit(code if code >= 0 else 128 - code)  # os._exit in the student's code: the kernel's too


_FunctionType = _types.FunctionType
_dict_get = _dict.get


def _audit(event, args):
    """An audit hook: it cannot be removed, and every hook added later runs after it.
    A probe cell reads the ``__code__`` of a lambda whose default is (token, probe, folder, source
    file, alone): that read is the audit event that runs the probe here, so the cell looks up no name.
    Writing ``__code__`` or defaults of the grader's own functions is refused."""
    if event == "object.__getattr__":
        if args[1] == "__code__" and _type(args[0]) is _FunctionType and not _running:
            defaults = args[0].__defaults__
            if _type(defaults) is _tuple and _len(defaults) == 1 and _type(defaults[0]) is _tuple \
                    and _len(defaults[0]) == 5 and defaults[0][0] == _TOKEN:
                _, name, folder, source_file, alone = defaults[0]
                _running.append(name)
                try:
                    run_probe(_str.__str__(name), _str.__str__(folder), _str.__str__(source_file), alone is True)
                finally:
                    _running.pop()
    elif event == "sys.addaudithook":
        # A hook added later would run on the probes' own events, with their frames on the stack.
        raise RuntimeError("the grader's kernel takes no audit hook")
    elif event == "object.__setattr__" and _type(args[0]) is _FunctionType:
        globals_ = args[0].__globals__
        if _dict_get(globals_, "_KIT") is _KIT or _dict_get(globals_, "__grader_kit__") is _KIT:
            raise RuntimeError("the grader's functions cannot be changed")


_sys.addaudithook(_audit)
if _shell is not None:
    # Plain tracebacks: IPython's richer ones take seconds for a deep recursion, and nobody reads
    # the kernel's own rendering (the grader keeps the error's name, text and frames).
    _shell.run_line_magic("xmode", "Plain")
    _torch.set_num_threads(_SETTINGS["threads"])
    # Every generator a notebook may draw from starts from the grading's seed: the same notebook
    # draws the same numbers, and gets the same score, at every grading.
    _torch.manual_seed(_SETTINGS["seed"])
    _random.seed(_SETTINGS["seed"])
    _numpy.random.seed(_SETTINGS["seed"] % 2**32)
    _builtins.print("grader-ready")
