"""Probe sources, executed inside the student's kernel (read as text there, never imported).

Each probe file is a module of its own that names what it takes from the others with ``from
<module> import <names>``; the grader's process can import them as they are. The kernel gets
them as one bundle, in the order they run: the keeper (preamble.py) makes each a module object
no notebook has a name for, answers those imports with them, and calls the last one's ``main``.
"""

import json
from importlib import resources

# The modules a probe bundle may hold, in the order they are run: one imports only those before it.
_COMMON = ("grader.untrusted.probes.common",)
_ASSIGNMENT_MODULES = {
    "xor": ("grader.untrusted.probes.xor",),
    "backprop": ("grader.oracles.backprop", "grader.untrusted.probes.backprop"),
}


def _source(module: str) -> str:
    package, _, name = module.rpartition(".")
    return resources.files(package).joinpath(f"{name}.py").read_text("utf-8")


def bundle_modules(assignment: str) -> tuple[str, ...]:
    """The modules of ``assignment``'s probes, in the order they run; the last has ``main``."""
    return _COMMON + _ASSIGNMENT_MODULES[assignment]


def probe_source(assignment: str) -> str:
    """The bundle the kernel runs: JSON, ``{"modules": [[module name, source], ...]}``."""
    return json.dumps({"modules": [[module, _source(module)] for module in bundle_modules(assignment)]})


def preamble_source() -> str:
    """The kernel-side keeper that every kernel runs before the notebook (see preamble.py)."""
    return resources.files(__name__).joinpath("preamble.py").read_text("utf-8")


def in_process_keeper(exchange: str | None = None) -> dict:
    """The keeper's namespace (preamble.py) made in this process, without its audit hook (which
    would stay in this process for good): for tests that run probe code here."""
    import builtins

    namespace = {"__builtins__": dict(vars(builtins)), "__name__": "__grader_preamble__",
                 "SETTINGS": {"exchange": exchange, "token": "_grader_in_process", "threads": 1, "seed": 0,
                              "ipython": False}}
    source = preamble_source()
    exec(compile(source[:source.index("_sys.addaudithook(")], "<grader-preamble>", "exec"), namespace)
    return namespace


def in_process_tools(exchange: str | None = None):
    """The keeper's tools (the ``kit`` a probe's entry point takes), made in this process: for
    tests and the student's own check() that run probe code here rather than in a kernel."""
    return in_process_keeper(exchange)["_KIT"]
