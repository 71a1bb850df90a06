"""Student notebooks from reference notebooks: what lies between the solution markers (nbgrader's
convention) becomes a stub that raises, outputs are cleared, and metadata names the assignment."""

from __future__ import annotations

import copy
import re

import nbformat

from grader import __version__

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "# TU CÓDIGO AQUÍ\nraise NotImplementedError()"
_SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*$",
                       re.MULTILINE | re.DOTALL)


def strip_solutions(source: str) -> str:
    def stub(match: re.Match) -> str:
        indent = match.group(1)
        return "\n".join(indent + line for line in STUB.splitlines())

    return _SOLUTION.sub(stub, source)


def release_notebook(reference: nbformat.NotebookNode, assignment: str) -> nbformat.NotebookNode:
    student = copy.deepcopy(reference)
    for cell in student.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
            cell.outputs = []
            cell.execution_count = None
    student.metadata["grader"] = {"assignment": assignment, "grader_version": __version__}
    return student


def released_text(assignment) -> str:
    """The exercise notebook of ``assignment`` as ``grade release`` writes it."""
    reference = nbformat.read(assignment.reference, as_version=4)
    return nbformat.writes(release_notebook(reference, assignment.name)) + "\n"


def stale_exercises(assignments) -> dict:
    """``{assignment: its fresh release}`` for those whose committed exercise differs from it."""
    fresh = {a: released_text(a) for a in assignments}
    return {a: text for a, text in fresh.items() if not a.exercise.exists() or a.exercise.read_text("utf-8") != text}


def solution_lines(reference: nbformat.NotebookNode) -> list[list[str]]:
    """The code of each solution block, one list of stripped lines per block (comments and blank
    lines left out): what a student bundle must not contain."""
    blocks = []
    for cell in reference.cells:
        if cell.cell_type == "code":
            for match in _SOLUTION.finditer(cell.source):
                lines = [line.strip() for line in match.group(0).splitlines()[1:-1]]
                blocks.append([line for line in lines if line and not line.startswith("#")])
    return blocks
