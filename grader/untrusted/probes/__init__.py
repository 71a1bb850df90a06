"""Probe sources, executed inside the student's kernel (read as text, never imported)."""

from importlib import resources


def probe_source(assignment: str) -> str:
    """The helpers shared by every probe, then the assignment's own probes."""
    folder = resources.files(__name__)
    return folder.joinpath("common.py").read_text("utf-8") + "\n" + folder.joinpath(
        f"{assignment}.py"
    ).read_text("utf-8")
