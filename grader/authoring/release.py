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
