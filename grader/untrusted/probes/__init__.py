"""Probe sources, executed inside the student's kernel (read as text, never imported)."""

from importlib import resources


def probe_source(assignment: str) -> str:
    """The helpers shared by every probe, the assignment's autograd oracles if it has any, then
    the assignment's own probes."""
    parts = [resources.files(__name__).joinpath("common.py")]
    oracles = resources.files("grader.oracles").joinpath(f"{assignment}.py")
    if oracles.is_file():
        parts.append(oracles)
    parts.append(resources.files(__name__).joinpath(f"{assignment}.py"))
    return "\n".join(part.read_text("utf-8") for part in parts)


def preamble_source() -> str:
    """The kernel-side keeper that every kernel runs before the notebook (see preamble.py)."""
    return resources.files(__name__).joinpath("preamble.py").read_text("utf-8")


def in_process_tools(exchange: str | None = None):
    """The keeper's tools (what probes call PRISTINE), made in this process: for tests that run
    probe code here rather than in a kernel."""
    import builtins

    namespace = {"__builtins__": dict(vars(builtins)), "__name__": "__grader_preamble__",
                 "SETTINGS": {"exchange": exchange, "token": "_grader_in_process", "threads": 1, "seed": 0,
                              "ipython": False}}
    # Without its last part: an audit hook added here would stay in this process for good.
    source = preamble_source()
    exec(compile(source[:source.index("_sys.addaudithook(")], "<grader-preamble>", "exec"), namespace)
    return namespace["_KIT"]
