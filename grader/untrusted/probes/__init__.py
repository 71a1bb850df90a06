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
