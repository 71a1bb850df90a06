"""Student notebooks from reference notebooks: what lies between the solution markers (nbgrader's
convention) becomes a stub that raises, outputs are cleared, metadata names the assignment, and
each exercise is followed by an optional ``check(...)`` cell (grader.selfcheck.cells), with one
``check()`` of every part at the end."""

from __future__ import annotations

import copy
import re

import nbformat

from grader import __version__
from grader.assignments import defined_names
from grader.selfcheck.cells import check_cell
from grader.trusted.points import checks_of

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "# TU CÓDIGO AQUÍ\nraise NotImplementedError()"
_SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*$",
                       re.MULTILINE | re.DOTALL)


def strip_solutions(source: str) -> str:
    def stub(match: re.Match) -> str:
        indent = match.group(1)
        return "\n".join(indent + line for line in STUB.splitlines())

    return _SOLUTION.sub(stub, source)


# A part judged through a name other than its own: the exercise cell that assigns the name is its.
PART_NAMED_BY = {"new_model": "state_dict"}


def parts_in(cell: nbformat.NotebookNode, assignment: str) -> list[str]:
    """The graded parts an exercise cell defines, in the order of the points table."""
    names = defined_names(nbformat.v4.new_notebook(cells=[cell]))
    names |= {PART_NAMED_BY[n] for n in names if n in PART_NAMED_BY}
    return [tag for tag in dict.fromkeys(spec.tag for spec in checks_of(assignment)) if tag in names]


def release_notebook(reference: nbformat.NotebookNode, assignment: str) -> nbformat.NotebookNode:
    student = copy.deepcopy(reference)
    cells = []
    for cell in student.cells:
        cells.append(cell)
        if cell.cell_type == "code":
            parts = parts_in(cell, assignment) if _SOLUTION.search(cell.source) else []
            cell.source = strip_solutions(cell.source)
            cell.outputs = []
            cell.execution_count = None
            if parts:
                cells.append(_with_id(check_cell(parts, __version__), f"check-{len(cells)}"))
    cells.append(_with_id(check_cell([], __version__), "check-all"))
    student.cells = cells
    student.metadata["grader"] = {"assignment": assignment, "grader_version": __version__}
    return student


def _with_id(cell: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    cell.id = name  # a fixed id: a release must be the same text every time
    return cell


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
